import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { DecodeError, UnexpectedMessage } from "./errors.ts";
import { HandshakeReassembler } from "./handshake_reassembler.ts";

const message = (
  type: number,
  body: number[],
) => [type, 0, body.length >> 8, body.length & 0xff, ...body];

Deno.test("handshake reassembly: one message split across three records", () => {
  const r = new HandshakeReassembler();
  const m = message(11, Array.from({ length: 600 }, (_, i) => i & 0xff));
  r.push(new Uint8Array(m.slice(0, 2)));
  equal(r.next(), undefined);
  r.push(new Uint8Array(m.slice(2, 300)));
  equal(r.next(), undefined);
  ok(r.hasPartial);
  r.push(new Uint8Array(m.slice(300)));
  const got = r.next()!;
  equal(got.type, 11);
  equal(got.body.length, 600);
  deepEqual(got.raw, new Uint8Array(m));
  ok(!r.hasPartial);
});

Deno.test("handshake reassembly: several messages in one record, then a partial one", () => {
  const r = new HandshakeReassembler();
  r.push(new Uint8Array([...message(8, [0, 0]), ...message(20, [1, 2, 3]), 15, 0]));
  equal(r.next()!.type, 8);
  deepEqual(r.next()!.body, new Uint8Array([1, 2, 3]));
  equal(r.next(), undefined);
  ok(r.hasPartial);
  r.push(new Uint8Array([0, 1, 9]));
  deepEqual(r.next()!.body, new Uint8Array([9]));
});

Deno.test("handshake reassembly: a partial message is copied, not kept as a view", () => {
  const r = new HandshakeReassembler();
  const record = new Uint8Array([20, 0, 0, 2, 0xaa]);
  r.push(record);
  equal(r.next(), undefined);
  record.fill(0); // the record buffer is reused by the caller
  r.push(new Uint8Array([0xbb]));
  deepEqual(r.next()!.body, new Uint8Array([0xaa, 0xbb]));
});

Deno.test("handshake reassembly: empty records and oversize messages are refused", () => {
  throws(() => new HandshakeReassembler().push(new Uint8Array(0)), UnexpectedMessage);
  const r = new HandshakeReassembler(1000);
  throws(() => r.push(new Uint8Array([11, 0, 0x10, 0])), DecodeError);
});
