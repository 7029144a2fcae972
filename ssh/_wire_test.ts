import { deepEqual, equal, throws } from "node:assert/strict";
import { bigIntToBytes, bytesToBigInt, constantTimeEqual, SshReader, SshWriter } from "./_wire.ts";
import { ProtocolError } from "./errors.ts";

const hex = (b: Uint8Array) => Array.from(b).map((x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("wire: mpint encodings from RFC 4251 §5", () => {
  equal(hex(new SshWriter().mpint(0n).bytes()), "00 00 00 00");
  equal(
    hex(new SshWriter().mpint(0x9a378f9b2e332a7n).bytes()),
    "00 00 00 08 09 a3 78 f9 b2 e3 32 a7",
  );
  equal(hex(new SshWriter().mpint(0x80n).bytes()), "00 00 00 02 00 80");
  equal(hex(new SshWriter().mpintBytes(new Uint8Array([0, 0, 0x7f])).bytes()), "00 00 00 01 7f");
});

Deno.test("wire: negative mpints are refused", () => {
  throws(() => new SshReader(new Uint8Array([0, 0, 0, 1, 0xff])).mpint(), ProtocolError);
});

Deno.test("wire: values round-trip", () => {
  const w = new SshWriter(4).byte(7).boolean(true).uint32(0xdeadbeef).uint64(2n ** 40n).string(
    "héllo",
  )
    .nameList(["a", "b"]).nameList([]).mpint(12345678901234567890n);
  const r = new SshReader(w.bytes());
  equal(r.byte(), 7);
  equal(r.boolean(), true);
  equal(r.uint32(), 0xdeadbeef);
  equal(r.uint64(), 2n ** 40n);
  equal(r.text(), "héllo");
  deepEqual(r.nameList(), ["a", "b"]);
  deepEqual(r.nameList(), []);
  equal(r.mpint(), 12345678901234567890n);
  equal(r.remaining, 0);
});

Deno.test("wire: reads past the end throw ProtocolError", () => {
  throws(() => new SshReader(new Uint8Array([0, 0, 0, 9, 1])).string(), ProtocolError);
  throws(() => new SshReader(new Uint8Array([0, 0])).uint32(), ProtocolError);
});

Deno.test("wire: bigint conversions and constant-time compare", () => {
  equal(bytesToBigInt(new Uint8Array([1, 0])), 256n);
  deepEqual(bigIntToBytes(256n, 4), new Uint8Array([0, 0, 1, 0]));
  equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  equal(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 2])), false);
});
