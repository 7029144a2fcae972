/**
 * Packet protection (RFC 4253 §6): encryption + MAC, or AEAD, for each supported algorithm.
 *
 * A `PacketSealer` turns a payload into wire bytes; a `PacketOpener` finds a packet's length
 * from its first bytes and then authenticates and decrypts it. Large packets go through
 * WebCrypto (native AES), small ones through noble (no per-call round trip).
 *
 * @module
 */

import { chacha20orig } from "@noble/ciphers/chacha.js";
import { poly1305 } from "@noble/ciphers/_poly1305.js";
import { ctr as nobleCtr, gcm as nobleGcm } from "@noble/ciphers/aes.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { bs, constantTimeEqual } from "./_wire.ts";
import { type NativeAesGcm, nativeAesGcm } from "./_libcrypto.ts";
import { IntegrityError, PacketTooLarge, ProtocolError } from "./errors.ts";

/** Largest packet_length accepted from the peer (OpenSSH's PACKET_MAX_SIZE). */
export const MAX_PACKET_LENGTH = 256 * 1024;

/** Packets at or above this many bytes use WebCrypto; smaller ones use noble. */
export let WEBCRYPTO_THRESHOLD = 2048;

/** Changes the WebCrypto threshold (for benchmarks and tests). */
export function setWebCryptoThreshold(bytes: number): void {
  WEBCRYPTO_THRESHOLD = bytes;
}

/** Properties of a cipher algorithm. */
export interface CipherSpec {
  keyLength: number;
  ivLength: number;
  blockSize: number;
  /** Authenticated encryption: no separate MAC is negotiated. */
  aead: boolean;
}

/** Properties of a MAC algorithm. */
export interface MacSpec {
  keyLength: number;
  macLength: number;
  /** Encrypt-then-MAC: the MAC covers the ciphertext and the length is sent in clear. */
  etm: boolean;
  hash: "SHA-256" | "SHA-512";
}

export const CIPHERS: Record<string, CipherSpec> = {
  "chacha20-poly1305@openssh.com": { keyLength: 64, ivLength: 0, blockSize: 8, aead: true },
  "aes128-gcm@openssh.com": { keyLength: 16, ivLength: 12, blockSize: 16, aead: true },
  "aes256-gcm@openssh.com": { keyLength: 32, ivLength: 12, blockSize: 16, aead: true },
  "aes128-ctr": { keyLength: 16, ivLength: 16, blockSize: 16, aead: false },
  "aes192-ctr": { keyLength: 24, ivLength: 16, blockSize: 16, aead: false },
  "aes256-ctr": { keyLength: 32, ivLength: 16, blockSize: 16, aead: false },
};

export const MACS: Record<string, MacSpec> = {
  "hmac-sha2-256-etm@openssh.com": { keyLength: 32, macLength: 32, etm: true, hash: "SHA-256" },
  "hmac-sha2-512-etm@openssh.com": { keyLength: 64, macLength: 64, etm: true, hash: "SHA-512" },
  "hmac-sha2-256": { keyLength: 32, macLength: 32, etm: false, hash: "SHA-256" },
  "hmac-sha2-512": { keyLength: 64, macLength: 64, etm: false, hash: "SHA-512" },
};

/** Keys and IV for one direction, derived per RFC 4253 §7.2. */
export interface DirectionKeys {
  cipher: string;
  mac?: string;
  key: Uint8Array;
  iv: Uint8Array;
  macKey?: Uint8Array;
}

/** Turns payloads into wire packets. */
export interface PacketSealer {
  /**
   * Wire bytes for the payload `payload || data` sent with sequence number `seq`; `data`
   * lets channel data go into the packet with one copy instead of two.
   */
  seal(seq: number, payload: Uint8Array, data?: Uint8Array): Promise<Uint8Array> | Uint8Array;
  /**
   * The wire size of a packet with an `n`-byte payload if `sealInto` can seal it now, else -1
   * (then use `seal`). Absent when the sealer has no synchronous path.
   */
  sealedSize?(n: number): number;
  /**
   * Seals `payload || data` synchronously into `out`, which is exactly `sealedSize(n)` bytes
   * (a slice of a larger write buffer: no allocation per packet).
   */
  sealInto?(seq: number, payload: Uint8Array, data: Uint8Array | undefined, out: Uint8Array): void;
}

