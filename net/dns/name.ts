/**
 * Domain names: presentation text <-> labels, and the wire form with compression
 * (RFC 1035 §3.1, §4.1.4).
 *
 * Names are absolute presentation strings ending in a dot ("www.example.", root is "."). Bytes
 * outside printable ASCII, and "." or "\" inside a label, are escaped as `\DDD` or `\c`, so a
 * name string is always ASCII and compares case-insensitively with {@link nameEquals}.
 *
 * @module
 */

import { DnsCompressionLoop, DnsFormatError } from "./errors.ts";

/** Longest name on the wire, length octets included (RFC 1035 §2.3.4). */
export const MAX_NAME_OCTETS = 255;
/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL_OCTETS = 63;
/** Compression pointers are 14-bit offsets. */
const MAX_POINTER_OFFSET = 0x3fff;

/**
 * Splits a presentation name into its labels (raw bytes), checking label and name lengths.
 * A trailing dot is optional; "." and "" are the root.
 *
 * @example
 * ```ts
 * import { nameToLabels } from "./name.ts";
 * console.assert(nameToLabels("www.example.").length === 2);
 * ```
 */
export function nameToLabels(name: string): Uint8Array[] {
  if (name === "." || name === "") return [];
  const labels: Uint8Array[] = [];
  let current: number[] = [];
  let total = 1;
  const finish = (i: number) => {
    if (current.length === 0) throw new DnsFormatError(`empty label in name "${name}"`, i);
    if (current.length > MAX_LABEL_OCTETS) {
      throw new DnsFormatError(`label longer than ${MAX_LABEL_OCTETS} octets in "${name}"`);
    }
    total += current.length + 1;
    labels.push(Uint8Array.from(current));
    current = [];
  };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x7e || c < 0x20) {
      throw new DnsFormatError(`name "${name}" has a non-ASCII character: escape it as \\DDD`, i);
    }
    if (c === 0x2e) { // "."
      finish(i);
      if (i === name.length - 1) break;
    } else if (c === 0x5c) { // "\"
      const digits = /^[0-9]{3}/.exec(name.slice(i + 1, i + 4));
      if (digits) {
        const value = Number(digits[0]);
        if (value > 255) throw new DnsFormatError(`bad escape \\${digits[0]} in "${name}"`, i);
        current.push(value);
        i += 3;
      } else if (i + 1 < name.length) {
        current.push(name.charCodeAt(++i));
      } else {
        throw new DnsFormatError(`name "${name}" ends with a lone backslash`, i);
      }
    } else {
      current.push(c);
    }
  }
  if (current.length) finish(name.length);
  if (total > MAX_NAME_OCTETS) {
    throw new DnsFormatError(`name "${name}" is longer than ${MAX_NAME_OCTETS} octets`);
  }
  return labels;
}

function labelToText(label: Uint8Array): string {
  let out = "";
  for (const b of label) {
    if (b === 0x2e || b === 0x5c) out += "\\" + String.fromCharCode(b);
    else if (b <= 0x20 || b >= 0x7f) out += "\\" + b.toString().padStart(3, "0");
    else out += String.fromCharCode(b);
  }
  return out;
}

/**
 * Joins labels into an absolute presentation name ("www.example.").
 *
 * @example
 * ```ts
 * import { labelsToName } from "./name.ts";
 * const enc = new TextEncoder();
 * console.assert(labelsToName([enc.encode("a"), enc.encode("b")]) === "a.b.");
 * ```
 */
export function labelsToName(labels: readonly Uint8Array[]): string {
  if (labels.length === 0) return ".";
  return labels.map(labelToText).join(".") + ".";
}

/**
 * Normalizes a name: absolute (trailing dot), escapes canonical, ASCII letters lowercased.
 * Throws {@link DnsFormatError} for a malformed name.
 *
 * @example
 * ```ts
 * import { canonicalName } from "./name.ts";
 * console.assert(canonicalName("WWW.Example") === "www.example.");
 * ```
 */
export function canonicalName(name: string): string {
  return labelsToName(nameToLabels(name)).toLowerCase();
}

/**
 * Whether two names are equal, ignoring ASCII case (RFC 4343).
 *
 * @example
 * ```ts
 * import { nameEquals } from "./name.ts";
 * console.assert(nameEquals("Example.COM.", "example.com"));
 * ```
 */
export function nameEquals(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return canonicalName(a) === canonicalName(b);
  } catch {
    return false;
  }
}

/**
 * Reads a possibly compressed name at `offset`; returns it and the offset just after its
 * in-place part. Pointers must point strictly backwards, which makes loops impossible
 * (a loop is reported as {@link DnsCompressionLoop}).
 *
 * @example
 * ```ts
 * import { readName } from "./name.ts";
 * const bytes = Uint8Array.of(1, 0x61, 0, 0xc0, 0);
 * console.assert(readName(bytes, 3).name === "a.");
 * ```
 */
