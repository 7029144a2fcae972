import assert from "node:assert/strict";
import {
  parseTcp,
  parseTcpOptions,
  TCP_HEADER_LENGTH,
  TcpFlags,
  type TcpOptions,
  tcpOptionsLength,
  type TcpSegment,
  writeTcp,
  writeTcpOptions,
} from "./tcp.ts";
import { foldChecksum, pseudoHeaderSum } from "./checksum.ts";
import { type Ipv4Packet, PROTOCOL_TCP } from "./ipv4.ts";
import { edited, fails, hex, ipv4Of, linuxFrame, offloadedFrame, ok, toHex } from "./_test_util.ts";

const { FIN, SYN, RST, PSH, ACK } = TcpFlags;

function tcpOf(p: Ipv4Packet, verify = true): TcpSegment {
  return ok(parseTcp(p.payload, p.source, p.destination, verify));
}

function segment(n: number): TcpSegment {
  return tcpOf(ipv4Of(linuxFrame(n)));
}

/** Rebuilds a segment with writeTcp from its parsed fields and options. */
function rebuild(p: Ipv4Packet): Uint8Array {
  const s = tcpOf(p, false);
  const options = ok(parseTcpOptions(s.optionBytes));
  const out = new Uint8Array(s.bytes.length);
  const n = writeTcp(out, 0, p.source, p.destination, {
    sourcePort: s.sourcePort,
    destinationPort: s.destinationPort,
    sequence: s.sequence,
    acknowledgment: s.acknowledgment,
    flags: s.flags,
    window: s.window,
    options: Object.keys(options).length ? options : undefined,
    urgentPointer: s.urgentPointer,
  }, s.payload);
  assert.equal(n, s.bytes.length);
  return out;
}

Deno.test("tcp: Linux's handshake, data and FIN parse to their exact fields", () => {
  const cases = [
    {
      n: 17,
      from: 52034,
      to: 5000,
      seq: 3782145349,
      ack: 0,
      flags: SYN,
      window: 64240,
      sum: 0xabfe,
      header: 40,
      data: "",
    },
    {
      n: 18,
      from: 5000,
      to: 52034,
      seq: 1246558314,
      ack: 3782145350,
      flags: SYN | ACK,
      window: 65160,
      sum: 0x78bb,
      header: 40,
      data: "",
    },
    {
      n: 19,
      from: 52034,
      to: 5000,
      seq: 3782145350,
      ack: 1246558315,
      flags: ACK,
      window: 63,
      sum: 0xa5d4,
      header: 32,
      data: "",
    },
    {
      n: 20,
      from: 52034,
      to: 5000,
      seq: 3782145350,
      ack: 1246558315,
      flags: PSH | ACK,
      window: 63,
      sum: 0xa0b8,
      header: 32,
      data: "0123456789",
    },
    {
      n: 22,
      from: 52034,
      to: 5000,
      seq: 3782145360,
      ack: 1246558315,
      flags: FIN | ACK,
      window: 63,
      sum: 0xa5c9,
      header: 32,
      data: "",
    },
    {
      n: 23,
      from: 5000,
      to: 52034,
      seq: 1246558315,
      ack: 3782145361,
      flags: PSH | ACK,
      window: 64,
      sum: 0xde43,
      header: 32,
      data: "bye",
    },
    {
      n: 25,
      from: 5000,
      to: 52034,
      seq: 1246558318,
      ack: 3782145361,
      flags: FIN | ACK,
      window: 64,
      sum: 0xa5c4,
      header: 32,
      data: "",
    },
  ];
  for (const c of cases) {
    const s = segment(c.n);
    assert.deepEqual({
      n: c.n,
      from: s.sourcePort,
      to: s.destinationPort,
      seq: s.sequence,
      ack: s.acknowledgment,
      flags: s.flags,
      window: s.window,
      sum: s.checksum,
      header: s.headerLength,
      data: new TextDecoder().decode(s.payload),
    }, c);
    assert.equal(s.urgentPointer, 0);
    assert.equal(s.isSyn, (c.flags & SYN) !== 0);
    assert.equal(s.isFin, (c.flags & FIN) !== 0);
    assert.equal(s.isAck, (c.flags & ACK) !== 0);
    assert.equal(s.isRst, false);
  }
});

