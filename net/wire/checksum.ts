/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of
 * 16-bit words.
 *
 * The bulk of the data is summed as native 32-bit words through a `Uint32Array` into a float64
 * accumulator (exact up to 2^53, i.e. 8 MiB of data between folds): one load and one add per
 * four bytes, no byte swapping. The sum is byte-order independent (RFC 1071 §2(B)): on a
 * little-endian machine the folded sum of those words is the big-endian sum with its two bytes
 * swapped, so it is swapped back once at the end. Measured on the project machine when this was
 * chosen: ~3.5x faster than big-endian `DataView.getUint32` loads on 64 KiB, ~1.2x on 1500 bytes
 * (`deno task bench` prints the current figures).
 *
 * @module
 */

const BIG_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 0;

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
  // Bytes before the first 4-byte-aligned address, at even (high) or odd (low) positions.
  let head = (4 - ((bytes.byteOffset + i) & 3)) & 3;
  if (head > length) head = length;
  for (let k = 0; k < head; k++, i++) sum += (k & 1) === 0 ? bytes[i] << 8 : bytes[i];
  const words = (end - i) >>> 2;
  if (words > 0) {
    const native = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    let wide = 0;
    let w = 0;
    const unrolled = words & ~3;
    while (w < unrolled) {
      wide += native[w] + native[w + 1] + native[w + 2] + native[w + 3];
      w += 4;
    }
    while (w < words) wide += native[w++];
    let folded = fold16(wide);
    // Little-endian loads give the byte-swapped sum; an odd head shifts the pairing by one byte,
    // which swaps it once more.
    if (((head & 1) === 0) !== BIG_ENDIAN) folded = ((folded & 0xff) << 8) | (folded >>> 8);
    sum += folded;
    i += words << 2;
  }
  for (let k = i - offset; i < end; k++, i++) sum += (k & 1) === 0 ? bytes[i] << 8 : bytes[i];
  return sum;
}

/** Ones' complement fold of a sum below 2^53 to 16 bits (end-around carries added back). */
function fold16(sum: number): number {
  let s = sum;
  if (s > 0xffffffff) {
    // Two float folds bring it below 2^22 (a 32-bit fold would leave up to 2^32 + 2^21, and
    // `>>>` would drop bit 32). Multiply-subtract, because float `%` is slow.
    let high = Math.floor(s / 0x10000);
    s = s - high * 0x10000 + high;
    high = Math.floor(s / 0x10000);
    s = s - high * 0x10000 + high;
  }
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16);
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
  return ~fold16(sum) & 0xffff;
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

/**
 * Writes the folded pseudo-header sum (not complemented) into a transport checksum field: the
 * "partial checksum" a NIC with checksum offload completes (virtio-net `VIRTIO_NET_HDR_F_NEEDS_CSUM`).
 *
 * @example
 * ```ts
 * import { writePartialChecksum, completeChecksum, internetChecksum } from "./checksum.ts";
 * const udp = new Uint8Array(12);
 * udp[5] = 12; // length
 * writePartialChecksum(udp, 6, 0x0a000001, 0x0a000002, 17, 12);
 * completeChecksum(udp, 0, 6);
 * ```
 */
export function writePartialChecksum(
  buffer: Uint8Array,
  fieldOffset: number,
  source: number,
  destination: number,
  protocol: number,
  length: number,
): void {
  const folded = (~foldChecksum(pseudoHeaderSum(source, destination, protocol, length))) & 0xffff;
  buffer[fieldOffset] = folded >>> 8;
  buffer[fieldOffset + 1] = folded & 0xff;
}

/**
 * Completes a partial checksum as an offloading NIC would: sums `bytes[start..end)` (the field at
 * `start + fieldOffset` holds the pseudo-header sum) and stores the complement in the field.
 *
 * @example
 * ```ts
 * import { completeChecksum } from "./checksum.ts";
 * completeChecksum(new Uint8Array(20), 0, 16);
 * ```
 */
export function completeChecksum(
  bytes: Uint8Array,
  start: number,
  fieldOffset: number,
  end: number = bytes.length,
): void {
  let sum = foldChecksum(sumWords(bytes, start, end - start, 0));
  // A UDP checksum that computes to zero is sent as all ones (RFC 768); harmless for TCP.
  if (sum === 0) sum = 0xffff;
  bytes[start + fieldOffset] = sum >>> 8;
  bytes[start + fieldOffset + 1] = sum & 0xff;
}
