/**
 * usernet's DNS resolver core against dnsmasq on 127.0.0.1, driven by DenoDnsTransport, the
 * thin layer that gives the core real sockets: one Deno.listenDatagram per UDP attempt (a fresh
 * source port each time) and Deno.connect for the TCP fallback.
 */
import assert from "node:assert/strict";
import {
  DnsNameNotFound,
  DnsNoData,
  DnsRefused,
  formatShort,
  HostsTable,
  RecordType,
  Resolver,
  type ResolverOptions,
} from "../../net/dns/mod.ts";
import { DenoDnsTransport } from "../../net/dns/deno_transport.ts";
import { freePort, interopTest, Peer, tempDir } from "./_harness.ts";

async function startDnsmasq() {
  const dir = await tempDir("dnsmasq");
  const port = freePort();
  const hosts = [
    "10.1.2.3 web.test",
    "fd00::1 web.test",
    ...Array.from({ length: 60 }, (_, i) => `10.0.1.${i + 1} many.test`),
  ];
  await Deno.writeTextFile(`${dir.path}/hosts`, hosts.join("\n") + "\n");
  // dnsmasq drops to user nobody before reading the hosts file.
  await Deno.chmod(dir.path, 0o755);
  await Deno.chmod(`${dir.path}/hosts`, 0o644);
  const peer = new Peer("dnsmasq", "dnsmasq", [
    "-k",
    "--no-resolv",
    "--no-hosts",
    `--addn-hosts=${dir.path}/hosts`,
    "--listen-address=127.0.0.1",
    `--port=${port}`,
    "--bind-interfaces",
    "--local=/test/",
    "--local-ttl=60",
    "--cname=alias.test,web.test",
    "--mx-host=test,mail.test,10",
    "--txt-record=txt.test,hello world,second",
    "--srv-host=_http._tcp.test,web.test,80,1,5",
    `--pid-file=${dir.path}/pid`,
    "--log-queries",
    "--log-facility=-",
  ]);
  await peer.waitForOutput(/read .*hosts - 62 names|failed to load/, 10_000);
  if (!/62 names/.test(peer.log)) throw new Error(`dnsmasq could not start:\n${peer.log}`);
  return {
    peer,
    port,
    stop: async () => {
      await peer.stop();
      await dir.cleanup();
    },
  };
}

function dnsmasqTest(
  name: string,
  fn: (
    ctx: { port: number; shim: (o?: Partial<ResolverOptions>) => DenoDnsTransport },
  ) => Promise<void>,
) {
  interopTest(`dnsmasq: ${name}`, { programs: ["dnsmasq"], root: true }, async () => {
    const dnsmasq = await startDnsmasq();
    const shims: DenoDnsTransport[] = [];
    try {
      await fn({
        port: dnsmasq.port,
        shim: (o = {}) => {
          const shim = new DenoDnsTransport(
            new Resolver({
              servers: [{ address: "127.0.0.1", port: dnsmasq.port }],
              random: Math.random,
              timeoutMs: 500,
              ...o,
            }),
          );
          shims.push(shim);
          return shim;
        },
      });
    } catch (e) {
      console.error(`dnsmasq log:\n${dnsmasq.peer.log}`);
      throw e;
    } finally {
      for (const s of shims) await s.close();
      await dnsmasq.stop();
    }
  });
}

dnsmasqTest(
  "A, AAAA, CNAME, MX, TXT, SRV and PTR answers, as dig +short prints them",
  async ({ shim }) => {
    const s = shim();
    const cases: Array<[string, number, string[]]> = [
      ["web.test", RecordType.A, ["10.1.2.3"]],
      ["WEB.Test.", RecordType.AAAA, ["fd00::1"]],
      ["alias.test", RecordType.A, ["web.test.", "10.1.2.3"]],
      ["alias.test", RecordType.CNAME, ["web.test."]],
      ["test", RecordType.MX, ["10 mail.test."]],
      ["txt.test", RecordType.TXT, ['"hello world" "second"']],
      ["_http._tcp.test", RecordType.SRV, ["1 5 80 web.test."]],
      ["3.2.1.10.in-addr.arpa", RecordType.PTR, ["web.test."]],
    ];
    for (const [name, type, lines] of cases) {
      const c = await s.resolve(name, type);
      assert.ok(c.ok, `${name} ${type}: ${!c.ok && c.error.message}`);
      assert.deepEqual(formatShort(c.answer), lines, `${name} ${type}`);
      assert.equal(c.answer.source, "network");
    }
    assert.equal(s.resolver.stats.dropped, 0);
  },
);

