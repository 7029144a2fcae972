/**
 * Subject public keys (RFC 5280 §4.1.2.7) and signature verification through WebCrypto:
 * RSA PKCS#1 v1.5 and PSS, ECDSA P-256/P-384/P-521 (DER signatures converted to r||s) and
 * Ed25519.
 *
 * @module
 */

import { buf } from "../_bytes.ts";
import { DerError, DerReader, Tag } from "./der_reader.ts";
import { derBitString, derInteger, derNull, derOid, derSequence } from "./der_writer.ts";
import { OID } from "./oid.ts";

/** A hash named the way WebCrypto names it. */
export type HashName = "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";

/** Elliptic curves accepted in certificates. */
export type CurveName = "P-256" | "P-384" | "P-521";

/** A parsed subject public key. `spki` is the whole SubjectPublicKeyInfo encoding. */
export type PublicKeyInfo =
  | {
    kind: "rsa";
    spki: Uint8Array;
    /** Whether the key is an id-RSASSA-PSS key (usable only for PSS signatures). */
    pssOnly: boolean;
    modulus: Uint8Array;
    exponent: Uint8Array;
    /** Size of the modulus in bits. */
    bits: number;
  }
  | { kind: "ec"; spki: Uint8Array; curve: CurveName; point: Uint8Array; bits: number }
  | { kind: "ed25519"; spki: Uint8Array; key: Uint8Array; bits: 256 }
  | { kind: "unsupported"; spki: Uint8Array; algorithm: string; bits: 0 };

/** A signature algorithm, from a certificate's AlgorithmIdentifier or a TLS SignatureScheme. */
export type SignatureAlgorithm =
  | { kind: "rsa-pkcs1"; hash: HashName }
  | { kind: "rsa-pss"; hash: HashName; saltLength: number }
  | { kind: "ecdsa"; hash: HashName }
  | { kind: "ed25519" }
  | { kind: "unsupported"; algorithm: string };

const CURVES: Record<string, { name: CurveName; bytes: number; bits: number }> = {
  [OID.secp256r1]: { name: "P-256", bytes: 32, bits: 256 },
  [OID.secp384r1]: { name: "P-384", bytes: 48, bits: 384 },
  [OID.secp521r1]: { name: "P-521", bytes: 66, bits: 521 },
};

const CURVE_BYTES: Record<CurveName, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/**
 * Parses a SubjectPublicKeyInfo. Throws `DerError` on malformed input; unknown algorithms
 * give `kind: "unsupported"`.
 *
 * @example
 * ```ts ignore
 * const key = parsePublicKeyInfo(spkiDer);
 * if (key.kind === "rsa") console.log(key.bits);
 * ```
 */
export function parsePublicKeyInfo(spki: Uint8Array): PublicKeyInfo {
  const outer = new DerReader(spki);
  const seq = outer.sequence("SubjectPublicKeyInfo");
  outer.end("SubjectPublicKeyInfo");
  const alg = seq.sequence("AlgorithmIdentifier");
  const oid = alg.oid("algorithm");
  const params = alg.done ? undefined : alg.read();
  alg.end("AlgorithmIdentifier");
  const { bytes: key, unusedBits } = seq.bitString("subjectPublicKey");
  seq.end("SubjectPublicKeyInfo");
  if (unusedBits) throw new DerError("subjectPublicKey with unused bits", 0);
  switch (oid) {
    case OID.rsaEncryption:
    case OID.rsassaPss: {
      if (
        oid === OID.rsaEncryption && (!params || params.tag !== Tag.NULL || params.value.length)
      ) {
        throw new DerError("rsaEncryption parameters must be NULL", 0);
      }
      const r = new DerReader(key);
      const rsa = r.sequence("RSAPublicKey");
      r.end("RSAPublicKey");
      const modulus = rsa.integer("modulus");
      const exponent = rsa.integer("publicExponent");
      rsa.end("RSAPublicKey");
      if (modulus[0] & 0x80 || exponent[0] & 0x80) throw new DerError("negative RSA parameter", 0);
      const m = modulus[0] === 0 ? modulus.subarray(1) : modulus;
      const bits = m.length ? (m.length - 1) * 8 + (32 - Math.clz32(m[0])) : 0;
      return { kind: "rsa", spki, pssOnly: oid === OID.rsassaPss, modulus: m, exponent, bits };
    }
    case OID.ecPublicKey: {
      if (!params || params.tag !== Tag.OID) throw new DerError("EC key without a named curve", 0);
      const curveOid = new DerReader(params.raw).oid("namedCurve");
      const curve = CURVES[curveOid];
      if (!curve) return { kind: "unsupported", spki, algorithm: `EC curve ${curveOid}`, bits: 0 };
      if (key.length !== 1 + 2 * curve.bytes || key[0] !== 4) {
        return { kind: "unsupported", spki, algorithm: "compressed EC point", bits: 0 };
      }
      return { kind: "ec", spki, curve: curve.name, point: key, bits: curve.bits };
    }
    case OID.ed25519:
      if (params) throw new DerError("Ed25519 key with parameters", 0);
      if (key.length !== 32) throw new DerError("Ed25519 key is not 32 bytes", 0);
      return { kind: "ed25519", spki, key, bits: 256 };
    default:
      return { kind: "unsupported", spki, algorithm: oid, bits: 0 };
  }
}

/** A short description such as "RSA 2048" or "ECDSA P-256". */
export function describePublicKey(key: PublicKeyInfo): string {
  switch (key.kind) {
    case "rsa":
      return `RSA${key.pssOnly ? "-PSS" : ""} ${key.bits}`;
    case "ec":
      return `ECDSA ${key.curve}`;
    case "ed25519":
      return "Ed25519";
    default:
      return `unsupported (${key.algorithm})`;
  }
}

