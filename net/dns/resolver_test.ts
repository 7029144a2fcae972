import assert from "node:assert/strict";
import { dnsmasqCaptures, hex } from "./_dnsmasq_captures_test_data.ts";
import { seededRandom } from "./_test_util.ts";
import { DnsCache } from "./cache.ts";
import {
  DnsBadQuery,
  DnsNameNotFound,
  DnsNoData,
  DnsRefused,
  DnsServerFailure,
  DnsTimeout,
} from "./errors.ts";
import { formatShort } from "./format.ts";
import { HostsTable } from "./hosts.ts";
import { type DnsMessage, parseMessage, type ResourceRecord, serializeMessage } from "./message.ts";
import {
  type DnsCompletion,
  type DnsDatagram,
  Resolver,
  type ResolverOptions,
  type ResolverOutput,
} from "./resolver.ts";

const S1 = 0x0a000203; // 10.0.2.3
const S2 = 0x0a000204; // 10.0.2.4

const A = (name: string, address: number, ttl = 300): ResourceRecord => ({
  name,
  type: 1,
  class: 1,
  ttl,
  data: { kind: "A", address },
});
const CNAME = (name: string, target: string, ttl = 300): ResourceRecord => ({
  name,
  type: 5,
  class: 1,
  ttl,
  data: { kind: "CNAME", target },
});
const SOA = (name: string, ttl: number, minimum: number): ResourceRecord => ({
  name,
  type: 6,
  class: 1,
  ttl,
  data: {
    kind: "SOA",
    mname: `ns.${name}`,
    rname: `host.${name}`,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum,
  },
});

/** Builds the server's answer to a query datagram. */
function answer(
  query: Uint8Array,
  opts: Partial<DnsMessage> = {},
): Uint8Array {
  const q = parseMessage(query);
  return serializeMessage({ ...q, qr: true, ra: true, ...opts });
}

/** A resolver on a virtual clock with the outputs of every poll collected. */
class ResolverTest {
  now = 0;
  readonly r: Resolver;
  last!: ResolverOutput;
  readonly completions: DnsCompletion[] = [];
  readonly closed: number[] = [];

  constructor(opts: Partial<ResolverOptions> = {}) {
    this.r = new Resolver({ servers: [S1, S2], random: seededRandom(7), ...opts });
  }
  resolve(name: string, type = 1): number {
    return this.r.resolve(name, type, this.now).id;
  }
  poll(): ResolverOutput {
    this.last = this.r.poll(this.now);
    this.completions.push(...this.last.completions);
    this.closed.push(...this.last.closed);
    return this.last;
  }
  /** Advances to `t` and polls. */
  at(t: number): ResolverOutput {
    this.now = t;
    return this.poll();
  }
  reply(d: DnsDatagram, opts: Partial<DnsMessage> = {}, from = d.server, port = d.port): void {
    this.r.receive(d.transport, from, port, answer(d.payload, opts), this.now);
  }
  only<T>(list: T[]): T {
    assert.equal(list.length, 1, `expected exactly one, got ${list.length}`);
    return list[0];
  }
  done(): DnsCompletion {
    return this.only(this.poll().completions);
  }
}

Deno.test("resolver: sends one query, matches the answer, completes", () => {
  const t = new ResolverTest();
  const id = t.resolve("www.example");
  const out = t.poll();
  const d = t.only(out.datagrams);
  assert.equal(d.server, S1);
  assert.equal(d.port, 53);
  assert.equal(out.deadline, 1000);
  const q = parseMessage(d.payload);
  assert.equal(q.rd, true);
  assert.deepEqual(q.questions, [{ name: "www.example.", type: 1, class: 1 }]);
  t.reply(d, { answers: [A("www.example.", 0x01020304)] });
  const c = t.done();
  assert.ok(c.ok);
  assert.equal(c.id, id);
  assert.deepEqual(formatShort(c.answer), ["1.2.3.4"]);
  assert.equal(c.answer.source, "network");
  assert.equal(c.answer.server, S1);
  assert.deepEqual(t.last.closed, [d.transport]);
  assert.equal(t.last.deadline, undefined);
  assert.equal(t.r.inFlight, 0);
});

