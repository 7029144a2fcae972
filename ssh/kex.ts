/**
 * Key exchange methods (RFC 4253 §8, RFC 4419, RFC 5656, RFC 8731, RFC 8268,
 * draft-ietf-sshm-mlkem-hybrid-kex): each computes the shared secret K and exchange hash H
 * from the messages it sends and receives. Sans-IO: messages in, messages out.
 *
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { bytesToBigInt, concat, SshReader, SshWriter } from "./_wire.ts";
import { piFixed } from "./_pi.ts";
import { KeyExchangeFailed, ProtocolError } from "./errors.ts";

/** Message numbers used by the key exchange methods. */
export const MSG_KEXDH_INIT = 30;
export const MSG_KEXDH_REPLY = 31;
export const MSG_KEX_DH_GEX_REQUEST = 34;
export const MSG_KEX_DH_GEX_GROUP = 31;
export const MSG_KEX_DH_GEX_INIT = 32;
export const MSG_KEX_DH_GEX_REPLY = 33;

/** Key exchange methods this client implements, in default preference order. */
export const KEX_ALGORITHMS = [
  "mlkem768x25519-sha256",
  "curve25519-sha256",
  "curve25519-sha256@libssh.org",
  "ecdh-sha2-nistp256",
  "ecdh-sha2-nistp384",
  "diffie-hellman-group-exchange-sha256",
  "diffie-hellman-group16-sha512",
  "diffie-hellman-group14-sha256",
] as const;

/** A hash function over bytes. */
export type HashFn = (data: Uint8Array) => Uint8Array;

/** The strings hashed first by every method (RFC 4253 §8). */
export interface KexContext {
  clientVersion: string;
  serverVersion: string;
  clientKexInit: Uint8Array;
  serverKexInit: Uint8Array;
}

/** What a finished exchange yields. */
export interface KexResult {
  /** K as it is fed to the hash: an encoded mpint, or a string for hybrid PQ methods. */
  sharedSecret: Uint8Array;
  exchangeHash: Uint8Array;
  hostKey: Uint8Array;
  signature: Uint8Array;
  hash: HashFn;
}

/** One key exchange in progress. */
export interface KeyExchange {
  readonly name: string;
  readonly hash: HashFn;
  /** Messages the client sends first. */
  start(): Uint8Array[];
  /** Handles a server message; returns messages to send and, at the end, the result. */
  handle(payload: Uint8Array): { send: Uint8Array[]; result?: KexResult };
}

function prefix(ctx: KexContext, hostKey: Uint8Array): SshWriter {
  return new SshWriter(2048)
    .string(ctx.clientVersion)
    .string(ctx.serverVersion)
    .string(ctx.clientKexInit)
    .string(ctx.serverKexInit)
    .string(hostKey);
}

function mpintEncoding(v: Uint8Array): Uint8Array {
  return new SshWriter().mpintBytes(v).bytes().slice();
}

function expect(payload: Uint8Array, type: number, what: string): SshReader {
  if (payload[0] !== type) {
    throw new ProtocolError(`expected ${what} (${type}), got message ${payload[0]}`);
  }
  return new SshReader(payload, 1);
}

// ---------------------------------------------------------------- curve25519 and ECDH

abstract class EphemeralKex implements KeyExchange {
  abstract readonly name: string;
  abstract readonly hash: HashFn;
  protected abstract publicKey(): Uint8Array;
  /** Computes K's encoding from the server's public value; throws on invalid input. */
  protected abstract secret(serverPublic: Uint8Array): Uint8Array;

  constructor(protected readonly ctx: KexContext) {}

  start(): Uint8Array[] {
    return [new SshWriter().byte(MSG_KEXDH_INIT).string(this.publicKey()).bytes().slice()];
  }

  handle(payload: Uint8Array): { send: Uint8Array[]; result?: KexResult } {
    const r = expect(payload, MSG_KEXDH_REPLY, "KEX ECDH reply");
    const hostKey = r.string();
    const serverPublic = r.string();
    const signature = r.string();
    const k = this.secret(serverPublic);
    const exchangeHash = this.hash(
      prefix(this.ctx, hostKey).string(this.publicKey()).string(serverPublic).raw(k).bytes(),
    );
    return {
      send: [],
      result: { sharedSecret: k, exchangeHash, hostKey, signature, hash: this.hash },
    };
  }
}

/** X25519 with the all-zero result refused (RFC 8731 §3). */
function x25519Shared(secret: Uint8Array, peer: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secret, peer);
  } catch (e) {
    throw new KeyExchangeFailed("server's X25519 public key is invalid", { cause: e });
  }
  if (shared.every((b) => b === 0)) throw new KeyExchangeFailed("X25519 shared secret is zero");
  return shared;
}

