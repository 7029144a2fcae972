import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { fromHex, toHex } from "./_bytes.ts";
import { cipherSuite } from "./cipher_suite.ts";
import { BadRecordMac, DecodeError, RecordOverflow, UnexpectedMessage } from "./errors.ts";
import { RecordProtection, WEBCRYPTO_THRESHOLD } from "./record_cipher.ts";
import {
  ContentType,
  MAX_CIPHERTEXT,
  MAX_PLAINTEXT,
  openRecord,
  RecordReader,
  sealRecords,
  type WireRecord,
} from "./record_layer.ts";
import { rfc8448 } from "./testdata/rfc8448.ts";

const aes128 = cipherSuite("TLS_AES_128_GCM_SHA256")!;
const chacha = cipherSuite("TLS_CHACHA20_POLY1305_SHA256")!;
const secret = new Uint8Array(32).fill(7);

function frame(wire: Uint8Array): WireRecord[] {
  const reader = new RecordReader();
  const out: WireRecord[] = [];
  let off = 0;
  while (off < wire.length) {
    const space = reader.space();
    const n = Math.min(space.length, wire.length - off);
    space.set(wire.subarray(off, off + n));
    reader.commit(n);
    off += n;
    for (let r = reader.next(); r; r = reader.next()) {
      out.push({ type: r.type, header: r.header.slice(), fragment: r.fragment.slice() });
    }
  }
  return out;
}

Deno.test("RFC 8448 §3: client application record, sequence 0, matches byte for byte", async () => {
  const p = await RecordProtection.fromSecret(
    aes128,
    fromHex(rfc8448.clientApplicationTrafficSecret),
  );
  const wire = await sealRecords(
    p,
    ContentType.application_data,
    fromHex(rfc8448.clientApplicationPayload),
  );
  equal(toHex(wire), rfc8448.clientApplicationRecord);
  // And it opens again with the same secret.
  const reader = await RecordProtection.fromSecret(
    aes128,
    fromHex(rfc8448.clientApplicationTrafficSecret),
  );
  const [rec] = frame(wire);
  const opened = await openRecord(reader, rec);
  equal(opened.type, ContentType.application_data);
  equal(toHex(opened.content), rfc8448.clientApplicationPayload);
});

for (const suite of [aes128, chacha]) {
  Deno.test(`record layer (${suite.name}): fragments at 2^14, sequence numbers advance per record`, async () => {
    const data = new Uint8Array(MAX_PLAINTEXT * 2 + 100).map((_, i) => i & 0xff);
    const w = await RecordProtection.fromSecret(suite, secret);
    const wire = await sealRecords(w, ContentType.application_data, data);
    const records = frame(wire);
    equal(records.length, 3);
    for (const r of records) ok(r.fragment.length <= MAX_CIPHERTEXT);
    equal(w.seq, 3);
    const r = await RecordProtection.fromSecret(suite, secret);
    const parts = [];
    for (const rec of records) parts.push((await openRecord(r, rec)).content);
    deepEqual(new Uint8Array(parts.flatMap((p) => [...p])), data);
    // Out of order: opening record 2 with sequence 0 fails.
    const r2 = await RecordProtection.fromSecret(suite, secret);
    await rejects(openRecord(r2, records[1]), BadRecordMac);
  });
}

Deno.test("record layer: small and large records take both AES-GCM paths and agree", async () => {
  for (const size of [1, WEBCRYPTO_THRESHOLD - 2, WEBCRYPTO_THRESHOLD, 16000]) {
    const w = await RecordProtection.fromSecret(aes128, secret);
    const r = await RecordProtection.fromSecret(aes128, secret);
    const data = new Uint8Array(size).fill(3);
    const [rec] = frame(await sealRecords(w, ContentType.handshake, data));
    const opened = await openRecord(r, rec);
    equal(opened.type, ContentType.handshake);
    deepEqual(opened.content, data);
  }
});

Deno.test("record layer: padding is removed and the inner content type recovered", async () => {
  const w = await RecordProtection.fromSecret(aes128, secret);
  const r = await RecordProtection.fromSecret(aes128, secret);
  const [rec] = frame(
    await sealRecords(w, ContentType.alert, new Uint8Array([1, 0]), { padding: 500 }),
  );
  equal(rec.fragment.length, 2 + 1 + 500 + 16);
  const opened = await openRecord(r, rec);
  equal(opened.type, ContentType.alert);
  deepEqual(opened.content, new Uint8Array([1, 0]));
});

