/**
 * usernet configures itself by DHCP from dnsmasq, over a TAP device in a namespace made for the
 * test (nothing leaves it): Linux's side of the TAP is 10.79.0.1/24, dnsmasq serves that link,
 * and the usernet stack in this process opens the TAP and runs its DHCP client.
 */
import assert from "node:assert/strict";
import { interopTest, type Peer, tempDir } from "./_harness.ts";
import { createTapNamespace, type TestNamespace } from "./_netns.ts";
import { TapNic } from "../../drivers/tap.ts";
import { Stack } from "../../net/stack.ts";
import type { DhcpLeaseEvent } from "../../net/dhcp/stack_client.ts";
import type { DhcpLease } from "../../net/dhcp/client.ts";
import { formatIpv4Address, parseIpv4Address, parseMac } from "../../net/wire/address.ts";

const needs = { root: true, programs: ["ip", "dnsmasq"], files: ["/dev/net/tun"] };

interface Setup {
  ns: TestNamespace & { tap: string };
  dnsmasq: Peer;
  stack: Stack;
  events: DhcpLeaseEvent[];
}

/** A namespace with dnsmasq serving DHCP on its TAP, and a usernet stack on the TAP. */
async function withDnsmasq(
  tag: string,
  mac: string,
  dnsmasqArgs: string[],
  fn: (s: Setup) => Promise<void>,
): Promise<void> {
  const ns = await createTapNamespace(tag, "10.79.0.1/24");
  const dir = await tempDir("dhcp-tap");
  await Deno.chmod(dir.path, 0o777); // dnsmasq writes its lease file as nobody
  let dnsmasq: Peer | undefined;
  let stack: Stack | undefined;
  try {
    const nic = TapNic.open({ name: ns.tap, netns: ns.name, mac: parseMac(mac) });
    stack = new Stack({ nic });
    const events: DhcpLeaseEvent[] = [];
    stack.addEventListener("lease", (e) => events.push(e as DhcpLeaseEvent));
    dnsmasq = ns.spawn("dnsmasq", "dnsmasq", [
      "-k",
      "--no-resolv",
      "--no-hosts",
      "--port=0",
      "--interface=tap0",
      "--bind-interfaces",
      "--dhcp-authoritative",
      "--no-ping",
      "--dhcp-option=option:router,10.79.0.1",
      "--dhcp-option=option:dns-server,10.79.0.1",
      "--dhcp-option=option:mtu,1400",
      "--domain=usernet.test",
      `--dhcp-leasefile=${dir.path}/leases`,
      `--pid-file=${dir.path}/pid`,
      "--log-dhcp",
      "--log-facility=-",
      ...dnsmasqArgs,
    ]);
    await dnsmasq.waitForOutput(/DHCP, IP range 10\.79\.0\./, 10_000);
    await fn({ ns, dnsmasq, stack, events });
  } catch (e) {
    if (dnsmasq) console.error(`dnsmasq log:\n${dnsmasq.log}`);
    throw e;
  } finally {
    await stack?.close();
    await dnsmasq?.stop();
    await ns.cleanup();
    await dir.cleanup();
  }
}

