/**
 * A strict ASN.1 DER reader (X.690 §10) written for X.509: definite minimal lengths only,
 * minimal INTEGERs, canonical BOOLEANs, BIT STRINGs with zero padding bits, and bounds checked
 * at every level so a nested element can never reach past its parent.
 *
 * @module
 */

/**
 * The input is not valid DER (bad length, truncated, non-minimal encoding, wrong tag).
 *
 * @example
 * ```ts
 * import { DerReader, DerError } from "./der_reader.ts";
 * try {
 *   new DerReader(new Uint8Array([0x30, 0x05, 0x00])).read();
 * } catch (e) {
 *   console.log(e instanceof DerError); // true
 * }
 * ```
 */
export class DerError extends Error {
  /** Byte offset in the reader's input where the problem was found. */
  readonly offset: number;

  /** Creates the error with a description and the byte offset. */
  constructor(message: string, offset: number) {
    super(`DER: ${message} at offset ${offset}`);
    this.name = "DerError";
    this.offset = offset;
  }
}

/** Universal tags used in X.509, plus the constructed SEQUENCE/SET forms. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  PrintableString: 0x13,
  TeletexString: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  UniversalString: 0x1c,
  BMPString: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Tag byte of a context-specific element `[n]`, constructed or primitive. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One TLV element. All byte fields are views into the reader's input. */
export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number). */
  tag: number;
  /** The contents octets. */
  value: Uint8Array;
  /** The whole encoding: identifier, length and contents. */
  raw: Uint8Array;
  /** Offset of the element in the outermost input (for error messages). */
  offset: number;
}

/**
 * Reads a sequence of DER elements from a byte view.
 *
 * @example
 * ```ts
 * import { DerReader } from "./der_reader.ts";
 * const r = new DerReader(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]));
 * const seq = r.sequence();
 * console.log(seq.smallInteger()); // 5
 * seq.end();
 * r.end();
 * ```
 */
export class DerReader {
  readonly #bytes: Uint8Array;
  #pos = 0;
  readonly #base: number;

  /** `base` is the offset of `bytes` in the outermost input, for error messages. */
  constructor(bytes: Uint8Array, base = 0) {
    this.#bytes = bytes;
    this.#base = base;
  }

  /** Whether every element has been read. */
  get done(): boolean {
    return this.#pos >= this.#bytes.length;
  }

  #fail(message: string, at = this.#pos): never {
    throw new DerError(message, this.#base + at);
  }

  /** The tag of the next element, or `undefined` at the end. */
  peekTag(): number | undefined {
    return this.done ? undefined : this.#bytes[this.#pos];
  }