Deno.test("record layer: an all-zero inner plaintext (no content type) is unexpected_message", async () => {
  const w = await RecordProtection.fromSecret(aes128, secret);
  const r = await RecordProtection.fromSecret(aes128, secret);
  // Seal content type 0 with zero padding: the inner plaintext is all zeros.
  const [rec] = frame(await sealRecords(w, 0, new Uint8Array(0), { padding: 4 }));
  await rejects(openRecord(r, rec), UnexpectedMessage);
});

Deno.test("record layer: inner plaintext over 2^14 + 1 is record_overflow", async () => {
  const w = await RecordProtection.fromSecret(aes128, secret);
  const r = await RecordProtection.fromSecret(aes128, secret);
  const inner = new Uint8Array(MAX_PLAINTEXT + 2);
  inner[inner.length - 1] = ContentType.application_data;
  const header = new Uint8Array([23, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff]);
  const fragment = await w.seal(header, inner);
  await rejects(openRecord(r, { type: 23, header, fragment }), RecordOverflow);
});

Deno.test("record layer: plaintext records over 2^14 are record_overflow", async () => {
  await rejects(
    openRecord(undefined, {
      type: 22,
      header: new Uint8Array([22, 3, 3, 0x40, 1]),
      fragment: new Uint8Array(MAX_PLAINTEXT + 1),
    }),
    RecordOverflow,
  );
});

Deno.test("record reader: headers are checked before the body arrives", () => {
  const reader = new RecordReader();
  const feed = (bytes: number[]) => {
    reader.space().set(bytes);
    reader.commit(bytes.length);
  };
  feed([23, 3, 3, 0x41, 0x01]); // 16641 > 2^14 + 256
  throws(() => reader.next(), RecordOverflow);
  const r2 = new RecordReader();
  r2.space().set([99, 3, 3, 0, 1]);
  r2.commit(5);
  throws(() => r2.next(), UnexpectedMessage);
  const r3 = new RecordReader();
  r3.space().set([22, 2, 0, 0, 1]);
  r3.commit(5);
  throws(() => r3.next(), DecodeError);
});

Deno.test("record reader: partial records wait, compaction keeps data", () => {
  const reader = new RecordReader(2 * (5 + MAX_CIPHERTEXT));
  const rec = new Uint8Array(5 + 10000);
  rec.set([23, 3, 3, 10000 >> 8, 10000 & 0xff]);
  rec[5] = 0xaa;
  rec[rec.length - 1] = 0xbb;
  let delivered = 0;
  let count = 0;
  for (let round = 0; round < 10; round++) {
    // Feed in odd-sized pieces.
    let off = 0;
    while (off < rec.length) {
      const space = reader.space();
      const n = Math.min(space.length, 3333, rec.length - off);
      space.set(rec.subarray(off, off + n));
      reader.commit(n);
      off += n;
      delivered += n;
      for (let r = reader.next(); r; r = reader.next()) {
        equal(r.fragment.length, 10000);
        equal(r.fragment[0], 0xaa);
        equal(r.fragment[9999], 0xbb);
        count++;
      }
    }
  }
  equal(count, 10);
  equal(reader.buffered, 0);
  equal(delivered, 10 * rec.length);
});

Deno.test("record reader: grows while reads fill it, up to its maximum", () => {
  const reader = new RecordReader(2 * (5 + MAX_CIPHERTEXT), 8 * (5 + MAX_CIPHERTEXT));
  const start = reader.capacity;
  for (let i = 0; i < 5; i++) {
    const space = reader.space();
    space.fill(0);
    // Fill it completely with empty records (5-byte headers; the capacity is a multiple of 5).
    for (let off = 0; off + 5 <= space.length; off += 5) space.set([23, 3, 3, 0, 0], off);
    reader.commit(space.length);
    while (reader.next());
  }
  ok(reader.capacity > start);
  equal(reader.capacity, 8 * (5 + MAX_CIPHERTEXT));
});