export function readName(bytes: Uint8Array, offset: number): { name: string; next: number } {
  const labels: Uint8Array[] = [];
  let position = offset;
  let next = -1;
  let octets = 1;
  let lowestJump = offset;
  for (;;) {
    if (position >= bytes.length) {
      throw new DnsFormatError("name runs past the end of the message", position);
    }
    const length = bytes[position];
    if (length === 0) {
      if (next < 0) next = position + 1;
      break;
    }
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (position + 1 >= bytes.length) {
        throw new DnsFormatError("compression pointer runs past the end", position);
      }
      const target = ((length & 0x3f) << 8) | bytes[position + 1];
      // Only pointers to earlier bytes than every jump so far: each hop strictly decreases,
      // so following them always ends (RFC 1035 §4.1.4 "a prior occurrence").
      if (target >= lowestJump) {
        throw new DnsCompressionLoop(
          target === position
            ? "compression pointer points at itself"
            : "compression pointer points forward or loops",
          position,
        );
      }
      if (next < 0) next = position + 2;
      lowestJump = target;
      position = target;
      continue;
    }
    if (kind !== 0) {
      throw new DnsFormatError(`unsupported label type 0x${kind.toString(16)}`, position);
    }
    if (position + 1 + length > bytes.length) {
      throw new DnsFormatError("label runs past the end of the message", position);
    }
    octets += length + 1;
    if (octets > MAX_NAME_OCTETS) {
      throw new DnsFormatError(`name longer than ${MAX_NAME_OCTETS} octets`, offset);
    }
    labels.push(bytes.subarray(position + 1, position + 1 + length));
    position += 1 + length;
  }
  return { name: labelsToName(labels), next };
}

/**
 * A growable, bounded byte writer with a name compression table, used to build messages.
 *
 * @example
 * ```ts
 * import { MessageWriter } from "./name.ts";
 * const w = new MessageWriter();
 * w.name("example.");
 * w.name("www.example."); // "www" then a pointer to offset 0
 * console.assert(w.finish().length === 9 + 6);
 * ```
 */
export class MessageWriter {
  #bytes = new Uint8Array(512);
  #length = 0;
  readonly #limit: number;
  readonly #compression = new Map<string, number>();

  /** `limit` bounds the message size (65535, the most a TCP length prefix can carry). */
  constructor(limit = 65535) {
    this.#limit = limit;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  #reserve(n: number): number {
    const at = this.#length;
    if (at + n > this.#limit) {
      throw new DnsFormatError(`message would exceed ${this.#limit} bytes`);
    }
    if (at + n > this.#bytes.length) {
      const grown = new Uint8Array(Math.min(this.#limit, Math.max(at + n, this.#bytes.length * 2)));
      grown.set(this.#bytes.subarray(0, at));
      this.#bytes = grown;
    }
    this.#length += n;
    return at;
  }

  /** Appends one byte. */
  u8(v: number): void {
    // Reserve first: growing replaces #bytes, and `this.#bytes[...]` would name the old one.
    const at = this.#reserve(1);
    this.#bytes[at] = v;
  }
  /** Appends a big-endian 16-bit value. */
  u16(v: number): void {
    const at = this.#reserve(2);
    this.#bytes[at] = v >>> 8;
    this.#bytes[at + 1] = v & 255;
  }
  /** Appends a big-endian 32-bit value. */
  u32(v: number): void {
    const at = this.#reserve(4);
    this.#bytes[at] = v >>> 24;
    this.#bytes[at + 1] = (v >>> 16) & 255;
    this.#bytes[at + 2] = (v >>> 8) & 255;
    this.#bytes[at + 3] = v & 255;
  }
  /** Appends raw bytes. */
  bytes(b: Uint8Array): void {
    const at = this.#reserve(b.length);
    this.#bytes.set(b, at);
  }
  /** Overwrites a 16-bit value written earlier (for lengths known only afterwards). */
  patchU16(at: number, v: number): void {
    this.#bytes[at] = v >>> 8;
    this.#bytes[at + 1] = v & 255;
  }

  /**
   * Appends a name; with `compress` (the default) its longest already-written suffix becomes
   * a pointer, and its new suffixes are remembered for later names.
   */
  name(name: string, compress = true): void {
    const labels = nameToLabels(name);
    // Suffix keys ("www.example.", "example.") built once from the end, lowercased.
    const keys = new Array<string>(labels.length);
    let suffix = "";
    for (let i = labels.length - 1; i >= 0; i--) {
      suffix = `${labelToText(labels[i]).toLowerCase()}.${suffix}`;
      keys[i] = suffix;
    }
    for (let i = 0; i < labels.length; i++) {
      if (compress) {
        const target = this.#compression.get(keys[i]);
        if (target !== undefined) {
          this.u16(0xc000 | target);
          return;
        }
      }
      if (this.#length <= MAX_POINTER_OFFSET && !this.#compression.has(keys[i])) {
        this.#compression.set(keys[i], this.#length);
      }
      this.u8(labels[i].length);
      this.bytes(labels[i]);
    }
    this.u8(0);
  }

  /** The written bytes (a copy of exactly `length` bytes). */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }
}
