/**
 * Interop with QEMU's user network (libslirp) and with passt, each on a stream socket that
 * usernet connects to. usernet starts without an address and takes one by DHCP from the peer
 * (`stack.dhcp()`: DISCOVER, OFFER, ARP probe, REQUEST, ACK), then ARPs the gateway the lease
 * names and pings it. Both peers run inside a namespace the test creates, so nothing they do can
 * reach a real address; the test only ever talks to their gateway address.
 */
import assert from "node:assert/strict";
import { interopTest, type Peer, tempDir, waitFor } from "./_harness.ts";
import { createNamespace, type TestNamespace } from "./_netns.ts";
import { QemuStreamNic } from "../../drivers/qemu_stream.ts";
import { type DhcpLease, type DhcpLeaseEvent, Stack } from "../../net/stack.ts";
import { formatIpv4Address as ip } from "../../net/wire/address.ts";

async function socketExists(path: string): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isSocket === true;
  } catch {
    return false;
  }
}

/**
 * Connects a stack without an address to the peer's socket, runs DHCP and returns the lease,
 * after checking the stack applied it and said so with one `"lease"` event (`acquired`).
 */
async function leaseFrom(socket: string): Promise<{ stack: Stack; lease: DhcpLease; ms: number }> {
  const stack = new Stack({ nic: await QemuStreamNic.connect({ path: socket }) });
  const events: string[] = [];
  stack.addEventListener("lease", (e) => events.push((e as DhcpLeaseEvent).change));
  const before = stack.ipv4;
  assert.equal(before, undefined, "no address before DHCP");
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const lease = await Promise.race([
    stack.dhcp({ hostname: "usernet" }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no DHCP lease within 20 s (state ${stack.dhcpClient?.state})`)),
        20_000,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  const ms = performance.now() - start;
  assert.deepEqual(events, ["acquired"]);
  assert.equal(stack.dhcpClient?.state, "BOUND");
  const v4 = stack.ipv4;
  assert.equal(v4?.address, ip(lease.address), "the leased address is applied");
  assert.equal(v4?.prefixLength, lease.prefixLength);
  assert.equal(v4?.gateway, lease.router === undefined ? undefined : ip(lease.router));
  return { stack, lease, ms };
}

/** Runs `fn` with the peer's log printed if it throws; always stops the peer and cleans up. */
async function withPeer(
  peer: Peer,
  cleanup: () => Promise<void>,
  fn: () => Promise<void>,
): Promise<void> {
  try {
    await fn();
  } catch (error) {
    console.error(`${peer.name} log:\n${peer.log}`);
    throw error;
  } finally {
    await peer.stop();
    await cleanup();
  }
}

interopTest(
  "qemu_user (libslirp): usernet takes a DHCP lease on a stream socket, then pings the gateway",
  { root: true, programs: ["ip", "qemu-system-x86_64"] },
  async () => {
    const ns = await createNamespace("slirp");
    const dir = await tempDir("slirp");
    const socket = `${dir.path}/qemu.sock`;
    const qemu = ns.spawn("qemu", "qemu-system-x86_64", [
      ...["-machine", "none", "-nodefaults", "-display", "none"],
      ...["-netdev", "user,id=u0"],
      ...["-netdev", `stream,id=s0,server=on,addr.type=unix,addr.path=${socket}`],
      ...["-netdev", "hubport,id=p0,hubid=0,netdev=u0"],
      ...["-netdev", "hubport,id=p1,hubid=0,netdev=s0"],
    ]);
    let stack: Stack | undefined;
    await withPeer(qemu, () => cleanup(ns, dir, () => stack?.close()), async () => {
      await waitFor("QEMU's stream socket", () => socketExists(socket), 30_000);
      const got = await leaseFrom(socket);
      stack = got.stack;
      const { lease } = got;
      // libslirp's fixed plan: guest 10.0.2.15/24, router 10.0.2.2, DNS 10.0.2.3, one day.
      assert.equal(ip(lease.address), "10.0.2.15");
      assert.equal(lease.prefixLength, 24);
      assert.equal(ip(lease.router!), "10.0.2.2");
      assert.deepEqual(lease.dns.map(ip), ["10.0.2.3"]);
      assert.equal(ip(lease.serverId), "10.0.2.2");
      assert.ok(lease.leaseTime > 0 && lease.leaseTime !== 0xffffffff, `${lease.leaseTime}`);
      assert.ok(lease.renewalTime > 0 && lease.renewalTime < lease.leaseTime);
      assert.deepEqual(stack.resolver.servers, ["10.0.2.3:53"], "DNS servers from the lease");

      const reply = await stack.ping("10.0.2.2", { timeout: 5000 });
      assert.equal(reply.from, "10.0.2.2");
      const gateway = stack.neighbors().find((n) => n.address === "10.0.2.2");
      assert.equal(gateway?.mac, "52:55:0a:00:02:02"); // slirp's gateway MAC, learned by ARP
      const large = await stack.ping("10.0.2.2", { timeout: 5000, size: 1000 });
      assert.equal(large.bytes, 1008);
      console.log(`slirp: lease in ${got.ms.toFixed(0)} ms, ping ${reply.rtt.toFixed(2)} ms`);
    });
  },
);

interopTest(
  "passt: usernet takes a DHCP lease over a unix stream socket, then pings the gateway",
  { root: true, programs: ["ip", "passt"] },
  async () => {
    const ns = await createNamespace("passt");
    // passt needs an interface with a default route; give it a veth pair with both ends inside.
    await ns.exec("ip", ["link", "add", "ext0", "type", "veth", "peer", "name", "ext1"]);
    await ns.exec("ip", ["addr", "add", "192.168.77.1/24", "dev", "ext0"]);
    await ns.exec("ip", ["link", "set", "ext0", "up"]);
    await ns.exec("ip", ["link", "set", "ext1", "up"]);
    await ns.exec("ip", ["route", "add", "default", "via", "192.168.77.2", "dev", "ext0"]);
    // passt forwards pings with ping sockets from inside the namespace; give the namespace the
    // gateway address so the kernel there answers them and nothing leaves.
    await ns.exec("ip", ["addr", "add", "10.0.2.2/32", "dev", "lo"]);
    await ns.exec("sysctl", ["-q", "-w", "net.ipv4.ping_group_range=0 2147483647"]);
    const dir = await tempDir("passt");
    const socket = `${dir.path}/passt.sock`;
    // The address plan passt hands out by DHCP: 10.0.2.15/24 via 10.0.2.2, DNS 10.0.2.3 (only
    // advertised: nothing here asks it), MTU 1500 (passt's default offer is 65520).
    const passt = ns.spawn("passt", "passt", [
      ...["-f", "-e", "-1", "--runas", "0", "-s", socket, "-4"],
      ...["-a", "10.0.2.15", "-n", "24", "-g", "10.0.2.2", "-m", "1500"],
      ...["-D", "10.0.2.3", "-S", "none"],
    ]);
    let stack: Stack | undefined;
    await withPeer(passt, () => cleanup(ns, dir, () => stack?.close()), async () => {
      await waitFor("passt's socket", () => socketExists(socket), 30_000);
      const got = await leaseFrom(socket);
      stack = got.stack;
      const { lease } = got;
      assert.equal(ip(lease.address), "10.0.2.15");
      assert.equal(lease.prefixLength, 24);
      assert.equal(ip(lease.router!), "10.0.2.2");
      assert.deepEqual(lease.dns.map(ip), ["10.0.2.3"]);
      assert.equal(lease.mtu, 1500);
      assert.equal(stack.mtu, 1500, "the lease's MTU is applied");
      assert.ok(lease.leaseTime > 0, `${lease.leaseTime}`);
      assert.deepEqual(stack.resolver.servers, ["10.0.2.3:53"], "DNS servers from the lease");

      const reply = await stack.ping("10.0.2.2", { timeout: 5000 });
      assert.equal(reply.from, "10.0.2.2");
      assert.ok(stack.neighbors().find((n) => n.address === "10.0.2.2")?.mac, "ARP resolved");
      console.log(`passt: lease in ${got.ms.toFixed(0)} ms, ping ${reply.rtt.toFixed(2)} ms`);
    });
  },
);

async function cleanup(
  ns: TestNamespace,
  dir: { cleanup: () => Promise<void> },
  closeStack: () => Promise<void> | undefined,
): Promise<void> {
  await closeStack();
  await ns.cleanup();
  await dir.cleanup();
}
