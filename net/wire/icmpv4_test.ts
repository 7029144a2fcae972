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
import { parseIpv4, PROTOCOL_ICMP, PROTOCOL_UDP } from "./ipv4.ts";
import { internetChecksum } from "./checksum.ts";
import { readPcap } from "../../drivers/pcap.ts";
import {
  edited,
  fails,
  hex,
  ip,
  ipv4Of,
  linuxFrame,
  offloadedFrame,
  ok,
  toHex,
} from "./_test_util.ts";

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

/**
 * `tests/fixtures/linux_time_exceeded.pcap` (made by `capture_linux_time_exceeded.sh`): on A's
 * side of a Linux router R, (1) A's `ping -t 1` echo request, (2) R's time exceeded for it,
 * (3) A's UDP datagram with TTL 1 to port 33434, (4) R's time exceeded for it.
 */
const timeExceeded = readPcap(
  Deno.readFileSync(new URL("../../tests/fixtures/linux_time_exceeded.pcap", import.meta.url)),
).map((r) => r.data);

Deno.test("icmp: Linux router's time exceeded for `ping -t 1` quotes the whole echo request", () => {
  const outer = ipv4Of(timeExceeded[1]);
  assert.equal(outer.protocol, PROTOCOL_ICMP);
  assert.equal(outer.source, ip("10.97.0.254"), "from the router");
  assert.equal(outer.destination, ip("10.97.0.1"));
  const m = ok(parseIcmpv4(outer.payload)); // the checksum verifies
  assert.equal(m.type, ICMP_TIME_EXCEEDED);
  assert.equal(m.code, 0, "TTL exceeded in transit");
  assert.equal(m.isError, true);
  assert.equal((m.bytes[2] << 8) | m.bytes[3], 0xf4ff);
  assert.deepEqual(m.bytes.subarray(4, 8), new Uint8Array(4), "unused, zero");
  // Linux quotes all of it (RFC 1812 §4.3.2.3: up to 576 bytes), not just header + 8.
  const request = ipv4Of(timeExceeded[0]);
  assert.equal(m.payload.length, 84);
  assert.deepEqual(m.payload, request.bytes);
  const quoted = ok(parseIpv4(m.payload));
  assert.equal(quoted.ttl, 1, "quoted as it arrived, before the decrement");
  assert.equal(quoted.protocol, PROTOCOL_ICMP);
  const echo = ok(parseIcmpv4(quoted.payload));
  assert.deepEqual([echo.type, echo.identifier, echo.sequence], [ICMP_ECHO_REQUEST, 0x1629, 1]);
});

Deno.test("icmp: Linux router's time exceeded for a TTL-1 UDP datagram quotes its ports", () => {
  const m = ok(parseIcmpv4(ipv4Of(timeExceeded[3]).payload));
  assert.deepEqual([m.type, m.code, (m.bytes[2] << 8) | m.bytes[3]], [
    ICMP_TIME_EXCEEDED,
    0,
    0x0af7,
  ]);
  const datagram = ipv4Of(timeExceeded[2]);
  assert.deepEqual(m.payload, datagram.bytes);
  const quoted = ok(parseIpv4(m.payload));
  assert.equal(quoted.protocol, PROTOCOL_UDP);
  assert.equal(quoted.destination, ip("10.97.1.2"));
  // What traceroute matches a reply by: the quoted UDP source and destination ports.
  const udp = quoted.payload;
  assert.deepEqual([(udp[0] << 8) | udp[1], (udp[2] << 8) | udp[3]], [41071, 33434]);
});

Deno.test("icmp: writeIcmpError rebuilds Linux's time exceeded messages byte for byte", () => {
  for (const frame of [timeExceeded[1], timeExceeded[3]]) {
    const original = ipv4Of(frame).payload;
    const m = ok(parseIcmpv4(original));
    const out = new Uint8Array(original.length + 3);
    const n = writeIcmpError(out, 3, ICMP_TIME_EXCEEDED, 0, 0, m.payload);
    assert.equal(n, original.length);
    assert.equal(toHex(out.subarray(3)), toHex(original));
  }
});

Deno.test("icmp: time exceeded with the RFC 792 minimum quote (IP header + 8 bytes) round-trips", () => {
  // The UDP datagram of the fixture cut to its 20-byte IP header and 8-byte UDP header. The
  // expected messages were summed independently, byte pair by byte pair, in Python:
  //   m = bytes([11, code, 0, 0, 0, 0, 0, 0]) + quoted
  //   s = sum((m[i] << 8) + m[i + 1] for i in range(0, len(m), 2)); fold; ~s & 0xffff
  // giving 0x5547 for code 0 (TTL exceeded in transit), 0x5546 for code 1 (reassembly).
  const quoted = ipv4Of(timeExceeded[2]).bytes.subarray(0, 28);
  assert.equal(toHex(quoted), "45000035522a4000011111ca0a6100010a610102a06f829a00217c8d");
  const expected = [
    hex("0b00 5547 00000000" + toHex(quoted)),
    hex("0b01 5546 00000000" + toHex(quoted)),
  ];
  for (const code of [0, 1]) {
    const out = new Uint8Array(64).fill(0xee);
    const n = writeIcmpError(out, 10, ICMP_TIME_EXCEEDED, code, 0, quoted);
    assert.equal(n, ICMP_HEADER_LENGTH + 28);
    assert.equal(out[9], 0xee, "nothing written before the offset");
    assert.equal(out[10 + n], 0xee, "nothing written after the message");
    const bytes = out.subarray(10, 10 + n);
    assert.equal(toHex(bytes), toHex(expected[code]));
    assert.equal(internetChecksum(bytes), 0, "the checksum verifies");
    const m = ok(parseIcmpv4(bytes));
    assert.deepEqual([m.type, m.code, m.isError], [ICMP_TIME_EXCEEDED, code, true]);
    assert.deepEqual(m.payload, quoted);
    // The quoted header is intact: its own checksum still verifies; its length field still
    // says 53 bytes although 28 are quoted (so receivers parse the header only).
    assert.equal(internetChecksum(m.payload.subarray(0, 20)), 0);
    assert.equal((m.payload[2] << 8) | m.payload[3], 53);
    fails(parseIpv4(m.payload), "ipv4", "truncated", "a cut quote is not a whole packet");
  }
  // A flipped bit anywhere in the quote is caught by the ICMP checksum.
  const out = new Uint8Array(36);
  writeIcmpError(out, 0, ICMP_TIME_EXCEEDED, 0, 0, quoted);
  fails(parseIcmpv4(edited(out, (b) => b[30] ^= 0x01)), "icmp", "bad-checksum", "quote damaged");
});
