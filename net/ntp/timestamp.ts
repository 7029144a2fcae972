/**
 * NTP 64-bit timestamps (RFC 5905 §6): 32 bits of seconds since 1900-01-01 and 32 bits of
 * fraction, with era handling for the 2036 rollover (RFC 4330 §3).
 *
 * Times on the usernet side are Unix milliseconds (may be fractional).
 *
 * @module
 */

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;
const ERA_SECONDS = 2 ** 32;
const FRACTION = 2 ** 32;

/**
 * An NTP timestamp as its two 32-bit halves.
 *
 * @example
 * ```ts
 * import type { NtpTimestamp } from "./timestamp.ts";
 * const zero: NtpTimestamp = { seconds: 0, fraction: 0 };
 * ```
 */
export interface NtpTimestamp {
  /** Seconds since 1900-01-01 00:00:00 UTC, modulo 2^32 (the era is not carried). */
  seconds: number;
  /** Fraction of a second in units of 2^-32 s. */
  fraction: number;
}

/**
 * Converts Unix milliseconds to an NTP timestamp (era folded away, RFC 5905 §6).
 *
 * @example
 * ```ts
 * import { unixMsToNtp } from "./timestamp.ts";
 * const t = unixMsToNtp(1500);
 * console.assert(t.seconds === 2_208_988_801 && t.fraction === 2 ** 31);
 * ```
 */
export function unixMsToNtp(unixMs: number): NtpTimestamp {
  // Split before scaling so the fraction keeps the input's precision.
  const unixSeconds = Math.floor(unixMs / 1000);
  let fraction = Math.round(((unixMs - unixSeconds * 1000) / 1000) * FRACTION);
  let seconds = unixSeconds + NTP_UNIX_OFFSET_SECONDS;
  if (fraction >= FRACTION) {
    fraction -= FRACTION;
    seconds += 1;
  }
  seconds = ((seconds % ERA_SECONDS) + ERA_SECONDS) % ERA_SECONDS;
  return { seconds, fraction };
}

/**
 * Converts an NTP timestamp to Unix milliseconds. The era is the one that puts the result
 * closest to `pivotUnixMs` (e.g. the local clock); without a pivot, the RFC 4330 §3 rule applies:
 * seconds with the top bit set are in era 0 (1968-2036), otherwise era 1 (2036-2104).
 *
 * @example
 * ```ts
 * import { ntpToUnixMs } from "./timestamp.ts";
 * // 2036-02-07T06:28:16Z is the start of era 1: seconds wrap to 0.
 * console.assert(ntpToUnixMs({ seconds: 0, fraction: 0 }) === 2_085_978_496_000);
 * ```
 */
export function ntpToUnixMs(ts: NtpTimestamp, pivotUnixMs?: number): number {
  let era: number;
  if (pivotUnixMs === undefined) {
    era = ts.seconds >= 0x80000000 ? 0 : 1;
  } else {
    const pivotNtp = pivotUnixMs / 1000 + NTP_UNIX_OFFSET_SECONDS;
    const pivotEra = Math.floor(pivotNtp / ERA_SECONDS);
    const within = pivotNtp - pivotEra * ERA_SECONDS;
    // Choose the era for which |result - pivot| < 2^31 s.
    const diff = ts.seconds - within;
    era = diff > 2 ** 31 ? pivotEra - 1 : diff < -(2 ** 31) ? pivotEra + 1 : pivotEra;
  }
  const seconds = era * ERA_SECONDS + ts.seconds - NTP_UNIX_OFFSET_SECONDS;
  return seconds * 1000 + (ts.fraction / FRACTION) * 1000;
}

/**
 * Reads a big-endian timestamp at `offset`.
 *
 * @example
 * ```ts
 * import { readTimestamp } from "./timestamp.ts";
 * const t = readTimestamp(Uint8Array.of(0, 0, 0, 1, 0x80, 0, 0, 0), 0);
 * console.assert(t.seconds === 1 && t.fraction === 2 ** 31);
 * ```
 */
export function readTimestamp(bytes: Uint8Array, offset: number): NtpTimestamp {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8);
  return { seconds: view.getUint32(0), fraction: view.getUint32(4) };
}

/**
 * Writes a big-endian timestamp at `offset`.
 *
 * @example
 * ```ts
 * import { writeTimestamp } from "./timestamp.ts";
 * const b = new Uint8Array(8);
 * writeTimestamp(b, 0, { seconds: 1, fraction: 2 });
 * console.assert(b[3] === 1 && b[7] === 2);
 * ```
 */
export function writeTimestamp(bytes: Uint8Array, offset: number, ts: NtpTimestamp): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8);
  view.setUint32(0, ts.seconds >>> 0);
  view.setUint32(4, ts.fraction >>> 0);
}

/**
 * Whether a timestamp is all zeros (RFC 5905 uses zero for "unknown").
 *
 * @example
 * ```ts
 * import { isZeroTimestamp } from "./timestamp.ts";
 * console.assert(isZeroTimestamp({ seconds: 0, fraction: 0 }));
 * ```
 */
export function isZeroTimestamp(ts: NtpTimestamp): boolean {
  return ts.seconds === 0 && ts.fraction === 0;
}
