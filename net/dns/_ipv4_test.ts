import assert from "node:assert/strict";
import {
  formatIpv4,
  formatIpv6,
  InvalidAddress,
  maskToPrefixLength,
  parseIpv4,
  parseIpv6,
  prefixLengthToMask,
  readIpv4,
  writeIpv4,
} from "./_ipv4.ts";

Deno.test("ipv4: parse and format", () => {
  for (
    const [text, value] of [["0.0.0.0", 0], ["255.255.255.255", 0xffffffff], [
      "10.0.2.15",
      0x0a00020f,
    ]] as const
  ) {
    assert.equal(parseIpv4(text), value);
    assert.equal(formatIpv4(value), text);
  }
  for (const bad of ["1.2.3", "1.2.3.256", "01.2.3.4", "a.b.c.d", "1.2.3.4.5", ""]) {
    assert.throws(() => parseIpv4(bad), InvalidAddress, bad);
  }
  const b = new Uint8Array(6);
  writeIpv4(b, 1, 0xc0a80101);
  assert.deepEqual([...b], [0, 192, 168, 1, 1, 0]);
  assert.equal(readIpv4(b, 1), 0xc0a80101);
});

Deno.test("ipv4: masks and prefix lengths", () => {
  for (let p = 0; p <= 32; p++) assert.equal(maskToPrefixLength(prefixLengthToMask(p)), p);
  assert.equal(prefixLengthToMask(24), 0xffffff00);
  assert.throws(() => maskToPrefixLength(0xff00ff00), InvalidAddress);
  assert.throws(() => prefixLengthToMask(33), InvalidAddress);
});

Deno.test("ipv6: RFC 5952 text form", () => {
  const cases: Array<[string, string]> = [
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["::1", "::1"],
    ["::", "::"],
    ["fe80::", "fe80::"],
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
  ];
  for (const [input, canonical] of cases) assert.equal(formatIpv6(parseIpv6(input)), canonical);
  for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7", "g::"]) {
    assert.throws(() => parseIpv6(bad), InvalidAddress, bad);
  }
});
