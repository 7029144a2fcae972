import assert from "node:assert/strict";
import { parseUdp, UDP_HEADER_LENGTH, UdpDatagram, writeUdp } from "./udp.ts";
import { foldChecksum, pseudoHeaderSum } from "./checksum.ts";
import { type Ipv4Packet, PROTOCOL_UDP } from "./ipv4.ts";
import { edited, fails, hex, ip, ipv4Of, linuxFrame, offloadedFrame, ok } from "./_test_util.ts";

function udpOf(p: Ipv4Packet, verify = true): UdpDatagram {
  return ok(parseUdp(p.payload, p.source, p.destination, verify));
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("udp: Linux's datagrams parse to their fields and their checksums verify", () => {
  const cases = [
    { n: 13, from: 41251, to: 6000, length: 21, sum: 0x302c, payload: "hello usernet" },
    { n: 14, from: 6000, to: 41251, length: 21, sum: 0x302c, payload: "hello usernet" },
    { n: 15, from: 47101, to: 6002, length: 19, sum: 0x0000, payload: "no checksum" },
  ];
  for (const c of cases) {
    const d = udpOf(ipv4Of(linuxFrame(c.n)));
    assert.deepEqual(
      {
        n: c.n,
        from: d.sourcePort,
        to: d.destinationPort,
        length: d.length,
        sum: d.checksum,
        payload: text(d.payload),
      },
      c,
    );
  }
});

Deno.test("udp: with checksum offload Linux's field holds only the pseudo-header sum", () => {
  // linux_ipv4.pcap frame 20 was captured before the NIC would finish the checksum
  // (CHECKSUM_PARTIAL): the field is the folded, uncomplemented pseudo-header sum.
  const p = ipv4Of(offloadedFrame(20));
  const d = udpOf(p, false);
  assert.equal(d.sourcePort, 60439);
  assert.equal(d.destinationPort, 6000);
  assert.equal(text(d.payload), "hello-udp\n");
  const partial = ~foldChecksum(pseudoHeaderSum(p.source, p.destination, PROTOCOL_UDP, d.length)) &
    0xffff;
  assert.equal(d.checksum, partial);
  assert.equal(d.checksum, 0x14ec);
  fails(parseUdp(p.payload, p.source, p.destination), "udp", "bad-checksum");
});

Deno.test("udp: writeUdp rebuilds Linux's datagrams byte for byte", () => {
  for (const n of [13, 14]) {
    const p = ipv4Of(linuxFrame(n));
    const d = udpOf(p);
    const out = new Uint8Array(d.length + 2);
    const written = writeUdp(
      out,
      2,
      p.source,
      p.destination,
      d.sourcePort,
      d.destinationPort,
      d.payload,
    );
    assert.equal(written, d.length);
    assert.deepEqual(out.subarray(2), p.payload, `frame ${n}`);
  }
  // Linux's SO_NO_CHECK datagram: checksum left zero.
  const p = ipv4Of(linuxFrame(15));
  const d = udpOf(p);
  const out = new Uint8Array(d.length);
  writeUdp(out, 0, p.source, p.destination, 47101, 6002, d.payload, true);
  assert.deepEqual(out, p.payload);
});

Deno.test("udp: writeUdp with the payload already in place (length instead of bytes)", () => {
  const p = ipv4Of(linuxFrame(13));
  const out = new Uint8Array(p.payload.length);
  out.set(udpOf(p).payload, UDP_HEADER_LENGTH);
  assert.equal(writeUdp(out, 0, p.source, p.destination, 41251, 6000, 13), 21);
  assert.deepEqual(out, p.payload);
});

Deno.test("udp: a checksum that computes to zero is sent as ffff and verifies (RFC 768)", () => {
  const source = ip("10.0.0.1");
  const destination = ip("10.0.0.2");
  // Choose the last payload word so the ones' complement sum is ffff: the first pass computes
  // the checksum C0 with it zero; putting C0 there makes the sum ffff and the checksum 0.
  const out = new Uint8Array(UDP_HEADER_LENGTH + 4);
  writeUdp(out, 0, source, destination, 1234, 5678, 4);
  const c0 = (out[6] << 8) | out[7];
  out.set([c0 >>> 8, c0 & 0xff], 10);
  writeUdp(out, 0, source, destination, 1234, 5678, 4);
  assert.deepEqual(out.subarray(6, 8), hex("ffff"));
  assert.equal(udpOf({ payload: out, source, destination } as Ipv4Packet).checksum, 0xffff);
});

Deno.test("udp: trailing bytes beyond the length field are cut from the view", () => {
  const p = ipv4Of(linuxFrame(13));
  const longer = new Uint8Array(p.payload.length + 7);
  longer.set(p.payload);
  const d = ok(parseUdp(longer, p.source, p.destination));
  assert.equal(d.bytes.length, 21);
  assert.equal(text(d.payload), "hello usernet");
});

Deno.test("udp: parse errors", () => {
  const p = ipv4Of(linuxFrame(13));
  const bytes = p.payload;
  const cases: { name: string; bytes: Uint8Array; reason: string }[] = [
    { name: "empty", bytes: new Uint8Array(0), reason: "truncated" },
    { name: "7 bytes", bytes: bytes.subarray(0, 7), reason: "truncated" },
    { name: "length 0", bytes: edited(bytes, (b) => b[5] = 0), reason: "bad-total-length" },
    { name: "length 7", bytes: edited(bytes, (b) => b[5] = 7), reason: "bad-total-length" },
    { name: "length 22 > 21 bytes", bytes: edited(bytes, (b) => b[5] = 22), reason: "truncated" },
    {
      name: "length 20 cuts a byte",
      bytes: edited(bytes, (b) => b[5] = 20),
      reason: "bad-checksum",
    },
    { name: "payload bit flip", bytes: edited(bytes, (b) => b[12] ^= 2), reason: "bad-checksum" },
    { name: "port changed", bytes: edited(bytes, (b) => b[3] ^= 1), reason: "bad-checksum" },
  ];
  for (const { name, bytes, reason } of cases) {
    fails(parseUdp(bytes, p.source, p.destination), "udp", reason, name);
  }
  // The pseudo-header counts: the right bytes from another address do not verify.
  fails(parseUdp(bytes, p.source, ip("10.98.1.3")), "udp", "bad-checksum", "other destination");
  // Without verification, a damaged payload is accepted; checksum 0 is never verified.
  assert.equal(ok(parseUdp(edited(bytes, (b) => b[12] ^= 2), 0, 0, false)).length, 21);
  const none = ipv4Of(linuxFrame(15)).payload;
  assert.ok(parseUdp(edited(none, (b) => b[10] ^= 0xff), 1, 2) instanceof UdpDatagram);
});
