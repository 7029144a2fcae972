/**
 * IPv4 and IPv6 address helpers shared by the DNS, DHCP and SNTP cores.
 *
 * IPv4 addresses are unsigned 32-bit numbers internally (`0x7f000001` is 127.0.0.1) and
 * "a.b.c.d" strings at the edges.
 *
 * @module
 */
import { formatIpv4Address, parseIpv4Address, prefixMask } from "../wire/address.ts";

/** Thrown when an address string or byte string is not a valid address. */
export class InvalidAddress extends Error {
  override name = "InvalidAddress";
}

/** Formats a 32-bit unsigned IPv4 address as "a.b.c.d" (the wire module's formatter). */
export const formatIpv4: (address: number) => string = formatIpv4Address;

/** Parses "a.b.c.d" (decimal, no leading zeros beyond "0") into a 32-bit unsigned number. */
export function parseIpv4(text: string): number {
  const address = parseIpv4Address(text);
  if (address === undefined) {
    throw new InvalidAddress(`"${text}" is not a dotted-quad IPv4 address`);
  }
  return address >>> 0;
}

/** Reads a big-endian IPv4 address from `bytes` at `offset`. */
export function readIpv4(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) |
    bytes[offset + 3]) >>> 0;
}

/** Writes a big-endian IPv4 address into `bytes` at `offset`. */
export function writeIpv4(bytes: Uint8Array, offset: number, address: number): void {
  bytes[offset] = address >>> 24;
  bytes[offset + 1] = (address >>> 16) & 255;
  bytes[offset + 2] = (address >>> 8) & 255;
  bytes[offset + 3] = address & 255;
}

/** Prefix length of a contiguous netmask (255.255.255.0 -> 24); throws for a non-contiguous one. */
export function maskToPrefixLength(mask: number): number {
  const inverted = ~mask >>> 0;
  if ((inverted & (inverted + 1)) !== 0) {
    throw new InvalidAddress(`${formatIpv4(mask)} is not a contiguous netmask`);
  }
  return inverted === 0 ? 32 : Math.clz32(inverted);
}

/** Netmask of a prefix length (24 -> 255.255.255.0). */
export function prefixLengthToMask(prefixLength: number): number {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new InvalidAddress(`prefix length ${prefixLength} is not in 0..32`);
  }
  return prefixMask(prefixLength);
}

/** Formats a 16-byte IPv6 address in the RFC 5952 canonical text form. */
export function formatIpv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) {
    throw new InvalidAddress(`IPv6 address needs 16 bytes, got ${bytes.length}`);
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // RFC 5952 §4.2: shorten the longest run (first if tied) of two or more zero groups.
  let bestStart = -1, bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** Parses IPv6 text (with "::" and an optional trailing dotted quad) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array {
  const fail = () => new InvalidAddress(`"${text}" is not an IPv6 address`);
  const halves = text.split("::");
  if (halves.length > 2) throw fail();
  const toGroups = (part: string, allowQuad: boolean): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    const pieces = part.split(":");
    pieces.forEach((piece, index) => {
      if (allowQuad && index === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        throw fail();
      }
    });
    return out;
  };
  let groups: number[];
  if (halves.length === 2) {
    const head = toGroups(halves[0], false);
    const tail = toGroups(halves[1], true);
    if (head.length + tail.length > 7) throw fail();
    groups = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    groups = toGroups(text, true);
    if (groups.length !== 8) throw fail();
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 255;
  });
  return bytes;
}