Deno.test("resolver: retries over servers with doubling timeouts, then DnsTimeout", () => {
  const t = new ResolverTest({ timeoutMs: 1000, rounds: 3 });
  t.resolve("slow.example");
  // Attempt k goes to server k % 2 with timeout 1000 * 2^round.
  const expected: Array<[number, number, number]> = [
    [0, S1, 1000],
    [1000, S2, 2000],
    [2000, S1, 4000],
    [4000, S2, 6000],
    [6000, S1, 10000],
    [10000, S2, 14000],
  ];
  const transports = new Set<number>();
  const ids = new Set<number>();
  for (const [at, server, deadline] of expected) {
    const out = t.at(at);
    const d = t.only(out.datagrams);
    assert.equal(d.server, server, `server at ${at}`);
    assert.equal(out.deadline, deadline, `deadline at ${at}`);
    transports.add(d.transport);
    ids.add(parseMessage(d.payload).id);
    assert.equal(t.at(deadline - 1).datagrams.length, 0, "nothing before the deadline");
  }
  assert.equal(transports.size, 6, "a new transport (source port) per attempt");
  assert.equal(ids.size, 6, "a new random id per attempt");
  const out = t.at(14000);
  assert.equal(out.datagrams.length, 0);
  const c = t.only(out.completions);
  assert.ok(!c.ok && c.error instanceof DnsTimeout);
  assert.deepEqual(out.closed.sort(), [...transports].sort(), "every transport is released");
  assert.deepEqual(t.r.schedule, [1000, 1000, 2000, 2000, 4000, 4000]);
});

Deno.test("resolver: answers that do not match exactly are dropped (RFC 5452 §9)", () => {
  const t = new ResolverTest();
  t.resolve("www.example");
  const d = t.only(t.poll().datagrams);
  const good = answer(d.payload, { answers: [A("www.example.", 1)] });
  const wrongId = good.slice();
  wrongId[0] ^= 0xff;
  const q = parseMessage(d.payload);
  const other = (m: Partial<DnsMessage>) =>
    serializeMessage({ ...q, qr: true, answers: [A("www.example.", 1)], ...m });
  const bad: Array<[string, () => void]> = [
    ["wrong id", () => t.r.receive(d.transport, S1, 53, wrongId, 0)],
    ["wrong server", () => t.r.receive(d.transport, S2, 53, good, 0)],
    ["wrong port", () => t.r.receive(d.transport, S1, 5353, good, 0)],
    ["unknown transport", () => t.r.receive(d.transport + 100, S1, 53, good, 0)],
    ["not a response", () => t.r.receive(d.transport, S1, 53, other({ qr: false }), 0)],
    [
      "other name",
      () =>
        t.r.receive(
          d.transport,
          S1,
          53,
          other({ questions: [{ name: "x.example.", type: 1, class: 1 }] }),
          0,
        ),
    ],
    [
      "other type",
      () =>
        t.r.receive(
          d.transport,
          S1,
          53,
          other({ questions: [{ name: "www.example.", type: 28, class: 1 }] }),
          0,
        ),
    ],
    [
      "other class",
      () =>
        t.r.receive(
          d.transport,
          S1,
          53,
          other({ questions: [{ name: "www.example.", type: 1, class: 3 }] }),
          0,
        ),
    ],
    ["no question", () => t.r.receive(d.transport, S1, 53, other({ questions: [] }), 0)],
    ["garbage", () => t.r.receive(d.transport, S1, 53, good.subarray(0, 20), 0)],
  ];
  for (const [what, send] of bad) {
    send();
    const out = t.poll();
    assert.equal(out.completions.length, 0, what);
  }
  assert.equal(t.r.stats.dropped, bad.length);
  // The question's name matches case-insensitively.
  const upper = other({ questions: [{ name: "WWW.EXAMPLE.", type: 1, class: 1 }] });
  t.r.receive(d.transport, "10.0.2.3", 53, upper, 0);
  assert.ok(t.done().ok);
});

Deno.test("resolver: a late answer to an earlier attempt is still accepted", () => {
  const t = new ResolverTest();
  t.resolve("late.example");
  const first = t.only(t.poll().datagrams);
  t.only(t.at(1000).datagrams); // second attempt to S2
  t.reply(first, { answers: [A("late.example.", 5)] });
  const c = t.done();
  assert.ok(c.ok && c.answer.server === S1);
  assert.equal(t.last.closed.length, 2);
});

