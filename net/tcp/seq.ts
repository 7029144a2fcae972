/**
 * Sequence number arithmetic modulo 2^32 (RFC 9293 §3.4, RFC 1982 serial numbers): every
 * comparison of sequence numbers in usernet goes through these, so wraparound is handled in one
 * place.
 *
 * @module
 */

/**
 * `a + n` modulo 2^32.
 *
 * @example
 * ```ts
 * import { seqAdd } from "./seq.ts";
 * console.log(seqAdd(0xffffffff, 2)); // 1
 * ```
 */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * The signed distance `b − a` (positive when `b` is after `a`), for |distance| < 2^31.
 *
 * @example
 * ```ts
 * import { seqDiff } from "./seq.ts";
 * console.log(seqDiff(0xfffffff0, 0x10)); // 32
 * ```
 */
export function seqDiff(a: number, b: number): number {
  return (b - a) | 0;
}

/**
 * `a < b` in sequence space.
 *
 * @example
 * ```ts
 * import { seqLt } from "./seq.ts";
 * console.log(seqLt(0xffffffff, 0)); // true
 * ```
 */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/**
 * `a <= b` in sequence space.
 *
 * @example
 * ```ts
 * import { seqLe } from "./seq.ts";
 * console.log(seqLe(5, 5)); // true
 * ```
 */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/**
 * `a > b` in sequence space.
 *
 * @example
 * ```ts
 * import { seqGt } from "./seq.ts";
 * console.log(seqGt(0, 0xffffffff)); // true
 * ```
 */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/**
 * `a >= b` in sequence space.
 *
 * @example
 * ```ts
 * import { seqGe } from "./seq.ts";
 * console.log(seqGe(1, 0xffffffff)); // true
 * ```
 */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/**
 * The later of two sequence numbers.
 *
 * @example
 * ```ts
 * import { seqMax } from "./seq.ts";
 * console.log(seqMax(0xffffffff, 3)); // 3
 * ```
 */
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}

/**
 * The earlier of two sequence numbers.
 *
 * @example
 * ```ts
 * import { seqMin } from "./seq.ts";
 * console.log(seqMin(0xffffffff, 3)); // 4294967295
 * ```
 */
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}

/**
 * Whether `lo <= x < hi` in sequence space.
 *
 * @example
 * ```ts
 * import { seqInWindow } from "./seq.ts";
 * console.log(seqInWindow(2, 0xfffffffe, 10)); // true
 * ```
 */
export function seqInWindow(x: number, lo: number, hi: number): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}
