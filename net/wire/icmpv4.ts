/**
 * ICMPv4 messages (RFC 792): echo, destination unreachable, time exceeded.
 *
 * @module
 */
import { internetChecksum } from "./checksum.ts";
import { type WireError, wireError } from "./errors.ts";

/** Bytes in an ICMP header (type, code, checksum, four bytes of rest-of-header). */
export const ICMP_HEADER_LENGTH = 8;
/** Echo reply type. */
export const ICMP_ECHO_REPLY = 0;
/** Destination unreachable type. */
export const ICMP_DESTINATION_UNREACHABLE = 3;
/** Echo request type. */
export const ICMP_ECHO_REQUEST = 8;
/** Time exceeded type. */
export const ICMP_TIME_EXCEEDED = 11;
/** Parameter problem type. */
export const ICMP_PARAMETER_PROBLEM = 12;

/** Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1). */
export const UnreachableCode = {
  net: 0,
  host: 1,
  protocol: 2,
  port: 3,
  fragmentationNeeded: 4,
  sourceRouteFailed: 5,
  adminProhibited: 13,
} as const;

/**
 * A zero-copy view of an ICMPv4 message.
 *
 * @example
 * ```ts
 * import { parseIcmpv4, writeIcmpEcho, IcmpMessage, ICMP_ECHO_REQUEST } from "./icmpv4.ts";
 * const buf = new Uint8Array(16);
 * writeIcmpEcho(buf, 0, ICMP_ECHO_REQUEST, 0x1234, 1, new Uint8Array(8));
 * const msg = parseIcmpv4(buf);
 * if (msg instanceof IcmpMessage) console.log(msg.identifier, msg.sequence); // 4660 1
 * ```
 */
export class IcmpMessage {
  readonly #view: DataView;
  /**
   * Wraps bytes already validated by the parse function (no copy).
   * @param bytes the whole ICMP message
   */
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Message type. */
  get type(): number {
    return this.bytes[0];
  }
  /** Message code. */
  get code(): number {
    return this.bytes[1];
  }
  /** Echo identifier. */
  get identifier(): number {
    return this.#view.getUint16(4);
  }
  /** Echo sequence number. */
  get sequence(): number {
    return this.#view.getUint16(6);
  }
  /** Next-hop MTU of a fragmentation-needed message (RFC 1191). */
  get nextHopMtu(): number {
    return this.#view.getUint16(6);
  }
  /** Bytes after the 8-byte header: echo data, or the invoking packet of an error. */
  get payload(): Uint8Array {
    return this.bytes.subarray(ICMP_HEADER_LENGTH);
  }
  /** Whether this is an error message carrying an invoking packet. */
  get isError(): boolean {
    const t = this.type;
    return t === ICMP_DESTINATION_UNREACHABLE || t === ICMP_TIME_EXCEEDED ||
      t === ICMP_PARAMETER_PROBLEM;
  }
}

/**
 * Validates an ICMPv4 message (length and checksum).
 *
 * @example
 * ```ts
 * import { parseIcmpv4 } from "./icmpv4.ts";
 * console.log(parseIcmpv4(new Uint8Array(4)).constructor.name); // "WireError"
 * ```
 */
export function parseIcmpv4(bytes: Uint8Array, verifyChecksum = true): IcmpMessage | WireError {
  if (bytes.length < ICMP_HEADER_LENGTH) return wireError("icmp", "truncated");
  if (verifyChecksum && internetChecksum(bytes) !== 0) return wireError("icmp", "bad-checksum");
  return new IcmpMessage(bytes);
}

/**
 * Writes an echo request or reply with its checksum; returns the message length.
 *
 * @example
 * ```ts
 * import { writeIcmpEcho, ICMP_ECHO_REPLY } from "./icmpv4.ts";
 * const n = writeIcmpEcho(new Uint8Array(64), 0, ICMP_ECHO_REPLY, 1, 2, new Uint8Array(56));
 * console.log(n); // 64
 * ```
 */
export function writeIcmpEcho(
  buffer: Uint8Array,
  offset: number,
  type: number,
  identifier: number,
  sequence: number,
  data: Uint8Array,
): number {
  const length = ICMP_HEADER_LENGTH + data.length;
  buffer[offset] = type;
  buffer[offset + 1] = 0;
  buffer[offset + 2] = 0;
  buffer[offset + 3] = 0;
  buffer[offset + 4] = identifier >>> 8;
  buffer[offset + 5] = identifier & 0xff;
  buffer[offset + 6] = sequence >>> 8;
  buffer[offset + 7] = sequence & 0xff;
  buffer.set(data, offset + ICMP_HEADER_LENGTH);
  const sum = internetChecksum(buffer, offset, length);
  buffer[offset + 2] = sum >>> 8;
  buffer[offset + 3] = sum & 0xff;
  return length;
}

/**
 * Writes an ICMP error (destination unreachable, time exceeded) quoting the invoking packet's
 * IP header and first 8 payload bytes (RFC 792); returns the message length.
 *
 * @example
 * ```ts
 * import { writeIcmpError, ICMP_DESTINATION_UNREACHABLE, UnreachableCode } from "./icmpv4.ts";
 * const quoted = new Uint8Array(28);
 * const n = writeIcmpError(new Uint8Array(64), 0, ICMP_DESTINATION_UNREACHABLE,
 *   UnreachableCode.port, 0, quoted);
 * console.log(n); // 36
 * ```
 */
export function writeIcmpError(
  buffer: Uint8Array,
  offset: number,
  type: number,
  code: number,
  restOfHeader: number,
  invokingPacket: Uint8Array,
): number {
  const length = ICMP_HEADER_LENGTH + invokingPacket.length;
  buffer[offset] = type;
  buffer[offset + 1] = code;
  buffer[offset + 2] = 0;
  buffer[offset + 3] = 0;
  buffer[offset + 4] = (restOfHeader >>> 24) & 0xff;
  buffer[offset + 5] = (restOfHeader >>> 16) & 0xff;
  buffer[offset + 6] = (restOfHeader >>> 8) & 0xff;
  buffer[offset + 7] = restOfHeader & 0xff;
  buffer.set(invokingPacket, offset + ICMP_HEADER_LENGTH);
  const sum = internetChecksum(buffer, offset, length);
  buffer[offset + 2] = sum >>> 8;
  buffer[offset + 3] = sum & 0xff;
  return length;
}