Deno.test("resolver: truncated answer (TC) falls back to TCP on the same server (RFC 7766)", () => {
  const t = new ResolverTest();
  t.resolve("big.example");
  const d = t.only(t.poll().datagrams);
  // A TC answer whose answer section is cut mid-record must still be understood.
  const tc = answer(d.payload, { tc: true, answers: [A("big.example.", 1)] });
  t.r.receive(d.transport, S1, 53, tc.subarray(0, tc.length - 3), 0);
  const out = t.poll();
  assert.deepEqual(out.closed, [d.transport]);
  const q = t.only(out.tcpQueries);
  assert.equal(q.server, S1);
  assert.equal((q.payload[0] << 8) | q.payload[1], q.payload.length - 2, "length prefix");
  assert.equal(out.deadline, 5000, "TCP timeout");
  const records = Array.from({ length: 60 }, (_, i) => A("big.example.", 0x0a000100 + i));
  const full = answer(q.payload.subarray(2), { answers: records });
  const framed = Uint8Array.from([full.length >> 8, full.length & 255, ...full]);
  for (let i = 0; i < framed.length; i += 7) {
    t.r.receiveTcp(q.transport, framed.subarray(i, i + 7), 0); // arbitrary splits
  }
  const c = t.done();
  assert.ok(c.ok);
  assert.equal(c.answer.records.length, 60);
  assert.deepEqual(t.last.closed, [q.transport]);
});

Deno.test("resolver: TCP failure moves on to the next attempt", () => {
  const t = new ResolverTest();
  t.resolve("big.example");
  const d = t.only(t.poll().datagrams);
  t.reply(d, { tc: true });
  const q = t.only(t.poll().tcpQueries);
  t.r.tcpClosed(q.transport, 10, "connection refused");
  const out = t.at(10);
  assert.deepEqual(out.closed, [q.transport]);
  const next = t.only(out.datagrams);
  assert.equal(next.server, S2);
  // And a TCP attempt that never answers times out the same way.
  t.reply(next, { tc: true });
  const q2 = t.only(t.poll().tcpQueries);
  assert.equal(t.last.deadline, 10 + 5000);
  const later = t.at(5010);
  assert.deepEqual(later.closed, [q2.transport]);
  assert.equal(t.only(later.datagrams).server, S1);
});

Deno.test("resolver: an ICMP unreachable for a UDP query moves on at once, not at the timeout", () => {
  const t = new ResolverTest();
  t.resolve("www.example");
  const d = t.only(t.poll().datagrams);
  assert.equal(d.server, S1);
  t.r.udpUnreachable(d.transport, 3, "port unreachable");
  const out = t.at(3);
  assert.deepEqual(out.closed, [d.transport]);
  const next = t.only(out.datagrams);
  assert.equal(next.server, S2, "the next server is asked at 3 ms");
  // A late report about the closed attempt changes nothing.
  t.r.udpUnreachable(d.transport, 4, "late duplicate");
  assert.equal(t.at(4).datagrams.length, 0);
  t.reply(next, { answers: [A("www.example.", 7)] });
  assert.ok(t.done().ok);
});

Deno.test("resolver: a late ICMP error or REFUSED for an earlier attempt does not cut the current one short", () => {
  // A silent on-link server: its ARP failure (HostUnreachable) comes after 3 × 1 s, by which
  // time the attempt has timed out and the next server is being asked.
  const t = new ResolverTest({ rounds: 1 });
  t.resolve("www.example");
  const first = t.only(t.poll().datagrams);
  assert.equal(first.server, S1);
  const second = t.only(t.at(1000).datagrams);
  assert.equal(second.server, S2, "the last attempt, until 2000");
  t.now = 1500;
  t.r.udpUnreachable(first.transport, 1500, "10.0.2.3 did not answer ARP");
  t.reply(first, { rcode: 5 }); // and a stale REFUSED: no effect either
  assert.equal(t.poll().completions.length, 0, "the lookup still waits for S2");
  t.now = 1600;
  t.reply(second, { answers: [A("www.example.", 7)] });
  assert.ok(t.done().ok);
});

Deno.test("resolver: cached answers live their TTL", () => {
  const t = new ResolverTest();
  t.resolve("www.example");
  t.reply(t.only(t.poll().datagrams), { answers: [A("www.example.", 9, 60)] });
  assert.ok(t.done().ok);
  t.now = 59_999;
  t.resolve("WWW.example.");
  const out = t.poll();
  assert.equal(out.datagrams.length, 0);
  const c = t.only(out.completions);
  assert.ok(c.ok && c.answer.source === "cache" && c.answer.ttl === 0);
  assert.equal(t.r.stats.cacheHits, 1);
  t.now = 60_000;
  t.resolve("www.example");
  assert.equal(t.poll().datagrams.length, 1, "expired: asks the network again");
});

Deno.test("resolver: negative caching per RFC 2308 (SOA TTL vs MINIMUM)", () => {
  const t = new ResolverTest();
  t.resolve("nx.example");
  t.reply(t.only(t.poll().datagrams), {
    rcode: 3,
    authorities: [SOA("example.", 300, 60)],
  });
  const c = t.done();
  assert.ok(!c.ok && c.error instanceof DnsNameNotFound);
  // NXDOMAIN covers every type for min(300, 60) = 60 s.
  t.now = 59_000;
  t.resolve("nx.example", 28);
  const cached = t.poll();
  assert.equal(cached.datagrams.length, 0);
  const c2 = t.only(cached.completions);
  assert.ok(!c2.ok && c2.error instanceof DnsNameNotFound);
  t.now = 60_000;
  t.resolve("nx.example", 28);
  assert.equal(t.poll().datagrams.length, 1);
});

