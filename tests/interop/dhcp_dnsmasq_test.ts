/**
 * usernet's DHCP client core against a live dnsmasq, in two network namespaces made for the
 * test and joined by a veth pair (nothing leaves them):
 *
 * ```
 *  ns S: dnsmasq on veth 10.78.0.1/24, range 10.78.1.50-60 for the relayed subnet
 *  ns C: veth 10.78.0.2/24, and 10.78.1.1/24 (relay address = giaddr)
 *        (on one end of a veth pair local to ns C),
 *        dhcp_dnsmasq_child.ts runs the core, relaying its broadcasts as unicast
 * ```
 */
import assert from "node:assert/strict";
import { interopTest, Peer, run, tempDir } from "./_harness.ts";

const tag = `${Deno.pid % 10000}`;
const nsS = `un-dhs${tag}`, nsC = `un-dhc${tag}`;

async function withNetwork(fn: (dnsmasq: Peer) => Promise<void>): Promise<void> {
  const dir = await tempDir("dhcp");
  await Deno.chmod(dir.path, 0o777); // dnsmasq writes its lease file as nobody
  const sh = (ns: string, ...args: string[]) => run("ip", ["netns", "exec", ns, ...args]);
  let dnsmasq: Peer | undefined;
  try {
    await run("ip", ["netns", "add", nsS]);
    await run("ip", ["netns", "add", nsC]);
    await run("ip", ["link", "add", `uS${tag}`, "type", "veth", "peer", "name", `uC${tag}`]);
    await run("ip", ["link", "set", `uS${tag}`, "netns", nsS]);
    await run("ip", ["link", "set", `uC${tag}`, "netns", nsC]);
    await sh(nsS, "ip", "addr", "add", "10.78.0.1/24", "dev", `uS${tag}`);
    await sh(nsS, "ip", "link", "set", `uS${tag}`, "up");
    await sh(nsS, "ip", "link", "set", "lo", "up");
    await sh(nsS, "ip", "route", "add", "10.78.1.0/24", "via", "10.78.0.2");
    await sh(nsC, "ip", "addr", "add", "10.78.0.2/24", "dev", `uC${tag}`);
    await sh(nsC, "ip", "link", "set", `uC${tag}`, "up");
    await sh(nsC, "ip", "link", "set", "lo", "up");
    // The relayed subnet lives on a second veth pair kept inside ns C (no dummy module here).
    await sh(nsC, "ip", "link", "add", `uD${tag}`, "type", "veth", "peer", "name", `uE${tag}`);
    await sh(nsC, "ip", "link", "set", `uE${tag}`, "up");
    await sh(nsC, "ip", "addr", "add", "10.78.1.1/24", "dev", `uD${tag}`);
    await sh(nsC, "ip", "link", "set", `uD${tag}`, "up");
    dnsmasq = new Peer("dnsmasq", "ip", [
      "netns",
      "exec",
      nsS,
      "dnsmasq",
      "-k",
      "--no-resolv",
      "--no-hosts",
      "--port=0",
      `--interface=uS${tag}`,
      "--dhcp-range=10.78.1.50,10.78.1.60,255.255.255.0,600",
      "--dhcp-authoritative",
      "--no-ping", // dnsmasq would ping each address for 3 s before offering it
      "--dhcp-option=option:router,10.78.1.1",
      "--dhcp-option=option:dns-server,10.78.0.1",
      "--domain=usernet.test",
      `--dhcp-leasefile=${dir.path}/leases`,
      `--pid-file=${dir.path}/pid`,
      "--log-dhcp",
      "--log-facility=-",
    ]);
    await dnsmasq.waitForOutput(/DHCP, IP range 10\.78\.1\.50/, 10_000);
    await fn(dnsmasq);
  } catch (e) {
    if (dnsmasq) console.error(`dnsmasq log:\n${dnsmasq.log}`);
    throw e;
  } finally {
    await dnsmasq?.stop();
    await run("ip", ["netns", "del", nsS], { allowFail: true });
    await run("ip", ["netns", "del", nsC], { allowFail: true });
    await dir.cleanup();
  }
}

async function child(scenario: string): Promise<Array<Record<string, unknown>>> {
  const script = new URL("./dhcp_dnsmasq_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      nsC,
      Deno.execPath(),
      "run",
      "-A",
      "--unstable-net",
      script,
      scenario,
      "10.78.0.1",
      "10.78.1.1",
      `uD${tag}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `child failed:\n${text}\n${err}`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

const needs = { programs: ["dnsmasq", "ip"], root: true };

interopTest(
  "dnsmasq (DHCP, relayed): decline a conflict, acquire, renew at T1, release",
  needs,
  async () => {
    await withNetwork(async (dnsmasq) => {
      const lines = await child("full");
      const events = lines.filter((l) => l.event);
      assert.deepEqual(events.map((e) => e.event), ["declined", "acquired", "renewed", "lost"]);
      const [declined, acquired, renewed] = events;
      assert.notEqual(acquired.address, declined.address, "the declined address is not reused");
      assert.deepEqual(
        {
          prefixLength: acquired.prefixLength,
          router: acquired.router,
          dns: acquired.dns,
          domain: acquired.domain,
          leaseTime: acquired.leaseTime,
          serverId: acquired.serverId,
        },
        {
          prefixLength: 24,
          router: "10.78.1.1",
          dns: ["10.78.0.1"],
          domain: "usernet.test",
          leaseTime: 600,
          serverId: "10.78.0.1",
        },
      );
      assert.equal(renewed.address, acquired.address);
      const sent = lines.filter((l) => l.sent).map((l) => `${l.sent}${l.broadcast ? "*" : ""}`);
      // * = broadcast (relayed here); RENEW and RELEASE are unicast from the leased address.
      assert.deepEqual(sent, [
        "DHCPDISCOVER*",
        "DHCPREQUEST*",
        "DHCPDECLINE*",
        "DHCPDISCOVER*",
        "DHCPREQUEST*",
        "DHCPREQUEST",
        "DHCPRELEASE",
      ]);
      await dnsmasq.waitForOutput(/DHCPRELEASE\(uS\d+\) 10\.78\.1\.\d+ 52:54:00:aa:bb:01/);
      assert.match(dnsmasq.log, new RegExp(`DHCPDECLINE\\(uS\\d+\\) ${declined.address}`));
      assert.match(
        dnsmasq.log,
        new RegExp(`DHCPACK\\(uS\\d+\\) ${acquired.address} 52:54:00:aa:bb:01 usernet-full`),
      );
    });
  },
);

interopTest(
  "dnsmasq (DHCP, relayed): INIT-REBOOT of a foreign address is NAKed, then DISCOVER succeeds",
  needs,
  async () => {
    await withNetwork(async (dnsmasq) => {
      const lines = await child("nak");
      const sent = lines.filter((l) => l.sent).map((l) => l.sent);
      assert.deepEqual(sent.slice(0, 3), ["DHCPREQUEST", "DHCPDISCOVER", "DHCPREQUEST"]);
      const acquired = lines.find((l) => l.event === "acquired");
      assert.ok(acquired, JSON.stringify(lines));
      assert.match(String(acquired.address), /^10\.78\.1\.(5\d|60)$/);
      assert.match(dnsmasq.log, /DHCPNAK\(uS\d+\) 10\.78\.1\.200 52:54:00:aa:bb:02/);
    });
  },
);
