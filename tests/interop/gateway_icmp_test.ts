/**
 * Guests' pings to outside addresses through the gateway's Linux ping sockets. The gateway runs
 * as a subprocess inside a test namespace A whose only way out is a veth to namespace B
 * (10.99.0.2/24): the "outside" is B's kernel, nothing else is reachable. A usernet stack in this
 * process is the guest, on a unix stream socket to the gateway (as a VM would be).
 *
 * - With `--allow-ffi` and `net.ipv4.ping_group_range` set in A: ping(8)-style pings of several
 *   sizes (one of them fragmented) and hand-made echo requests with random payloads under other
 *   identifiers come back with the guest's identifier, sequence and payload and correct
 *   checksums; B's kernel counted exactly the requests that reached it (`Icmp InEchos` in B's
 *   /proc/net/snmp); a ping to an unused address (10.99.0.77) times out; a flow beyond the
 *   gateway's limit is dropped until idle flows expire.
 * - With `--allow-ffi` but A's default ping_group_range ("1 0"): nothing is answered, nothing
 *   reaches B, and the gateway says once why, with the range and its group.
 * - `deno task gateway` as deno.json has it (no `--allow-ffi`): the same, and the notice says
 *   to give `--allow-ffi`.
 *
 * Run as a script (`deno run ... gateway_icmp_test.ts gateway-child PATH`), this file is the
 * gateway with a small flow limit and a short idle timeout.
 */
import assert from "node:assert/strict";
import { interopTest, type Peer, run, taskRunArgs, tempDir, waitFor } from "./_harness.ts";
import { createNamespace, type TestNamespace } from "./_netns.ts";
import { Gateway } from "../../net/gateway/gateway.ts";
import { ICMP_ECHO_UNAVAILABLE } from "../../net/gateway/icmp_echo_proxy.ts";
import { QemuStreamNic, QemuStreamServer } from "../../drivers/qemu_stream.ts";
import { Stack } from "../../net/stack.ts";
import { TimedOut } from "../../net/errors.ts";
import { PAYLOAD_OFFSET } from "../../net/interface.ts";
import { formatIpv4Address, parseIpv4Address } from "../../net/wire/address.ts";
import { PROTOCOL_ICMP } from "../../net/wire/ipv4.ts";
import {
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  parseIcmpv4,
  writeIcmpEcho,
} from "../../net/wire/icmpv4.ts";
import { WireError } from "../../net/wire/errors.ts";

const root = new URL("../../", import.meta.url).pathname;
const PEER = "10.99.0.2";
const UNUSED = "10.99.0.77";
/** The child gateway's limits. */
const MAX_FLOWS = 4;
const IDLE_MS = 1500;

interface Reply {
  from: string;
  identifier: number;
  sequence: number;
  data: Uint8Array;
}

/**
 * Namespaces A (the gateway's host) and B (the outside, 10.99.0.2), joined by a veth, and a
 * folder for the gateway's socket (`path`); `cleanup` removes all three.
 */
async function outside(pingGroupRange: string): Promise<{
  a: TestNamespace;
  b: TestNamespace;
  path: string;
  cleanup: () => Promise<void>;
}> {
  const a = await createNamespace("gwicmp-a");
  const b = await createNamespace("gwicmp-b");
  try {
    await run("ip", ["-n", a.name, "link", "add", "va", "type", "veth", "peer", "name", "vb"]);
    await run("ip", ["-n", a.name, "link", "set", "vb", "netns", b.name]);
    await run("ip", ["-n", a.name, "addr", "add", "10.99.0.1/24", "dev", "va"]);
    await run("ip", ["-n", b.name, "addr", "add", `${PEER}/24`, "dev", "vb"]);
    await run("ip", ["-n", a.name, "link", "set", "va", "up"]);
    await run("ip", ["-n", b.name, "link", "set", "vb", "up"]);
    await a.exec("sysctl", ["-qw", `net.ipv4.ping_group_range=${pingGroupRange}`]);
    // B's kernel itself must answer pings (the default, but say it).
    await b.exec("sysctl", ["-qw", "net.ipv4.icmp_echo_ignore_all=0"]);
    const dir = await tempDir("gateway-icmp");
    const cleanup = async () => {
      await a.cleanup();
      await b.cleanup();
      await dir.cleanup();
    };
    return { a, b, path: `${dir.path}/gw.sock`, cleanup };
  } catch (error) {
    await a.cleanup();
    await b.cleanup();
    throw error;
  }
}

