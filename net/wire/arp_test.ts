import assert from "node:assert/strict";
import {
  ARP_PACKET_LENGTH,
  ARP_REPLY,
  ARP_REQUEST,
  type ArpPacket,
  parseArp,
  writeArp,
} from "./arp.ts";
import { formatMac } from "./address.ts";
import { ETHERNET_HEADER_LENGTH } from "./ethernet.ts";
import { edited, fails, ip, linuxFrame, offloadedFrame, ok } from "./_test_util.ts";

function arpOf(frame: Uint8Array): ArpPacket {
  return ok(parseArp(frame.subarray(ETHERNET_HEADER_LENGTH)));
}

Deno.test("arp: Linux's request and reply (frames 1, 2) parse to their fields", () => {
  const cases = [
    {
      frame: linuxFrame(1),
      operation: ARP_REQUEST,
      senderMac: "a2:6a:7b:24:db:76",
      sender: "10.98.1.254",
      targetMac: "00:00:00:00:00:00",
      target: "10.98.1.2",
    },
    {
      frame: linuxFrame(2),
      operation: ARP_REPLY,
      senderMac: "66:b9:84:18:be:56",
      sender: "10.98.1.2",
      targetMac: "a2:6a:7b:24:db:76",
      target: "10.98.1.254",
    },
    {
      frame: offloadedFrame(9),
      operation: ARP_REPLY,
      senderMac: "9a:06:b9:80:e9:ae",
      sender: "10.99.0.2",
      targetMac: "0e:97:92:2a:e7:7c",
      target: "10.99.0.1",
    },
  ];
  for (const c of cases) {
    const arp = arpOf(c.frame);
    assert.equal(arp.operation, c.operation);
    assert.equal(formatMac(arp.senderHardwareAddress), c.senderMac);
    assert.equal(arp.senderProtocolAddress, ip(c.sender));
    assert.equal(formatMac(arp.targetHardwareAddress), c.targetMac);
    assert.equal(arp.targetProtocolAddress, ip(c.target));
    assert.equal(arp.bytes.length, ARP_PACKET_LENGTH);
  }
});

Deno.test("arp: trailing Ethernet padding is cut from the view", () => {
  const padded = new Uint8Array(46);
  padded.set(linuxFrame(1).subarray(ETHERNET_HEADER_LENGTH));
  const arp = ok(parseArp(padded));
  assert.equal(arp.bytes.length, ARP_PACKET_LENGTH);
});

Deno.test("arp: writeArp rebuilds Linux's request and reply byte for byte", () => {
  for (const n of [1, 2]) {
    const original = linuxFrame(n).subarray(ETHERNET_HEADER_LENGTH);
    const arp = ok(parseArp(original));
    const out = new Uint8Array(ARP_PACKET_LENGTH + 3);
    const written = writeArp(
      out,
      3,
      arp.operation,
      arp.senderHardwareAddress,
      arp.senderProtocolAddress,
      arp.targetHardwareAddress,
      arp.targetProtocolAddress,
    );
    assert.equal(written, ARP_PACKET_LENGTH);
    assert.deepEqual(out.subarray(3), original, `frame ${n}`);
  }
});

Deno.test("arp: parse errors", () => {
  const request = linuxFrame(1).subarray(ETHERNET_HEADER_LENGTH);
  const cases: { name: string; bytes: Uint8Array; reason: string }[] = [
    { name: "27 bytes", bytes: request.subarray(0, 27), reason: "truncated" },
    { name: "empty", bytes: new Uint8Array(0), reason: "truncated" },
    {
      name: "hardware type 6 (IEEE 802)",
      bytes: edited(request, (b) => b[1] = 6),
      reason: "unsupported",
    },
    { name: "protocol IPv6", bytes: edited(request, (b) => b[2] = 0x86), reason: "unsupported" },
    { name: "hardware length 8", bytes: edited(request, (b) => b[4] = 8), reason: "unsupported" },
    { name: "protocol length 16", bytes: edited(request, (b) => b[5] = 16), reason: "unsupported" },
    { name: "operation 0", bytes: edited(request, (b) => b[7] = 0), reason: "unsupported" },
    { name: "RARP request (3)", bytes: edited(request, (b) => b[7] = 3), reason: "unsupported" },
    { name: "operation 0x0101", bytes: edited(request, (b) => b[6] = 1), reason: "unsupported" },
  ];
  for (const { name, bytes, reason } of cases) {
    fails(parseArp(bytes), "arp", reason, name);
  }
});
