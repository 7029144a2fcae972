import { deepEqual, equal, throws } from "node:assert/strict";
import { DerError, DerReader, Tag } from "./der_reader.ts";
import { derBitString, derInteger, derOid, derSequence, derTime } from "./der_writer.ts";

const r = (bytes: number[]) => new DerReader(new Uint8Array(bytes));

Deno.test("DER: short and long form lengths", () => {
  equal(r([0x04, 0x02, 1, 2]).octetString().length, 2);
  const long = [0x04, 0x81, 0x80, ...new Array(0x80).fill(0)];
  equal(r(long).octetString().length, 0x80);
  const long2 = [0x04, 0x82, 0x01, 0x00, ...new Array(256).fill(0)];
  equal(r(long2).octetString().length, 256);
});

Deno.test("DER: a length beyond the input is refused", () => {
  throws(() => r([0x30, 0x05, 0x02, 0x01, 0x00]).read(), DerError);
  throws(() => r([0x04, 0x82, 0xff]).read(), DerError); // truncated length octets
  throws(() => r([0x04]).read(), DerError); // no length at all
});

Deno.test("DER: indefinite and non-minimal lengths are refused", () => {
  throws(() => r([0x30, 0x80, 0x00, 0x00]).read(), /indefinite/);
  throws(() => r([0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).read(), /not minimal/);
  throws(() => r([0x04, 0x82, 0x00, 0x05, 1, 2, 3, 4, 5]).read(), /leading zero/);
  throws(() => r([0x04, 0x85, 1, 0, 0, 0, 0]).read(), /too large/);
});

Deno.test("DER: a child cannot reach past its parent", () => {
  // SEQUENCE of length 3 containing an OCTET STRING claiming 5 bytes (the outer input has them).
  const bytes = [0x30, 0x03, 0x04, 0x05, 0xaa, 0xbb, 0xcc, 0xdd, 0xee];
  const outer = r(bytes);
  const seq = outer.sequence();
  throws(() => seq.octetString(), DerError);
});

Deno.test("DER: trailing data is refused by end()", () => {
  const seq = r([0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x06]).sequence();
  seq.integer();
  throws(() => seq.end(), /trailing/);
});

Deno.test("DER: INTEGER must be minimal and non-empty", () => {
  throws(() => r([0x02, 0x00]).integer(), /empty/);
  throws(() => r([0x02, 0x02, 0x00, 0x05]).integer(), /minimal/);
  throws(() => r([0x02, 0x02, 0xff, 0x85]).integer(), /minimal/);
  deepEqual(r([0x02, 0x02, 0x00, 0x85]).integer(), new Uint8Array([0, 0x85]));
  equal(new DerReader(derInteger(65537)).smallInteger(), 65537);
});

Deno.test("DER: BOOLEAN must be 0x00 or 0xFF", () => {
  equal(r([0x01, 0x01, 0xff]).boolean(), true);
  equal(r([0x01, 0x01, 0x00]).boolean(), false);
  throws(() => r([0x01, 0x01, 0x01]).boolean(), DerError);
  throws(() => r([0x01, 0x02, 0xff, 0xff]).boolean(), DerError);
});

Deno.test("DER: BIT STRING unused bits must be 0..7 and zero", () => {
  deepEqual(new DerReader(derBitString(new Uint8Array([0x80]), 7)).bitString().unusedBits, 7);
  throws(() => r([0x03, 0x02, 0x08, 0x00]).bitString(), DerError);
  throws(() => r([0x03, 0x02, 0x01, 0x01]).bitString(), /padding bits/);
  throws(() => r([0x03, 0x01, 0x03]).bitString(), DerError);
  throws(() => r([0x03, 0x00]).bitString(), DerError);
});

Deno.test("DER: OBJECT IDENTIFIER round trip and non-minimal arcs", () => {
  for (const oid of ["1.2.840.113549.1.1.11", "2.5.29.17", "1.3.101.112", "2.999.3"]) {
    equal(new DerReader(derOid(oid)).oid(), oid);
  }
  throws(() => r([0x06, 0x02, 0x80, 0x01]).oid(), /not minimal/);
  throws(() => r([0x06, 0x01, 0x81]).oid(), /truncated/);
  throws(() => r([0x06, 0x00]).oid(), /empty/);
});

Deno.test("DER: times in the RFC 5280 forms only", () => {
  const d = new Date("2049-12-31T23:59:59Z");
  equal(new DerReader(derTime(d)).time().toISOString(), d.toISOString());
  const g = new Date("2050-01-01T00:00:00Z");
  equal(new DerReader(derTime(g)).time().toISOString(), g.toISOString());
  const enc = (tag: number, s: string) => [tag, s.length, ...new TextEncoder().encode(s)];
  equal(r(enc(Tag.UTCTime, "500101000000Z")).time().getUTCFullYear(), 1950);
  throws(() => r(enc(Tag.UTCTime, "2001010000Z")).time(), DerError); // no seconds
  throws(() => r(enc(Tag.UTCTime, "200101000000+0100")).time(), DerError); // offset
  throws(() => r(enc(Tag.UTCTime, "200230000000Z")).time(), DerError); // Feb 30
  throws(() => r(enc(Tag.GeneralizedTime, "20200101000000.5Z")).time(), DerError);
});

Deno.test("DER: wrong tag names what was expected", () => {
  throws(() => new DerReader(derSequence()).integer("serialNumber"), /expected serialNumber/);
  throws(() => r([0x1f, 0x81, 0x01, 0x00]).read(), /high tag/);
});
