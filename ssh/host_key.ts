/**
 * SSH public keys and signatures (RFC 4253 §6.6, RFC 5656, RFC 8332, RFC 8709): parse key
 * blobs, verify signatures with WebCrypto, and print OpenSSH-style fingerprints.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bs, SshReader, SshWriter } from "./_wire.ts";
import { KeyParseError } from "./errors.ts";

/** Public key algorithms (key types) this client understands. */
export const KEY_TYPES = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ssh-rsa",
] as const;

/** Signature algorithms this client verifies, in default preference order. */
export const SIGNATURE_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "rsa-sha2-512",
  "rsa-sha2-256",
] as const;

const CURVES: Record<string, { curve: string; named: string; hash: string; size: number }> = {
  "ecdsa-sha2-nistp256": { curve: "nistp256", named: "P-256", hash: "SHA-256", size: 32 },
  "ecdsa-sha2-nistp384": { curve: "nistp384", named: "P-384", hash: "SHA-384", size: 48 },
};

/** Base64 without padding. */
function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** URL-safe base64 without padding (for JWK). */
export function b64url(bytes: Uint8Array): string {
  return b64(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** Decodes standard base64 (padding optional). */
export function fromBase64(s: string): Uint8Array {
  const bin = atob(s.replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Encodes standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  return b64(bytes);
}

/**
 * The SHA-256 fingerprint of a public key blob, as OpenSSH prints it (`SHA256:` + base64
 * without padding).
 *
 * @example
 * ```ts
 * import { fingerprint } from "./host_key.ts";
 * console.log(fingerprint(new Uint8Array([0, 0, 0, 0]))); // SHA256:...
 * ```
 */
export function fingerprint(blob: Uint8Array): string {
  return "SHA256:" + b64(sha256(blob)).replace(/=+$/, "");
}

/** A parsed public key. */
export interface PublicKey {
  /** Key type from the blob, e.g. `ssh-ed25519`, `ssh-rsa`. */
  type: string;
  /** The wire encoding (what known_hosts stores in base64). */
  blob: Uint8Array;
  /** Ed25519: the 32-byte key; ECDSA: the uncompressed point. */
  point?: Uint8Array;
  /** RSA modulus and exponent (big-endian, no leading zeros). */
  n?: Uint8Array;
  e?: Uint8Array;
}

/**
 * Parses an SSH public key blob (RFC 4253 §6.6).
 *
 * @example
 * ```ts ignore
 * import { parsePublicKey } from "./host_key.ts";
 * const key = parsePublicKey(blob);
 * console.log(key.type);
 * ```
 */
export function parsePublicKey(blob: Uint8Array): PublicKey {
  try {
    const r = new SshReader(blob);
    const type = r.text();
    if (type === "ssh-ed25519") {
      const point = r.string();
      if (point.length !== 32) throw new KeyParseError("Ed25519 key must be 32 bytes");
      return { type, blob, point };
    }
    if (CURVES[type]) {
      const curve = r.text();
      if (curve !== CURVES[type].curve) throw new KeyParseError(`curve ${curve} in ${type} key`);
      const point = r.string();
      if (point.length !== 1 + 2 * CURVES[type].size || point[0] !== 4) {
        throw new KeyParseError("ECDSA key must be an uncompressed point");
      }
      return { type, blob, point };
    }
    if (type === "ssh-rsa") {
      const e = r.mpintBytes();
      const n = r.mpintBytes();
      if (n.length * 8 < 1024) throw new KeyParseError("RSA keys under 1024 bits are refused");
      return { type, blob, n, e };
    }
    throw new KeyParseError(`unsupported public key type ${type}`);
  } catch (e) {
    if (e instanceof KeyParseError) throw e;
    throw new KeyParseError("malformed public key blob", { cause: e });
  }
}

/** Whether a signature algorithm may be used with a key type. */
export function signatureFitsKey(sigAlg: string, keyType: string): boolean {
  if (keyType === "ssh-rsa") return sigAlg === "rsa-sha2-256" || sigAlg === "rsa-sha2-512";
  return sigAlg === keyType;
}

/** Strips leading zero bytes and left-pads to `size` (for ECDSA r and s). */
function fixed(b: Uint8Array, size: number): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  if (v.length > size) throw new KeyParseError("ECDSA signature component too long");
  const out = new Uint8Array(size);
  out.set(v, size - v.length);
  return out;
}

/**
 * Verifies an SSH signature blob (`string alg, string sig`) over `data` with a public key.
 * `allowed` limits which signature algorithms are acceptable (e.g. the negotiated host key
 * algorithm).
 *
 * @example
 * ```ts ignore
 * import { parsePublicKey, verifySignature } from "./host_key.ts";
 * const ok = await verifySignature(parsePublicKey(blob), sig, exchangeHash, ["ssh-ed25519"]);
 * ```
 */
export async function verifySignature(
  key: PublicKey,
  signature: Uint8Array,
  data: Uint8Array,
  allowed?: readonly string[],
): Promise<boolean> {
  let alg: string;
  let sig: Uint8Array;
  try {
    const r = new SshReader(signature);
    alg = r.text();
    sig = r.string();
  } catch {
    return false;
  }
  if (!signatureFitsKey(alg, key.type)) return false;
  if (allowed && !allowed.includes(alg)) return false;
  try {
    if (key.type === "ssh-ed25519") {
      if (sig.length !== 64) return false;
      const k = await crypto.subtle.importKey("raw", bs(key.point!), "Ed25519", false, [
        "verify",
      ]);
      return await crypto.subtle.verify("Ed25519", k, bs(sig), bs(data));
    }
    const curve = CURVES[key.type];
    if (curve) {
      const sr = new SshReader(sig);
      const rr = sr.string();
      const ss = sr.string();
      const raw = new Uint8Array(2 * curve.size);
      raw.set(fixed(rr, curve.size), 0);
      raw.set(fixed(ss, curve.size), curve.size);
      const k = await crypto.subtle.importKey(
        "raw",
        bs(key.point!),
        { name: "ECDSA", namedCurve: curve.named },
        false,
        ["verify"],
      );
      return await crypto.subtle.verify({ name: "ECDSA", hash: curve.hash }, k, raw, bs(data));
    }
    if (key.type === "ssh-rsa") {
      const hash = alg === "rsa-sha2-512" ? "SHA-512" : "SHA-256";
      const k = await crypto.subtle.importKey(
        "jwk",
        { kty: "RSA", n: b64url(key.n!), e: b64url(key.e!), ext: true },
        { name: "RSASSA-PKCS1-v1_5", hash },
        false,
        ["verify"],
      );
      // RSA signatures shorter than the modulus are left-padded (RFC 8332 §3).
      const size = key.n!.length;
      const s = sig.length < size ? fixed(sig, size) : sig;
      return await crypto.subtle.verify("RSASSA-PKCS1-v1_5", k, bs(s), bs(data));
    }
  } catch {
    return false;
  }
  return false;
}

/** Encodes a signature blob: `string alg, string sig`. */
export function encodeSignature(alg: string, sig: Uint8Array): Uint8Array {
  return new SshWriter().string(alg).string(sig).bytes().slice();
}

/**
 * Formats a public key as one line of an OpenSSH `authorized_keys` / `.pub` file.
 *
 * @example
 * ```ts ignore
 * import { formatPublicKey } from "./host_key.ts";
 * console.log(formatPublicKey(blob, "me@host"));
 * ```
 */
export function formatPublicKey(blob: Uint8Array, comment = ""): string {
  const type = new SshReader(blob).text();
  return `${type} ${b64(blob)}${comment ? " " + comment : ""}`;
}