Deno.test("tcp: sequence space: SYN and FIN count one, data its length", () => {
  const cases: [number, number][] = [[17, 1], [18, 1], [19, 0], [20, 10], [22, 1], [23, 3], [
    25,
    1,
  ]];
  for (const [n, length] of cases) assert.equal(segment(n).sequenceLength, length, `frame ${n}`);
  // The numbers chain: each segment starts where the peer's ACK says.
  assert.equal(segment(17).sequence + 1, segment(18).acknowledgment);
  assert.equal(segment(20).sequence + 10, segment(22).sequence);
  assert.equal(segment(22).sequence + 1, segment(23).acknowledgment);
});

Deno.test("tcp: Linux's SYN and SYN-ACK options: MSS 1460, SACK permitted, timestamps, WS 10", () => {
  const syn = ok(parseTcpOptions(segment(17).optionBytes));
  assert.deepEqual(syn, {
    maxSegmentSize: 1460,
    sackPermitted: true,
    timestamp: { value: 3852791842, echoReply: 0 },
    windowScale: 10,
  });
  const synAck = ok(parseTcpOptions(segment(18).optionBytes));
  assert.deepEqual(synAck, {
    maxSegmentSize: 1460,
    sackPermitted: true,
    timestamp: { value: 3364562007, echoReply: 3852791842 },
    windowScale: 10,
  });
  // The older capture's SYN: same layout, other timestamps.
  const p = ipv4Of(offloadedFrame(23));
  assert.deepEqual(ok(parseTcpOptions(tcpOf(p, false).optionBytes)).timestamp, {
    value: 76238697,
    echoReply: 0,
  });
});

Deno.test("tcp: Linux's SACK blocks: one, two and three blocks beside timestamps", () => {
  const cases: { n: number; ack: number; ts: [number, number]; blocks: [number, number][] }[] = [
    { n: 27, ack: 2671256496, ts: [2134748168, 2741264024], blocks: [[2671270976, 2671272424]] },
    { n: 28, ack: 2671256496, ts: [2134748169, 2741264024], blocks: [[2671270976, 2671273872]] },
    {
      n: 29,
      ack: 2671260840,
      ts: [2134748171, 2741264027],
      blocks: [[2671263736, 2671265184], [2671270976, 2671273872]],
    },
    {
      n: 30,
      ack: 2671262288,
      ts: [2134748173, 2741264028],
      blocks: [[2671268080, 2671269528], [2671263736, 2671266632], [2671270976, 2671273872]],
    },
  ];
  for (const c of cases) {
    const s = segment(c.n);
    assert.equal(s.acknowledgment, c.ack);
    assert.equal(s.headerLength, TCP_HEADER_LENGTH + 12 + 4 + 8 * c.blocks.length);
    assert.deepEqual(ok(parseTcpOptions(s.optionBytes)), {
      timestamp: { value: c.ts[0], echoReply: c.ts[1] },
      sackBlocks: c.blocks,
    }, `frame ${c.n}`);
  }
});

Deno.test("tcp: writeTcp rebuilds every Linux segment byte for byte, options included", () => {
  for (const n of [17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]) {
    const p = ipv4Of(linuxFrame(n));
    const rebuilt = rebuild(p);
    assert.equal(toHex(rebuilt), toHex(p.payload), `frame ${n}`);
  }
});

Deno.test("tcp: writeTcpOptions lays out options the way Linux does", () => {
  const cases: { name: string; options: TcpOptions; wire: string }[] = [
    {
      name: "Linux SYN",
      options: {
        maxSegmentSize: 1460,
        sackPermitted: true,
        timestamp: { value: 1, echoReply: 0 },
        windowScale: 7,
      },
      wire: "020405b4 0402080a 00000001 00000000 01030307",
    },
    { name: "MSS only", options: { maxSegmentSize: 536 }, wire: "02040218" },
    {
      name: "MSS and WS (no SACK, no TS)",
      options: { maxSegmentSize: 1460, windowScale: 0 },
      wire: "020405b4 01030300",
    },
    { name: "SACK permitted alone", options: { sackPermitted: true }, wire: "01010402" },
    {
      name: "timestamps alone",
      options: { timestamp: { value: 0xdeadbeef, echoReply: 2 } },
      wire: "0101080a deadbeef 00000002",
    },
    {
      name: "one SACK block",
      options: { sackBlocks: [[10, 20]] },
      wire: "0101050a 0000000a 00000014",
    },
    {
      name: "timestamps and two SACK blocks",
      options: { timestamp: { value: 1, echoReply: 2 }, sackBlocks: [[1, 2], [3, 4]] },
      wire: "0101080a 00000001 00000002 01010512 00000001 00000002 00000003 00000004",
    },
    {
      name: "four SACK blocks without timestamps fill 36 bytes",
      options: { sackBlocks: [[1, 2], [3, 4], [5, 6], [7, 8]] },
      wire: "01010522" + "0000000100000002 0000000300000004 0000000500000006 0000000700000008",
    },
    { name: "nothing", options: {}, wire: "" },
  ];
  for (const { name, options, wire } of cases) {
    const out = new Uint8Array(44).fill(0xee);
    const n = writeTcpOptions(out, 2, options);
    assert.equal(toHex(out.subarray(2, 2 + n)), toHex(hex(wire)), name);
    assert.equal(n % 4, 0, `${name}: padded to 32 bits`);
    assert.equal(tcpOptionsLength(options), n, `${name}: tcpOptionsLength`);
    assert.deepEqual(ok(parseTcpOptions(out.subarray(2, 2 + n))), options, `${name}: parses back`);
  }
});