function nextLeaseEvent(stack: Stack, change: string, timeoutMs: number): Promise<DhcpLeaseEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stack.removeEventListener("lease", on);
      reject(new Error(`no "${change}" lease event within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (e: Event) => {
      if ((e as DhcpLeaseEvent).change !== change) return;
      clearTimeout(timer);
      stack.removeEventListener("lease", on);
      resolve(e as DhcpLeaseEvent);
    };
    stack.addEventListener("lease", on);
  });
}

interopTest(
  "dnsmasq over TAP: usernet acquires a lease (address, router, DNS, domain, MTU), pings Linux, renews at T1",
  needs,
  async () => {
    await withDnsmasq("dhcp-acq", "52:54:00:aa:bb:01", [
      "--dhcp-range=10.79.0.50,10.79.0.60,255.255.255.0,2m",
      // dnsmasq's shortest lease is 2 minutes; T1 and T2 as options make renewal come early.
      "--dhcp-option=option:T1,3",
      "--dhcp-option=option:T2,100",
    ], async ({ stack, dnsmasq, events }) => {
      const started = performance.now();
      const lease = await stack.dhcp({ hostname: "usernet-acq" }, AbortSignal.timeout(20_000));
      const acquiredMs = performance.now() - started;
      const address = formatIpv4Address(lease.address);
      assert.match(address, /^10\.79\.0\.(5\d|60)$/);
      assert.deepEqual(stack.ipv4, { address, prefixLength: 24, gateway: "10.79.0.1" });
      assert.deepEqual(
        {
          dns: lease.dns.map(formatIpv4Address),
          domain: lease.domain,
          mtu: lease.mtu,
          leaseTime: lease.leaseTime,
          t1: lease.renewalTime,
          t2: lease.rebindingTime,
          server: formatIpv4Address(lease.serverId),
        },
        {
          dns: ["10.79.0.1"],
          domain: "usernet.test",
          mtu: 1400,
          leaseTime: 120,
          t1: 3,
          t2: 100,
          server: "10.79.0.1",
        },
      );
      assert.deepEqual(stack.resolver.servers, ["10.79.0.1:53"]);
      assert.equal((await stack.ping("10.79.0.1", { timeout: 5000 })).from, "10.79.0.1");
      assert.match(
        dnsmasq.log,
        new RegExp(
          `DHCPACK\\(tap0\\) ${address.replaceAll(".", "\\.")} 52:54:00:aa:bb:01 usernet-acq`,
        ),
      );
      // Renewal at T1 = 3 s: a unicast REQUEST from our address, ACKed.
      const renewed = await nextLeaseEvent(stack, "renewed", 15_000);
      assert.equal(renewed.lease!.address, lease.address);
      assert.ok(renewed.lease!.obtainedAt >= lease.obtainedAt + 2900);
      assert.equal(stack.ipv4?.address, address);
      const acks = dnsmasq.log.match(/DHCPACK\(tap0\)/g) ?? [];
      assert.equal(acks.length, 2);
      assert.deepEqual(events.map((e) => e.change), ["acquired", "renewed"]);
      console.log(`dnsmasq: lease ${address} in ${acquiredMs.toFixed(0)} ms (ARP probe included)`);
    });
  },
);

interopTest(
  "dnsmasq over TAP: the reserved address answers ARP (Linux has it): usernet DECLINEs, then takes another",
  needs,
  async () => {
    await withDnsmasq("dhcp-dec", "52:54:00:aa:bb:03", [
      "--dhcp-range=10.79.0.60,10.79.0.61,255.255.255.0,2m",
      "--dhcp-host=52:54:00:aa:bb:03,10.79.0.50",
    ], async ({ ns, stack, dnsmasq, events }) => {
      // Another host already uses 10.79.0.50: Linux itself, on the TAP.
      await ns.exec("ip", ["addr", "add", "10.79.0.50/24", "dev", "tap0"]);
      const lease = await stack.dhcp({ declineDelayMs: 500 }, AbortSignal.timeout(30_000));
      assert.deepEqual(events.map((e) => [e.change, e.address]).slice(0, 1), [[
        "declined",
        "10.79.0.50",
      ]]);
      assert.match(formatIpv4Address(lease.address), /^10\.79\.0\.6[01]$/);
      assert.equal(events.at(-1)?.change, "acquired");
      assert.match(dnsmasq.log, /DHCPDECLINE\(tap0\) 10\.79\.0\.50 52:54:00:aa:bb:03/);
      assert.equal((await stack.ping("10.79.0.1", { timeout: 5000 })).from, "10.79.0.1");
    });
  },
);

interopTest(
  "dnsmasq over TAP: INIT-REBOOT of a foreign address is NAKed, DISCOVER follows; RELEASE at the end",
  needs,
  async () => {
    await withDnsmasq("dhcp-nak", "52:54:00:aa:bb:02", [
      "--dhcp-range=10.79.0.50,10.79.0.60,255.255.255.0,2m",
    ], async ({ stack, dnsmasq }) => {
      const remembered: DhcpLease = {
        address: parseIpv4Address("10.79.0.200")!, // not in dnsmasq's range: NAK
        prefixLength: 24,
        subnetMask: 0xffffff00,
        routers: [],
        dns: [],
        leaseTime: 3600,
        renewalTime: 1800,
        rebindingTime: 3150,
        serverId: parseIpv4Address("10.79.0.1")!,
        obtainedAt: 0,
        expiresAt: performance.now() + 3_600_000,
      };
      const lease = await stack.dhcp(
        { previousLease: remembered, probe: false },
        AbortSignal.timeout(20_000),
      );
      assert.match(formatIpv4Address(lease.address), /^10\.79\.0\.(5\d|60)$/);
      assert.match(dnsmasq.log, /DHCPNAK\(tap0\) 10\.79\.0\.200 52:54:00:aa:bb:02/);
      await stack.dhcpClient!.release();
      assert.equal(stack.ipv4, undefined);
      await dnsmasq.waitForOutput(/DHCPRELEASE\(tap0\) 10\.79\.0\.\d+ 52:54:00:aa:bb:02/, 5000);
    });
  },
);
