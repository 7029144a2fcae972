import assert from "node:assert/strict";
import {
  IPV4_HEADER_LENGTH,
  type Ipv4HeaderFields,
  Ipv4Packet,
  parseIpv4,
  PROTOCOL_ICMP,
  PROTOCOL_TCP,
  PROTOCOL_UDP,
  writeIpv4Header,
} from "./ipv4.ts";
import { ETHERNET_HEADER_LENGTH } from "./ethernet.ts";
import { internetChecksum } from "./checksum.ts";
import { edited, fails, hex, ip, ipv4Of, linuxFrame, offloadedFrame, ok } from "./_test_util.ts";

/** Every field writeIpv4Header takes, read back from a parsed packet. */
function fieldsOf(p: Ipv4Packet): Ipv4HeaderFields {
  return {
    source: p.source,
    destination: p.destination,
    protocol: p.protocol,
    payloadLength: p.totalLength - p.headerLength,
    identification: p.identification,
    ttl: p.ttl,
    dontFragment: p.dontFragment,
    moreFragments: p.moreFragments,
    fragmentOffset: p.fragmentOffset,
    typeOfService: (p.dscp << 2) | p.ecn,
  };
}

Deno.test("ipv4: Linux's packets parse to their exact header fields", () => {
  const cases = [
    // frame, id, DF, MF, offset, ttl, protocol, total, checksum, source, destination
    {
      n: 3,
      id: 0x0566,
      df: true,
      mf: false,
      off: 0,
      ttl: 63,
      proto: PROTOCOL_ICMP,
      total: 84,
      sum: 0x207d,
      src: "10.98.0.1",
      dst: "10.98.1.2",
    },
    {
      n: 4,
      id: 0xbdd7,
      df: false,
      mf: false,
      off: 0,
      ttl: 64,
      proto: PROTOCOL_ICMP,
      total: 84,
      sum: 0xa70b,
      src: "10.98.1.2",
      dst: "10.98.0.1",
    },
    {
      n: 5,
      id: 0x0567,
      df: false,
      mf: true,
      off: 0,
      ttl: 63,
      proto: PROTOCOL_ICMP,
      total: 1500,
      sum: 0x3af4,
      src: "10.98.0.1",
      dst: "10.98.1.2",
    },
    {
      n: 6,
      id: 0x0567,
      df: false,
      mf: true,
      off: 1480,
      ttl: 63,
      proto: PROTOCOL_ICMP,
      total: 1500,
      sum: 0x3a3b,
      src: "10.98.0.1",
      dst: "10.98.1.2",
    },
    {
      n: 7,
      id: 0x0567,
      df: false,
      mf: false,
      off: 2960,
      ttl: 63,
      proto: PROTOCOL_ICMP,
      total: 68,
      sum: 0x5f1a,
      src: "10.98.0.1",
      dst: "10.98.1.2",
    },
    {
      n: 13,
      id: 0x0805,
      df: true,
      mf: false,
      off: 0,
      ttl: 63,
      proto: PROTOCOL_UDP,
      total: 41,
      sum: 0x1df9,
      src: "10.98.0.1",
      dst: "10.98.1.2",
    },
    {
      n: 18,
      id: 0x0000,
      df: true,
      mf: false,
      off: 0,
      ttl: 64,
      proto: PROTOCOL_TCP,
      total: 60,
      sum: 0x24f6,
      src: "10.98.1.2",
      dst: "10.98.0.1",
    },
  ];
  for (const c of cases) {
    const p = ipv4Of(linuxFrame(c.n));
    const got = {
      n: c.n,
      id: p.identification,
      df: p.dontFragment,
      mf: p.moreFragments,
      off: p.fragmentOffset,
      ttl: p.ttl,
      proto: p.protocol,
      total: p.totalLength,
      sum: p.checksum,
      src: p.source,
      dst: p.destination,
    };
    assert.deepEqual(got, { ...c, src: ip(c.src), dst: ip(c.dst) });
    assert.equal(p.headerLength, IPV4_HEADER_LENGTH);
    assert.equal(p.bytes.length, c.total);
    assert.equal(p.payload.length, c.total - IPV4_HEADER_LENGTH);
    assert.equal(p.options.length, 0);
    assert.equal(p.isFragment, c.mf || c.off !== 0, `frame ${c.n} isFragment`);
  }
});

Deno.test("ipv4: Linux's ICMP error is sent with DSCP CS6 (TOS 0xc0)", () => {
  const p = ipv4Of(linuxFrame(16));
  assert.equal(p.dscp, 48);
  assert.equal(p.ecn, 0);
});

Deno.test("ipv4: record route option (ping -R, frame 11) is a 60-byte header", () => {
  const p = ipv4Of(linuxFrame(11));
  assert.equal(p.headerLength, 60);
  assert.equal(p.totalLength, 124);
  assert.equal(p.checksum, 0xd77c);
  assert.equal(p.options.length, 40);
  // NOP, then record route (type 7, length 39, pointer 12) with A's and the router's addresses.
  assert.deepEqual(p.options.subarray(0, 12), hex("01 07 27 0c 0a620001 0a6201fe"));
  assert.deepEqual(p.header, linuxFrame(11).subarray(14, 74));
  assert.equal(p.payload.length, 64);
  assert.equal(p.payload[0], 8, "the payload starts after the options: ICMP echo request");
  // The reply (frame 12) carries the route back, B's address recorded twice.
  const reply = ipv4Of(linuxFrame(12));
  assert.deepEqual(
    reply.options.subarray(0, 20),
    hex("07 27 14 0a620001 0a6201fe 0a620102 0a620102 00"),
  );
});