Deno.test("resolver: NODATA is DnsNoData; without an SOA it is not cached", () => {
  const t = new ResolverTest();
  t.resolve("v4only.example", 28);
  t.reply(t.only(t.poll().datagrams), { authorities: [SOA("example.", 30, 3600)] });
  const c = t.done();
  assert.ok(!c.ok && c.error instanceof DnsNoData);
  t.resolve("v4only.example", 28);
  assert.equal(t.poll().datagrams.length, 0, "cached for 30 s");
  t.resolve("nosoa.example", 28);
  t.reply(t.only(t.poll().datagrams), {});
  assert.ok(!t.done().ok);
  t.resolve("nosoa.example", 28);
  assert.equal(t.poll().datagrams.length, 1, "not cached without SOA");
});

Deno.test("resolver: follows a CNAME chain inside the answer", () => {
  const t = new ResolverTest();
  t.resolve("www.example");
  t.reply(t.only(t.poll().datagrams), {
    answers: [
      CNAME("www.example.", "web.example.", 120),
      CNAME("WEB.example.", "host.cdn.", 300),
      A("host.cdn.", 0x0a000001, 30),
      A("host.cdn.", 0x0a000002, 30),
      A("unrelated.example.", 0x0a0000ff),
    ],
  });
  const c = t.done();
  assert.ok(c.ok);
  assert.equal(c.answer.canonicalName, "host.cdn.");
  assert.equal(c.answer.ttl, 30);
  assert.deepEqual(formatShort(c.answer), ["web.example.", "host.cdn.", "10.0.0.1", "10.0.0.2"]);
  // Cached as a whole.
  t.resolve("www.example");
  const cached = t.only(t.poll().completions);
  assert.ok(cached.ok && cached.answer.chain.length === 2 && cached.answer.records.length === 2);
});

Deno.test("resolver: a dangling CNAME is chased with a new query for its target", () => {
  const t = new ResolverTest();
  t.resolve("alias.example");
  t.reply(t.only(t.poll().datagrams), { answers: [CNAME("alias.example.", "real.other.")] });
  const d = t.only(t.poll().datagrams);
  assert.equal(parseMessage(d.payload).questions[0].name, "real.other.");
  assert.equal(d.server, S1, "a new chase starts at the first server");
  t.reply(d, { answers: [A("real.other.", 7)] });
  const c = t.done();
  assert.ok(c.ok && c.answer.name === "alias.example." && c.answer.canonicalName === "real.other.");
  assert.deepEqual(formatShort(c.answer), ["real.other.", "0.0.0.7"]);
});

Deno.test("resolver: CNAME loops and over-long chains are DnsBadQuery", () => {
  const t = new ResolverTest();
  t.resolve("a.example");
  t.reply(t.only(t.poll().datagrams), {
    answers: [CNAME("a.example.", "b.example."), CNAME("b.example.", "a.example.")],
  });
  const loop = t.done();
  assert.ok(!loop.ok && loop.error instanceof DnsBadQuery && /loop/.test(loop.error.message));
  const t2 = new ResolverTest({ maxCnameChain: 3 });
  t2.resolve("c0.example");
  t2.reply(t2.only(t2.poll().datagrams), {
    answers: Array.from({ length: 5 }, (_, i) => CNAME(`c${i}.example.`, `c${i + 1}.example.`)),
  });
  const long = t2.done();
  assert.ok(
    !long.ok && long.error instanceof DnsBadQuery && /longer than 3/.test(long.error.message),
  );
});

Deno.test("resolver: CNAME query returns the CNAME itself", () => {
  const t = new ResolverTest();
  t.resolve("www.example", 5);
  t.reply(t.only(t.poll().datagrams), { answers: [CNAME("www.example.", "web.example.")] });
  const c = t.done();
  assert.ok(c.ok && c.answer.records.length === 1 && c.answer.chain.length === 0);
});

