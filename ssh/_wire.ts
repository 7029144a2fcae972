/**
 * SSH binary encoding (RFC 4251 §5): a growable writer and a bounds-checked reader.
 *
 * @module
 */

import { ProtocolError } from "./errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Encodes a string as UTF-8 bytes. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes UTF-8 bytes (invalid sequences become U+FFFD). */
export function fromUtf8(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Concatenates byte arrays into one new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Compares two byte arrays in time independent of their contents. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Big-endian bytes to bigint. */
export function bytesToBigInt(b: Uint8Array): bigint {
  let hex = "";
  for (const x of b) hex += x.toString(16).padStart(2, "0");
  return hex.length === 0 ? 0n : BigInt("0x" + hex);
}

/** Non-negative bigint to big-endian bytes of `len` (or the minimal length). */
export function bigIntToBytes(n: bigint, len?: number): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  const min = hex.length / 2;
  const size = len ?? min;
  const out = new Uint8Array(size);
  for (let i = 0; i < min; i++) {
    out[size - min + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

/**
 * Appends SSH wire values to a growable buffer.
 *
 * @example
 * ```ts
 * import { SshWriter } from "./_wire.ts";
 * const bytes = new SshWriter().byte(98).uint32(0).string("exec").boolean(true).bytes();
 * ```
 */
export class SshWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /** Starts with `initial` bytes of capacity (grows as needed). */
  constructor(initial = 256) {
    this.#buf = new Uint8Array(initial);
    this.#view = new DataView(this.#buf.buffer);
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** Appends a `byte`. */
  byte(v: number): this {
    this.#reserve(1);
    this.#buf[this.#len++] = v;
    return this;
  }

  /** Appends a `boolean` (0 or 1). */
  boolean(v: boolean): this {
    return this.byte(v ? 1 : 0);
  }

  /** Appends a big-endian `uint32`. */
  uint32(v: number): this {
    this.#reserve(4);
    this.#view.setUint32(this.#len, v >>> 0);
    this.#len += 4;
    return this;
  }

  /** Appends a big-endian `uint64`. */
  uint64(v: number | bigint): this {
    this.#reserve(8);
    this.#view.setBigUint64(this.#len, BigInt(v));
    this.#len += 8;
    return this;
  }

  /** Appends bytes as they are (no length). */
  raw(b: Uint8Array): this {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** A `string` (uint32 length + bytes); JS strings are encoded as UTF-8. */
  string(v: Uint8Array | string): this {
    const b = typeof v === "string" ? utf8(v) : v;
    this.uint32(b.length);
    return this.raw(b);
  }

  /** A `name-list`: comma-separated names. */
  nameList(names: readonly string[]): this {
    return this.string(names.join(","));
  }

  /** An `mpint` from a bigint (two's complement, minimal length). */
  mpint(v: bigint): this {
    if (v < 0n) throw new RangeError("negative mpint not supported");
    if (v === 0n) return this.uint32(0);
    const b = bigIntToBytes(v);
    return this.mpintBytes(b);
  }

  /** An `mpint` from unsigned big-endian bytes (strips zeros, adds a sign byte if needed). */
  mpintBytes(b: Uint8Array): this {
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    const body = b.subarray(i);
    if (body.length === 0) return this.uint32(0);
    if (body[0] & 0x80) {
      this.uint32(body.length + 1);
      this.byte(0);
    } else {
      this.uint32(body.length);
    }
    return this.raw(body);
  }

  /** The bytes written (a view of the internal buffer; copy if you keep writing). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

/**
 * Reads SSH wire values from a byte array; every read is bounds-checked and a short input
 * throws `ProtocolError`.
 *
 * @example
 * ```ts
 * import { SshReader } from "./_wire.ts";
 * const r = new SshReader(new Uint8Array([0, 0, 0, 2, 104, 105]));
 * console.log(r.text()); // "hi"
 * ```
 */
export class SshReader {
  readonly #b: Uint8Array;
  readonly #view: DataView;
  #pos: number;

  /** Reads `b` from offset `pos`. */
  constructor(b: Uint8Array, pos = 0) {
    this.#b = b;
    this.#view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.#pos = pos;
  }

  /** Offset of the next read. */
  get position(): number {
    return this.#pos;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#b.length - this.#pos;
  }

  #need(n: number): void {
    if (n < 0 || this.#pos + n > this.#b.length) {
      throw new ProtocolError("truncated SSH message");
    }
  }

  /** Reads a `byte`. */
  byte(): number {
    this.#need(1);
    return this.#b[this.#pos++];
  }

  /** Reads a `boolean`. */
  boolean(): boolean {
    return this.byte() !== 0;
  }

  /** Reads a big-endian `uint32`. */
  uint32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** Reads a big-endian `uint64`. */
  uint64(): bigint {
    this.#need(8);
    const v = this.#view.getBigUint64(this.#pos);
    this.#pos += 8;
    return v;
  }

  /** Reads `n` bytes (a view, not a copy). */
  raw(n: number): Uint8Array {
    this.#need(n);
    const v = this.#b.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /** A `string` as bytes (a view, not a copy). */
  string(): Uint8Array {
    return this.raw(this.uint32());
  }

  /** A `string` decoded as UTF-8. */
  text(): string {
    return fromUtf8(this.string());
  }

  /** Reads a `name-list`. */
  nameList(): string[] {
    const s = this.text();
    return s.length === 0 ? [] : s.split(",");
  }

  /** An `mpint` as a non-negative bigint (negative values are refused). */
  mpint(): bigint {
    const b = this.string();
    if (b.length > 0 && b[0] & 0x80) throw new ProtocolError("negative mpint");
    return bytesToBigInt(b);
  }

  /** An `mpint` as unsigned big-endian bytes without leading zeros. */
  mpintBytes(): Uint8Array {
    const b = this.string();
    if (b.length > 0 && b[0] & 0x80) throw new ProtocolError("negative mpint");
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return b.subarray(i);
  }

  /** Reads everything left (a view). */
  rest(): Uint8Array {
    return this.raw(this.remaining);
  }
}

/** Types a byte array as WebCrypto's BufferSource (our arrays never use SharedArrayBuffer). */
export function bs(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}
