/**
 * IPv4 and MAC address helpers. Inside the stack an IPv4 address is a uint32 number (fast to
 * compare and mask); at the API it is dotted-quad text.
 *
 * @module
 */

/** A MAC address: 6 bytes. */
export type MacAddress = Uint8Array;

/** The broadcast MAC ff:ff:ff:ff:ff:ff. */
export const BROADCAST_MAC: MacAddress = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** The limited broadcast IPv4 address 255.255.255.255 as a number. */
export const IPV4_BROADCAST = 0xffffffff;

/**
 * Parses dotted-quad IPv4 text into a uint32, or returns `undefined` when it is not one.
 *
 * @example
 * ```ts
 * import { parseIpv4Address } from "./address.ts";
 * console.log(parseIpv4Address("10.0.2.15")); // 167772687
 * ```
 */
export function parseIpv4Address(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

/**
 * Formats a uint32 IPv4 address as dotted-quad text.
 *
 * @example
 * ```ts
 * import { formatIpv4Address } from "./address.ts";
 * console.log(formatIpv4Address(0x0a00020f)); // "10.0.2.15"
 * ```
 */
export function formatIpv4Address(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

/**
 * The netmask for a prefix length, as a uint32.
 *
 * @example
 * ```ts
 * import { prefixMask } from "./address.ts";
 * console.log(prefixMask(24).toString(16)); // "ffffff00"
 * ```
 */
export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/**
 * Parses a MAC address like `52:54:00:12:34:56` (or with `-`), or returns `undefined`.
 *
 * @example
 * ```ts
 * import { parseMac } from "./address.ts";
 * console.log(parseMac("52:54:00:12:34:56")?.[0]); // 82
 * ```
 */
export function parseMac(text: string): MacAddress | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return new Uint8Array(parts.map((p) => parseInt(p, 16)));
}

/**
 * Formats 6 bytes at `offset` as `aa:bb:cc:dd:ee:ff`.
 *
 * @example
 * ```ts
 * import { formatMac } from "./address.ts";
 * console.log(formatMac(new Uint8Array([2, 0, 0, 0, 0, 1]))); // "02:00:00:00:00:01"
 * ```
 */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  const hex: string[] = [];
  for (let i = 0; i < 6; i++) hex.push(bytes[offset + i].toString(16).padStart(2, "0"));
  return hex.join(":");
}

/**
 * Whether 6 bytes at `offsetA` of `a` equal 6 bytes at `offsetB` of `b`.
 *
 * @example
 * ```ts
 * import { macEquals, BROADCAST_MAC } from "./address.ts";
 * console.log(macEquals(BROADCAST_MAC, 0, new Uint8Array(6).fill(255), 0)); // true
 * ```
 */
export function macEquals(a: Uint8Array, offsetA: number, b: Uint8Array, offsetB: number): boolean {
  return a[offsetA] === b[offsetB] && a[offsetA + 1] === b[offsetB + 1] &&
    a[offsetA + 2] === b[offsetB + 2] && a[offsetA + 3] === b[offsetB + 3] &&
    a[offsetA + 4] === b[offsetB + 4] && a[offsetA + 5] === b[offsetB + 5];
}

/**
 * A random locally administered unicast MAC (02:xx:xx:xx:xx:xx).
 *
 * @example
 * ```ts
 * import { randomMac, formatMac } from "./address.ts";
 * console.log(formatMac(randomMac()).startsWith("02:")); // true
 * ```
 */
export function randomMac(): MacAddress {
  const mac = crypto.getRandomValues(new Uint8Array(6));
  mac[0] = 0x02;
  return mac;
}
