/**
 * The TLS 1.3 record layer (RFC 8446 §5), sans-IO: {@linkcode RecordReader} frames records
 * out of bytes read from the transport, {@linkcode openRecord} removes protection and padding,
 * {@linkcode sealRecords} fragments, pads and protects outgoing data.
 *
 * @module
 */

import { AlertDescription } from "./alert.ts";
import { BadRecordMac, DecodeError, RecordOverflow, UnexpectedMessage } from "./errors.ts";
import { type RecordProtection, TAG_LENGTH } from "./record_cipher.ts";

/** Record content types (RFC 8446 §5.1). */
export const ContentType = {
  change_cipher_spec: 20,
  alert: 21,
  handshake: 22,
  application_data: 23,
} as const;

/** Largest plaintext fragment: 2^14 bytes (RFC 8446 §5.1). */
export const MAX_PLAINTEXT = 16384;
/** Largest protected fragment: 2^14 + 256 bytes (RFC 8446 §5.2). */
export const MAX_CIPHERTEXT = 16384 + 256;
/** Record header length. */
export const HEADER_LENGTH = 5;

/** One record as framed from the wire; `header` and `fragment` are views into the buffer. */
export interface WireRecord {
  /** Outer content type. */
  type: number;
  /** The 5 header bytes (the AEAD additional data for protected records). */
  header: Uint8Array;
  /** The record body. */
  fragment: Uint8Array;
}

/** A record after protection and padding were removed. */
export interface OpenedRecord {
  /** The real (inner) content type. */
  type: number;
  /** The content, without padding. */
  content: Uint8Array;
}

/**
 * Frames records from a byte stream into a fixed-size buffer. The transport reads into
 * {@linkcode RecordReader.space}; {@linkcode RecordReader.next} returns complete records as
 * views that stay valid until the next call to `space()`.
 *
 * @example
 * ```ts
 * import { RecordReader } from "./record_layer.ts";
 * const reader = new RecordReader();
 * const space = reader.space();
 * space.set([22, 3, 3, 0, 1, 0x42]);
 * reader.commit(6);
 * console.log(reader.next()?.fragment); // Uint8Array [ 66 ]
 * ```
 */
export class RecordReader {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  readonly #maxCapacity: number;
  #lastSpace = 0;
  #grow = false;

  /**
   * Starts with `capacity` bytes (at least one maximum-size record) and doubles, up to
   * `maxCapacity`, whenever a transport read fills all the space offered: a bulk transfer
   * then gets large batches, an idle connection stays small.
   */
  constructor(
    capacity = 2 * (HEADER_LENGTH + MAX_CIPHERTEXT),
    maxCapacity = Math.max(capacity, 32 * (HEADER_LENGTH + MAX_CIPHERTEXT)),
  ) {
    if (capacity < HEADER_LENGTH + MAX_CIPHERTEXT) throw new RangeError("capacity too small");
    this.#buf = new Uint8Array(capacity);
    this.#maxCapacity = maxCapacity;
  }

  /** Current buffer size in bytes. */
  get capacity(): number {
    return this.#buf.length;
  }

