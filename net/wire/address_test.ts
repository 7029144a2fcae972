import assert from "node:assert/strict";
import {
  BROADCAST_MAC,
  formatIpv4Address,
  formatMac,
  IPV4_BROADCAST,
  macEquals,
  parseIpv4Address,
  parseMac,
  prefixMask,
  randomMac,
} from "./address.ts";
import { hex } from "./_test_util.ts";

Deno.test("address: IPv4 text round trips", () => {
  const cases: [string, number][] = [
    ["0.0.0.0", 0],
    ["10.0.2.15", 0x0a00020f],
    ["10.98.1.254", 0x0a6201fe],
    ["127.0.0.1", 0x7f000001],
    ["255.255.255.255", IPV4_BROADCAST],
    ["128.0.0.0", 0x80000000],
  ];
  for (const [text, value] of cases) {
    assert.equal(parseIpv4Address(text), value, text);
    assert.equal(formatIpv4Address(value), text);
  }
});

Deno.test("address: malformed IPv4 text is undefined", () => {
  const bad = [
    "",
    "10.0.2",
    "10.0.2.15.1",
    "256.0.0.1",
    "10.0.2.-1",
    "010.0.0.1", // leading zero: octal in inet_aton, refused here
    "10.0.0.1 ",
    "a.b.c.d",
    "1e1.0.0.1",
    "10..0.1",
    "0x0a.0.0.1",
    "1000.0.0.1",
  ];
  for (const text of bad) assert.equal(parseIpv4Address(text), undefined, JSON.stringify(text));
});

Deno.test("address: prefix masks", () => {
  const cases: [number, number][] = [
    [0, 0],
    [1, 0x80000000],
    [8, 0xff000000],
    [24, 0xffffff00],
    [31, 0xfffffffe],
    [32, 0xffffffff],
  ];
  for (const [length, mask] of cases) assert.equal(prefixMask(length), mask, `/${length}`);
});

Deno.test("address: MAC text round trips, with : or -", () => {
  assert.deepEqual(parseMac("52:54:00:12:34:56"), hex("525400123456"));
  assert.deepEqual(parseMac("52-54-00-AB-cd-EF"), hex("525400abcdef"));
  assert.equal(formatMac(hex("525400abcdef")), "52:54:00:ab:cd:ef");
  assert.equal(formatMac(hex("ffff 020000000001"), 2), "02:00:00:00:00:01");
  for (
    const bad of [
      "",
      "52:54:00:12:34",
      "52:54:00:12:34:56:78",
      "5:54:00:12:34:56",
      "zz:54:00:12:34:56",
    ]
  ) {
    assert.equal(parseMac(bad), undefined, bad);
  }
});

Deno.test("address: macEquals compares 6 bytes at offsets", () => {
  const frame = hex("ffffffffffff 020000000001");
  assert.equal(macEquals(frame, 0, BROADCAST_MAC, 0), true);
  assert.equal(macEquals(frame, 6, hex("020000000001"), 0), true);
  for (let i = 0; i < 6; i++) {
    const other = hex("020000000001");
    other[i] ^= 0x80;
    assert.equal(macEquals(frame, 6, other, 0), false, `byte ${i}`);
  }
});

Deno.test("address: randomMac is locally administered unicast and differs each time", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const mac = randomMac();
    assert.equal(mac.length, 6);
    assert.equal(mac[0] & 1, 0, "unicast");
    assert.equal(mac[0] & 2, 2, "locally administered");
    seen.add(formatMac(mac));
  }
  assert.ok(seen.size > 95);
});
