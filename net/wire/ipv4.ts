/**
 * IPv4 headers (RFC 791).
 *
 * @module
 */
import { internetChecksum } from "./checksum.ts";
import { type WireError, wireError } from "./errors.ts";

/** Bytes in an IPv4 header without options. */
export const IPV4_HEADER_LENGTH = 20;
/** IP protocol number of ICMP. */
export const PROTOCOL_ICMP = 1;
/** IP protocol number of TCP. */
export const PROTOCOL_TCP = 6;
/** IP protocol number of UDP. */
export const PROTOCOL_UDP = 17;

/**
 * A zero-copy view of an IPv4 packet. `bytes` ends at the header's total length, so Ethernet
 * padding is already cut off.
 *
 * @example
 * ```ts
 * import { parseIpv4, writeIpv4Header, Ipv4Packet, PROTOCOL_UDP } from "./ipv4.ts";
 * const buf = new Uint8Array(28);
 * writeIpv4Header(buf, 0, { source: 0x0a000001, destination: 0x0a000002, protocol: PROTOCOL_UDP,
 *   payloadLength: 8, identification: 1, ttl: 64 });
 * const ip = parseIpv4(buf);
 * if (ip instanceof Ipv4Packet) console.log(ip.payload.length); // 8
 * ```
 */
