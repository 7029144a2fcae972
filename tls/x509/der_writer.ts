/**
 * A small ASN.1 DER writer: each function returns the complete encoding of one element, so
 * structures are written as nested calls that mirror the ASN.1 definition.
 *
 * @module
 */

/**
 * Encodes one element from its tag byte and contents.
 *
 * @example
 * ```ts
 * import { derTlv } from "./der_writer.ts";
 * console.log(derTlv(0x05, new Uint8Array(0))); // Uint8Array [ 5, 0 ]
 * ```
 */
export function derTlv(tag: number, value: Uint8Array): Uint8Array {
  const n = value.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else if (n < 0x1000000) header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  else header = [tag, 0x84, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(header.length + n);
  out.set(header);
  out.set(value, header.length);
  return out;
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A SEQUENCE of already-encoded elements.
 *
 * @example
 * ```ts
 * import { derNull, derSequence } from "./der_writer.ts";
 * console.log(derSequence(derNull())); // Uint8Array [ 48, 2, 5, 0 ]
 * ```
 */
export function derSequence(...elements: Uint8Array[]): Uint8Array {
  return derTlv(0x30, join(elements));
}

/**
 * A SET OF already-encoded elements, sorted as DER requires (X.690 §11.6).
 *
 * @example
 * ```ts
 * import { derInteger, derSet } from "./der_writer.ts";
 * console.log(derSet(derInteger(2), derInteger(1)));
 * ```
 */
export function derSet(...elements: Uint8Array[]): Uint8Array {
  const sorted = [...elements].sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  });
  return derTlv(0x31, join(sorted));
}

/**
 * A context-specific element `[n]`: constructed (EXPLICIT or IMPLICIT constructed) or
 * primitive (IMPLICIT).
 *
 * @example
 * ```ts
 * import { derContext, derInteger } from "./der_writer.ts";
 * console.log(derContext(0, true, derInteger(2))); // [0] EXPLICIT INTEGER 2
 * ```
 */
export function derContext(n: number, constructed: boolean, ...contents: Uint8Array[]): Uint8Array {
  return derTlv(0x80 | (constructed ? 0x20 : 0) | n, join(contents));
}

/**
 * An INTEGER from a non-negative number or big-endian unsigned bytes (minimal encoding).
 *
 * @example
 * ```ts
 * import { derInteger } from "./der_writer.ts";
 * console.log(derInteger(128)); // Uint8Array [ 2, 2, 0, 128 ]
 * ```
 */
export function derInteger(value: number | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError("bad INTEGER value");
    const digits: number[] = [];
    let v = value;
    do {
      digits.unshift(v % 256);
      v = Math.floor(v / 256);
    } while (v > 0);
    bytes = new Uint8Array(digits);
  } else {
    let i = 0;
    while (i < value.length - 1 && value[i] === 0) i++;
    bytes = value.subarray(i);
    if (bytes.length === 0) bytes = new Uint8Array(1);
  }
  if (bytes[0] & 0x80) bytes = join([new Uint8Array([0]), bytes]);
  return derTlv(0x02, bytes);
}

/**
 * An OBJECT IDENTIFIER from dotted text.
 *
 * @example
 * ```ts
 * import { derOid } from "./der_writer.ts";
 * console.log(derOid("2.5.29.17")); // Uint8Array [ 6, 3, 85, 29, 17 ]
 * ```
 */
export function derOid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new RangeError(`bad OID ${dotted}`);
  }
  const out: number[] = [];
  for (const arc of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const septets: number[] = [];
    let v = arc;
    do {
      septets.unshift(v % 128);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < septets.length - 1; i++) septets[i] |= 0x80;
    out.push(...septets);
  }
  return derTlv(0x06, new Uint8Array(out));
}

/**
 * NULL.
 *
 * @example
 * ```ts
 * import { derNull } from "./der_writer.ts";
 * console.log(derNull()); // Uint8Array [ 5, 0 ]
 * ```
 */
export function derNull(): Uint8Array {
  return new Uint8Array([0x05, 0x00]);
}

/**
 * BOOLEAN (0xFF for true, as DER requires).
 *
 * @example
 * ```ts
 * import { derBoolean } from "./der_writer.ts";
 * console.log(derBoolean(true)); // Uint8Array [ 1, 1, 255 ]
 * ```
 */
export function derBoolean(value: boolean): Uint8Array {
  return new Uint8Array([0x01, 0x01, value ? 0xff : 0x00]);
}

/**
 * OCTET STRING.
 *
 * @example
 * ```ts
 * import { derOctetString } from "./der_writer.ts";
 * console.log(derOctetString(new Uint8Array([1]))); // Uint8Array [ 4, 1, 1 ]
 * ```
 */
export function derOctetString(value: Uint8Array): Uint8Array {
  return derTlv(0x04, value);
}

/**
 * BIT STRING with `unusedBits` padding bits in the last byte (they must be zero).
 *
 * @example
 * ```ts
 * import { derBitString } from "./der_writer.ts";
 * console.log(derBitString(new Uint8Array([0x80]), 7)); // Uint8Array [ 3, 2, 7, 128 ]
 * ```
 */
export function derBitString(value: Uint8Array, unusedBits = 0): Uint8Array {
  return derTlv(0x03, join([new Uint8Array([unusedBits]), value]));
}

/**
 * UTF8String.
 *
 * @example
 * ```ts
 * import { derUtf8String } from "./der_writer.ts";
 * console.log(derUtf8String("a")); // Uint8Array [ 12, 1, 97 ]
 * ```
 */
export function derUtf8String(value: string): Uint8Array {
  return derTlv(0x0c, new TextEncoder().encode(value));
}

/**
 * IA5String (ASCII), as used for dNSName.
 *
 * @example
 * ```ts
 * import { derIa5String } from "./der_writer.ts";
 * console.log(derIa5String("a")); // Uint8Array [ 22, 1, 97 ]
 * ```
 */
export function derIa5String(value: string): Uint8Array {
  if ([...value].some((ch) => ch.charCodeAt(0) > 0x7f)) {
    throw new RangeError("IA5String must be ASCII");
  }
  return derTlv(0x16, new TextEncoder().encode(value));
}

/**
 * A Time as RFC 5280 §4.1.2.5 requires: UTCTime through 2049, GeneralizedTime after.
 *
 * @example
 * ```ts
 * import { derTime } from "./der_writer.ts";
 * console.log(derTime(new Date("2030-01-02T03:04:05Z"))[0]); // 23 (UTCTime)
 * ```
 */
export function derTime(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  const p = (n: number) => String(n).padStart(2, "0");
  const rest = `${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${
    p(date.getUTCMinutes())
  }${p(date.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) {
    return derTlv(0x17, new TextEncoder().encode(`${p(year % 100)}${rest}`));
  }
  return derTlv(0x18, new TextEncoder().encode(`${String(year).padStart(4, "0")}${rest}`));
}
