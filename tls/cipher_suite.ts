/**
 * The TLS 1.3 cipher suites this client supports (RFC 8446 §B.4) and their parameters.
 *
 * @module
 */

import { sha256, sha384 } from "@noble/hashes/sha2.js";

/** Names of the supported cipher suites, as registered with IANA. */
export type CipherSuiteName =
  | "TLS_AES_128_GCM_SHA256"
  | "TLS_AES_256_GCM_SHA384"
  | "TLS_CHACHA20_POLY1305_SHA256";

/** The hash functions a TLS 1.3 cipher suite can use. */
export type TlsHash = typeof sha256 | typeof sha384;

/** A cipher suite: its code point, AEAD and hash. */
export interface CipherSuite {
  /** IANA name, e.g. `TLS_AES_128_GCM_SHA256`. */
  readonly name: CipherSuiteName;
  /** Two-byte code point. */
  readonly id: number;
  /** The record AEAD. */
  readonly aead: "AES-GCM" | "ChaCha20-Poly1305";
  /** AEAD key length in bytes. */
  readonly keyLength: number;
  /** The transcript / HKDF hash. */
  readonly hash: TlsHash;
  /** Hash output length in bytes. */
  readonly hashLength: number;
}

/**
 * All supported cipher suites, in this client's default preference order: AES-128-GCM first
 * (fastest with hardware AES through WebCrypto), then ChaCha20-Poly1305, then AES-256-GCM.
 *
 * @example
 * ```ts
 * import { CIPHER_SUITES } from "./cipher_suite.ts";
 * console.log(CIPHER_SUITES.map((s) => s.name));
 * ```
 */
export const CIPHER_SUITES: readonly CipherSuite[] = [
  {
    name: "TLS_AES_128_GCM_SHA256",
    id: 0x1301,
    aead: "AES-GCM",
    keyLength: 16,
    hash: sha256,
    hashLength: 32,
  },
  {
    name: "TLS_CHACHA20_POLY1305_SHA256",
    id: 0x1303,
    aead: "ChaCha20-Poly1305",
    keyLength: 32,
    hash: sha256,
    hashLength: 32,
  },
  {
    name: "TLS_AES_256_GCM_SHA384",
    id: 0x1302,
    aead: "AES-GCM",
    keyLength: 32,
    hash: sha384,
    hashLength: 48,
  },
];

/**
 * Looks up a cipher suite by code point or name.
 *
 * @example
 * ```ts
 * import { cipherSuite } from "./cipher_suite.ts";
 * console.log(cipherSuite(0x1302)?.name); // TLS_AES_256_GCM_SHA384
 * ```
 */
export function cipherSuite(idOrName: number | string): CipherSuite | undefined {
  return CIPHER_SUITES.find((s) => s.id === idOrName || s.name === idOrName);
}