Deno.test("tcp: options never exceed the 40-byte option space (RFC 2018 §3: 3 blocks with TS)", () => {
  const options: TcpOptions = {
    timestamp: { value: 1, echoReply: 2 },
    sackBlocks: [[1, 2], [3, 4], [5, 6], [7, 8]],
  };
  const out = new Uint8Array(60);
  const n = writeTcpOptions(out, 0, options);
  assert.equal(n, 40);
  assert.equal(tcpOptionsLength(options), 40);
  assert.deepEqual(ok(parseTcpOptions(out.subarray(0, n))).sackBlocks, [[1, 2], [3, 4], [5, 6]]);
  // Through writeTcp the data offset is then 15 (60 bytes), which parses back.
  const seg = new Uint8Array(60);
  writeTcp(seg, 0, 1, 2, {
    sourcePort: 1,
    destinationPort: 2,
    sequence: 0,
    acknowledgment: 0,
    flags: ACK,
    window: 0,
    options,
  }, new Uint8Array(0));
  assert.equal(ok(parseTcp(seg, 1, 2)).headerLength, 60);
});

Deno.test("tcp: with checksum offload Linux's field holds only the pseudo-header sum", () => {
  for (const n of [23, 24, 25]) {
    const p = ipv4Of(offloadedFrame(n));
    const s = tcpOf(p, false);
    const partial = ~foldChecksum(
      pseudoHeaderSum(p.source, p.destination, PROTOCOL_TCP, s.bytes.length),
    ) & 0xffff;
    assert.equal(s.checksum, partial, `offloaded frame ${n}`);
    fails(parseTcp(p.payload, p.source, p.destination), "tcp", "bad-checksum");
  }
});

Deno.test("tcp: parse errors", () => {
  const p = ipv4Of(linuxFrame(20));
  const bytes = p.payload; // 42 bytes: 32-byte header, 10 bytes of data
  const cases: { name: string; bytes: Uint8Array; reason: string }[] = [
    { name: "empty", bytes: new Uint8Array(0), reason: "truncated" },
    { name: "19 bytes", bytes: bytes.subarray(0, 19), reason: "truncated" },
    {
      name: "data offset 0",
      bytes: edited(bytes, (b) => b[12] = 0x00),
      reason: "bad-header-length",
    },
    {
      name: "data offset 4",
      bytes: edited(bytes, (b) => b[12] = 0x40),
      reason: "bad-header-length",
    },
    {
      name: "data offset 15 in 42 bytes",
      bytes: edited(bytes, (b) => b[12] = 0xf0),
      reason: "truncated",
    },
    { name: "header cut inside options", bytes: bytes.subarray(0, 30), reason: "truncated" },
    { name: "payload bit flip", bytes: edited(bytes, (b) => b[40] ^= 8), reason: "bad-checksum" },
    { name: "payload cut by one byte", bytes: bytes.subarray(0, 41), reason: "bad-checksum" },
    { name: "sequence changed", bytes: edited(bytes, (b) => b[7] ^= 1), reason: "bad-checksum" },
    { name: "RST flag set", bytes: edited(bytes, (b) => b[13] |= RST), reason: "bad-checksum" },
  ];
  for (const { name, bytes, reason } of cases) {
    fails(parseTcp(bytes, p.source, p.destination), "tcp", reason, name);
  }
  fails(parseTcp(bytes, p.destination, p.source + 1), "tcp", "bad-checksum", "wrong pseudo-header");
  assert.equal(ok(parseTcp(edited(bytes, (b) => b[40] ^= 8), 0, 0, false)).payload.length, 10);
});

