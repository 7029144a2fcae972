import { deepEqual, equal } from "node:assert/strict";
import { dnsNameMatches, formatIpAddress, parseIpAddress } from "./hostname.ts";

// [presented identifier in the certificate, host we connected to, matches?]
const table: Array<[string, string, boolean]> = [
  ["example.com", "example.com", true],
  ["Example.COM", "example.com", true],
  ["example.com", "EXAMPLE.com.", true],
  ["example.com", "www.example.com", false],
  ["*.example.com", "www.example.com", true],
  ["*.example.com", "WWW.Example.Com", true],
  ["*.example.com", "example.com", false], // wildcard needs one label
  ["*.example.com", "a.b.example.com", false], // exactly one label
  ["*.example.com", ".example.com", false],
  ["*.com", "example.com", false], // at least two labels after the wildcard
  ["*", "localhost", false],
  ["w*.example.com", "www.example.com", false], // partial wildcards are not honoured
  ["*w.example.com", "www.example.com", false],
  ["www.*.example.com", "www.a.example.com", false], // wildcard must be left-most
  ["*.*.example.com", "a.b.example.com", false],
  ["*.example.com", "xn--bcher-kva.example.com", false], // no wildcard over an A-label
  ["xn--bcher-kva.example.com", "xn--bcher-kva.example.com", true],
  ["*.example.com", "*.example.com", false], // the reference must not contain wildcards
  ["example.com", "example.org", false],
  ["*.example.com", "127.0.0.1", false],
  ["", "example.com", false],
];

for (const [presented, reference, expected] of table) {
  Deno.test(`hostname: "${presented}" ${expected ? "matches" : "does not match"} "${reference}"`, () => {
    equal(dnsNameMatches(presented, reference), expected);
  });
}

Deno.test("hostname: IP address literals", () => {
  deepEqual(parseIpAddress("10.0.0.1"), new Uint8Array([10, 0, 0, 1]));
  equal(parseIpAddress("256.0.0.1"), undefined);
  equal(parseIpAddress("01.2.3.4"), undefined); // leading zeros are ambiguous
  equal(parseIpAddress("1.2.3"), undefined);
  deepEqual(parseIpAddress("::1"), new Uint8Array([...new Array(15).fill(0), 1]));
  deepEqual(parseIpAddress("[2001:db8::1]")?.slice(0, 4), new Uint8Array([0x20, 0x01, 0x0d, 0xb8]));
  deepEqual(parseIpAddress("::ffff:1.2.3.4")?.slice(10), new Uint8Array([0xff, 0xff, 1, 2, 3, 4]));
  equal(parseIpAddress("1::2::3"), undefined);
  equal(parseIpAddress("1:2:3:4:5:6:7:8:9"), undefined);
  equal(parseIpAddress("example.com"), undefined);
  equal(formatIpAddress(new Uint8Array([127, 0, 0, 1])), "127.0.0.1");
  equal(formatIpAddress(parseIpAddress("2001:db8::1")!), "2001:db8::1");
});