Deno.test("resolver: SERVFAIL tries the next server at once; REFUSED everywhere is DnsRefused", () => {
  const t = new ResolverTest({ rounds: 1 });
  t.resolve("broken.example");
  const d1 = t.only(t.poll().datagrams);
  t.reply(d1, { rcode: 2 });
  const out = t.poll();
  const d2 = t.only(out.datagrams);
  assert.equal(d2.server, S2);
  assert.deepEqual(out.closed, [d1.transport]);
  t.reply(d2, { rcode: 2 });
  const c = t.done();
  assert.ok(
    !c.ok && c.error instanceof DnsServerFailure &&
      /SERVFAIL from 10.0.2.4:53/.test(c.error.message),
  );

  const r = new ResolverTest({ rounds: 1 });
  r.resolve("refused.example");
  r.reply(r.only(r.poll().datagrams), { rcode: 5 });
  r.reply(r.only(r.poll().datagrams), { rcode: 5 });
  const c2 = r.done();
  assert.ok(!c2.ok && c2.error instanceof DnsRefused);
});

Deno.test("resolver: hosts table answers first, localhost never leaves the machine", () => {
  const hosts = new HostsTable();
  hosts.add("gateway.lan", "10.0.2.2");
  const t = new ResolverTest({ hosts });
  t.resolve("localhost");
  t.resolve("gateway.lan");
  t.resolve("localhost", 15);
  const out = t.poll();
  assert.equal(out.datagrams.length, 0);
  const [lo, gw, mx] = out.completions;
  assert.ok(lo.ok && formatShort(lo.answer)[0] === "127.0.0.1" && lo.answer.source === "hosts");
  assert.ok(gw.ok && formatShort(gw.answer)[0] === "10.0.2.2");
  assert.ok(!mx.ok && mx.error instanceof DnsNoData);
});

Deno.test("resolver: bad names, no servers, too many lookups, cancel", () => {
  const t = new ResolverTest({ maxInFlight: 1 });
  t.resolve("a..b");
  const bad = t.done();
  assert.ok(!bad.ok && bad.error instanceof DnsBadQuery);
  const id = t.resolve("one.example");
  const d = t.only(t.poll().datagrams);
  t.resolve("two.example");
  const busy = t.done();
  assert.ok(!busy.ok && busy.error instanceof DnsBadQuery && /in flight/.test(busy.error.message));
  t.r.cancel(id);
  const out = t.poll();
  assert.deepEqual(out.closed, [d.transport]);
  assert.equal(out.completions.length, 0);
  assert.equal(out.deadline, undefined);
  const none = new ResolverTest({ servers: [] });
  none.resolve("x.example");
  const c = none.done();
  assert.ok(!c.ok && c.error instanceof DnsTimeout);
});

Deno.test("resolver: EDNS(0) OPT record advertises the UDP size when asked", () => {
  const t = new ResolverTest({ ednsUdpSize: 1232, cache: new DnsCache() });
  t.resolve("x.example");
  const q = parseMessage(t.only(t.poll().datagrams).payload);
  assert.equal(q.additionals.length, 1);
  assert.equal(q.additionals[0].type, 41);
  assert.equal(q.additionals[0].class, 1232);
});

Deno.test("resolver: replayed dnsmasq answers (truncated 60-record set, then TCP)", () => {
  const t = new ResolverTest({ cache: false });
  t.resolve("many.test");
  const d = t.only(t.poll().datagrams);
  const withId = (bytes: Uint8Array, id: Uint8Array) => {
    const copy = bytes.slice();
    copy.set(id.subarray(0, 2));
    return copy;
  };
  t.r.receive(d.transport, S1, 53, withId(hex(dnsmasqCaptures.manyUdp.response), d.payload), 0);
  const q = t.only(t.poll().tcpQueries);
  const full = withId(hex(dnsmasqCaptures.manyTcp.response), q.payload.subarray(2));
  t.r.receiveTcp(q.transport, Uint8Array.of(full.length >> 8, full.length & 255), 0);
  t.r.receiveTcp(q.transport, full, 0);
  const c = t.done();
  assert.ok(c.ok && c.answer.records.length === 60);
});

Deno.test("resolver: NXDOMAIN at the end of a CNAME chain caches the target, not the alias", () => {
  const t = new ResolverTest();
  t.resolve("alias.example");
  t.reply(t.only(t.poll().datagrams), {
    rcode: 3,
    answers: [CNAME("alias.example.", "gone.example.")],
    authorities: [SOA("example.", 300, 300)],
  });
  const c = t.done();
  assert.ok(!c.ok && c.error instanceof DnsNameNotFound && c.error.query === "gone.example. A");
  t.resolve("gone.example", 28);
  const cached = t.only(t.poll().completions);
  assert.ok(!cached.ok && cached.error instanceof DnsNameNotFound, "target cached for all types");
  t.resolve("alias.example", 16);
  assert.equal(t.poll().datagrams.length, 1, "the alias exists: other types still go out");
});
