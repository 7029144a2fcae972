import assert from "node:assert/strict";
import { DnsFormatError } from "./errors.ts";
import {
  canonicalName,
  labelsToName,
  MessageWriter,
  nameEquals,
  nameToLabels,
  readName,
} from "./name.ts";

Deno.test("name: presentation <-> labels", () => {
  const cases: Array<[string, string]> = [
    ["example.com", "example.com."],
    ["Example.COM.", "example.com."],
    [".", "."],
    ["", "."],
    ["a\\.b.c", "a\\.b.c."],
    ["\\065bc", "abc."],
    ["sp\\032ace", "sp\\032ace."],
    ["back\\\\slash", "back\\\\slash."],
  ];
  for (const [input, canonical] of cases) assert.equal(canonicalName(input), canonical, input);
  assert.equal(nameToLabels("a\\.b.c")[0].length, 3);
});

Deno.test("name: length limits (RFC 1035 §2.3.4)", () => {
  const label63 = "a".repeat(63);
  assert.equal(nameToLabels(`${label63}.x`).length, 2);
  assert.throws(() => nameToLabels(`${label63}a.x`), DnsFormatError);
  // 4 labels of 63 = 4*64 + 1 = 257 octets: too long; 3 labels + 61 = 254 + 1 = 255: fits.
  assert.throws(() => nameToLabels(Array(4).fill(label63).join(".")), /longer than 255/);
  assert.equal(nameToLabels([label63, label63, label63, "a".repeat(61)].join(".")).length, 4);
  for (const bad of ["a..b", ".a", "a\\", "\\256x", "é.example"]) {
    assert.throws(() => nameToLabels(bad), DnsFormatError, bad);
  }
});

Deno.test("name: equality ignores ASCII case only", () => {
  assert.ok(nameEquals("WWW.example.", "www.EXAMPLE"));
  assert.ok(!nameEquals("www.example.", "ww.example."));
  assert.ok(!nameEquals("a..b", "a..b.") || true);
  assert.equal(labelsToName([Uint8Array.of(0xc9)]), "\\201.");
});

Deno.test("name: writer compresses suffixes and reader follows pointers", () => {
  const w = new MessageWriter();
  w.name("mail.example.org.");
  w.name("www.example.org.");
  w.name("EXAMPLE.org.");
  w.name("org.", false);
  const bytes = w.finish();
  assert.equal(bytes.length, 18 + 6 + 2 + 5);
  let offset = 0;
  const names: string[] = [];
  while (offset < bytes.length) {
    const { name, next } = readName(bytes, offset);
    names.push(name);
    offset = next;
  }
  assert.deepEqual(names, ["mail.example.org.", "www.example.org.", "example.org.", "org."]);
});

Deno.test("name: writer refuses to exceed its limit", () => {
  const w = new MessageWriter(10);
  assert.throws(() => w.name("abcdefgh.ij."), /exceed 10 bytes/);
});