  /** Bytes buffered but not yet returned as records. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Free space to read into. Moves a partial record to the front first, which invalidates
   * views returned by earlier {@linkcode next} calls.
   */
  space(): Uint8Array {
    if (this.#grow && this.#buf.length < this.#maxCapacity) {
      const bigger = new Uint8Array(Math.min(this.#maxCapacity, this.#buf.length * 2));
      bigger.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = bigger;
    } else if (
      this.#start > 0 && (this.#start === this.#end || this.#buf.length - this.#end < 4096)
    ) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    this.#grow = false;
    this.#lastSpace = this.#buf.length - this.#end;
    return this.#buf.subarray(this.#end);
  }

  /** Records that `n` bytes were written into the last {@linkcode space}. */
  commit(n: number): void {
    if (n < 0 || this.#end + n > this.#buf.length) throw new RangeError("commit out of range");
    this.#end += n;
    if (n === this.#lastSpace) this.#grow = true;
  }

  /**
   * The next complete record, or `undefined` when more bytes are needed. Throws on headers
   * that cannot be valid: unknown content types, a wrong major version, or a length over
   * 2^14 + 256.
   */
  next(): WireRecord | undefined {
    const avail = this.#end - this.#start;
    if (avail < HEADER_LENGTH) return undefined;
    const b = this.#buf, p = this.#start;
    const type = b[p];
    if (type < ContentType.change_cipher_spec || type > ContentType.application_data) {
      throw new UnexpectedMessage(`record with unknown content type ${type}`);
    }
    if (b[p + 1] !== 3) throw new DecodeError(`record version ${b[p + 1]}.${b[p + 2]}`);
    const length = (b[p + 3] << 8) | b[p + 4];
    if (length > MAX_CIPHERTEXT) throw new RecordOverflow(`record of ${length} bytes`);
    if (avail < HEADER_LENGTH + length) return undefined;
    this.#start += HEADER_LENGTH + length;
    return {
      type,
      header: b.subarray(p, p + HEADER_LENGTH),
      fragment: b.subarray(p + HEADER_LENGTH, p + HEADER_LENGTH + length),
    };
  }
}

/**
 * Removes protection from a record. With `protection` undefined the record must be
 * plaintext. A change_cipher_spec record is passed through untouched (the caller decides
 * whether it is allowed); a plaintext alert is accepted even after protection started, so a
 * peer's diagnosis is not lost.
 *
 * @example
 * ```ts
 * import { openRecord } from "./record_layer.ts";
 * const r = await openRecord(undefined, {
 *   type: 22,
 *   header: new Uint8Array([22, 3, 3, 0, 1]),
 *   fragment: new Uint8Array([1]),
 * });
 * console.log(r.type); // 22
 * ```
 */
export async function openRecord(
  protection: RecordProtection | undefined,
  record: WireRecord,
): Promise<OpenedRecord> {
  const { type, fragment } = record;
  if (
    !protection || type === ContentType.change_cipher_spec ||
    (type === ContentType.alert && fragment.length === 2)
  ) {
    if (fragment.length > MAX_PLAINTEXT) {
      throw new RecordOverflow(`plaintext record of ${fragment.length} bytes`);
    }
    return { type, content: fragment };
  }
  if (type !== ContentType.application_data) {
    throw new UnexpectedMessage(`unprotected record of type ${type} after keys were installed`);
  }
  if (fragment.length < 1 + TAG_LENGTH) throw new BadRecordMac("protected record too short");
  const inner = await protection.open(record.header, fragment);
  if (!inner) throw new BadRecordMac();
  if (inner.length > MAX_PLAINTEXT + 1) {
    throw new RecordOverflow(`inner plaintext of ${inner.length} bytes`);
  }
  // Padding is zeros after the content type (RFC 8446 §5.4); the type is the last non-zero.
  let i = inner.length - 1;
  while (i >= 0 && inner[i] === 0) i--;
  if (i < 0) throw new UnexpectedMessage("protected record without a content type");
  const innerType = inner[i];
  if (innerType < ContentType.change_cipher_spec || innerType > ContentType.application_data) {
    throw new UnexpectedMessage(`protected record with unknown content type ${innerType}`);
  }
  return { type: innerType, content: inner.subarray(0, i) };
}

/**
 * Fragments `data` into records of at most 2^14 bytes of content, protects them (when
 * `protection` is given; sequence numbers are taken in order, synchronously) with `padding`
 * zero bytes each, and returns the wire bytes of all records. Encryptions run concurrently.
 * `legacyVersion` is 0x0301 only for the first ClientHello (RFC 8446 §5.1).
 *
 * @example
 * ```ts
 * import { sealRecords } from "./record_layer.ts";
 * const wire = await sealRecords(undefined, 22, new Uint8Array(3));
 * console.log(wire.length); // 8
 * ```
 */
export async function sealRecords(
  protection: RecordProtection | undefined,
  type: number,
  data: Uint8Array,
  { padding = 0, legacyVersion = 0x0303 }: { padding?: number; legacyVersion?: number } = {},
): Promise<Uint8Array> {
  if (!protection) {
    const count = Math.max(1, Math.ceil(data.length / MAX_PLAINTEXT));
    const out = new Uint8Array(data.length + count * HEADER_LENGTH);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const chunk = data.subarray(i * MAX_PLAINTEXT, (i + 1) * MAX_PLAINTEXT);
      writeHeader(out, at, type, legacyVersion, chunk.length);
      out.set(chunk, at + HEADER_LENGTH);
      at += HEADER_LENGTH + chunk.length;
    }
    return out;
  }
  if (padding < 0 || padding > MAX_PLAINTEXT - 1) throw new RangeError("padding out of range");
  const perRecord = MAX_PLAINTEXT - padding;
  const count = Math.max(1, Math.ceil(data.length / perRecord));
  const sealed: Promise<Uint8Array>[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const chunk = data.subarray(i * perRecord, (i + 1) * perRecord);
    const inner = new Uint8Array(chunk.length + 1 + padding);
    inner.set(chunk);
    inner[chunk.length] = type;
    const header = new Uint8Array(HEADER_LENGTH);
    writeHeader(header, 0, ContentType.application_data, 0x0303, inner.length + TAG_LENGTH);
    sealed.push(protection.seal(header, inner));
    total += HEADER_LENGTH + inner.length + TAG_LENGTH;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const ciphertext of await Promise.all(sealed)) {
    writeHeader(out, at, ContentType.application_data, 0x0303, ciphertext.length);
    out.set(ciphertext, at + HEADER_LENGTH);
    at += HEADER_LENGTH + ciphertext.length;
  }
  return out;
}

/**
 * Seals a handshake core's "send" action: change_cipher_spec always in the clear (RFC 8446
 * §5), anything else under `writeProtection`, with the action's legacy record version.
 *
 * @example
 * ```ts
 * import { ContentType, sealHandshakeSend } from "./record_layer.ts";
 * const ccs = { contentType: ContentType.change_cipher_spec, data: new Uint8Array([1]) };
 * console.log(await sealHandshakeSend(undefined, ccs)); // Uint8Array(6) [ 20, 3, 3, 0, 1, 1 ]
 * ```
 */
export function sealHandshakeSend(
  writeProtection: RecordProtection | undefined,
  send: { contentType: number; data: Uint8Array; legacyVersion?: number },
): Promise<Uint8Array> {
  const protection = send.contentType === ContentType.change_cipher_spec
    ? undefined
    : writeProtection;
  return sealRecords(protection, send.contentType, send.data, {
    legacyVersion: send.legacyVersion,
  });
}

function writeHeader(out: Uint8Array, at: number, type: number, version: number, len: number) {
  out[at] = type;
  out[at + 1] = version >>> 8;
  out[at + 2] = version & 0xff;
  out[at + 3] = len >>> 8;
  out[at + 4] = len & 0xff;
}

/** The alert record content for `description` (level is always fatal except close_notify). */
export function alertContent(description: number): Uint8Array {
  const level = description === AlertDescription.close_notify ||
      description === AlertDescription.user_canceled
    ? 1
    : 2;
  return new Uint8Array([level, description]);
}