/** Echo requests B's kernel received (`Icmp: ... InEchos` in its /proc/net/snmp). */
async function inEchos(ns: TestNamespace): Promise<number> {
  const lines = (await ns.exec("cat", ["/proc/net/snmp"])).split("\n")
    .filter((l) => l.startsWith("Icmp:"));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  const at = names.indexOf("InEchos");
  assert.ok(at > 0, lines.join("\n"));
  return Number(values[at]);
}

/**
 * The child gateway in `ns`, with FFI: the gateway task's permissions, --allow-ffi, and what
 * the harness this file imports reads when it loads (CI, PATH, the uid). Resolves once it listens.
 */
async function startChild(ns: TestNamespace, path: string): Promise<Peer> {
  const child = ns.spawn("gateway-child", Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env=CI,PATH",
    "--allow-sys=uid",
    "--allow-ffi",
    `--config=${root}deno.json`,
    new URL(import.meta.url).pathname,
    "gateway-child",
    path,
  ]);
  await ready(child, "gateway-child ready");
  return child;
}

/** Waits for `line` from `peer`, failing at once if it exits first. */
async function ready(peer: Peer, line: string): Promise<void> {
  const exited = peer.status.then((s) => {
    throw new Error(`${peer.name} exited (${s.code}) before it was ready:\n${peer.log}`);
  });
  try {
    await Promise.race([peer.waitForOutput(line, 30_000), exited]);
  } catch (error) {
    await peer.stop();
    throw error;
  }
  exited.catch(() => {});
}

/** The guest: a stack on the gateway's unix socket that records every echo reply it gets. */
async function guest(path: string) {
  const nic = await QemuStreamNic.connect({ path });
  const stack = new Stack({ nic, address: "10.0.2.15/24", gateway: "10.0.2.2" });
  const iface = stack._iface;
  const replies: Reply[] = [];
  let badChecksums = 0;
  const icmpInput = iface.handlers.get(PROTOCOL_ICMP)!;
  iface.handlers.set(PROTOCOL_ICMP, (packet, now) => {
    // parseIcmpv4 checks the ICMP checksum; the IPv4 header's was checked before (no offload
    // on a stream socket).
    const m = parseIcmpv4(packet.payload);
    if (m instanceof WireError) badChecksums++;
    else if (m.type === ICMP_ECHO_REPLY) {
      replies.push({
        from: formatIpv4Address(packet.source),
        identifier: m.identifier,
        sequence: m.sequence,
        data: m.payload.slice(),
      });
    }
    icmpInput(packet, now);
  });
  /** Sends an echo request of our own making: any identifier, any payload. */
  const sendEcho = (to: string, identifier: number, sequence: number, data: Uint8Array) => {
    const frame = iface.allocatePacket(8 + data.length);
    writeIcmpEcho(frame, PAYLOAD_OFFSET, ICMP_ECHO_REQUEST, identifier, sequence, data);
    const error = iface.sendIpv4(
      frame,
      { destination: parseIpv4Address(to)!, protocol: PROTOCOL_ICMP },
      stack._internals.now(),
    );
    if (error) throw error;
    stack._internals.kick();
  };
  return { stack, replies, sendEcho, badChecksums: () => badChecksums };
}

const needs = { root: true, programs: ["ip", "sysctl"] };

