/**
 * Name resolution through usernet against dnsmasq, over a TAP device in a namespace made for
 * the test: Linux's side is 10.80.0.1/24 where dnsmasq answers DNS (and DHCP, for the test
 * that takes its servers from the lease); usernet is 10.80.0.2 or leased.
 */
import assert from "node:assert/strict";
import { interopTest, type Peer, tempDir } from "./_harness.ts";
import { createTapNamespace, type TestNamespace } from "./_netns.ts";
import { TapNic } from "../../drivers/tap.ts";
import { Stack, type StackOptions } from "../../net/stack.ts";
import { DnsNameNotFound, DnsNoData, formatShort } from "../../net/dns/mod.ts";

const needs = { root: true, programs: ["ip", "dnsmasq"], files: ["/dev/net/tun"] };

async function withDnsmasq(
  tag: string,
  stackOptions: Omit<StackOptions, "nic">,
  fn: (s: { ns: TestNamespace & { tap: string }; dnsmasq: Peer; stack: Stack }) => Promise<void>,
): Promise<void> {
  const ns = await createTapNamespace(tag, "10.80.0.1/24");
  const dir = await tempDir("dns-tap");
  const hosts = [
    "10.80.1.3 web.test",
    "fd00::3 web.test",
    ...Array.from({ length: 60 }, (_, i) => `10.80.2.${i + 1} many.test`),
  ];
  await Deno.writeTextFile(`${dir.path}/hosts`, hosts.join("\n") + "\n");
  await Deno.chmod(dir.path, 0o777); // dnsmasq reads the hosts file and writes leases as nobody
  await Deno.chmod(`${dir.path}/hosts`, 0o644);
  let dnsmasq: Peer | undefined;
  let stack: Stack | undefined;
  try {
    stack = new Stack({ nic: TapNic.open({ name: ns.tap, netns: ns.name }), ...stackOptions });
    dnsmasq = ns.spawn("dnsmasq", "dnsmasq", [
      "-k",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${dir.path}/hosts`,
      "--interface=tap0",
      "--bind-interfaces",
      "--local=/test/",
      "--local-ttl=60",
      // A CNAME chain: alias -> middle -> web.
      "--cname=alias.test,middle.test",
      "--cname=middle.test,web.test",
      "--mx-host=test,mail.test,10",
      "--txt-record=txt.test,hello usernet",
      "--dhcp-range=10.80.0.50,10.80.0.60,255.255.255.0,2m",
      "--dhcp-option=option:dns-server,10.80.0.1",
      "--dhcp-authoritative",
      "--no-ping",
      `--dhcp-leasefile=${dir.path}/leases`,
      `--pid-file=${dir.path}/pid`,
      "--log-queries",
      "--log-facility=-",
    ]);
    await dnsmasq.waitForOutput(/read .*hosts - 62 names|failed to load/, 10_000);
    await fn({ ns, dnsmasq, stack });
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

const staticAddress = { address: "10.80.0.2/24", dns: ["10.80.0.1"] };

interopTest(
  "dnsmasq over TAP: usernet resolves A, AAAA, a CNAME chain, MX and TXT; NXDOMAIN and NODATA are typed",
  needs,
  async () => {
    await withDnsmasq("dns-kinds", staticAddress, async ({ stack }) => {
      const cases: Array<[string, string, string[]]> = [
        ["web.test", "A", ["10.80.1.3"]],
        ["web.test", "AAAA", ["fd00::3"]],
        ["alias.test", "A", ["middle.test.", "web.test.", "10.80.1.3"]],
        ["alias.test", "CNAME", ["middle.test."]],
        ["test", "MX", ["10 mail.test."]],
        ["txt.test", "TXT", ['"hello usernet"']],
      ];
      for (const [name, type, lines] of cases) {
        const answer = await stack.resolve(name, { type });
        assert.deepEqual(formatShort(answer), lines, `${name} ${type}`);
      }
      const chained = await stack.resolve("alias.test");
      assert.equal(chained.source, "cache");
      assert.equal(chained.canonicalName, "web.test.");
      await assert.rejects(stack.resolve("nx.test"), DnsNameNotFound);
      await assert.rejects(stack.resolve("web.test", { type: "MX" }), DnsNoData);
    });
  },
);

interopTest(
  "dnsmasq over TAP: 60 A records are truncated over UDP, then fetched over usernet's TCP",
  needs,
  async () => {
    await withDnsmasq("dns-tc", staticAddress, async ({ stack }) => {
      const answer = await stack.resolve("many.test");
      assert.equal(answer.records.length, 60);
      const addresses = new Set(formatShort(answer));
      for (let i = 1; i <= 60; i++) assert.ok(addresses.has(`10.80.2.${i}`));
      // The TCP connection went through usernet and is gone again.
      const tcp = stack.stats().tcp as unknown as Record<string, number>;
      assert.ok(Object.values(tcp).some((v) => v > 0), JSON.stringify(tcp));
    });
  },
);

interopTest(
  "dnsmasq over TAP: DNS servers from the DHCP lease; connect() by name reaches Linux",
  { ...needs, programs: [...needs.programs, "python3"] },
  async () => {
    await withDnsmasq("dns-lease", { dhcp: { probe: false } }, async ({ ns, stack }) => {
      const server = ns.spawn("tcp-echo", "python3", [
        "-c",
        [
          "import socket",
          "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
          "s.bind(('10.80.0.1', 7007)); s.listen(1); print('ready', flush=True)",
          "c, _ = s.accept(); c.sendall(c.recv(100).upper()); c.close()",
        ].join("\n"),
      ]);
      await server.waitForOutput("ready", 10_000);
      await stack.dhcp();
      assert.deepEqual(stack.resolver.servers, ["10.80.0.1:53"]);
      stack.resolver.hosts.add("linux.test", "10.80.0.1");
      const conn = await stack.connect({ hostname: "linux.test", port: 7007 });
      await conn.write(new TextEncoder().encode("usernet"));
      const buffer = new Uint8Array(16);
      const n = await conn.read(buffer);
      assert.equal(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), "USERNET");
      conn.close();
      assert.deepEqual(formatShort(await stack.resolve("web.test")), ["10.80.1.3"]);
      await server.stop();
    });
  },
);

interopTest(
  "dnsmasq over TAP: cli/dig.ts --tap --netns --dhcp prints +short lines, and NXDOMAIN exits 1",
  needs,
  async () => {
    await withDnsmasq("dns-cli", {}, async ({ ns, stack }) => {
      await stack.close(); // dig opens the TAP itself
      const dig = async (...args: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-net",
            "--allow-read",
            "--allow-write",
            "--allow-ffi",
            new URL("../../cli/dig.ts", import.meta.url).pathname,
            ...args,
            "--tap",
            ns.tap,
            "--netns",
            ns.name,
            "--dhcp",
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
        return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
      };
      const alias = await dig("alias.test");
      assert.equal(alias.code, 0, alias.stderr);
      assert.equal(alias.stdout, "middle.test.\nweb.test.\n10.80.1.3");
      assert.match(alias.stderr, /dhcp: 10\.80\.0\.\d+\/24/);
      const mx = await dig("test", "--type", "MX", "--server", "10.80.0.1");
      assert.equal(mx.stdout, "10 mail.test.");
      const nx = await dig("nx.test");
      assert.equal(nx.code, 1);
      assert.match(nx.stderr, /;; DnsNameNotFound: nx\.test\. A/);
    });
  },
);