/** Reads packets: first the length, then authenticates and decrypts the whole packet. */
export interface PacketOpener {
  /** Bytes needed at the start of a packet to learn its length. */
  readonly headerLength: number;
  /** Total wire size of the packet whose first `headerLength` bytes are given. */
  packetSize(seq: number, header: Uint8Array): number;
  /** Authenticates and decrypts a whole wire packet; returns the payload. */
  open(seq: number, wire: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

/** Random bytes for padding, drawn from a pool: one getRandomValues call per 4 KiB. */
const paddingPool = new Uint8Array(4096);
let paddingPoolAt = paddingPool.length;

function randomPadding(out: Uint8Array): void {
  if (paddingPoolAt + out.length > paddingPool.length) {
    crypto.getRandomValues(paddingPool);
    paddingPoolAt = 0;
  }
  out.set(paddingPool.subarray(paddingPoolAt, paddingPoolAt + out.length));
  paddingPoolAt += out.length;
}

/** Padding length so that the covered bytes are a multiple of `block` with ≥ 4 bytes padding. */
function paddingFor(coveredWithoutPadding: number, block: number): number {
  let pad = block - (coveredWithoutPadding % block);
  if (pad < 4) pad += block;
  return pad;
}

/** packet_length for an `n`-byte payload (RFC 4253 §6); see `layout` for `lengthInBlock`. */
function packetLengthFor(n: number, block: number, lengthInBlock: boolean): number {
  return 1 + n + paddingFor((lengthInBlock ? 5 : 1) + n, block);
}

/**
 * Writes `length | padlen | payload | data | padding` at the start of `buf` for a packet of
 * `packetLength` (from `packetLengthFor`); the bytes after it (MAC or tag) are left alone.
 */
function layoutInto(
  buf: Uint8Array,
  payload: Uint8Array,
  data: Uint8Array | undefined,
  packetLength: number,
): void {
  const n = payload.length + (data?.length ?? 0);
  const pad = packetLength - 1 - n;
  buf[0] = packetLength >>> 24;
  buf[1] = packetLength >>> 16;
  buf[2] = packetLength >>> 8;
  buf[3] = packetLength;
  buf[4] = pad;
  buf.set(payload, 5);
  if (data) buf.set(data, 5 + payload.length);
  randomPadding(buf.subarray(5 + n, 5 + n + pad));
}

/**
 * Lays out `length | padlen | payload | data | padding` into a new buffer with `extra` spare
 * bytes at the end (for the MAC or tag). `lengthInBlock` says whether the 4-byte length
 * counts toward block alignment (plain CBC/CTR) or not (EtM and AEAD modes).
 */
function layout(
  payload: Uint8Array,
  data: Uint8Array | undefined,
  block: number,
  lengthInBlock: boolean,
  extra: number,
): { buf: Uint8Array; packetLength: number } {
  const packetLength = packetLengthFor(payload.length + (data?.length ?? 0), block, lengthInBlock);
  const buf = new Uint8Array(4 + packetLength + extra);
  layoutInto(buf, payload, data, packetLength);
  return { buf, packetLength };
}

/** `seal` for a sealer with a synchronous path: `sealInto` a new buffer of `sealedSize`. */
function sealNew(
  sealer: Required<Pick<PacketSealer, "sealedSize" | "sealInto">>,
  seq: number,
  payload: Uint8Array,
  data: Uint8Array | undefined,
): Uint8Array {
  const out = new Uint8Array(sealer.sealedSize(payload.length + (data?.length ?? 0)));
  sealer.sealInto(seq, payload, data, out);
  return out;
}

function payloadOf(plain: Uint8Array, packetLength: number): Uint8Array {
  const pad = plain[0];
  if (pad < 4 || pad + 1 > packetLength) throw new ProtocolError("invalid padding length");
  return plain.subarray(1, packetLength - pad);
}

function checkLength(len: number, block: number, lengthInBlock: boolean): void {
  if (len > MAX_PACKET_LENGTH) throw new PacketTooLarge(len, MAX_PACKET_LENGTH);
  if (len < 5 || (len + (lengthInBlock ? 4 : 0)) % block !== 0) {
    throw new ProtocolError(`invalid packet length ${len}`);
  }
}

function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, seq);
  return b;
}