interopTest(
  "linux ping sockets (netns): a guest behind the gateway pings 10.99.0.2 — replies carry its identifiers, sequences and payloads, B's kernel counted the requests; 10.99.0.77 times out; flows beyond the limit are dropped until idle ones expire",
  needs,
  async () => {
    const { a, b, path, cleanup } = await outside("0 2147483647");
    let child: Peer | undefined;
    let g: Awaited<ReturnType<typeof guest>> | undefined;
    try {
      child = await startChild(a, path);
      g = await guest(path);
      const { stack, replies, sendEcho } = g;
      assert.equal(await inEchos(b), 0);

      // ping(8)-style, the stack's own identifier; 3000 bytes go fragmented both ways.
      const sizes = [56, 0, 1000, 3000];
      for (const [i, size] of sizes.entries()) {
        const reply = await stack.ping(PEER, { sequence: i + 1, size, timeout: 5000 });
        assert.equal(reply.from, PEER);
        assert.equal(reply.sequence, i + 1);
        assert.equal(reply.bytes, 8 + size);
      }
      assert.deepEqual(replies.map((r) => [r.from, r.sequence, r.data.length]), [
        [PEER, 1, 56],
        [PEER, 2, 0],
        [PEER, 3, 1000],
        [PEER, 4, 3000],
      ]);
      for (const r of replies) {
        assert.deepEqual(r.data, Uint8Array.from({ length: r.data.length }, (_, i) => i & 255));
      }
      const stackId = replies[0].identifier;
      assert.ok(replies.every((r) => r.identifier === stackId));
      let sent = sizes.length;

      // Two more flows (other identifiers) with random payloads, interleaved.
      const payloads = new Map<string, Uint8Array>();
      for (let sequence = 100; sequence < 105; sequence++) {
        for (const identifier of [0x4242, 0xbeef]) {
          const data = crypto.getRandomValues(new Uint8Array(32 + sequence));
          payloads.set(`${identifier}/${sequence}`, data);
          sendEcho(PEER, identifier, sequence, data);
          sent++;
        }
      }
      await waitFor("10 replies to the hand-made requests", () => replies.length === 14, 5000);
      for (const r of replies.slice(4)) {
        assert.equal(r.from, PEER);
        assert.deepEqual(
          r.data,
          payloads.get(`${r.identifier}/${r.sequence}`),
          `${r.identifier}/${r.sequence}`,
        );
        payloads.delete(`${r.identifier}/${r.sequence}`);
      }
      assert.equal(payloads.size, 0);
      assert.equal(await inEchos(b), sent);

      // Nobody has 10.99.0.77: a clean timeout (the fourth flow), and 10.99.0.2 still answers.
      await assert.rejects(stack.ping(UNUSED, { sequence: 5, timeout: 1000 }), TimedOut);
      const again = await stack.ping(PEER, { sequence: 6, timeout: 5000 });
      assert.equal(again.sequence, 6);
      sent++;

      // A fifth flow is over the limit: dropped, never reaches B.
      const before = replies.length;
      sendEcho(PEER, 0x5555, 1, new Uint8Array(8));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(replies.length, before);
      assert.equal(await inEchos(b), sent);
      // Once the others are idle long enough they close, and the new flow gets its socket.
      await new Promise((r) => setTimeout(r, IDLE_MS + 1500));
      sendEcho(PEER, 0x5555, 2, new Uint8Array(8));
      sent++;
      await waitFor("the reply on the new flow", () => replies.length === before + 1, 5000);
      assert.deepEqual(
        [replies.at(-1)!.identifier, replies.at(-1)!.sequence],
        [0x5555, 2],
      );
      assert.equal(await inEchos(b), sent);
      assert.equal(g.badChecksums(), 0);
      assert.ok(
        // The hand-made requests' replies are not the stack's own pings: only those drops.
        Object.keys(stack.stats().drops).every((k) => k === "icmp/unmatched-echo-reply"),
        JSON.stringify(stack.stats().drops),
      );
      assert.ok(!child.log.includes(ICMP_ECHO_UNAVAILABLE), child.log);

      // The gateway's counters, printed when the guest leaves.
      await stack.close();
      g = undefined;
      await child.waitForOutput(/stats \{.*\}/, 10_000);
      const stats = JSON.parse(/stats (\{.*\})/.exec(child.log)![1]);
      console.log(
        `gateway: ${stats.icmpEchoForwarded} echo requests forwarded, ${stats.icmpEchoReplies} replies, ${stats.icmpEchoDropped} dropped; B counted ${sent}`,
      );
      assert.equal(stats.icmpEchoReplies, sent);
      // Every request sent to B, and the one to 10.99.0.77 unless the host refused it at once.
      assert.ok(stats.icmpEchoForwarded >= sent, JSON.stringify(stats));
      assert.ok(stats.icmpEchoDropped >= 1, JSON.stringify(stats));
      assert.ok(stats.icmpEchoFlows <= MAX_FLOWS, JSON.stringify(stats));
    } catch (error) {
      console.error(child?.log);
      throw error;
    } finally {
      await g?.stack.close();
      await child?.stop();
      await cleanup();
    }
  },
);