dnsmasqTest("NXDOMAIN, NODATA and REFUSED are typed errors", async ({ shim }) => {
  const s = shim({ rounds: 1 });
  const nx = await s.resolve("nx.test", RecordType.A);
  assert.ok(!nx.ok && nx.error instanceof DnsNameNotFound, String(!nx.ok && nx.error));
  const nodata = await s.resolve("web.test", RecordType.MX);
  assert.ok(!nodata.ok && nodata.error instanceof DnsNoData, String(!nodata.ok && nodata.error));
  // dnsmasq has no upstream: names outside its local domain are refused.
  const refused = await s.resolve("example.com", RecordType.A);
  assert.ok(
    !refused.ok && refused.error instanceof DnsRefused,
    String(!refused.ok && refused.error),
  );
});

dnsmasqTest("60 A records: truncated over UDP (TC), complete over TCP", async ({ shim }) => {
  const s = shim();
  const c = await s.resolve("many.test", RecordType.A);
  assert.ok(c.ok, String(!c.ok && c.error));
  assert.equal(c.answer.records.length, 60);
  const addresses = new Set(formatShort(c.answer));
  for (let i = 1; i <= 60; i++) assert.ok(addresses.has(`10.0.1.${i}`));
  assert.deepEqual(s.sent.map((e) => e.kind), ["udp", "tcp"]);
});

dnsmasqTest(
  "hosts entries answer first; a repeated lookup comes from the cache",
  async ({ shim }) => {
    const hosts = new HostsTable();
    hosts.add("gateway.test", "10.0.2.2");
    const s = shim({ hosts });
    const gw = await s.resolve("gateway.test", RecordType.A);
    assert.ok(gw.ok && gw.answer.source === "hosts" && formatShort(gw.answer)[0] === "10.0.2.2");
    const lo = await s.resolve("localhost", RecordType.AAAA);
    assert.ok(lo.ok && formatShort(lo.answer)[0] === "::1");
    assert.equal(s.sent.length, 0, "hosts answers never touch the network");
    const first = await s.resolve("alias.test", RecordType.A);
    assert.ok(first.ok && first.answer.source === "network" && first.answer.ttl === 60);
    const second = await s.resolve("ALIAS.test", RecordType.A);
    assert.ok(second.ok && second.answer.source === "cache");
    assert.deepEqual(formatShort(second.answer), ["web.test.", "10.1.2.3"]);
    assert.ok(second.answer.ttl <= 60);
    assert.equal(s.sent.length, 1, "one query on the wire for two lookups");
  },
);

dnsmasqTest(
  "a silent first server times out; the second server answers",
  async ({ port, shim }) => {
    const dead = freePort();
    const s = shim({
      servers: [{ address: "127.0.0.1", port: dead }, { address: "127.0.0.1", port }],
      timeoutMs: 200,
    });
    const started = performance.now();
    const c = await s.resolve("web.test", RecordType.A);
    const elapsed = performance.now() - started;
    assert.ok(c.ok, String(!c.ok && c.error));
    assert.ok(elapsed >= 190, `waited ${elapsed} ms for the first server`);
    assert.deepEqual(s.sent.map((e) => `${e.kind} ${e.server}:${e.port}`), [
      `udp 127.0.0.1:${dead}`,
      `udp 127.0.0.1:${port}`,
    ]);
  },
);

dnsmasqTest("concurrent lookups share one transport driver", async ({ shim }) => {
  const s = shim();
  const names = ["web.test", "alias.test", "many.test", "nx.test", "txt.test"];
  const results = await Promise.all(names.map((n) => s.resolve(n, RecordType.A)));
  assert.deepEqual(results.map((r) => r.ok), [true, true, true, false, false]);
  assert.equal(results[2].ok && results[2].answer.records.length, 60);
});

interopTest("dnsmasq: dig.ts prints +short lines and typed errors", {
  programs: ["dnsmasq"],
  root: true,
}, async () => {
  const dnsmasq = await startDnsmasq();
  try {
    const run = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--unstable-net",
          new URL("../../net/dns/dig.ts", import.meta.url).pathname,
          `@127.0.0.1:${dnsmasq.port}`,
          ...args,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
      return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
    };
    assert.deepEqual(await run("alias.test"), {
      code: 0,
      stdout: "web.test.\n10.1.2.3",
      stderr: "",
    });
    assert.deepEqual((await run("test", "--type", "MX")).stdout, "10 mail.test.");
    const nx = await run("nx.test", "AAAA");
    assert.equal(nx.code, 1);
    assert.match(nx.stderr, /DnsNameNotFound: nx\.test\. AAAA/);
  } finally {
    await dnsmasq.stop();
  }
});
