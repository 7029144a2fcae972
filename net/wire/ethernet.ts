/**
 * Ethernet II frames (IEEE 802.3 with an EtherType): destination, source, type, payload.
 *
 * @module
 */
import { type WireError, wireError } from "./errors.ts";

/** Bytes in an Ethernet II header. */
export const ETHERNET_HEADER_LENGTH = 14;
/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** EtherType of an 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;

/**
 * A zero-copy view of an Ethernet II frame.
 *
 * @example
 * ```ts
 * import { parseEthernet, EthernetFrame } from "./ethernet.ts";
 * const frame = parseEthernet(new Uint8Array(60));
 * if (frame instanceof EthernetFrame) console.log(frame.etherType); // 0
 * ```
 */
export class EthernetFrame {
  /**
   * Wraps bytes already validated by the parse function (no copy).
   * @param bytes the whole frame, header first
   */
  constructor(readonly bytes: Uint8Array) {}
  /** Destination MAC (a view, not a copy). */
  get destination(): Uint8Array {
    return this.bytes.subarray(0, 6);
  }
  /** Source MAC (a view, not a copy). */
  get source(): Uint8Array {
    return this.bytes.subarray(6, 12);
  }
  /** EtherType. */
  get etherType(): number {
    return (this.bytes[12] << 8) | this.bytes[13];
  }
  /** Whether the destination is a group (multicast or broadcast) address. */
  get isGroupAddressed(): boolean {
    return (this.bytes[0] & 1) === 1;
  }
  /** Bytes after the header. */
  get payload(): Uint8Array {
    return this.bytes.subarray(ETHERNET_HEADER_LENGTH);
  }
}

/**
 * Validates an Ethernet II frame and returns a view of it.
 *
 * @example
 * ```ts
 * import { parseEthernet } from "./ethernet.ts";
 * console.log(parseEthernet(new Uint8Array(4)).constructor.name); // "WireError"
 * ```
 */
export function parseEthernet(bytes: Uint8Array): EthernetFrame | WireError {
  if (bytes.length < ETHERNET_HEADER_LENGTH) return wireError("ethernet", "truncated");
  const frame = new EthernetFrame(bytes);
  if (frame.etherType < 0x0600) return wireError("ethernet", "unsupported"); // 802.3 length field
  return frame;
}

/**
 * Writes an Ethernet II header at `offset` and returns its length (14).
 *
 * @example
 * ```ts
 * import { writeEthernetHeader, ETHERTYPE_ARP } from "./ethernet.ts";
 * import { BROADCAST_MAC } from "./address.ts";
 * const buf = new Uint8Array(60);
 * writeEthernetHeader(buf, 0, BROADCAST_MAC, new Uint8Array([2, 0, 0, 0, 0, 1]), ETHERTYPE_ARP);
 * ```
 */
export function writeEthernetHeader(
  buffer: Uint8Array,
  offset: number,
  destination: Uint8Array,
  source: Uint8Array,
  etherType: number,
): number {
  buffer.set(destination.subarray(0, 6), offset);
  buffer.set(source.subarray(0, 6), offset + 6);
  buffer[offset + 12] = etherType >>> 8;
  buffer[offset + 13] = etherType & 0xff;
  return ETHERNET_HEADER_LENGTH;
}
