/**
 * bcrypt_pbkdf, the key derivation of OpenSSH's encrypted private keys (OpenBSD
 * bcrypt_pbkdf.c): PBKDF2-like iterations of a bcrypt hash keyed by SHA-512 digests.
 *
 * @module
 */

import { sha512 } from "@noble/hashes/sha2.js";
import { Blowfish } from "./_blowfish.ts";

const MAGIC = new TextEncoder().encode("OxychromaticBlowfishSwatDynamite");
const HASH_SIZE = 32;

function bcryptHash(sha2pass: Uint8Array, sha2salt: Uint8Array): Uint8Array {
  const bf = new Blowfish();
  bf.expandState(sha2salt, sha2pass);
  for (let i = 0; i < 64; i++) {
    bf.expand0State(sha2salt);
    bf.expand0State(sha2pass);
  }
  const cdata = new Uint32Array(8);
  const pos = { j: 0 };
  for (let i = 0; i < 8; i++) cdata[i] = Blowfish.word(MAGIC, pos);
  for (let i = 0; i < 64; i++) bf.encryptWords(cdata);
  // Output words are stored little-endian (a quirk of the reference implementation).
  const out = new Uint8Array(HASH_SIZE);
  for (let i = 0; i < 8; i++) {
    out[4 * i + 3] = cdata[i] >>> 24;
    out[4 * i + 2] = (cdata[i] >>> 16) & 0xff;
    out[4 * i + 1] = (cdata[i] >>> 8) & 0xff;
    out[4 * i] = cdata[i] & 0xff;
  }
  return out;
}

/**
 * Derives `keyLength` bytes from a passphrase and salt with `rounds` iterations.
 *
 * @example
 * ```ts
 * import { bcryptPbkdf } from "./bcrypt_pbkdf.ts";
 * const key = bcryptPbkdf(new TextEncoder().encode("pw"), new Uint8Array(16), 48, 1);
 * console.log(key.length); // 48
 * ```
 */
export function bcryptPbkdf(
  passphrase: Uint8Array,
  salt: Uint8Array,
  keyLength: number,
  rounds: number,
): Uint8Array {
  if (rounds < 1 || keyLength < 1 || keyLength > HASH_SIZE * HASH_SIZE || salt.length === 0) {
    throw new RangeError("invalid bcrypt_pbkdf parameters");
  }
  const key = new Uint8Array(keyLength);
  const stride = Math.ceil(keyLength / HASH_SIZE);
  let amount = Math.ceil(keyLength / stride);
  const sha2pass = sha512(passphrase);
  const countSalt = new Uint8Array(salt.length + 4);
  countSalt.set(salt);
  let remaining = keyLength;
  for (let count = 1; remaining > 0; count++) {
    new DataView(countSalt.buffer).setUint32(salt.length, count);
    let tmp = bcryptHash(sha2pass, sha512(countSalt));
    const out = tmp.slice();
    for (let i = 1; i < rounds; i++) {
      tmp = bcryptHash(sha2pass, sha512(tmp));
      for (let j = 0; j < out.length; j++) out[j] ^= tmp[j];
    }
    // Spread the output bytes across the key (stride) so every block depends on all rounds.
    amount = Math.min(amount, remaining);
    let i = 0;
    for (; i < amount; i++) {
      const dest = i * stride + (count - 1);
      if (dest >= keyLength) break;
      key[dest] = out[i];
    }
    remaining -= i;
  }
  return key;
}
