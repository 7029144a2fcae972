/**
 * Key exchange groups (RFC 8446 §4.2.7-§4.2.8): X25519MLKEM768 (the hybrid post-quantum group
 * of draft-ietf-tls-ecdhe-mlkem: ML-KEM-768 from noble, then X25519), X25519 (noble) and
 * the NIST curves P-256 and P-384 (WebCrypto ECDH, uncompressed points).
 *
 * @module
 */

import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { buf, concat, randomBytes } from "./_bytes.ts";
import { IllegalParameter } from "./errors.ts";

/** Names of the supported groups, as registered with IANA. */
export type NamedGroupName = "X25519MLKEM768" | "x25519" | "secp256r1" | "secp384r1";

/**
 * Code points of the supported groups.
 *
 * @example
 * ```ts
 * import { NAMED_GROUPS } from "./key_exchange.ts";
 * console.log(NAMED_GROUPS.x25519.toString(16)); // 1d
 * ```
 */
export const NAMED_GROUPS: Readonly<Record<NamedGroupName, number>> = {
  X25519MLKEM768: 0x11ec,
  x25519: 0x001d,
  secp256r1: 0x0017,
  secp384r1: 0x0018,
};

/**
 * All supported groups in this client's default preference order.
 *
 * @example
 * ```ts
 * import { DEFAULT_GROUPS } from "./key_exchange.ts";
 * console.log(DEFAULT_GROUPS[0]); // X25519MLKEM768
 * ```
 */
export const DEFAULT_GROUPS: readonly NamedGroupName[] = [
  "X25519MLKEM768",
  "x25519",
  "secp256r1",
  "secp384r1",
];

/**
 * Groups that get a key share in the first ClientHello by default (like current browsers).
 *
 * @example
 * ```ts
 * import { DEFAULT_KEY_SHARE_GROUPS } from "./key_exchange.ts";
 * console.log(DEFAULT_KEY_SHARE_GROUPS); // [ "X25519MLKEM768", "x25519" ]
 * ```
 */
export const DEFAULT_KEY_SHARE_GROUPS: readonly NamedGroupName[] = ["X25519MLKEM768", "x25519"];

/**
 * The group name for a code point, if supported.
 *
 * @example
 * ```ts
 * import { groupName } from "./key_exchange.ts";
 * console.log(groupName(0x11ec)); // X25519MLKEM768
 * ```
 */
export function groupName(id: number): NamedGroupName | undefined {
  return (Object.keys(NAMED_GROUPS) as NamedGroupName[]).find((n) => NAMED_GROUPS[n] === id);
}

const MLKEM_EK = 1184;
const MLKEM_CT = 1088;
const NIST: Record<string, { curve: "P-256" | "P-384"; bits: number; point: number }> = {
  secp256r1: { curve: "P-256", bits: 256, point: 65 },
  secp384r1: { curve: "P-384", bits: 384, point: 97 },
};
/** noble's implementation of each NIST curve (point validation, scalars from fixed bytes). */
const NOBLE_CURVE = { "P-256": p256, "P-384": p384 };

/** A client key share: the public value to send and how to finish the exchange. */
export interface ClientKeyShare {
  /** The group. */
  readonly group: NamedGroupName;
  /** The key_exchange bytes for the ClientHello. */
  readonly publicKey: Uint8Array;
  /** Computes the shared secret from the server's key_exchange bytes. */
  complete(serverShare: Uint8Array): Promise<Uint8Array>;
}

/**
 * Generates a client key share for `group`.
 *
 * `random` is where the secret keys come from; tests pass fixed bytes to reproduce published
 * traces (RFC 8448). Without it, X25519 and ML-KEM keys come from `crypto.getRandomValues`
 * and P-256/P-384 key pairs from WebCrypto's generateKey. With it, X25519 takes 32 bytes as
 * its secret key (RFC 7748 §6.1), ML-KEM-768 a 64-byte seed (FIPS 203 ML-KEM.KeyGen: d ‖ z),
 * and the NIST curves a scalar of the curve's size, drawn again while it is not in
 * [1, n-1] (FIPS 186-5 A.2.2, rejection sampling).
 *
 * @example
 * ```ts
 * import { generateKeyShare } from "./key_exchange.ts";
 * const share = await generateKeyShare("X25519MLKEM768");
 * console.log(share.publicKey.length); // 1216
 * ```
 *
 * @example A fixed X25519 secret key, as the RFC 8448 trace tests use
 * ```ts
 * import { generateKeyShare } from "./key_exchange.ts";
 * const secret = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
 * const share = await generateKeyShare("x25519", (n) => secret.slice(0, n));
 * console.log(share.publicKey.length); // 32
 * ```
 */