// ---------------------------------------------------------------- none (before first NEWKEYS)

/** Packets in clear, before the first key exchange completes. */
export class NoneSealer implements PacketSealer {
  seal(seq: number, payload: Uint8Array, data?: Uint8Array): Uint8Array {
    return sealNew(this, seq, payload, data);
  }
  sealedSize(n: number): number {
    return 4 + packetLengthFor(n, 8, true);
  }
  sealInto(_seq: number, payload: Uint8Array, data: Uint8Array | undefined, out: Uint8Array) {
    layoutInto(out, payload, data, out.length - 4);
  }
}

/** Reads packets in clear. */
export class NoneOpener implements PacketOpener {
  readonly headerLength = 4;
  packetSize(_seq: number, header: Uint8Array): number {
    const len = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
    checkLength(len, 8, true);
    return 4 + len;
  }
  open(_seq: number, wire: Uint8Array): Uint8Array {
    return payloadOf(wire.subarray(4), wire.length - 4);
  }
}

// ---------------------------------------------------------------- chacha20-poly1305@openssh.com

function chachaNonce(seq: number): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, seq);
  return n;
}

/**
 * chacha20-poly1305@openssh.com (PROTOCOL.chacha20poly1305): K_2 (first 32 bytes) encrypts the
 * payload, K_1 (last 32 bytes) encrypts the length; the Poly1305 key is K_2's block 0.
 */