interopTest(
  'linux ping sockets (netns): with --allow-ffi but ping_group_range "1 0" the gateway\'s ping socket is refused — nothing answered or sent, the reason said once',
  needs,
  async () => {
    const { a, b, path, cleanup } = await outside("1 0");
    let child: Peer | undefined;
    let g: Awaited<ReturnType<typeof guest>> | undefined;
    try {
      child = await startChild(a, path);
      g = await guest(path);
      for (let sequence = 1; sequence <= 3; sequence++) {
        await assert.rejects(g.stack.ping(PEER, { sequence, timeout: 500 }), TimedOut);
      }
      // The gateway itself still answers.
      assert.equal((await g.stack.ping("10.0.2.2", { timeout: 2000 })).from, "10.0.2.2");
      assert.equal(g.replies.length, 1);
      assert.equal(await inEchos(b), 0);
      assert.equal(child.log.split(ICMP_ECHO_UNAVAILABLE).length - 1, 1, child.log);
      assert.match(child.log, /Permission denied/);
      assert.match(child.log, /ping_group_range is "1\s+0", this process's group is 0/);
    } catch (error) {
      console.error(child?.log);
      throw error;
    } finally {
      await g?.stack.close();
      await child?.stop();
      await cleanup();
    }
  },
);

interopTest(
  "linux ping sockets (netns): `deno task gateway` as deno.json has it (no --allow-ffi) — pings to 10.99.0.2 unanswered, nothing reaches B, the gateway says once it needs --allow-ffi",
  needs,
  async () => {
    const { a, b, path, cleanup } = await outside("0 2147483647");
    const args = await taskRunArgs("gateway");
    assert.ok(!args.some((w) => w.startsWith("--allow-ffi") || w === "-A"), args.join(" "));
    const cli = a.spawn("gateway", Deno.execPath(), [
      ...args,
      "--listen",
      `unix:${path}`,
      "--dns-server",
      "127.0.0.1:9",
    ]);
    let g: Awaited<ReturnType<typeof guest>> | undefined;
    try {
      await ready(cli, "listening for QEMU");
      g = await guest(path);
      for (let sequence = 1; sequence <= 3; sequence++) {
        await assert.rejects(g.stack.ping(PEER, { sequence, timeout: 500 }), TimedOut);
      }
      g.sendEcho(PEER, 0x4242, 1, new Uint8Array(16));
      assert.equal((await g.stack.ping("10.0.2.2", { timeout: 2000 })).from, "10.0.2.2");
      assert.equal(g.replies.length, 1);
      assert.equal(await inEchos(b), 0);
      await cli.waitForOutput(ICMP_ECHO_UNAVAILABLE, 5000);
      assert.equal(cli.log.split(ICMP_ECHO_UNAVAILABLE).length - 1, 1, cli.log);
      assert.match(cli.log, /no FFI permission: run with --allow-ffi/);
      await g.stack.close();
      g = undefined;
      await cli.stop();
      assert.match(cli.log, /icmp echo forwarded 0 replies 0 dropped 4/);
    } catch (error) {
      console.error(cli.log);
      throw error;
    } finally {
      await g?.stack.close();
      await cli.stop();
      await cleanup();
    }
  },
);

/** The gateway in namespace A: small flow limit, short idle timeout, one guest, then stats. */
async function gatewayChild(path: string): Promise<void> {
  const gateway = new Gateway({
    maxIcmpFlows: MAX_FLOWS,
    icmpIdleTimeout: IDLE_MS,
    dnsUpstream: { ipAddr: "127.0.0.1", port: 9 },
  });
  const server = QemuStreamServer.listen({ path });
  console.log("gateway-child ready");
  const nic = await server.accept();
  await gateway.attach(nic);
  console.log(`stats ${JSON.stringify(gateway.stats())}`);
  server.close();
  await gateway.close();
}

if (import.meta.main && Deno.args[0] === "gateway-child") await gatewayChild(Deno.args[1]);