export async function generateKeyShare(
  group: NamedGroupName,
  random?: (n: number) => Uint8Array,
): Promise<ClientKeyShare> {
  const bytes = random ?? randomBytes;
  switch (group) {
    case "x25519": {
      const { secretKey, publicKey } = x25519.keygen(bytes(32));
      return { group, publicKey, complete: (s) => Promise.resolve(x25519Secret(secretKey, s)) };
    }
    case "X25519MLKEM768": {
      const kem = ml_kem768.keygen(bytes(64));
      const ecdh = x25519.keygen(bytes(32));
      return {
        group,
        publicKey: concat(kem.publicKey, ecdh.publicKey),
        complete(serverShare) {
          if (serverShare.length !== MLKEM_CT + 32) {
            throw new IllegalParameter(`X25519MLKEM768 share of ${serverShare.length} bytes`);
          }
          const kemSecret = ml_kem768.decapsulate(serverShare.subarray(0, MLKEM_CT), kem.secretKey);
          const ecdhSecret = x25519Secret(ecdh.secretKey, serverShare.subarray(MLKEM_CT));
          return Promise.resolve(concat(kemSecret, ecdhSecret));
        },
      };
    }
    case "secp256r1":
    case "secp384r1": {
      const { curve, bits, point } = NIST[group];
      const { privateKey, publicKey } = random
        ? await nistKeyPairFrom(curve, bits, random)
        : await nistKeyPair(curve);
      return {
        group,
        publicKey,
        async complete(serverShare) {
          const peer = await importNistPoint(curve, point, serverShare);
          const secret = await crypto.subtle.deriveBits(
            { name: "ECDH", public: peer },
            privateKey,
            bits,
          );
          return new Uint8Array(secret);
        },
      };
    }
  }
}

/** A fresh WebCrypto ECDH key pair and its uncompressed public point. */
async function nistKeyPair(
  curve: "P-256" | "P-384",
): Promise<{ privateKey: CryptoKey; publicKey: Uint8Array }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: curve }, false, [
    "deriveBits",
  ]) as CryptoKeyPair;
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey };
}

/**
 * An ECDH key pair whose scalar is drawn from `random` (rejection sampling into [1, n-1],
 * FIPS 186-5 A.2.2); the private key is imported into WebCrypto, which derives the secret.
 */
async function nistKeyPairFrom(
  curve: "P-256" | "P-384",
  bits: number,
  random: (n: number) => Uint8Array,
): Promise<{ privateKey: CryptoKey; publicKey: Uint8Array }> {
  const c = NOBLE_CURVE[curve];
  const size = bits / 8;
  let d: Uint8Array;
  do d = random(size); while (!c.utils.isValidSecretKey(d));
  const publicKey = c.getPublicKey(d, false);
  const privateKey = await crypto.subtle.importKey(
    "jwk",
    {
      kty: "EC",
      crv: curve,
      d: base64Url(d),
      x: base64Url(publicKey.subarray(1, 1 + size)),
      y: base64Url(publicKey.subarray(1 + size)),
      ext: false,
    },
    { name: "ECDH", namedCurve: curve },
    false,
    ["deriveBits"],
  );
  return { privateKey, publicKey };
}

function base64Url(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function x25519Secret(secretKey: Uint8Array, peer: Uint8Array): Uint8Array {
  if (peer.length !== 32) throw new IllegalParameter(`X25519 share of ${peer.length} bytes`);
  let secret: Uint8Array;
  try {
    secret = x25519.getSharedSecret(secretKey, peer);
  } catch {
    throw new IllegalParameter("X25519 share is a low-order point");
  }
  // An all-zero result means a low-order point (RFC 7748 §6.1, RFC 8446 §7.4.2).
  if (secret.every((b) => b === 0)) throw new IllegalParameter("X25519 share is a low-order point");
  return secret;
}

async function importNistPoint(
  curve: "P-256" | "P-384",
  length: number,
  share: Uint8Array,
): Promise<CryptoKey> {
  // RFC 8446 §4.2.8.2: uncompressed points only.
  if (share.length !== length || share[0] !== 4) {
    throw new IllegalParameter(`${curve} share is not an uncompressed point`);
  }
  try {
    // WebCrypto's raw import does not reliably reject points off the curve; noble does.
    NOBLE_CURVE[curve].Point.fromBytes(share).assertValidity();
    return await crypto.subtle.importKey(
      "raw",
      buf(share),
      { name: "ECDH", namedCurve: curve },
      false,
      [],
    );
  } catch {
    throw new IllegalParameter(`${curve} share is not a point on the curve`);
  }
}

/**
 * The server side of a key exchange, for tests and scripted servers: given the client's
 * key_exchange bytes, returns the server's key_exchange bytes and the shared secret.
 *
 * @example
 * ```ts
 * import { generateKeyShare, respondToKeyShare } from "./key_exchange.ts";
 * const client = await generateKeyShare("x25519");
 * const server = await respondToKeyShare("x25519", client.publicKey);
 * const secret = await client.complete(server.publicKey);
 * console.log(secret.length === server.sharedSecret.length); // true
 * ```
 */
export async function respondToKeyShare(
  group: NamedGroupName,
  clientShare: Uint8Array,
): Promise<{ publicKey: Uint8Array; sharedSecret: Uint8Array }> {
  switch (group) {
    case "x25519": {
      const { secretKey, publicKey } = x25519.keygen();
      return { publicKey, sharedSecret: x25519Secret(secretKey, clientShare) };
    }
    case "X25519MLKEM768": {
      if (clientShare.length !== MLKEM_EK + 32) {
        throw new IllegalParameter("bad X25519MLKEM768 share");
      }
      const { cipherText, sharedSecret } = ml_kem768.encapsulate(clientShare.subarray(0, MLKEM_EK));
      const ecdh = x25519.keygen();
      return {
        publicKey: concat(cipherText, ecdh.publicKey),
        sharedSecret: concat(
          sharedSecret,
          x25519Secret(ecdh.secretKey, clientShare.subarray(MLKEM_EK)),
        ),
      };
    }
    default: {
      const client = await generateKeyShare(group);
      return { publicKey: client.publicKey, sharedSecret: await client.complete(clientShare) };
    }
  }
}