class ChachaPoly implements PacketSealer, PacketOpener {
  readonly headerLength = 4;
  readonly #main: Uint8Array;
  readonly #header: Uint8Array;
  constructor(key: Uint8Array) {
    this.#main = key.slice(0, 32);
    this.#header = key.slice(32, 64);
  }
  seal(seq: number, payload: Uint8Array, data?: Uint8Array): Uint8Array {
    return sealNew(this, seq, payload, data);
  }
  sealedSize(n: number): number {
    return 4 + packetLengthFor(n, 8, false) + 16;
  }
  sealInto(seq: number, payload: Uint8Array, data: Uint8Array | undefined, buf: Uint8Array) {
    const packetLength = buf.length - 20;
    layoutInto(buf, payload, data, packetLength);
    const nonce = chachaNonce(seq);
    const polyKey = chacha20orig(this.#main, nonce, new Uint8Array(32));
    const len = buf.subarray(0, 4);
    chacha20orig(this.#header, nonce, len, len);
    const body = buf.subarray(4, 4 + packetLength);
    chacha20orig(this.#main, nonce, body, body, 1);
    buf.set(poly1305(buf.subarray(0, 4 + packetLength), polyKey), 4 + packetLength);
  }
  packetSize(seq: number, header: Uint8Array): number {
    const plain = chacha20orig(this.#header, chachaNonce(seq), header.subarray(0, 4));
    const len = new DataView(plain.buffer, plain.byteOffset, 4).getUint32(0);
    checkLength(len, 8, false);
    return 4 + len + 16;
  }
  open(seq: number, wire: Uint8Array): Uint8Array {
    const n = wire.length - 16;
    const nonce = chachaNonce(seq);
    const polyKey = chacha20orig(this.#main, nonce, new Uint8Array(32));
    const tag = poly1305(wire.subarray(0, n), polyKey);
    if (!constantTimeEqual(tag, wire.subarray(n))) {
      throw new IntegrityError(`Poly1305 tag mismatch on packet ${seq}`);
    }
    const plain = chacha20orig(this.#main, nonce, wire.subarray(4, n), undefined, 1);
    return payloadOf(plain, n - 4);
  }
}

// ---------------------------------------------------------------- AES-GCM (RFC 5647 as OpenSSH)

/**
 * aes*-gcm@openssh.com: 4-byte fixed IV + 8-byte invocation counter; length is the AAD.
 * libcrypto does every packet when available (see `_libcrypto.ts`); otherwise WebCrypto does
 * large packets and noble small ones.
 */
class AesGcm implements PacketSealer, PacketOpener {
  readonly headerLength = 4;
  readonly #key: Uint8Array;
  readonly #native: NativeAesGcm | undefined;
  readonly #webKey: Promise<CryptoKey>;
  #ready: CryptoKey | undefined;
  readonly #iv: Uint8Array;
  readonly #ivView: DataView;
  constructor(key: Uint8Array, iv: Uint8Array) {
    this.#key = key.slice();
    this.#iv = iv.slice(0, 12);
    this.#ivView = new DataView(this.#iv.buffer);
    this.#native = nativeAesGcm(this.#key);
    this.#webKey = crypto.subtle.importKey("raw", bs(this.#key), "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
    this.#webKey.then((k) => (this.#ready = k), () => {});
  }
  #nextIv(): Uint8Array {
    const iv = this.#iv.slice();
    const c = this.#ivView.getBigUint64(4);
    this.#ivView.setBigUint64(4, (c + 1n) & 0xffffffffffffffffn);
    return iv;
  }
  seal(seq: number, payload: Uint8Array, data?: Uint8Array): Promise<Uint8Array> | Uint8Array {
    if (this.#native) return sealNew(this, seq, payload, data);
    const iv = this.#nextIv();
    const { buf, packetLength } = layout(payload, data, 16, false, 16);
    const aad = buf.subarray(0, 4);
    const body = buf.subarray(4, 4 + packetLength);
    if (packetLength < WEBCRYPTO_THRESHOLD) {
      const sealed = nobleGcm(this.#key, iv, aad).encrypt(body);
      buf.set(sealed, 4);
      return buf;
    }
    const params = { name: "AES-GCM", iv: bs(iv), additionalData: bs(aad), tagLength: 128 };
    const place = (sealed: ArrayBuffer) => {
      buf.set(new Uint8Array(sealed), 4);
      return buf;
    };
    if (this.#ready) return crypto.subtle.encrypt(params, this.#ready, bs(body)).then(place);
    return this.#webKey.then((k) => crypto.subtle.encrypt(params, k, bs(body))).then(place);
  }
  sealedSize(n: number): number {
    return this.#native ? 4 + packetLengthFor(n, 16, false) + 16 : -1;
  }
  sealInto(_seq: number, payload: Uint8Array, data: Uint8Array | undefined, out: Uint8Array) {
    const packetLength = out.length - 20;
    layoutInto(out, payload, data, packetLength);
    this.#native!.seal(
      this.#nextIv(),
      out.subarray(0, 4),
      out.subarray(4, 4 + packetLength),
      out.subarray(4 + packetLength),
    );
  }
  packetSize(_seq: number, header: Uint8Array): number {
    const len = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
    checkLength(len, 16, false);
    return 4 + len + 16;
  }
  open(seq: number, wire: Uint8Array): Promise<Uint8Array> | Uint8Array {
    const iv = this.#nextIv();
    const aad = wire.subarray(0, 4);
    const n = wire.length - 20;
    if (this.#native) {
      // Into a new buffer: the payload outlives `wire`, which the caller reuses.
      const plain = new Uint8Array(n);
      if (!this.#native.open(iv, aad, wire.subarray(4, 4 + n), wire.subarray(4 + n), plain)) {
        throw new IntegrityError(`AES-GCM tag mismatch on packet ${seq}`);
      }
      return payloadOf(plain, n);
    }
    if (n < WEBCRYPTO_THRESHOLD) {
      try {
        return payloadOf(nobleGcm(this.#key, iv, aad).decrypt(wire.subarray(4)), n);
      } catch (e) {
        if (e instanceof ProtocolError) throw e;
        throw new IntegrityError(`AES-GCM tag mismatch on packet ${seq}`);
      }
    }
    // WebCrypto copies its input when called: call it now so the caller may reuse `wire`.
    const params = { name: "AES-GCM", iv: bs(iv), additionalData: bs(aad.slice()), tagLength: 128 };
    const decrypting = this.#ready
      ? crypto.subtle.decrypt(params, this.#ready, bs(wire.subarray(4)))
      : ((input) => this.#webKey.then((k) => crypto.subtle.decrypt(params, k, input)))(
        bs(wire.slice(4)),
      );
    return decrypting.then(
      (plain) => payloadOf(new Uint8Array(plain), n),
      () => {
        throw new IntegrityError(`AES-GCM tag mismatch on packet ${seq}`);
      },
    );
  }
}

// ---------------------------------------------------------------- AES-CTR + HMAC (RFC 4344)

/** A 128-bit big-endian counter block that advances by whole AES blocks. */
class CounterBlock {
  #value: bigint;
  constructor(iv: Uint8Array) {
    let v = 0n;
    for (const b of iv) v = (v << 8n) | BigInt(b);
    this.#value = v;
  }
  /** Returns the current counter block and advances it by `blocks`. */
  take(blocks: number): Uint8Array {
    const out = new Uint8Array(16);
    let v = this.#value;
    for (let i = 15; i >= 0; i--) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    this.#value = (this.#value + BigInt(blocks)) & ((1n << 128n) - 1n);
    return out;
  }
}

class AesCtr {
  readonly #key: Uint8Array;
  readonly #webKey: Promise<CryptoKey>;
  #ready: CryptoKey | undefined;
  readonly #counter: CounterBlock;
  constructor(key: Uint8Array, iv: Uint8Array) {
    this.#key = key.slice();
    this.#counter = new CounterBlock(iv);
    this.#webKey = crypto.subtle.importKey("raw", bs(this.#key), "AES-CTR", false, [
      "encrypt",
      "decrypt",
    ]);
    this.#webKey.then((k) => (this.#ready = k), () => {});
  }
  /** Counter block for the next `bytes` (a multiple of 16) of the stream. */
  reserve(bytes: number): Uint8Array {
    return this.#counter.take(bytes / 16);
  }
  /** XORs the keystream at `counter` into a copy of `data`, synchronously (noble). */
  xorSync(counter: Uint8Array, data: Uint8Array): Uint8Array {
    return nobleCtr(this.#key, counter).encrypt(data);
  }
  /** XORs the keystream at `counter` into a copy of `data`; large inputs go to WebCrypto. */
  xor(counter: Uint8Array, data: Uint8Array): Promise<Uint8Array> | Uint8Array {
    if (data.length < WEBCRYPTO_THRESHOLD) {
      return nobleCtr(this.#key, counter).encrypt(data);
    }
    const params = { name: "AES-CTR", counter: bs(counter), length: 128 };
    // WebCrypto copies its input when called: call it now so the caller may reuse `data`.
    const running = this.#ready
      ? crypto.subtle.encrypt(params, this.#ready, bs(data))
      : ((input) => this.#webKey.then((k) => crypto.subtle.encrypt(params, k, input)))(
        bs(data.slice()),
      );
    return running.then((b) => new Uint8Array(b));
  }
}

class Hmac {
  readonly #key: Uint8Array;
  readonly #webKey: Promise<CryptoKey>;
  readonly #hash: typeof sha256 | typeof sha512;
  constructor(readonly spec: MacSpec, key: Uint8Array) {
    this.#key = key.slice();
    this.#hash = spec.hash === "SHA-256" ? sha256 : sha512;
    this.#webKey = crypto.subtle.importKey(
      "raw",
      bs(this.#key),
      { name: "HMAC", hash: spec.hash },
      false,
      ["sign"],
    );
  }
  /** MAC over `seq || data`. */
  compute(seq: number, data: Uint8Array): Promise<Uint8Array> | Uint8Array {
    if (data.length < WEBCRYPTO_THRESHOLD) {
      return hmac.create(this.#hash, this.#key).update(seqBytes(seq)).update(data).digest();
    }
    // WebCrypto has no streaming input: prepend the sequence number in one copy.
    const input = new Uint8Array(4 + data.length);
    new DataView(input.buffer).setUint32(0, seq);
    input.set(data, 4);
    return this.#webKey.then(async (k) =>
      new Uint8Array(await crypto.subtle.sign("HMAC", k, bs(input)))
    );
  }
}

/** AES-CTR with HMAC-SHA2, either encrypt-and-MAC (RFC 4253) or encrypt-then-MAC (OpenSSH). */
class CtrHmac implements PacketSealer, PacketOpener {
  readonly headerLength: number;
  readonly #ctr: AesCtr;
  readonly #mac: Hmac;
  readonly #etm: boolean;
  /** For encrypt-and-MAC: the first block decrypted while reading the length. */
  #firstBlock: Uint8Array | undefined;
  #restCounter: Uint8Array | undefined;

  constructor(keys: DirectionKeys) {
    const spec = MACS[keys.mac!];
    this.#ctr = new AesCtr(keys.key, keys.iv);
    this.#mac = new Hmac(spec, keys.macKey!);
    this.#etm = spec.etm;
    this.headerLength = this.#etm ? 4 : 16;
  }

  async seal(seq: number, payload: Uint8Array, data?: Uint8Array): Promise<Uint8Array> {
    const macLen = this.#mac.spec.macLength;
    const { buf, packetLength } = layout(payload, data, 16, !this.#etm, macLen);
    const end = 4 + packetLength;
    if (this.#etm) {
      const counter = this.#ctr.reserve(packetLength);
      const ct = await this.#ctr.xor(counter, buf.subarray(4, end));
      buf.set(ct, 4);
      buf.set(await this.#mac.compute(seq, buf.subarray(0, end)), end);
    } else {
      const counter = this.#ctr.reserve(end);
      const mac = this.#mac.compute(seq, buf.subarray(0, end));
      const ct = await this.#ctr.xor(counter, buf.subarray(0, end));
      buf.set(ct, 0);
      buf.set(await mac, end);
    }
    return buf;
  }

  packetSize(_seq: number, header: Uint8Array): number {
    let len: number;
    if (this.#etm) {
      len = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
    } else {
      // Decrypt the first block to learn the length (RFC 4253 §6).
      const counter = this.#ctr.reserve(16);
      const plain = this.#ctr.xorSync(counter, header.subarray(0, 16));
      this.#firstBlock = plain;
      len = new DataView(plain.buffer, plain.byteOffset, 4).getUint32(0);
    }
    checkLength(len, 16, !this.#etm);
    if (!this.#etm) this.#restCounter = this.#ctr.reserve(4 + len - 16);
    return 4 + len + this.#mac.spec.macLength;
  }

  open(seq: number, wire: Uint8Array): Promise<Uint8Array> {
    // Everything that reads `wire` or advances cipher state happens before the first await,
    // so the caller may reuse its buffer and start opening the next packet at once.
    const macLen = this.#mac.spec.macLength;
    const end = wire.length - macLen;
    const received = wire.slice(end);
    if (this.#etm) {
      const mac = this.#mac.compute(seq, wire.subarray(0, end));
      const plain = this.#ctr.xor(this.#ctr.reserve(end - 4), wire.subarray(4, end));
      return (async () => {
        if (!constantTimeEqual(await mac, received)) {
          throw new IntegrityError(`MAC mismatch on packet ${seq}`);
        }
        return payloadOf(await plain, end - 4);
      })();
    }
    const plain = new Uint8Array(end);
    plain.set(this.#firstBlock!, 0);
    const rest = end > 16 ? this.#ctr.xor(this.#restCounter!, wire.subarray(16, end)) : undefined;
    return (async () => {
      if (rest) plain.set(await rest, 16);
      const mac = await this.#mac.compute(seq, plain);
      if (!constantTimeEqual(mac, received)) {
        throw new IntegrityError(`MAC mismatch on packet ${seq}`);
      }
      return payloadOf(plain.subarray(4), end - 4);
    })();
  }
}

/** Creates the sealer for one direction's negotiated algorithms and keys. */
export function createSealer(keys: DirectionKeys): PacketSealer {
  return createCodec(keys);
}

/** Creates the opener for one direction's negotiated algorithms and keys. */
export function createOpener(keys: DirectionKeys): PacketOpener {
  return createCodec(keys);
}

function createCodec(keys: DirectionKeys): PacketSealer & PacketOpener {
  switch (keys.cipher) {
    case "chacha20-poly1305@openssh.com":
      return new ChachaPoly(keys.key);
    case "aes128-gcm@openssh.com":
    case "aes256-gcm@openssh.com":
      return new AesGcm(keys.key, keys.iv);
    case "aes128-ctr":
    case "aes192-ctr":
    case "aes256-ctr":
      if (!keys.mac || !MACS[keys.mac]) throw new ProtocolError(`no MAC for ${keys.cipher}`);
      return new CtrHmac(keys);
  }
  throw new ProtocolError(`unsupported cipher ${keys.cipher}`);
}
