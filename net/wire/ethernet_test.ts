import assert from "node:assert/strict";
import {
  ETHERNET_HEADER_LENGTH,
  EthernetFrame,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  parseEthernet,
  writeEthernetHeader,
} from "./ethernet.ts";
import { BROADCAST_MAC, formatMac } from "./address.ts";
import { fails, hex, linuxFrame, ok } from "./_test_util.ts";

Deno.test("ethernet: Linux's broadcast ARP request (frame 1) parses to its fields", () => {
  const frame = ok(parseEthernet(linuxFrame(1)));
  assert.ok(frame instanceof EthernetFrame);
  assert.equal(formatMac(frame.destination), "ff:ff:ff:ff:ff:ff");
  assert.equal(formatMac(frame.source), "a2:6a:7b:24:db:76");
  assert.equal(frame.etherType, ETHERTYPE_ARP);
  assert.equal(frame.isGroupAddressed, true);
  assert.equal(frame.payload.length, 28);
});

Deno.test("ethernet: Linux's unicast echo request (frame 3) is IPv4 and not group-addressed", () => {
  const frame = ok(parseEthernet(linuxFrame(3)));
  assert.equal(formatMac(frame.destination), "66:b9:84:18:be:56");
  assert.equal(frame.etherType, ETHERTYPE_IPV4);
  assert.equal(frame.isGroupAddressed, false);
  assert.equal(frame.payload.length, 98 - ETHERNET_HEADER_LENGTH);
});

Deno.test("ethernet: views share the frame's memory (zero-copy)", () => {
  const bytes = linuxFrame(3).slice();
  const frame = ok(parseEthernet(bytes));
  bytes[0] = 0x01;
  assert.equal(frame.destination[0], 0x01);
  assert.equal(frame.payload.buffer, bytes.buffer);
});

Deno.test("ethernet: parse errors", () => {
  const cases: { name: string; bytes: Uint8Array; reason: string }[] = [
    { name: "empty", bytes: new Uint8Array(0), reason: "truncated" },
    { name: "13 bytes", bytes: linuxFrame(1).subarray(0, 13), reason: "truncated" },
    {
      name: "802.3 length field instead of an EtherType",
      bytes: hex("ffffffffffff 020000000001 05dc"),
      reason: "unsupported",
    },
  ];
  for (const { name, bytes, reason } of cases) {
    fails(parseEthernet(bytes), "ethernet", reason, name);
  }
  // The smallest EtherType (0x0600) and a header with no payload are accepted.
  assert.equal(ok(parseEthernet(hex("ffffffffffff 020000000001 0600"))).payload.length, 0);
});

Deno.test("ethernet: writeEthernetHeader rebuilds Linux's header byte for byte", () => {
  for (const n of [1, 2, 3, 4, 18]) {
    const original = linuxFrame(n);
    const parsed = ok(parseEthernet(original));
    const out = new Uint8Array(ETHERNET_HEADER_LENGTH + 2).fill(0xee);
    const written = writeEthernetHeader(
      out,
      2,
      parsed.destination,
      parsed.source,
      parsed.etherType,
    );
    assert.equal(written, ETHERNET_HEADER_LENGTH);
    assert.deepEqual(out.subarray(0, 2), hex("eeee"), `frame ${n}: bytes before offset kept`);
    assert.deepEqual(out.subarray(2), original.subarray(0, ETHERNET_HEADER_LENGTH), `frame ${n}`);
  }
  const out = new Uint8Array(14);
  writeEthernetHeader(out, 0, BROADCAST_MAC, hex("020000000001"), ETHERTYPE_ARP);
  assert.deepEqual(out, hex("ffffffffffff 020000000001 0806"));
});
