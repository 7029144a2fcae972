import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { gcm } from "@noble/ciphers/aes.js";
import { nativeAesGcm, nativeCryptoAvailable, setNativeCrypto } from "./_libcrypto.ts";

const ignore = !nativeCryptoAvailable();
const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

Deno.test({
  name: "libcrypto: AES-GCM seals exactly as noble does (128- and 256-bit keys, any length)",
  ignore,
  fn() {
    for (const keyLength of [16, 32]) {
      const key = bytes(keyLength, 1);
      const engine = nativeAesGcm(key)!;
      for (const size of [0, 1, 16, 17, 4095, 32768 + 16]) {
        const iv = bytes(12, size);
        const aad = bytes(4, 7);
        const plain = bytes(size, 3);
        // In place, inside a larger buffer: offsets must be honoured.
        const buf = new Uint8Array(size + 40);
        buf.set(plain, 8);
        engine.seal(iv, aad, buf.subarray(8, 8 + size), buf.subarray(8 + size, 24 + size));
        const expected = gcm(key, iv, aad).encrypt(plain);
        deepEqual(buf.subarray(8, 24 + size), expected, `key ${keyLength}, ${size} bytes`);
        deepEqual(buf.subarray(0, 8), new Uint8Array(8));
        deepEqual(buf.subarray(24 + size), new Uint8Array(16));
      }
    }
  },
});

Deno.test({
  name: "libcrypto: AES-GCM opens noble's output and refuses a wrong tag, AAD or IV",
  ignore,
  fn() {
    const key = bytes(16, 9);
    const engine = nativeAesGcm(key)!;
    const iv = bytes(12, 2);
    const aad = bytes(4, 5);
    const plain = bytes(5000, 4);
    const sealed = gcm(key, iv, aad).encrypt(plain);
    const ct = sealed.subarray(0, plain.length);
    const tag = sealed.subarray(plain.length);
    const out = new Uint8Array(plain.length);
    ok(engine.open(iv, aad, ct, tag, out));
    deepEqual(out, plain);
    const badTag = tag.slice();
    badTag[15] ^= 1;
    equal(engine.open(iv, aad, ct, badTag, out), false);
    equal(engine.open(iv, bytes(4, 6), ct, tag, out), false);
    equal(engine.open(bytes(12, 3), aad, ct, tag, out), false);
    // Still usable after failures.
    ok(engine.open(iv, aad, ct, tag, out));
    throws(() => engine.open(iv, aad, ct, tag, new Uint8Array(10)), RangeError);
    throws(() => engine.seal(bytes(8, 1), aad, out, new Uint8Array(16)), RangeError);
  },
});

Deno.test("libcrypto: turned off, or for a key size it does not do, there is no engine", () => {
  equal(nativeAesGcm(new Uint8Array(24)), undefined);
  setNativeCrypto(false);
  try {
    equal(nativeCryptoAvailable(), false);
    equal(nativeAesGcm(new Uint8Array(16)), undefined);
  } finally {
    setNativeCrypto(true);
  }
});
