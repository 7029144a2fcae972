import assert from "node:assert/strict";
import {
  ICMP_DESTINATION_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LENGTH,
  ICMP_PARAMETER_PROBLEM,
  ICMP_TIME_EXCEEDED,
  type IcmpMessage,
  parseIcmpv4,
  UnreachableCode,
  writeIcmpEcho,
  writeIcmpError,
} from "./icmpv4.ts";
import { parseIpv4, PROTOCOL_UDP } from "./ipv4.ts";
import { edited, fails, ip, ipv4Of, linuxFrame, offloadedFrame, ok } from "./_test_util.ts";

function icmpOf(frame: Uint8Array): IcmpMessage {
  return ok(parseIcmpv4(ipv4Of(frame).payload));
}

Deno.test("icmp: Linux's echo request and reply parse to their fields", () => {
  const cases = [
    { frame: linuxFrame(3), type: ICMP_ECHO_REQUEST, id: 7548, seq: 1, sum: 0x3aaa, data: 56 },
    { frame: linuxFrame(4), type: ICMP_ECHO_REPLY, id: 7548, seq: 1, sum: 0x42aa, data: 56 },
    { frame: linuxFrame(11), type: ICMP_ECHO_REQUEST, id: 7550, seq: 1, sum: 0xad89, data: 56 },
    {
      frame: offloadedFrame(12),
      type: ICMP_ECHO_REQUEST,
      id: 0x1614,
      seq: 2,
      sum: 0x5235,
      data: 56,
    },
    { frame: offloadedFrame(13), type: ICMP_ECHO_REPLY, id: 0x1614, seq: 2, sum: 0x5a35, data: 56 },
  ];
  for (const c of cases) {
    const m = icmpOf(c.frame);
    assert.deepEqual(
      { type: m.type, code: m.code, id: m.identifier, seq: m.sequence, data: m.payload.length },
      { type: c.type, code: 0, id: c.id, seq: c.seq, data: c.data },
    );
    assert.equal((m.bytes[2] << 8) | m.bytes[3], c.sum);
    assert.equal(m.isError, false);
  }
  // ping(8) data: 16 bytes of timeval, then 0x10, 0x11, ... (the request's data is echoed).
  assert.deepEqual(icmpOf(linuxFrame(3)).payload, icmpOf(linuxFrame(4)).payload);
  assert.equal(icmpOf(linuxFrame(3)).payload[16], 0x10);
});

Deno.test("icmp: Linux's port unreachable quotes the whole small UDP datagram", () => {
  const m = icmpOf(linuxFrame(16));
  assert.equal(m.type, ICMP_DESTINATION_UNREACHABLE);
  assert.equal(m.code, UnreachableCode.port);
  assert.equal(m.isError, true);
  assert.equal(m.nextHopMtu, 0);
  const quoted = ok(parseIpv4(m.payload));
  assert.equal(quoted.bytes.length, 39);
  assert.equal(quoted.protocol, PROTOCOL_UDP);
  assert.equal(quoted.source, ip("10.98.0.1"));
  assert.equal(quoted.ttl, 63, "the router already decremented it");
  assert.deepEqual(quoted.bytes, ipv4Of(linuxFrame(15)).bytes);
});

Deno.test("icmp: writeIcmpEcho rebuilds Linux's echo messages byte for byte", () => {
  for (const frame of [linuxFrame(3), linuxFrame(4), linuxFrame(12), offloadedFrame(10)]) {
    const original = ipv4Of(frame).payload;
    const m = ok(parseIcmpv4(original));
    const out = new Uint8Array(original.length + 5);
    const n = writeIcmpEcho(out, 5, m.type, m.identifier, m.sequence, m.payload);
    assert.equal(n, original.length);
    assert.deepEqual(out.subarray(5), original);
  }
});

Deno.test("icmp: writeIcmpError rebuilds Linux's port unreachable byte for byte", () => {
  for (const frame of [linuxFrame(16), offloadedFrame(22)]) {
    const original = ipv4Of(frame).payload;
    const m = ok(parseIcmpv4(original));
    const out = new Uint8Array(original.length);
    const n = writeIcmpError(out, 0, m.type, m.code, 0, m.payload);
    assert.equal(n, original.length);
    assert.deepEqual(out, original);
  }
});

Deno.test("icmp: fragmentation needed carries the next-hop MTU (RFC 1191)", () => {
  const out = new Uint8Array(64);
  const quoted = ipv4Of(linuxFrame(13)).bytes.subarray(0, 28);
  const n = writeIcmpError(
    out,
    0,
    ICMP_DESTINATION_UNREACHABLE,
    UnreachableCode.fragmentationNeeded,
    1400,
    quoted,
  );
  const m = ok(parseIcmpv4(out.subarray(0, n)));
  assert.equal(m.nextHopMtu, 1400);
  assert.equal(m.code, 4);
  assert.deepEqual(m.payload, quoted);
});

Deno.test("icmp: isError for unreachable, time exceeded and parameter problem only", () => {
  const cases: [number, boolean][] = [
    [ICMP_ECHO_REPLY, false],
    [ICMP_DESTINATION_UNREACHABLE, true],
    [ICMP_ECHO_REQUEST, false],
    [ICMP_TIME_EXCEEDED, true],
    [ICMP_PARAMETER_PROBLEM, true],
    [13, false], // timestamp
  ];
  for (const [type, isError] of cases) {
    const out = new Uint8Array(8);
    writeIcmpError(out, 0, type, 0, 0, new Uint8Array(0));
    assert.equal(ok(parseIcmpv4(out)).isError, isError, `type ${type}`);
  }
});

Deno.test("icmp: parse errors", () => {
  const echo = ipv4Of(linuxFrame(3)).payload;
  const cases: { name: string; bytes: Uint8Array; reason: string }[] = [
    { name: "empty", bytes: new Uint8Array(0), reason: "truncated" },
    { name: "7 bytes", bytes: echo.subarray(0, 7), reason: "truncated" },
    { name: "data bit flipped", bytes: edited(echo, (b) => b[60] ^= 0x10), reason: "bad-checksum" },
    { name: "type changed", bytes: edited(echo, (b) => b[0] = 0), reason: "bad-checksum" },
    { name: "one byte cut off", bytes: echo.subarray(0, echo.length - 1), reason: "bad-checksum" },
  ];
  for (const { name, bytes, reason } of cases) fails(parseIcmpv4(bytes), "icmp", reason, name);
  const damaged = edited(echo, (b) => b[60] ^= 0x10);
  assert.equal(ok(parseIcmpv4(damaged, false)).sequence, 1);
  assert.equal(ICMP_HEADER_LENGTH, 8);
});
