/**
 * TLS 1.3 signature schemes (RFC 8446 §4.2.3) and how each maps to a key type and a
 * verification algorithm.
 *
 * @module
 */

import type { PublicKeyInfo, SignatureAlgorithm } from "./x509/public_key.ts";

/** A signature scheme this client offers. */
export interface SignatureScheme {
  /** IANA name, e.g. `ecdsa_secp256r1_sha256`. */
  readonly name: string;
  /** Two-byte code point. */
  readonly id: number;
  /** How to verify it. */
  readonly algorithm: SignatureAlgorithm;
  /** The key it needs. */
  readonly key: "P-256" | "P-384" | "rsa" | "rsa-pss" | "ed25519";
  /** Whether it may sign handshake messages (RSA PKCS#1 v1.5 is for certificates only). */
  readonly handshake: boolean;
}

const pss = (hash: "SHA-256" | "SHA-384" | "SHA-512", saltLength: number) =>
  ({ kind: "rsa-pss", hash, saltLength }) as const;

/**
 * Offered signature schemes, in preference order. The `signature_algorithms` extension
 * lists all of them (without `signature_algorithms_cert` it also governs certificates,
 * where RSA PKCS#1 v1.5 is still the norm); only those with `handshake: true` are accepted
 * in CertificateVerify.
 *
 * @example
 * ```ts
 * import { SIGNATURE_SCHEMES } from "./signature_scheme.ts";
 * console.log(SIGNATURE_SCHEMES[0].name); // ecdsa_secp256r1_sha256
 * ```
 */
export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = [
  {
    name: "ecdsa_secp256r1_sha256",
    id: 0x0403,
    algorithm: { kind: "ecdsa", hash: "SHA-256" },
    key: "P-256",
    handshake: true,
  },
  {
    name: "ecdsa_secp384r1_sha384",
    id: 0x0503,
    algorithm: { kind: "ecdsa", hash: "SHA-384" },
    key: "P-384",
    handshake: true,
  },
  { name: "ed25519", id: 0x0807, algorithm: { kind: "ed25519" }, key: "ed25519", handshake: true },
  {
    name: "rsa_pss_rsae_sha256",
    id: 0x0804,
    algorithm: pss("SHA-256", 32),
    key: "rsa",
    handshake: true,
  },
  {
    name: "rsa_pss_rsae_sha384",
    id: 0x0805,
    algorithm: pss("SHA-384", 48),
    key: "rsa",
    handshake: true,
  },
  {
    name: "rsa_pss_rsae_sha512",
    id: 0x0806,
    algorithm: pss("SHA-512", 64),
    key: "rsa",
    handshake: true,
  },
  {
    name: "rsa_pss_pss_sha256",
    id: 0x0809,
    algorithm: pss("SHA-256", 32),
    key: "rsa-pss",
    handshake: true,
  },
  {
    name: "rsa_pss_pss_sha384",
    id: 0x080a,
    algorithm: pss("SHA-384", 48),
    key: "rsa-pss",
    handshake: true,
  },
  {
    name: "rsa_pss_pss_sha512",
    id: 0x080b,
    algorithm: pss("SHA-512", 64),
    key: "rsa-pss",
    handshake: true,
  },
  {
    name: "rsa_pkcs1_sha256",
    id: 0x0401,
    algorithm: { kind: "rsa-pkcs1", hash: "SHA-256" },
    key: "rsa",
    handshake: false,
  },
  {
    name: "rsa_pkcs1_sha384",
    id: 0x0501,
    algorithm: { kind: "rsa-pkcs1", hash: "SHA-384" },
    key: "rsa",
    handshake: false,
  },
  {
    name: "rsa_pkcs1_sha512",
    id: 0x0601,
    algorithm: { kind: "rsa-pkcs1", hash: "SHA-512" },
    key: "rsa",
    handshake: false,
  },
];

/**
 * The scheme with code point `id`, if offered.
 *
 * @example
 * ```ts
 * import { signatureScheme } from "./signature_scheme.ts";
 * console.log(signatureScheme(0x0807)?.name); // ed25519
 * ```
 */
export function signatureScheme(id: number): SignatureScheme | undefined {
  return SIGNATURE_SCHEMES.find((s) => s.id === id);
}

/**
 * Whether `key` is the kind of key `scheme` is defined for. In TLS 1.3 ECDSA schemes fix the
 * curve, rsa_pss_rsae needs an rsaEncryption key and rsa_pss_pss an id-RSASSA-PSS key.
 *
 * @example
 * ```ts ignore
 * if (!schemeMatchesKey(scheme, leaf.publicKey)) throw new Error("wrong key");
 * ```
 */
export function schemeMatchesKey(scheme: SignatureScheme, key: PublicKeyInfo): boolean {
  switch (scheme.key) {
    case "P-256":
    case "P-384":
      return key.kind === "ec" && key.curve === scheme.key;
    case "rsa":
      return key.kind === "rsa" && !key.pssOnly;
    case "rsa-pss":
      return key.kind === "rsa" && key.pssOnly;
    case "ed25519":
      return key.kind === "ed25519";
  }
}
