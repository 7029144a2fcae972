/**
 * ARP for IPv4 over Ethernet (RFC 826).
 *
 * @module
 */
import { type WireError, wireError } from "./errors.ts";

/** Bytes in an Ethernet/IPv4 ARP packet. */
export const ARP_PACKET_LENGTH = 28;
/** ARP request operation. */
export const ARP_REQUEST = 1;
/** ARP reply operation. */
export const ARP_REPLY = 2;

/**
 * A zero-copy view of an Ethernet/IPv4 ARP packet.
 *
 * @example
 * ```ts
 * import { parseArp, writeArp, ArpPacket, ARP_REQUEST } from "./arp.ts";
 * const buf = new Uint8Array(28);
 * writeArp(buf, 0, ARP_REQUEST, new Uint8Array(6), 0x0a000001, new Uint8Array(6), 0x0a000002);
 * const arp = parseArp(buf);
 * if (arp instanceof ArpPacket) console.log(arp.targetProtocolAddress === 0x0a000002); // true
 * ```
 */
export class ArpPacket {
  readonly #view: DataView;
  /**
   * Wraps bytes already validated by the parse function (no copy).
   * @param bytes the ARP packet
   */
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Operation: 1 request, 2 reply. */
  get operation(): number {
    return this.#view.getUint16(6);
  }
  /** Sender MAC (view). */
  get senderHardwareAddress(): Uint8Array {
    return this.bytes.subarray(8, 14);
  }
  /** Sender IPv4 address (uint32). */
  get senderProtocolAddress(): number {
    return this.#view.getUint32(14);
  }
  /** Target MAC (view). */
  get targetHardwareAddress(): Uint8Array {
    return this.bytes.subarray(18, 24);
  }
  /** Target IPv4 address (uint32). */
  get targetProtocolAddress(): number {
    return this.#view.getUint32(24);
  }
}

/**
 * Validates an Ethernet/IPv4 ARP packet.
 *
 * @example
 * ```ts
 * import { parseArp } from "./arp.ts";
 * console.log(parseArp(new Uint8Array(10)).constructor.name); // "WireError"
 * ```
 */
export function parseArp(bytes: Uint8Array): ArpPacket | WireError {
  if (bytes.length < ARP_PACKET_LENGTH) return wireError("arp", "truncated");
  // Hardware type 1 (Ethernet), protocol 0x0800, address lengths 6 and 4.
  if (
    bytes[0] !== 0 || bytes[1] !== 1 || bytes[2] !== 0x08 || bytes[3] !== 0 || bytes[4] !== 6 ||
    bytes[5] !== 4
  ) return wireError("arp", "unsupported");
  const packet = new ArpPacket(bytes.subarray(0, ARP_PACKET_LENGTH));
  const op = packet.operation;
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return wireError("arp", "unsupported");
  return packet;
}

/**
 * Writes an Ethernet/IPv4 ARP packet at `offset`; returns its length (28).
 *
 * @example
 * ```ts
 * import { writeArp, ARP_REPLY } from "./arp.ts";
 * writeArp(new Uint8Array(28), 0, ARP_REPLY, new Uint8Array(6), 1, new Uint8Array(6), 2);
 * ```
 */
export function writeArp(
  buffer: Uint8Array,
  offset: number,
  operation: number,
  senderMac: Uint8Array,
  senderAddress: number,
  targetMac: Uint8Array,
  targetAddress: number,
): number {
  const view = new DataView(buffer.buffer, buffer.byteOffset + offset, ARP_PACKET_LENGTH);
  view.setUint16(0, 1);
  view.setUint16(2, 0x0800);
  view.setUint8(4, 6);
  view.setUint8(5, 4);
  view.setUint16(6, operation);
  buffer.set(senderMac.subarray(0, 6), offset + 8);
  view.setUint32(14, senderAddress);
  buffer.set(targetMac.subarray(0, 6), offset + 18);
  view.setUint32(24, targetAddress);
  return ARP_PACKET_LENGTH;
}