/** curve25519-sha256 (RFC 8731). */
class Curve25519Kex extends EphemeralKex {
  readonly hash: HashFn = sha256;
  readonly #secret = x25519.utils.randomSecretKey();
  readonly #public = x25519.getPublicKey(this.#secret);
  constructor(ctx: KexContext, readonly name: string) {
    super(ctx);
  }
  protected publicKey(): Uint8Array {
    return this.#public;
  }
  protected secret(serverPublic: Uint8Array): Uint8Array {
    if (serverPublic.length !== 32) {
      throw new KeyExchangeFailed("X25519 public key must be 32 bytes");
    }
    return mpintEncoding(x25519Shared(this.#secret, serverPublic));
  }
}

/** ecdh-sha2-nistp256/384 (RFC 5656 §4). */
class EcdhKex extends EphemeralKex {
  readonly hash: HashFn;
  readonly #curve: typeof p256 | typeof p384;
  readonly #secret: Uint8Array;
  readonly #public: Uint8Array;
  constructor(ctx: KexContext, readonly name: string) {
    super(ctx);
    const is256 = name === "ecdh-sha2-nistp256";
    this.#curve = is256 ? p256 : p384;
    this.hash = is256 ? sha256 : sha384;
    this.#secret = this.#curve.utils.randomSecretKey();
    this.#public = this.#curve.getPublicKey(this.#secret, false);
  }
  protected publicKey(): Uint8Array {
    return this.#public;
  }
  protected secret(serverPublic: Uint8Array): Uint8Array {
    let shared: Uint8Array;
    try {
      // getSharedSecret validates the point is on the curve.
      shared = this.#curve.getSharedSecret(this.#secret, serverPublic, true);
    } catch (e) {
      throw new KeyExchangeFailed("server's ECDH public point is invalid", { cause: e });
    }
    return mpintEncoding(shared.subarray(1));
  }
}

/** mlkem768x25519-sha256: ML-KEM-768 + X25519, K = SHA-256(K_pq || K_cl) sent as a string. */
class MlKemX25519Kex extends EphemeralKex {
  readonly name = "mlkem768x25519-sha256";
  readonly hash: HashFn = sha256;
  readonly #kem = ml_kem768.keygen();
  readonly #xSecret = x25519.utils.randomSecretKey();
  readonly #public = concat(this.#kem.publicKey, x25519.getPublicKey(this.#xSecret));
  protected publicKey(): Uint8Array {
    return this.#public;
  }
  protected secret(serverPublic: Uint8Array): Uint8Array {
    if (serverPublic.length !== 1088 + 32) {
      throw new KeyExchangeFailed("mlkem768x25519 server reply must be 1120 bytes");
    }
    const pq = ml_kem768.decapsulate(serverPublic.subarray(0, 1088), this.#kem.secretKey);
    const cl = x25519Shared(this.#xSecret, serverPublic.subarray(1088));
    return new SshWriter().string(sha256(concat(pq, cl))).bytes().slice();
  }
}

// ---------------------------------------------------------------- finite field DH

/** RFC 3526 MODP primes: p = 2^n - 2^(n-64) - 1 + 2^64 · (floor(2^(n-130) π) + c). */
function modpPrime(bits: number, c: bigint): bigint {
  const n = BigInt(bits);
  return (1n << n) - (1n << (n - 64n)) - 1n +
    (1n << 64n) * (piFixed(bits - 130) + c);
}

let group14: bigint | undefined;
let group16: bigint | undefined;

/** The 2048-bit MODP group 14 prime (RFC 3526 §3). */
export function group14Prime(): bigint {
  return group14 ??= modpPrime(2048, 124476n);
}

/** The 4096-bit MODP group 16 prime (RFC 3526 §5). */
export function group16Prime(): bigint {
  return group16 ??= modpPrime(4096, 240904n);
}

/** Modular exponentiation by squaring. */
export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

function randomExponent(bits: number): bigint {
  const b = crypto.getRandomValues(new Uint8Array(bits / 8));
  b[0] |= 0x80;
  return bytesToBigInt(b);
}

class DhState {
  readonly x: bigint;
  readonly e: bigint;
  constructor(readonly p: bigint, readonly g: bigint, exponentBits: number) {
    this.x = randomExponent(exponentBits);
    this.e = modPow(g, this.x, p);
  }
  /** K from the server's f, after checking 1 < f < p-1 (RFC 4253 §8). */
  secret(f: bigint): bigint {
    if (f <= 1n || f >= this.p - 1n) {
      throw new KeyExchangeFailed("server's DH value f is out of range");
    }
    return modPow(f, this.x, this.p);
  }
}

/** diffie-hellman-group14-sha256 and group16-sha512 (RFC 8268). */
class FixedGroupKex implements KeyExchange {
  readonly hash: HashFn;
  readonly #dh: DhState;
  constructor(private readonly ctx: KexContext, readonly name: string) {
    const is16 = name === "diffie-hellman-group16-sha512";
    this.hash = is16 ? sha512 : sha256;
    this.#dh = new DhState(is16 ? group16Prime() : group14Prime(), 2n, is16 ? 512 : 256);
  }
  start(): Uint8Array[] {
    return [new SshWriter().byte(MSG_KEXDH_INIT).mpint(this.#dh.e).bytes().slice()];
  }
  handle(payload: Uint8Array): { send: Uint8Array[]; result?: KexResult } {
    const r = expect(payload, MSG_KEXDH_REPLY, "KEXDH reply");
    const hostKey = r.string();
    const f = r.mpint();
    const signature = r.string();
    const k = new SshWriter().mpint(this.#dh.secret(f)).bytes().slice();
    const exchangeHash = this.hash(
      prefix(this.ctx, hostKey).mpint(this.#dh.e).mpint(f).raw(k).bytes(),
    );
    return {
      send: [],
      result: { sharedSecret: k, exchangeHash, hostKey, signature, hash: this.hash },
    };
  }
}

/** Group sizes requested in diffie-hellman-group-exchange (RFC 4419 §3, RFC 8270). */
export const GEX_MIN = 2048;
export const GEX_PREFERRED = 3072;
export const GEX_MAX = 8192;

/** diffie-hellman-group-exchange-sha256 (RFC 4419). */
class GroupExchangeKex implements KeyExchange {
  readonly name = "diffie-hellman-group-exchange-sha256";
  readonly hash: HashFn = sha256;
  #dh: DhState | undefined;
  constructor(private readonly ctx: KexContext) {}
  start(): Uint8Array[] {
    return [
      new SshWriter().byte(MSG_KEX_DH_GEX_REQUEST).uint32(GEX_MIN).uint32(GEX_PREFERRED)
        .uint32(GEX_MAX).bytes().slice(),
    ];
  }
  handle(payload: Uint8Array): { send: Uint8Array[]; result?: KexResult } {
    if (!this.#dh) {
      const r = expect(payload, MSG_KEX_DH_GEX_GROUP, "DH GEX group");
      const p = r.mpint();
      const g = r.mpint();
      const bits = p.toString(2).length;
      if (bits < GEX_MIN || bits > GEX_MAX || (p & 1n) === 0n) {
        throw new KeyExchangeFailed(
          `server offered a ${bits}-bit DH group (need ${GEX_MIN}..${GEX_MAX})`,
        );
      }
      if (g <= 1n || g >= p - 1n) {
        throw new KeyExchangeFailed("server's DH generator is out of range");
      }
      this.#dh = new DhState(p, g, 512);
      return {
        send: [new SshWriter().byte(MSG_KEX_DH_GEX_INIT).mpint(this.#dh.e).bytes().slice()],
      };
    }
    const r = expect(payload, MSG_KEX_DH_GEX_REPLY, "DH GEX reply");
    const hostKey = r.string();
    const f = r.mpint();
    const signature = r.string();
    const dh = this.#dh;
    const k = new SshWriter().mpint(dh.secret(f)).bytes().slice();
    const exchangeHash = this.hash(
      prefix(this.ctx, hostKey).uint32(GEX_MIN).uint32(GEX_PREFERRED).uint32(GEX_MAX)
        .mpint(dh.p).mpint(dh.g).mpint(dh.e).mpint(f).raw(k).bytes(),
    );
    return {
      send: [],
      result: { sharedSecret: k, exchangeHash, hostKey, signature, hash: this.hash },
    };
  }
}

/**
 * Creates the key exchange for a negotiated method name.
 *
 * @example
 * ```ts ignore
 * import { createKeyExchange } from "./kex.ts";
 * const kex = createKeyExchange("curve25519-sha256", ctx);
 * const first = kex.start();
 * ```
 */
export function createKeyExchange(name: string, ctx: KexContext): KeyExchange {
  switch (name) {
    case "curve25519-sha256":
    case "curve25519-sha256@libssh.org":
      return new Curve25519Kex(ctx, name);
    case "ecdh-sha2-nistp256":
    case "ecdh-sha2-nistp384":
      return new EcdhKex(ctx, name);
    case "mlkem768x25519-sha256":
      return new MlKemX25519Kex(ctx);
    case "diffie-hellman-group14-sha256":
    case "diffie-hellman-group16-sha512":
      return new FixedGroupKex(ctx, name);
    case "diffie-hellman-group-exchange-sha256":
      return new GroupExchangeKex(ctx);
  }
  throw new KeyExchangeFailed(`unsupported key exchange ${name}`);
}

/**
 * Derives `length` bytes of key material for letter `letter` (RFC 4253 §7.2):
 * K1 = HASH(K || H || letter || session_id), Kn = HASH(K || H || K1 || ... || Kn-1).
 *
 * @example
 * ```ts ignore
 * import { deriveKey } from "./kex.ts";
 * const ivClient = deriveKey(hash, k, h, "A", sessionId, 16);
 * ```
 */
export function deriveKey(
  hash: HashFn,
  sharedSecret: Uint8Array,
  exchangeHash: Uint8Array,
  letter: string,
  sessionId: Uint8Array,
  length: number,
): Uint8Array {
  let out = hash(
    concat(sharedSecret, exchangeHash, new Uint8Array([letter.charCodeAt(0)]), sessionId),
  );
  while (out.length < length) {
    out = concat(out, hash(concat(sharedSecret, exchangeHash, out)));
  }
  return out.slice(0, length);
}
