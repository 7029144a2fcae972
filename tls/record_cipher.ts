/**
 * Record protection for one direction of a TLS 1.3 connection (RFC 8446 §5.2-§5.3):
 * the AEAD keyed from a traffic secret, the per-record nonce and the sequence number.
 *
 * AES-GCM goes through noble for small records and WebCrypto for large ones: WebCrypto costs
 * roughly 45-60 µs per call whatever the size, noble's AES-GCM costs ~25 µs plus ~20 µs per KiB
 * (measured on this project's machines), so they cross near 1 KiB. ChaCha20-Poly1305 is noble's
 * (WebCrypto has none).
 *
 * @module
 */

import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { buf } from "./_bytes.ts";
import type { CipherSuite } from "./cipher_suite.ts";
import { hkdfExpandLabel } from "./key_schedule.ts";

/** Records at or above this many bytes use WebCrypto AES-GCM; smaller ones use noble. */
export const WEBCRYPTO_THRESHOLD = 1024;

/** AEAD tag length of every TLS 1.3 suite. */
export const TAG_LENGTH = 16;

/**
 * One direction's record protection: key, static IV and the 64-bit sequence number
 * (kept as a JS number; a key update is forced long before 2^53).
 *
 * @example
 * ```ts ignore
 * const p = await RecordProtection.fromSecret(suite, secret);
 * const sealed = await p.seal(aad, innerPlaintext);
 * ```
 */
export class RecordProtection {
  /** The suite this protection belongs to. */
  readonly suite: CipherSuite;
  /** The traffic secret the key and IV came from (for KeyUpdate). */
  readonly secret: Uint8Array;
  readonly #key: Uint8Array;
  readonly #iv: Uint8Array;
  readonly #webKey: CryptoKey | undefined;
  /** Sequence number of the next record. */
  seq = 0;

  private constructor(
    suite: CipherSuite,
    secret: Uint8Array,
    key: Uint8Array,
    iv: Uint8Array,
    webKey: CryptoKey | undefined,
  ) {
    this.suite = suite;
    this.secret = secret;
    this.#key = key;
    this.#iv = iv;
    this.#webKey = webKey;
  }

  /** Derives key and IV from a traffic secret (RFC 8446 §7.3). */
  static async fromSecret(suite: CipherSuite, secret: Uint8Array): Promise<RecordProtection> {
    const key = hkdfExpandLabel(suite.hash, secret, "key", new Uint8Array(0), suite.keyLength);
    const iv = hkdfExpandLabel(suite.hash, secret, "iv", new Uint8Array(0), 12);
    const webKey = suite.aead === "AES-GCM"
      ? await crypto.subtle.importKey("raw", buf(key), "AES-GCM", false, ["encrypt", "decrypt"])
      : undefined;
    return new RecordProtection(suite, secret, key, iv, webKey);
  }

  /** The per-record nonce: the IV XORed with the left-padded sequence number (§5.3). */
  nonce(seq: number): Uint8Array {
    const n = this.#iv.slice();
    let s = seq;
    for (let i = 11; i >= 4 && s > 0; i--) {
      n[i] ^= s & 0xff;
      s = Math.floor(s / 256);
    }
    return n;
  }

  /** Encrypts one inner plaintext with the next sequence number; returns ciphertext||tag. */
  seal(aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    const nonce = this.nonce(this.seq++);
    if (this.suite.aead === "ChaCha20-Poly1305") {
      return Promise.resolve(chacha20poly1305(this.#key, nonce, aad).encrypt(plaintext));
    }
    if (plaintext.length < WEBCRYPTO_THRESHOLD) {
      return Promise.resolve(gcm(this.#key, nonce, aad).encrypt(plaintext));
    }
    return crypto.subtle.encrypt(
      { name: "AES-GCM", iv: buf(nonce), additionalData: buf(aad) },
      this.#webKey!,
      buf(plaintext),
    ).then((out) => new Uint8Array(out));
  }

  /**
   * Decrypts ciphertext||tag with the next sequence number; resolves to the inner plaintext,
   * or `undefined` when authentication fails.
   */
  open(aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | undefined> {
    const nonce = this.nonce(this.seq++);
    if (this.suite.aead === "ChaCha20-Poly1305" || ciphertext.length < WEBCRYPTO_THRESHOLD) {
      try {
        const cipher = this.suite.aead === "AES-GCM"
          ? gcm(this.#key, nonce, aad)
          : chacha20poly1305(this.#key, nonce, aad);
        return Promise.resolve(cipher.decrypt(ciphertext));
      } catch {
        return Promise.resolve(undefined);
      }
    }
    return crypto.subtle.decrypt(
      { name: "AES-GCM", iv: buf(nonce), additionalData: buf(aad) },
      this.#webKey!,
      buf(ciphertext),
    ).then((out) => new Uint8Array(out), () => undefined);
  }
}
