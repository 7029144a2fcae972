/**
 * Byte helpers shared by the TLS and X.509 code: a strict big-endian reader, a growable
 * writer with length-prefixed blocks, and small utilities.
 *
 * @module
 */

/** Thrown by {@linkcode ByteReader} when input is truncated or has trailing bytes. */
export class ShortInput extends Error {
  /** Creates the error; `what` names the field that did not fit. */
  constructor(what: string) {
    super(`truncated or malformed input while reading ${what}`);
    this.name = "ShortInput";
  }
}

/**
 * A strict big-endian reader over a byte view. Every read checks bounds; `sub` returns a
 * reader over a length-prefixed block so nested structures cannot overrun their parent.
 */
export class ByteReader {
  #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#bytes.length - this.#pos;
  }

  /** Current offset from the start of the view. */
  get offset(): number {
    return this.#pos;
  }

  #need(n: number, what: string): void {
    if (n > this.#bytes.length - this.#pos) throw new ShortInput(what);
  }

  u8(what = "u8"): number {
    this.#need(1, what);
    return this.#bytes[this.#pos++];
  }

  u16(what = "u16"): number {
    this.#need(2, what);
    const b = this.#bytes, p = this.#pos;
    this.#pos += 2;
    return (b[p] << 8) | b[p + 1];
  }

  u24(what = "u24"): number {
    this.#need(3, what);
    const b = this.#bytes, p = this.#pos;
    this.#pos += 3;
    return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2];
  }

  u32(what = "u32"): number {
    this.#need(4, what);
    const b = this.#bytes, p = this.#pos;
    this.#pos += 4;
    return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  /** `n` bytes as a view (no copy). */
  bytes(n: number, what = "bytes"): Uint8Array {
    this.#need(n, what);
    const v = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /** A vector with a `lenBytes`-byte length prefix, as a view. */
  vector(lenBytes: 1 | 2 | 3, what = "vector"): Uint8Array {
    const n = lenBytes === 1 ? this.u8(what) : lenBytes === 2 ? this.u16(what) : this.u24(what);
    return this.bytes(n, what);
  }

  /** A reader over a `lenBytes`-length-prefixed block. */
  sub(lenBytes: 1 | 2 | 3, what = "block"): ByteReader {
    return new ByteReader(this.vector(lenBytes, what));
  }

  /** All remaining bytes as a view. */
  rest(): Uint8Array {
    const v = this.#bytes.subarray(this.#pos);
    this.#pos = this.#bytes.length;
    return v;
  }

  /** Throws unless every byte was consumed. */
  end(what = "structure"): void {
    if (this.#pos !== this.#bytes.length) throw new ShortInput(`${what} (trailing bytes)`);
  }
}

/** A growable big-endian writer with nested length-prefixed blocks. */
export class ByteWriter {
  #buf: Uint8Array;
  #len = 0;
  #open: Array<{ at: number; lenBytes: number }> = [];

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  u8(v: number): this {
    this.#ensure(1);
    this.#buf[this.#len++] = v;
    return this;
  }

  u16(v: number): this {
    this.#ensure(2);
    this.#buf[this.#len++] = v >>> 8;
    this.#buf[this.#len++] = v;
    return this;
  }

  u24(v: number): this {
    this.#ensure(3);
    this.#buf[this.#len++] = v >>> 16;
    this.#buf[this.#len++] = v >>> 8;
    this.#buf[this.#len++] = v;
    return this;
  }

  u32(v: number): this {
    this.#ensure(4);
    this.#buf[this.#len++] = v >>> 24;
    this.#buf[this.#len++] = v >>> 16;
    this.#buf[this.#len++] = v >>> 8;
    this.#buf[this.#len++] = v;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** Writes `b` with a `lenBytes`-byte length prefix. */
  vector(lenBytes: 1 | 2 | 3, b: Uint8Array): this {
    return this.begin(lenBytes).bytes(b).end();
  }

  /** Opens a length-prefixed block; close it with {@linkcode end}. */
  begin(lenBytes: 1 | 2 | 3): this {
    this.#ensure(lenBytes);
    this.#open.push({ at: this.#len, lenBytes });
    this.#len += lenBytes;
    return this;
  }

  /** Closes the innermost open block, filling in its length. */
  end(): this {
    const block = this.#open.pop();
    if (!block) throw new Error("ByteWriter.end() without begin()");
    const n = this.#len - block.at - block.lenBytes;
    if (n >= 2 ** (8 * block.lenBytes)) throw new RangeError(`block of ${n} bytes too long`);
    for (let i = 0; i < block.lenBytes; i++) {
      this.#buf[block.at + i] = n >>> (8 * (block.lenBytes - 1 - i));
    }
    return this;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** The written bytes (a copy sized exactly). */
  finish(): Uint8Array {
    if (this.#open.length) throw new Error("ByteWriter.finish() with open blocks");
    return this.#buf.slice(0, this.#len);
  }
}

/** Concatenates byte arrays into a new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Compares two byte arrays in time independent of their contents (not their lengths). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Plain byte-equality for public data. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lower-case hex of `b`. */
export function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, "0");
  return s;
}

/** Bytes from hex text; whitespace is ignored. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  if (clean.length % 2 || /[^0-9a-fA-F]/.test(clean)) throw new Error("invalid hex");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

/** Random bytes from the platform CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** Narrows a view to an `ArrayBuffer`-backed one, as WebCrypto's types want. */
export function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}
