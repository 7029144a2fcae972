import assert from "node:assert/strict";
import { SntpClient } from "./client.ts";
import { SntpBadReply, SntpKissOfDeath, SntpTimeout, SntpUnsynchronized } from "./errors.ts";
import { createSntpRequest, parseSntpReply, type SntpRequest } from "./sntp.ts";
import { unixMsToNtp, writeTimestamp } from "./timestamp.ts";

/** A server reply to `request`, with T2/T3 in Unix ms. */
function reply(
  request: Pick<SntpRequest, "payload">,
  t2: number,
  t3: number,
  opts: { leap?: number; version?: number; mode?: number; stratum?: number; ref?: string } = {},
): Uint8Array {
  const r = new Uint8Array(48);
  r[0] = ((opts.leap ?? 0) << 6) | ((opts.version ?? 4) << 3) | (opts.mode ?? 4);
  r[1] = opts.stratum ?? 2;
  r[2] = 6;
  r[3] = 0xe9; // precision -23
  r.set([0, 0, 0x80, 0], 4); // root delay 0.5 s
  r.set([0, 1, 0, 0], 8); // root dispersion 1 s
  r.set(new TextEncoder().encode((opts.ref ?? "GPS\0").padEnd(4, "\0")), 12);
  r.set(request.payload.subarray(40, 48), 24);
  writeTimestamp(r, 32, unixMsToNtp(t2));
  writeTimestamp(r, 40, unixMsToNtp(t3));
  return r;
}

const rnd = (n: number) => new Uint8Array(n).fill(0xab);

Deno.test("sntp: request is mode 3, version 4, with our transmit timestamp", () => {
  const req = createSntpRequest(Date.parse("2026-01-01T00:00:00Z"), rnd);
  assert.equal(req.payload.length, 48);
  assert.equal(req.payload[0], 0x23);
  assert.ok(req.payload.subarray(1, 40).every((b) => b === 0));
  assert.deepEqual([...req.payload.subarray(46, 48)], [0xab, 0xab], "random low bits");
  assert.equal(req.transmit.seconds, unixMsToNtp(req.sentAt).seconds);
});

Deno.test("sntp: offset and delay (RFC 4330 §5)", () => {
  // [T1, T2, T3, T4] -> offset, delay
  const cases: Array<[number, number, number, number, number, number]> = [
    [1000, 1510, 1520, 1030, 500, 20], // local clock 500 ms behind
    [1000, 500, 510, 1030, -510, 20], // 510 ms ahead
    [1000, 1005, 1005, 1010, 0, 10], // in sync, zero server time
    [1_700_000_000_000, 1_700_000_000_050.25, 1_700_000_000_050.5, 1_700_000_000_001, 49.875, 0.75],
  ];
  for (const [t1, t2, t3, t4, offset, delay] of cases) {
    const req = createSntpRequest(t1);
    const r = parseSntpReply(reply(req, t2, t3), req, t4);
    assert.ok(Math.abs(r.offsetMs - offset) < 1e-3, `offset ${r.offsetMs} vs ${offset}`);
    assert.ok(Math.abs(r.delayMs - delay) < 1e-3, `delay ${r.delayMs} vs ${delay}`);
  }
  const req = createSntpRequest(0);
  const r = parseSntpReply(reply(req, 1, 2), req, 3);
  assert.equal(r.stratum, 2);
  assert.equal(r.precision, -23);
  assert.equal(r.rootDelayMs, 500);
  assert.equal(r.rootDispersionMs, 1000);
  assert.equal(r.referenceId, "71.80.83.0");
  const s1 = parseSntpReply(reply(req, 1, 2, { stratum: 1 }), req, 3);
  assert.equal(s1.referenceId, "GPS");
});

