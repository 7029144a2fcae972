/**
 * usernet's DNS resolver core against dnsmasq on 127.0.0.1, driven by a small shim that gives
 * the core real sockets: one Deno.listenDatagram per UDP transport (a fresh source port per
 * attempt) and Deno.connect for the TCP fallback.
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
import type { DnsCompletion } from "../../net/dns/resolver.ts";
import { freePort, interopTest, Peer, tempDir } from "./_harness.ts";

const dotted = (a: number) => [a >>> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255].join(".");

/** Real I/O for a Resolver: sockets per transport, one timer, until the asked lookups finish. */
class ResolverShim {
  readonly udp = new Map<number, Deno.DatagramConn>();
  readonly tcp = new Map<number, Deno.TcpConn>();
  readonly done = new Map<number, DnsCompletion>();
  readonly log: string[] = [];
  #wake: () => void = () => {};
  #tasks: Promise<void>[] = [];

  constructor(readonly resolver: Resolver) {}

  #notify() {
    this.#wake();
  }

  async #readUdp(transport: number, socket: Deno.DatagramConn) {
    try {
      for (;;) {
        const [bytes, addr] = await socket.receive();
        const { hostname, port } = addr as Deno.NetAddr;
        this.resolver.receive(transport, hostname, port, bytes, performance.now());
        this.#notify();
      }
    } catch { /* closed */ }
  }

  async #runTcp(transport: number, server: number, port: number, payload: Uint8Array) {
    let conn: Deno.TcpConn | undefined;
    try {
      conn = await Deno.connect({ hostname: dotted(server), port });
      this.tcp.set(transport, conn);
      let written = 0;
      while (written < payload.length) written += await conn.write(payload.subarray(written));
      const buffer = new Uint8Array(65536);
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        this.resolver.receiveTcp(transport, buffer.slice(0, n), performance.now());
        this.#notify();
        if (!this.tcp.has(transport)) return; // the core is done with it
      }
      this.resolver.tcpClosed(transport, performance.now());
    } catch (e) {
      this.resolver.tcpClosed(transport, performance.now(), String(e));
    }
    this.#notify();
  }

  /** Resolves and returns the completion. */
  async resolve(name: string, type: number): Promise<DnsCompletion> {
    const { id } = this.resolver.resolve(name, type, performance.now());
    while (!this.done.has(id)) {
      const out = this.resolver.poll(performance.now());
      for (const c of out.completions) this.done.set(c.id, c);
      for (const t of out.closed) {
        this.udp.get(t)?.close();
        this.udp.delete(t);
        const conn = this.tcp.get(t);
        this.tcp.delete(t);
        try {
          conn?.close();
        } catch { /* already closed */ }
      }
      for (const d of out.datagrams) {
        const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
        this.udp.set(d.transport, socket);
        this.#tasks.push(this.#readUdp(d.transport, socket));
        this.log.push(`udp ${d.transport} -> ${dotted(d.server)}:${d.port}`);
        await socket.send(d.payload, {
          hostname: dotted(d.server),
          port: d.port,
          transport: "udp",
        });
      }
      for (const q of out.tcpQueries) {
        this.log.push(`tcp ${q.transport} -> ${dotted(q.server)}:${q.port}`);
        this.#tasks.push(this.#runTcp(q.transport, q.server, q.port, q.payload));
      }
      if (this.done.has(id)) break;
      if (out.datagrams.length || out.tcpQueries.length || out.completions.length) continue;
      const wait = out.deadline === undefined
        ? 1000
        : Math.max(0, out.deadline - performance.now());
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, wait);
      });
      clearTimeout(timer);
    }
    return this.done.get(id)!;
  }

  async close() {
    for (const s of this.udp.values()) s.close();
    for (const c of this.tcp.values()) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    this.udp.clear();
    this.tcp.clear();
    await Promise.all(this.#tasks);
  }
}

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
    ctx: { port: number; shim: (o?: Partial<ResolverOptions>) => ResolverShim },
  ) => Promise<void>,
) {
  interopTest(`dnsmasq: ${name}`, { programs: ["dnsmasq"], root: true }, async () => {
    const dnsmasq = await startDnsmasq();
    const shims: ResolverShim[] = [];
    try {
      await fn({
        port: dnsmasq.port,
        shim: (o = {}) => {
          const shim = new ResolverShim(
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
  assert.equal(s.log.filter((l) => l.startsWith("udp")).length, 1);
  assert.equal(s.log.filter((l) => l.startsWith("tcp")).length, 1, s.log.join("\n"));
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
    assert.equal(s.log.length, 0, "hosts answers never touch the network");
    const first = await s.resolve("alias.test", RecordType.A);
    assert.ok(first.ok && first.answer.source === "network" && first.answer.ttl === 60);
    const second = await s.resolve("ALIAS.test", RecordType.A);
    assert.ok(second.ok && second.answer.source === "cache");
    assert.deepEqual(formatShort(second.answer), ["web.test.", "10.1.2.3"]);
    assert.ok(second.answer.ttl <= 60);
    assert.equal(s.log.length, 1, "one query on the wire for two lookups");
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
    assert.deepEqual(s.log.map((l) => l.replace(/^udp \d+ /, "")), [
      `-> 127.0.0.1:${dead}`,
      `-> 127.0.0.1:${port}`,
    ]);
  },
);
