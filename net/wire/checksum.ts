/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of
 * 16-bit words.
 *
 * Sums 32 bits at a time into a float64 accumulator (exact up to 2^53, i.e. 8 MiB of data
 * between folds), so the loop does one load and one add per four bytes. The sum is
 * byte-order independent (RFC 1071 §2(B)), so big-endian loads give the right answer.
 *
 * @module
 */

/**
 * Adds `length` bytes of `bytes` from `offset` to a running 32-bit-or-wider sum.
 * Returns the unfolded sum; fold it with {@linkcode foldChecksum}.
 *
 * @example
 * ```ts
 * import { sumWords, foldChecksum } from "./checksum.ts";
 * const data = new Uint8Array([0x45, 0x00, 0x00, 0x1c]);
 * console.log(foldChecksum(sumWords(data, 0, 4, 0)).toString(16)); // "bae3"
 * ```
 */
export function sumWords(
  bytes: Uint8Array,
  offset: number,
  length: number,
  initial: number,
): number {
  let sum = initial;
  let i = offset;
  const end = offset + length;
  const aligned = end - ((end - i) & 15);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Unrolled four 32-bit loads per iteration; the accumulator never overflows below 2^53.
  while (i < aligned) {
    sum += view.getUint32(i) + view.getUint32(i + 4) + view.getUint32(i + 8) +
      view.getUint32(i + 12);
    i += 16;
  }
  while (i + 4 <= end) {
    sum += view.getUint32(i);
    i += 4;
  }
  if (i + 2 <= end) {
    sum += (bytes[i] << 8) | bytes[i + 1];
    i += 2;
  }
  if (i < end) sum += bytes[i] << 8; // odd trailing byte, padded with zero
  return sum;
}

/**
 * Folds a wide sum to 16 bits and returns its ones' complement (the checksum field value).
 *
 * @example
 * ```ts
 * import { foldChecksum } from "./checksum.ts";
 * console.log(foldChecksum(0x1fffe)); // 0
 * ```
 */
export function foldChecksum(sum: number): number {
  // sum may be up to 2^53: two float folds bring it below 2^22 (a 32-bit fold would leave up
  // to 2^32 + 2^21, and `>>>` would drop bit 32), then integer folds to 16 bits.
  let s = (sum % 0x10000) + Math.floor(sum / 0x10000);
  s = (s % 0x10000) + Math.floor(s / 0x10000);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * The Internet checksum of `bytes[offset .. offset+length)`.
 *
 * @example
 * ```ts
 * import { internetChecksum } from "./checksum.ts";
 * const header = new Uint8Array(20);
 * console.log(internetChecksum(header, 0, 20)); // 65535
 * ```
 */
export function internetChecksum(
  bytes: Uint8Array,
  offset = 0,
  length = bytes.length - offset,
): number {
  return foldChecksum(sumWords(bytes, offset, length, 0));
}

/**
 * The sum of the IPv4 pseudo-header (RFC 793 §3.1, RFC 768) for a transport checksum:
 * source, destination, protocol and transport length.
 *
 * @example
 * ```ts
 * import { pseudoHeaderSum, sumWords, foldChecksum } from "./checksum.ts";
 * const udp = new Uint8Array(8);
 * const sum = pseudoHeaderSum(0x0a000001, 0x0a000002, 17, udp.length);
 * console.log(foldChecksum(sumWords(udp, 0, udp.length, sum)));
 * ```
 */
export function pseudoHeaderSum(
  source: number,
  destination: number,
  protocol: number,
  length: number,
): number {
  return (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) +
    protocol + length;
}
