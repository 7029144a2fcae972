/**
 * UDP headers (RFC 768).
 *
 * @module
 */
import { foldChecksum, pseudoHeaderSum, sumWords } from "./checksum.ts";
import { type WireError, wireError } from "./errors.ts";
import { PROTOCOL_UDP } from "./ipv4.ts";

/** Bytes in a UDP header. */
export const UDP_HEADER_LENGTH = 8;

/**
 * A zero-copy view of a UDP datagram, trimmed to the header's length field.
 *
 * @example
 * ```ts
 * import { parseUdp, writeUdp, UdpDatagram } from "./udp.ts";
 * const buf = new Uint8Array(12);
 * writeUdp(buf, 0, 0x0a000001, 0x0a000002, 5000, 53, new Uint8Array([1, 2, 3, 4]));
 * const udp = parseUdp(buf, 0x0a000001, 0x0a000002);
 * if (udp instanceof UdpDatagram) console.log(udp.destinationPort); // 53
 * ```
 */
export class UdpDatagram {
  /**
   * Wraps bytes already validated by the parse function (no copy).
   * @param bytes header and payload
   */
  constructor(readonly bytes: Uint8Array) {}
  /** Source port. */
  get sourcePort(): number {
    return (this.bytes[0] << 8) | this.bytes[1];
  }
  /** Destination port. */
  get destinationPort(): number {
    return (this.bytes[2] << 8) | this.bytes[3];
  }
  /** Length field (header and payload). */
  get length(): number {
    return (this.bytes[4] << 8) | this.bytes[5];
  }
  /** Checksum field (0: none sent). */
  get checksum(): number {
    return (this.bytes[6] << 8) | this.bytes[7];
  }
  /** Payload bytes. */
  get payload(): Uint8Array {
    return this.bytes.subarray(UDP_HEADER_LENGTH);
  }
}

/**
 * Validates a UDP datagram (length field, and checksum unless it is zero) against its IPv4
 * source and destination.
 *
 * @example
 * ```ts
 * import { parseUdp } from "./udp.ts";
 * console.log(parseUdp(new Uint8Array(4), 1, 2).constructor.name); // "WireError"
 * ```
 */
export function parseUdp(
  bytes: Uint8Array,
  source: number,
  destination: number,
  verifyChecksum = true,
): UdpDatagram | WireError {
  if (bytes.length < UDP_HEADER_LENGTH) return wireError("udp", "truncated");
  const length = (bytes[4] << 8) | bytes[5];
  if (length < UDP_HEADER_LENGTH) return wireError("udp", "bad-total-length");
  if (length > bytes.length) return wireError("udp", "truncated");
  const datagram = length === bytes.length ? bytes : bytes.subarray(0, length);
  if (verifyChecksum && ((bytes[6] << 8) | bytes[7]) !== 0) {
    const sum = sumWords(
      datagram,
      0,
      length,
      pseudoHeaderSum(source, destination, PROTOCOL_UDP, length),
    );
    if (foldChecksum(sum) !== 0) return wireError("udp", "bad-checksum");
  }
  return new UdpDatagram(datagram);
}

/**
 * Writes a UDP header and payload with its checksum at `offset`; returns the datagram length.
 * When `payload` is omitted the payload is assumed to be in place after the header already.
 *
 * @example
 * ```ts
 * import { writeUdp } from "./udp.ts";
 * const n = writeUdp(new Uint8Array(20), 0, 1, 2, 1000, 2000, new Uint8Array(12));
 * console.log(n); // 20
 * ```
 */
export function writeUdp(
  buffer: Uint8Array,
  offset: number,
  source: number,
  destination: number,
  sourcePort: number,
  destinationPort: number,
  payload: Uint8Array | number,
  skipChecksum = false,
): number {
  const payloadLength = typeof payload === "number" ? payload : payload.length;
  const length = UDP_HEADER_LENGTH + payloadLength;
  buffer[offset] = sourcePort >>> 8;
  buffer[offset + 1] = sourcePort & 0xff;
  buffer[offset + 2] = destinationPort >>> 8;
  buffer[offset + 3] = destinationPort & 0xff;
  buffer[offset + 4] = length >>> 8;
  buffer[offset + 5] = length & 0xff;
  buffer[offset + 6] = 0;
  buffer[offset + 7] = 0;
  if (typeof payload !== "number") buffer.set(payload, offset + UDP_HEADER_LENGTH);
  if (!skipChecksum) {
    let sum = foldChecksum(
      sumWords(buffer, offset, length, pseudoHeaderSum(source, destination, PROTOCOL_UDP, length)),
    );
    if (sum === 0) sum = 0xffff; // RFC 768: a computed zero is sent as all ones
    buffer[offset + 6] = sum >>> 8;
    buffer[offset + 7] = sum & 0xff;
  }
  return length;
}