export class Ipv4Packet {
  readonly #view: DataView;
  /** Set by the interface when the NIC already validated the transport checksum. */
  checksumValid = false;
  /**
   * Wraps bytes already validated by the parse function (no copy).
   * @param bytes the packet, exactly `totalLength` bytes
   */
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Header length in bytes (IHL × 4). */
  get headerLength(): number {
    return (this.bytes[0] & 0x0f) * 4;
  }
  /** Differentiated services code point. */
  get dscp(): number {
    return this.bytes[1] >>> 2;
  }
  /** Explicit congestion notification bits. */
  get ecn(): number {
    return this.bytes[1] & 3;
  }
  /** Total length (header and payload). */
  get totalLength(): number {
    return this.#view.getUint16(2);
  }
  /** Identification, for fragment reassembly. */
  get identification(): number {
    return this.#view.getUint16(4);
  }
  /** Don't Fragment flag. */
  get dontFragment(): boolean {
    return (this.bytes[6] & 0x40) !== 0;
  }
  /** More Fragments flag. */
  get moreFragments(): boolean {
    return (this.bytes[6] & 0x20) !== 0;
  }
  /** Fragment offset in bytes. */
  get fragmentOffset(): number {
    return (this.#view.getUint16(6) & 0x1fff) * 8;
  }
  /** Whether this packet is a fragment (offset non-zero or more fragments follow). */
  get isFragment(): boolean {
    return (this.#view.getUint16(6) & 0x3fff) !== 0;
  }
  /** Time to live. */
  get ttl(): number {
    return this.bytes[8];
  }
  /** Payload protocol number. */
  get protocol(): number {
    return this.bytes[9];
  }
  /** Header checksum field. */
  get checksum(): number {
    return this.#view.getUint16(10);
  }
  /** Source address (uint32). */
  get source(): number {
    return this.#view.getUint32(12);
  }
  /** Destination address (uint32). */
  get destination(): number {
    return this.#view.getUint32(16);
  }
  /** Options bytes (empty when the header is 20 bytes). */
  get options(): Uint8Array {
    return this.bytes.subarray(IPV4_HEADER_LENGTH, this.headerLength);
  }
  /** The header, options included. */
  get header(): Uint8Array {
    return this.bytes.subarray(0, this.headerLength);
  }
  /** Payload bytes. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
}

/**
 * Validates an IPv4 header (version, lengths, checksum) and returns a view trimmed to the
 * total length.
 *
 * @example
 * ```ts
 * import { parseIpv4 } from "./ipv4.ts";
 * console.log(parseIpv4(new Uint8Array(20)).constructor.name); // "WireError" (version 0)
 * ```
 */
export function parseIpv4(bytes: Uint8Array, verifyChecksum = true): Ipv4Packet | WireError {
  if (bytes.length < IPV4_HEADER_LENGTH) return wireError("ipv4", "truncated");
  if ((bytes[0] >>> 4) !== 4) return wireError("ipv4", "bad-version");
  const headerLength = (bytes[0] & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH) return wireError("ipv4", "bad-header-length");
  if (headerLength > bytes.length) return wireError("ipv4", "truncated");
  const totalLength = (bytes[2] << 8) | bytes[3];
  if (totalLength < headerLength) return wireError("ipv4", "bad-total-length");
  if (totalLength > bytes.length) return wireError("ipv4", "truncated");
  if (verifyChecksum && internetChecksum(bytes, 0, headerLength) !== 0) {
    return wireError("ipv4", "bad-checksum");
  }
  return new Ipv4Packet(totalLength === bytes.length ? bytes : bytes.subarray(0, totalLength));
}

/** Fields of an IPv4 header to write. */
export interface Ipv4HeaderFields {
  /** Source address (uint32). */
  source: number;
  /** Destination address (uint32). */
  destination: number;
  /** Payload protocol number. */
  protocol: number;
  /** Bytes of payload following the header. */
  payloadLength: number;
  /** Identification field. */
  identification: number;
  /** Time to live. */
  ttl: number;
  /** Don't Fragment. */
  dontFragment?: boolean;
  /** More Fragments. */
  moreFragments?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset?: number;
  /** DSCP and ECN byte. */
  typeOfService?: number;
  /** Leave the checksum zero (the NIC computes it). */
  skipChecksum?: boolean;
}

/**
 * Writes a 20-byte IPv4 header (no options) with its checksum at `offset`; returns 20.
 *
 * @example
 * ```ts
 * import { writeIpv4Header, PROTOCOL_ICMP } from "./ipv4.ts";
 * const buf = new Uint8Array(28);
 * writeIpv4Header(buf, 0, { source: 1, destination: 2, protocol: PROTOCOL_ICMP,
 *   payloadLength: 8, identification: 7, ttl: 64, dontFragment: true });
 * ```
 */
export function writeIpv4Header(buffer: Uint8Array, offset: number, f: Ipv4HeaderFields): number {
  const o = offset;
  const total = IPV4_HEADER_LENGTH + f.payloadLength;
  const flagsAndOffset = (f.dontFragment ? 0x4000 : 0) | (f.moreFragments ? 0x2000 : 0) |
    ((f.fragmentOffset ?? 0) >>> 3);
  const id = f.identification & 0xffff;
  buffer[o] = 0x45;
  buffer[o + 1] = f.typeOfService ?? 0;
  buffer[o + 2] = total >>> 8;
  buffer[o + 3] = total & 0xff;
  buffer[o + 4] = id >>> 8;
  buffer[o + 5] = id & 0xff;
  buffer[o + 6] = flagsAndOffset >>> 8;
  buffer[o + 7] = flagsAndOffset & 0xff;
  buffer[o + 8] = f.ttl;
  buffer[o + 9] = f.protocol;
  buffer[o + 10] = 0;
  buffer[o + 11] = 0;
  const s = f.source;
  const d = f.destination;
  buffer[o + 12] = s >>> 24;
  buffer[o + 13] = (s >>> 16) & 0xff;
  buffer[o + 14] = (s >>> 8) & 0xff;
  buffer[o + 15] = s & 0xff;
  buffer[o + 16] = d >>> 24;
  buffer[o + 17] = (d >>> 16) & 0xff;
  buffer[o + 18] = (d >>> 8) & 0xff;
  buffer[o + 19] = d & 0xff;
  if (!f.skipChecksum) {
    // Ten 16-bit words, summed inline: cheaper than a general checksum call for 20 bytes.
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += (buffer[o + i] << 8) | buffer[o + i + 1];
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    const checksum = ~sum & 0xffff;
    buffer[o + 10] = checksum >>> 8;
    buffer[o + 11] = checksum & 0xff;
  }
  return IPV4_HEADER_LENGTH;
}