  /** Reads the next element of any tag. */
  read(): DerElement {
    const b = this.#bytes;
    const start = this.#pos;
    if (start >= b.length) this.#fail("unexpected end of input");
    const tag = b[start];
    if ((tag & 0x1f) === 0x1f) this.#fail("high tag numbers are not supported", start);
    let p = start + 1;
    if (p >= b.length) this.#fail("missing length", p);
    let len = b[p++];
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0) this.#fail("indefinite length is not DER", p - 1);
      if (n > 4) this.#fail(`length of ${n} octets is too large`, p - 1);
      if (p + n > b.length) this.#fail("truncated length", p);
      if (b[p] === 0) this.#fail("length with a leading zero octet is not minimal", p);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[p++];
      if (len < 0x80) this.#fail("long-form length below 128 is not minimal", p - n - 1);
    }
    if (len > b.length - p) this.#fail(`length ${len} exceeds the ${b.length - p} bytes left`, p);
    this.#pos = p + len;
    return {
      tag,
      value: b.subarray(p, p + len),
      raw: b.subarray(start, p + len),
      offset: this.#base + start,
    };
  }

  /** Reads the next element and checks its tag. */
  expect(tag: number, what: string): DerElement {
    const actual = this.peekTag();
    if (actual !== tag) {
      this.#fail(
        `expected ${what} (tag 0x${tag.toString(16)}), found ${
          actual === undefined ? "end of input" : `tag 0x${actual.toString(16)}`
        }`,
      );
    }
    return this.read();
  }

  /** Reads the next element if it has `tag`. */
  optional(tag: number): DerElement | undefined {
    return this.peekTag() === tag ? this.read() : undefined;
  }

  /** A reader over the contents of an element. */
  static of(element: DerElement): DerReader {
    const headerLength = element.raw.length - element.value.length;
    return new DerReader(element.value, element.offset + headerLength);
  }

  /** Reads a SEQUENCE and returns a reader over its contents. */
  sequence(what = "SEQUENCE"): DerReader {
    return DerReader.of(this.expect(Tag.SEQUENCE, what));
  }

  /** Reads an INTEGER, checking minimal encoding; returns its two's-complement bytes. */
  integer(what = "INTEGER"): Uint8Array {
    const e = this.expect(Tag.INTEGER, what);
    const v = e.value;
    if (v.length === 0) this.#fail(`empty ${what}`, e.offset);
    if (v.length > 1 && ((v[0] === 0 && !(v[1] & 0x80)) || (v[0] === 0xff && (v[1] & 0x80)))) {
      this.#fail(`${what} is not minimally encoded`, e.offset);
    }
    return v;
  }

  /** Reads a non-negative INTEGER that fits in a JS number (up to 2^48). */
  smallInteger(what = "INTEGER"): number {
    const v = this.integer(what);
    if (v[0] & 0x80) this.#fail(`negative ${what}`);
    if (v.length > 7) this.#fail(`${what} too large`);
    let n = 0;
    for (const byte of v) n = n * 256 + byte;
    return n;
  }

  /** Reads a BOOLEAN (DER allows only 0x00 and 0xFF). */
  boolean(what = "BOOLEAN"): boolean {
    const e = this.expect(Tag.BOOLEAN, what);
    if (e.value.length !== 1) this.#fail(`${what} must be one octet`, e.offset);
    if (e.value[0] === 0x00) return false;
    if (e.value[0] === 0xff) return true;
    return this.#fail(`${what} must be 0x00 or 0xFF in DER`, e.offset);
  }

  /** Reads NULL. */
  null(what = "NULL"): void {
    const e = this.expect(Tag.NULL, what);
    if (e.value.length !== 0) this.#fail(`${what} must be empty`, e.offset);
  }

  /** Reads an OBJECT IDENTIFIER as dotted text. */
  oid(what = "OBJECT IDENTIFIER"): string {
    return decodeOid(this.expect(Tag.OID, what));
  }

  /** Reads an OCTET STRING's contents. */
  octetString(what = "OCTET STRING"): Uint8Array {
    return this.expect(Tag.OCTET_STRING, what).value;
  }

  /** Reads a BIT STRING; returns the bytes and the number of unused bits in the last. */
  bitString(what = "BIT STRING"): { bytes: Uint8Array; unusedBits: number } {
    return decodeBitString(this.expect(Tag.BIT_STRING, what));
  }

  /** Reads a UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5 formats only). */
  time(what = "Time"): Date {
    const tag = this.peekTag();
    if (tag !== Tag.UTCTime && tag !== Tag.GeneralizedTime) {
      this.#fail(`expected ${what} (UTCTime or GeneralizedTime)`);
    }
    const e = this.read();
    const text = String.fromCharCode(...e.value);
    const m = tag === Tag.UTCTime
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) this.#fail(`${what} "${text}" is not in the RFC 5280 form`, e.offset);
    let year = Number(m[1]);
    if (tag === Tag.UTCTime) year += year >= 50 ? 1900 : 2000;
    const [month, day, hour, minute, second] = m.slice(2).map(Number);
    if (
      month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59
    ) {
      this.#fail(`${what} "${text}" is out of range`, e.offset);
    }
    const ms = Date.UTC(year, month - 1, day, hour, minute, second);
    if (new Date(ms).getUTCDate() !== day) this.#fail(`${what} "${text}" is not a date`, e.offset);
    return new Date(ms);
  }

  /** Throws unless all elements were read. */
  end(what = "structure"): void {
    if (!this.done) this.#fail(`unexpected trailing data in ${what}`);
  }
}

/** Decodes the contents of an OBJECT IDENTIFIER element to dotted text. */
export function decodeOid(e: DerElement): string {
  const v = e.value;
  if (v.length === 0) throw new DerError("empty OBJECT IDENTIFIER", e.offset);
  const parts: number[] = [];
  let n = 0;
  let started = false;
  for (let i = 0; i < v.length; i++) {
    if (!started && v[i] === 0x80) {
      throw new DerError("OBJECT IDENTIFIER arc is not minimal", e.offset);
    }
    started = true;
    n = n * 128 + (v[i] & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 128) throw new DerError("OID arc too large", e.offset);
    if (!(v[i] & 0x80)) {
      parts.push(n);
      n = 0;
      started = false;
    }
  }
  if (started) throw new DerError("truncated OBJECT IDENTIFIER", e.offset);
  const first = parts[0] < 40 ? 0 : parts[0] < 80 ? 1 : 2;
  return [first, parts[0] - first * 40, ...parts.slice(1)].join(".");
}

/** Decodes a BIT STRING element's contents. */
export function decodeBitString(e: DerElement): { bytes: Uint8Array; unusedBits: number } {
  const v = e.value;
  if (v.length === 0) throw new DerError("empty BIT STRING", e.offset);
  const unusedBits = v[0];
  if (unusedBits > 7) throw new DerError("BIT STRING with more than 7 unused bits", e.offset);
  if (v.length === 1 && unusedBits !== 0) {
    throw new DerError("empty BIT STRING with unused bits", e.offset);
  }
  if (unusedBits && (v[v.length - 1] & ((1 << unusedBits) - 1))) {
    throw new DerError("BIT STRING padding bits are not zero", e.offset);
  }
  return { bytes: v.subarray(1), unusedBits };
}