Deno.test("sntp: reply checks give typed errors", () => {
  const req = createSntpRequest(1_000_000);
  const ok = reply(req, 1_000_001, 1_000_002);
  const bad: Array<[string, Uint8Array, new (...a: never[]) => Error, RegExp?]> = [
    ["short", ok.subarray(0, 47), SntpBadReply],
    ["mode 3", reply(req, 1, 2, { mode: 3 }), SntpBadReply, /mode 3/],
    ["version 0", reply(req, 1, 2, { version: 0 }), SntpBadReply],
    ["kiss RATE", reply(req, 1, 2, { stratum: 0, ref: "RATE" }), SntpKissOfDeath, /RATE/],
    ["leap 3", reply(req, 1, 2, { leap: 3 }), SntpUnsynchronized],
    ["stratum 16", reply(req, 1, 2, { stratum: 16 }), SntpUnsynchronized],
  ];
  const wrongOrigin = ok.slice();
  wrongOrigin[31] ^= 1;
  bad.push(["originate mismatch", wrongOrigin, SntpBadReply, /originate/]);
  const zeroTx = ok.slice();
  zeroTx.fill(0, 40, 48);
  bad.push(["zero transmit", zeroTx, SntpBadReply, /zero transmit/]);
  for (const [what, bytes, E, re] of bad) {
    assert.throws(() => parseSntpReply(bytes, req, 1_000_003), E, what);
    if (re) assert.throws(() => parseSntpReply(bytes, req, 1_000_003), re, what);
  }
  try {
    parseSntpReply(reply(req, 1, 2, { stratum: 0, ref: "DENY" }), req, 0);
  } catch (e) {
    assert.ok(e instanceof SntpKissOfDeath && e.code === "DENY");
  }
  // Version 3 servers are accepted.
  assert.equal(parseSntpReply(reply(req, 1, 2, { version: 3 }), req, 3).version, 3);
});

const SERVER = 0x0a000202;

Deno.test("sntp client: retries with doubling timeout, then SntpTimeout", () => {
  const q = new SntpClient({ server: SERVER, timeoutMs: 1000, attempts: 3, randomBytes: rnd });
  q.start(0);
  let out = q.poll(0);
  assert.equal(out.datagrams.length, 1);
  assert.equal(out.deadline, 1000);
  assert.equal(q.poll(999).datagrams.length, 0);
  out = q.poll(1000);
  assert.equal(out.datagrams.length, 1);
  assert.equal(out.deadline, 3000);
  out = q.poll(3000);
  assert.equal(out.deadline, 7000);
  out = q.poll(7000);
  assert.equal(out.datagrams.length, 0);
  assert.ok(out.done && !out.done.ok && out.done.error instanceof SntpTimeout);
  assert.equal(out.deadline, undefined);
  assert.equal(q.poll(8000).done, undefined, "reported once");
});

Deno.test("sntp client: accepts a late reply to an earlier request, ignores strangers", () => {
  const q = new SntpClient({ server: "10.0.2.2", timeoutMs: 1000 });
  q.start(10_000);
  const first = q.poll(10_000).datagrams[0];
  q.poll(11_000); // second request
  q.receive(SERVER + 1, 123, reply(first, 10_600, 10_600), 11_100); // wrong address
  q.receive(SERVER, 124, reply(first, 10_600, 10_600), 11_100); // wrong port
  q.receive(SERVER, 123, reply({ payload: new Uint8Array(48) }, 1, 2), 11_100); // unknown origin
  assert.equal(q.poll(11_100).done, undefined);
  q.receive(SERVER, 123, reply(first, 10_600, 10_600), 11_200);
  const out = q.poll(11_200);
  assert.ok(out.done?.ok);
  assert.ok(Math.abs(out.done.result.offsetMs - -0) < 1e-3); // (600 + -600) / 2
  assert.ok(Math.abs(out.done.result.delayMs - 1200) < 1e-3);
});

Deno.test("sntp client: kiss-o'-death ends the query; unsynchronized is kept as last error", () => {
  const q = new SntpClient({ server: SERVER, attempts: 1, timeoutMs: 100 });
  q.start(0);
  const d = q.poll(0).datagrams[0];
  q.receive(SERVER, 123, reply(d, 1, 2, { leap: 3 }), 5);
  assert.equal(q.poll(5).done, undefined);
  const out = q.poll(100);
  assert.ok(out.done && !out.done.ok && out.done.error instanceof SntpUnsynchronized);
  const k = new SntpClient({ server: SERVER });
  k.start(0);
  const d2 = k.poll(0).datagrams[0];
  k.receive(SERVER, 123, reply(d2, 1, 2, { stratum: 0, ref: "RSTR" }), 5);
  const o2 = k.poll(5);
  assert.ok(o2.done && !o2.done.ok && o2.done.error instanceof SntpKissOfDeath);
  assert.equal(o2.deadline, undefined);
});