const keyCache = new WeakMap<PublicKeyInfo, Map<string, Promise<CryptoKey>>>();

function importKey(key: PublicKeyInfo, alg: SignatureAlgorithm): Promise<CryptoKey> {
  const cacheKey = JSON.stringify(alg);
  let perKey = keyCache.get(key);
  if (!perKey) keyCache.set(key, perKey = new Map());
  let imported = perKey.get(cacheKey);
  if (!imported) {
    imported = doImport(key, alg);
    perKey.set(cacheKey, imported);
  }
  return imported;
}

function doImport(key: PublicKeyInfo, alg: SignatureAlgorithm): Promise<CryptoKey> {
  switch (alg.kind) {
    case "rsa-pkcs1":
    case "rsa-pss": {
      if (key.kind !== "rsa") throw new TypeError("RSA signature with a non-RSA key");
      // WebCrypto wants rsaEncryption SPKIs; re-encode id-RSASSA-PSS keys (RFC 4055) that way.
      const spki = key.pssOnly ? rsaEncryptionSpki(key.modulus, key.exponent) : key.spki;
      return crypto.subtle.importKey(
        "spki",
        buf(spki),
        { name: alg.kind === "rsa-pss" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5", hash: alg.hash },
        false,
        ["verify"],
      );
    }
    case "ecdsa":
      if (key.kind !== "ec") throw new TypeError("ECDSA signature with a non-EC key");
      return crypto.subtle.importKey(
        "raw",
        buf(key.point),
        { name: "ECDSA", namedCurve: key.curve },
        false,
        ["verify"],
      );
    case "ed25519":
      if (key.kind !== "ed25519") throw new TypeError("Ed25519 signature with a non-Ed25519 key");
      return crypto.subtle.importKey("raw", buf(key.key), { name: "Ed25519" }, false, ["verify"]);
    default:
      throw new TypeError(`unsupported signature algorithm ${alg.algorithm}`);
  }
}

/**
 * Whether `key` can be used with `alg` at all (right key type; PSS-only keys only with PSS).
 *
 * @example
 * ```ts ignore
 * if (!keyMatchesAlgorithm(key, { kind: "ed25519" })) throw new Error("wrong key type");
 * ```
 */
export function keyMatchesAlgorithm(key: PublicKeyInfo, alg: SignatureAlgorithm): boolean {
  switch (alg.kind) {
    case "rsa-pkcs1":
      return key.kind === "rsa" && !key.pssOnly;
    case "rsa-pss":
      return key.kind === "rsa";
    case "ecdsa":
      return key.kind === "ec";
    case "ed25519":
      return key.kind === "ed25519";
    default:
      return false;
  }
}

/**
 * Verifies `signature` over `data` with `key`. ECDSA signatures are DER
 * `ECDSA-Sig-Value`s, as in X.509 and TLS. Resolves to false for any malformed signature or
 * mismatched key type rather than throwing.
 *
 * @example
 * ```ts ignore
 * const ok = await verifySignature(key, { kind: "ecdsa", hash: "SHA-256" }, tbs, sig);
 * ```
 */
export async function verifySignature(
  key: PublicKeyInfo,
  alg: SignatureAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (!keyMatchesAlgorithm(key, alg)) return false;
  let cryptoKey: CryptoKey;
  try {
    cryptoKey = await importKey(key, alg);
  } catch {
    return false;
  }
  let params: AlgorithmIdentifier | RsaPssParams | EcdsaParams;
  let sig = signature;
  switch (alg.kind) {
    case "rsa-pkcs1":
      params = { name: "RSASSA-PKCS1-v1_5" };
      break;
    case "rsa-pss":
      params = { name: "RSA-PSS", saltLength: alg.saltLength };
      break;
    case "ecdsa": {
      const raw = ecdsaDerToRaw(signature, CURVE_BYTES[(key as { curve: CurveName }).curve]);
      if (!raw) return false;
      sig = raw;
      params = { name: "ECDSA", hash: alg.hash };
      break;
    }
    default:
      params = { name: "Ed25519" };
  }
  try {
    return await crypto.subtle.verify(params, cryptoKey, buf(sig), buf(data));
  } catch {
    return false;
  }
}

/**
 * Converts a DER ECDSA-Sig-Value to the fixed-size r||s form WebCrypto uses. Returns
 * `undefined` if the encoding is not strict DER or r/s do not fit the curve.
 *
 * @example
 * ```ts
 * import { ecdsaDerToRaw } from "./public_key.ts";
 * const der = new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]);
 * console.log(ecdsaDerToRaw(der, 32)?.length); // 64
 * ```
 */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array | undefined {
  try {
    const outer = new DerReader(der);
    const seq = outer.sequence("ECDSA-Sig-Value");
    outer.end();
    const r = seq.integer("r");
    const s = seq.integer("s");
    seq.end();
    const out = new Uint8Array(2 * size);
    for (const [i, v] of [r, s].entries()) {
      if (v[0] & 0x80) return undefined;
      const trimmed = v[0] === 0 ? v.subarray(1) : v;
      if (trimmed.length > size) return undefined;
      out.set(trimmed, (i + 1) * size - trimmed.length);
    }
    return out;
  } catch {
    return undefined;
  }
}

/** An rsaEncryption SubjectPublicKeyInfo for a modulus and exponent. */
function rsaEncryptionSpki(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
  return derSequence(
    derSequence(derOid(OID.rsaEncryption), derNull()),
    derBitString(derSequence(derInteger(modulus), derInteger(exponent))),
  );
}