Deno.test("ipv4: Ethernet padding after the total length is cut off", () => {
  const frame = new Uint8Array(60);
  frame.set(linuxFrame(13)); // 55 bytes: 41-byte packet and 5 bytes of padding
  const p = ipv4Of(frame);
  assert.equal(p.bytes.length, 41);
  assert.equal(p.payload.length, 21);
});

Deno.test("ipv4: writeIpv4Header rebuilds Linux's 20-byte headers byte for byte", () => {
  for (const n of [3, 4, 5, 6, 7, 13, 14, 16, 17, 18, 27]) {
    const original = linuxFrame(n).subarray(ETHERNET_HEADER_LENGTH, ETHERNET_HEADER_LENGTH + 20);
    const out = new Uint8Array(24).fill(0xaa);
    assert.equal(writeIpv4Header(out, 4, fieldsOf(ipv4Of(linuxFrame(n)))), IPV4_HEADER_LENGTH);
    assert.deepEqual(out.subarray(4), original, `frame ${n}`);
    assert.deepEqual(out.subarray(0, 4), hex("aaaaaaaa"));
  }
  // The older capture too (offload does not touch the IP header checksum).
  for (const n of [10, 14, 15, 16, 20, 22, 23]) {
    const original = offloadedFrame(n).subarray(14, 34);
    const out = new Uint8Array(20);
    writeIpv4Header(out, 0, fieldsOf(ipv4Of(offloadedFrame(n))));
    assert.deepEqual(out, original, `offloaded frame ${n}`);
  }
});

Deno.test("ipv4: skipChecksum leaves the checksum zero for the NIC", () => {
  const out = new Uint8Array(20);
  writeIpv4Header(out, 0, { ...fieldsOf(ipv4Of(linuxFrame(3))), skipChecksum: true });
  assert.deepEqual(out.subarray(10, 12), hex("0000"));
  fails(parseIpv4(edited(linuxFrame(3).subarray(14), (b) => b.set(out))), "ipv4", "bad-checksum");
  assert.equal(internetChecksum(linuxFrame(3), 14, 20), 0);
});

Deno.test("ipv4: parse errors, in the order they are checked", () => {
  const packet = linuxFrame(3).subarray(ETHERNET_HEADER_LENGTH); // 84 bytes, IHL 5
  const withOptions = linuxFrame(11).subarray(ETHERNET_HEADER_LENGTH); // 124 bytes, IHL 15
  const cases: { name: string; bytes: Uint8Array; reason: string }[] = [
    { name: "empty", bytes: new Uint8Array(0), reason: "truncated" },
    { name: "19 bytes", bytes: packet.subarray(0, 19), reason: "truncated" },
    { name: "version 6", bytes: edited(packet, (b) => b[0] = 0x65), reason: "bad-version" },
    { name: "version 0", bytes: new Uint8Array(20), reason: "bad-version" },
    { name: "IHL 4", bytes: edited(packet, (b) => b[0] = 0x44), reason: "bad-header-length" },
    { name: "IHL 0", bytes: edited(packet, (b) => b[0] = 0x40), reason: "bad-header-length" },
    { name: "IHL 15, 40 bytes", bytes: withOptions.subarray(0, 40), reason: "truncated" },
    {
      name: "total length 19",
      bytes: edited(packet, (b) => b[3] = 19),
      reason: "bad-total-length",
    },
    {
      name: "total 40 < IHL 60",
      bytes: edited(withOptions, (b) => b[3] = 40),
      reason: "bad-total-length",
    },
    {
      name: "total length 85 > 84 bytes",
      bytes: edited(packet, (b) => b[3] = 85),
      reason: "truncated",
    },
    {
      name: "total length 65535",
      bytes: edited(packet, (b) => b.set([0xff, 0xff], 2)),
      reason: "truncated",
    },
    {
      name: "one header bit flipped",
      bytes: edited(packet, (b) => b[8] ^= 1),
      reason: "bad-checksum",
    },
    {
      name: "checksum field flipped",
      bytes: edited(packet, (b) => b[11] ^= 0x80),
      reason: "bad-checksum",
    },
    {
      name: "option byte flipped",
      bytes: edited(withOptions, (b) => b[30] ^= 4),
      reason: "bad-checksum",
    },
  ];
  for (const { name, bytes, reason } of cases) fails(parseIpv4(bytes), "ipv4", reason, name);
});

Deno.test("ipv4: a payload bit flip is not the header checksum's business", () => {
  const damaged = edited(linuxFrame(3).subarray(14), (b) => b[40] ^= 1);
  assert.ok(parseIpv4(damaged) instanceof Ipv4Packet);
});

Deno.test("ipv4: verifyChecksum=false accepts a bad checksum (the NIC validated it)", () => {
  const damaged = edited(linuxFrame(3).subarray(14), (b) => b[10] ^= 0xff);
  fails(parseIpv4(damaged), "ipv4", "bad-checksum");
  assert.equal(ok(parseIpv4(damaged, false)).checksum, 0x207d ^ 0xff00);
});

Deno.test("ipv4: a total length equal to the header length is an empty payload", () => {
  const out = new Uint8Array(20);
  writeIpv4Header(out, 0, {
    source: ip("10.0.0.1"),
    destination: ip("10.0.0.2"),
    protocol: 253,
    payloadLength: 0,
    identification: 0xffff,
    ttl: 1,
  });
  const p = ok(parseIpv4(out));
  assert.equal(p.payload.length, 0);
  assert.equal(p.identification, 0xffff);
  assert.equal(p.protocol, 253);
});