Deno.test("tcp: option parse errors (RFC 9293 §3.1: bad lengths are errors)", () => {
  const cases: { name: string; bytes: string }[] = [
    { name: "kind without length byte", bytes: "02" },
    { name: "length 0", bytes: "0500 0000" },
    { name: "length 1", bytes: "0801 0000" },
    { name: "length past the end", bytes: "0206 05b4" },
    { name: "unknown kind, length past the end", bytes: "1e08 0000" },
    { name: "MSS length 3", bytes: "020305 00" },
    { name: "MSS length 6", bytes: "020605b40000" },
    { name: "window scale length 2", bytes: "0302 0000" },
    { name: "window scale length 4", bytes: "0304 0700" },
    { name: "SACK permitted length 3", bytes: "040300 00" },
    { name: "timestamps length 8", bytes: "0808 00000000 0000" },
    { name: "timestamps length 11", bytes: "080b 00000000 00000000 00" },
    { name: "SACK with no blocks (length 2)", bytes: "0101 0502" },
    { name: "SACK length 9 (partial block)", bytes: "0509 0000000000000000 00" },
    { name: "SACK length 14 (a block and a half)", bytes: "050e" + "00".repeat(12) },
    {
      name: "SACK length 42 (five blocks) overruns 40 bytes of options",
      bytes: "052a" + "00".repeat(38),
    },
    { name: "garbage after a good option", bytes: "020405b4 0300" },
  ];
  for (const { name, bytes } of cases) {
    fails(parseTcpOptions(hex(bytes)), "tcp", "bad-option", name);
  }
});

Deno.test("tcp: option parsing details", () => {
  const cases: { name: string; bytes: string; expect: TcpOptions }[] = [
    { name: "empty", bytes: "", expect: {} },
    { name: "all NOP", bytes: "01010101", expect: {} },
    { name: "end of list stops parsing", bytes: "00 0204 05b4 000000", expect: {} },
    {
      name: "after END anything goes",
      bytes: "020405b4 00 ff 01 02",
      expect: { maxSegmentSize: 1460 },
    },
    {
      name: "unknown option skipped by its length",
      bytes: "1e04 abcd 020405b4",
      expect: { maxSegmentSize: 1460 },
    },
    {
      name: "window scale 15 clamps to 14 (RFC 7323 §2.3)",
      bytes: "01 03030f",
      expect: { windowScale: 14 },
    },
    { name: "window scale 255 clamps to 14", bytes: "01 0303ff", expect: { windowScale: 14 } },
    { name: "MSS 0", bytes: "02040000", expect: { maxSegmentSize: 0 } },
    {
      name: "four SACK blocks",
      bytes: "0101 0522" + "ffffffff00000000" + "0000000100000002" + "8000000080000001" +
        "0000000000000000",
      expect: { sackBlocks: [[0xffffffff, 0], [1, 2], [0x80000000, 0x80000001], [0, 0]] },
    },
    {
      name: "the last of repeated options wins",
      bytes: "020405b4 02040218",
      expect: { maxSegmentSize: 536 },
    },
  ];
  for (const { name, bytes, expect } of cases) {
    assert.deepEqual(ok(parseTcpOptions(hex(bytes))), expect, name);
  }
});

Deno.test("tcp: writeTcp with the payload already in place, and skipChecksum", () => {
  const p = ipv4Of(linuxFrame(20));
  const s = tcpOf(p);
  const fields = {
    sourcePort: s.sourcePort,
    destinationPort: s.destinationPort,
    sequence: s.sequence,
    acknowledgment: s.acknowledgment,
    flags: s.flags,
    window: s.window,
    options: ok(parseTcpOptions(s.optionBytes)),
  };
  const out = new Uint8Array(p.payload.length);
  out.set(s.payload, s.headerLength);
  assert.equal(writeTcp(out, 0, p.source, p.destination, fields, 10), 42);
  assert.deepEqual(out, p.payload);
  writeTcp(out, 0, p.source, p.destination, fields, 10, true);
  assert.deepEqual(out.subarray(16, 18), hex("0000"));
});
