/**
 * TCP headers and options (RFC 9293 §3.1; MSS, RFC 7323 window scale and timestamps,
 * RFC 2018 SACK).
 *
 * @module
 */
import { foldChecksum, pseudoHeaderSum, sumWords } from "./checksum.ts";
import { type WireError, wireError } from "./errors.ts";
import { PROTOCOL_TCP } from "./ipv4.ts";

/** Bytes in a TCP header without options. */
export const TCP_HEADER_LENGTH = 20;

/** TCP flag bits. */
export const TcpFlags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** Option kinds. */
const OPTION_END = 0;
const OPTION_NOP = 1;
const OPTION_MSS = 2;
const OPTION_WINDOW_SCALE = 3;
const OPTION_SACK_PERMITTED = 4;
const OPTION_SACK = 5;
const OPTION_TIMESTAMPS = 8;

/** A SACK block: [left edge, right edge) in sequence space. */
export type SackBlock = [left: number, right: number];

/** TCP options of one segment. */
export interface TcpOptions {
  /** Maximum segment size (SYN only). */
  maxSegmentSize?: number;
  /** Window scale shift count (SYN only), clamped to 14 (RFC 7323 §2.3). */
  windowScale?: number;
  /** SACK permitted (SYN only). */
  sackPermitted?: boolean;
  /** SACK blocks (at most four). */
  sackBlocks?: SackBlock[];
  /** Timestamp value and echo reply. */
  timestamp?: { value: number; echoReply: number };
}

/**
 * A zero-copy view of a TCP segment.
 *
 * @example
 * ```ts
 * import { parseTcp, writeTcp, TcpSegment, TcpFlags } from "./tcp.ts";
 * const buf = new Uint8Array(64);
 * const n = writeTcp(buf, 0, 1, 2, { sourcePort: 40000, destinationPort: 80, sequence: 1000,
 *   acknowledgment: 0, flags: TcpFlags.SYN, window: 65535, options: { maxSegmentSize: 1460 } },
 *   new Uint8Array(0));
 * const seg = parseTcp(buf.subarray(0, n), 1, 2);
 * if (seg instanceof TcpSegment) console.log(seg.sequence, seg.isSyn); // 1000 true
 * ```
 */
export class TcpSegment {
  readonly #view: DataView;
  /**
   * Wraps bytes already validated by the parse function (no copy).
   * @param bytes header and payload
   */
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Source port. */
  get sourcePort(): number {
    return this.#view.getUint16(0);
  }
  /** Destination port. */
  get destinationPort(): number {
    return this.#view.getUint16(2);
  }
  /** Sequence number. */
  get sequence(): number {
    return this.#view.getUint32(4);
  }
  /** Acknowledgment number. */
  get acknowledgment(): number {
    return this.#view.getUint32(8);
  }
  /** Header length in bytes (data offset × 4). */
  get headerLength(): number {
    return (this.bytes[12] >>> 4) * 4;
  }
  /** Flag bits (see {@linkcode TcpFlags}). */
  get flags(): number {
    return this.bytes[13];
  }
  /** SYN set. */
  get isSyn(): boolean {
    return (this.bytes[13] & TcpFlags.SYN) !== 0;
  }
  /** FIN set. */
  get isFin(): boolean {
    return (this.bytes[13] & TcpFlags.FIN) !== 0;
  }
  /** RST set. */
  get isRst(): boolean {
    return (this.bytes[13] & TcpFlags.RST) !== 0;
  }
  /** ACK set. */
  get isAck(): boolean {
    return (this.bytes[13] & TcpFlags.ACK) !== 0;
  }
  /** Window field (unscaled). */
  get window(): number {
    return this.#view.getUint16(14);
  }
  /** Checksum field. */
  get checksum(): number {
    return this.#view.getUint16(16);
  }
  /** Urgent pointer. */
  get urgentPointer(): number {
    return this.#view.getUint16(18);
  }
  /** Raw option bytes. */
  get optionBytes(): Uint8Array {
    return this.bytes.subarray(TCP_HEADER_LENGTH, this.headerLength);
  }
  /** Payload bytes. */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
  /** Sequence space the segment occupies: payload length plus one each for SYN and FIN. */
  get sequenceLength(): number {
    const f = this.bytes[13];
    return this.bytes.length - this.headerLength + (f & TcpFlags.SYN ? 1 : 0) +
      (f & TcpFlags.FIN ? 1 : 0);
  }
}

/**
 * Validates a TCP segment (header length, checksum against the IPv4 pseudo-header).
 *
 * @example
 * ```ts
 * import { parseTcp } from "./tcp.ts";
 * console.log(parseTcp(new Uint8Array(12), 1, 2).constructor.name); // "WireError"
 * ```
 */
export function parseTcp(
  bytes: Uint8Array,
  source: number,
  destination: number,
  verifyChecksum = true,
): TcpSegment | WireError {
  if (bytes.length < TCP_HEADER_LENGTH) return wireError("tcp", "truncated");
  const headerLength = (bytes[12] >>> 4) * 4;
  if (headerLength < TCP_HEADER_LENGTH) return wireError("tcp", "bad-header-length");
  if (headerLength > bytes.length) return wireError("tcp", "truncated");
  if (verifyChecksum) {
    const sum = sumWords(
      bytes,
      0,
      bytes.length,
      pseudoHeaderSum(source, destination, PROTOCOL_TCP, bytes.length),
    );
    if (foldChecksum(sum) !== 0) return wireError("tcp", "bad-checksum");
  }
  return new TcpSegment(bytes);
}

/**
 * Parses TCP option bytes. Unknown options are skipped by their length; malformed lengths are an
 * error (RFC 9293 §3.1 requires handling unknown options, not bad ones).
 *
 * @example
 * ```ts
 * import { parseTcpOptions } from "./tcp.ts";
 * const opts = parseTcpOptions(new Uint8Array([2, 4, 5, 0xb4, 1, 3, 3, 7]));
 * console.log(opts); // { maxSegmentSize: 1460, windowScale: 7 }
 * ```
 */
export function parseTcpOptions(bytes: Uint8Array): TcpOptions | WireError {
  const options: TcpOptions = {};
  let i = 0;
  while (i < bytes.length) {
    const kind = bytes[i];
    if (kind === OPTION_END) break;
    if (kind === OPTION_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= bytes.length) return wireError("tcp", "bad-option");
    const length = bytes[i + 1];
    if (length < 2 || i + length > bytes.length) return wireError("tcp", "bad-option");
    switch (kind) {
      case OPTION_MSS:
        if (length !== 4) return wireError("tcp", "bad-option");
        options.maxSegmentSize = (bytes[i + 2] << 8) | bytes[i + 3];
        break;
      case OPTION_WINDOW_SCALE:
        if (length !== 3) return wireError("tcp", "bad-option");
        options.windowScale = Math.min(bytes[i + 2], 14);
        break;
      case OPTION_SACK_PERMITTED:
        if (length !== 2) return wireError("tcp", "bad-option");
        options.sackPermitted = true;
        break;
      case OPTION_SACK: {
        if ((length - 2) % 8 !== 0 || length < 10) return wireError("tcp", "bad-option");
        const blocks: SackBlock[] = [];
        for (let j = i + 2; j < i + length; j += 8) {
          blocks.push([readUint32(bytes, j), readUint32(bytes, j + 4)]);
        }
        options.sackBlocks = blocks;
        break;
      }
      case OPTION_TIMESTAMPS:
        if (length !== 10) return wireError("tcp", "bad-option");
        options.timestamp = {
          value: readUint32(bytes, i + 2),
          echoReply: readUint32(bytes, i + 6),
        };
        break;
      default:
        break; // unknown option: skip by its length
    }
    i += length;
  }
  return options;
}

function readUint32(bytes: Uint8Array, i: number): number {
  return ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
}

function writeUint32(bytes: Uint8Array, i: number, value: number): void {
  bytes[i] = value >>> 24;
  bytes[i + 1] = (value >>> 16) & 0xff;
  bytes[i + 2] = (value >>> 8) & 0xff;
  bytes[i + 3] = value & 0xff;
}

/**
 * Bytes the options take on the wire, padded to a multiple of four.
 *
 * @example
 * ```ts
 * import { tcpOptionsLength } from "./tcp.ts";
 * console.log(tcpOptionsLength({ maxSegmentSize: 1460, sackPermitted: true })); // 8
 * ```
 */
export function tcpOptionsLength(options: TcpOptions): number {
  // Mirrors writeTcpOptions' layout: each option NOP-padded to 32 bits as Linux does.
  let n = 0;
  if (options.maxSegmentSize !== undefined) n += 4;
  if (options.timestamp) n += 12; // NOP NOP TS, or SACK_PERM TS
  else if (options.sackPermitted) n += 4; // NOP NOP SACK_PERM
  if (options.windowScale !== undefined) n += 4;
  const blocks = sackBlocksThatFit(n, options.sackBlocks?.length ?? 0);
  if (blocks) n += 4 + 8 * blocks;
  return n;
}

/** Bytes of option space in a TCP header (data offset 15). */
const MAX_OPTIONS_LENGTH = 40;

/** SACK blocks that fit after `used` option bytes (RFC 2018 §3: 3 beside timestamps). */
function sackBlocksThatFit(used: number, wanted: number): number {
  return Math.max(0, Math.min(wanted, Math.floor((MAX_OPTIONS_LENGTH - used - 4) / 8)));
}

/**
 * Writes options at `offset`, NOP-aligned the way Linux lays them out, and pads to a multiple of
 * four; returns the bytes written. SACK blocks that would not fit in the 40-byte option space
 * are left out (RFC 2018 §3: at most 3 beside timestamps).
 *
 * @example
 * ```ts
 * import { writeTcpOptions } from "./tcp.ts";
 * const buf = new Uint8Array(40);
 * console.log(writeTcpOptions(buf, 0, { maxSegmentSize: 1460 })); // 4
 * ```
 */
export function writeTcpOptions(buffer: Uint8Array, offset: number, options: TcpOptions): number {
  let i = offset;
  if (options.maxSegmentSize !== undefined) {
    buffer[i++] = OPTION_MSS;
    buffer[i++] = 4;
    buffer[i++] = options.maxSegmentSize >>> 8;
    buffer[i++] = options.maxSegmentSize & 0xff;
  }
  if (options.sackPermitted && options.timestamp) {
    buffer[i++] = OPTION_SACK_PERMITTED;
    buffer[i++] = 2;
    buffer[i++] = OPTION_TIMESTAMPS;
    buffer[i++] = 10;
    writeUint32(buffer, i, options.timestamp.value);
    writeUint32(buffer, i + 4, options.timestamp.echoReply);
    i += 8;
  } else {
    if (options.sackPermitted) {
      buffer[i++] = OPTION_NOP;
      buffer[i++] = OPTION_NOP;
      buffer[i++] = OPTION_SACK_PERMITTED;
      buffer[i++] = 2;
    }
    if (options.timestamp) {
      buffer[i++] = OPTION_NOP;
      buffer[i++] = OPTION_NOP;
      buffer[i++] = OPTION_TIMESTAMPS;
      buffer[i++] = 10;
      writeUint32(buffer, i, options.timestamp.value);
      writeUint32(buffer, i + 4, options.timestamp.echoReply);
      i += 8;
    }
  }
  if (options.windowScale !== undefined) {
    buffer[i++] = OPTION_NOP;
    buffer[i++] = OPTION_WINDOW_SCALE;
    buffer[i++] = 3;
    buffer[i++] = options.windowScale;
  }
  // Blocks beyond the 40-byte option space are left out (the first ones matter most).
  const blocks = sackBlocksThatFit(i - offset, options.sackBlocks?.length ?? 0);
  if (blocks) {
    buffer[i++] = OPTION_NOP;
    buffer[i++] = OPTION_NOP;
    buffer[i++] = OPTION_SACK;
    buffer[i++] = 2 + 8 * blocks;
    for (let b = 0; b < blocks; b++) {
      const [left, right] = options.sackBlocks![b];
      writeUint32(buffer, i, left);
      writeUint32(buffer, i + 4, right);
      i += 8;
    }
  }
  while ((i - offset) & 3) buffer[i++] = OPTION_END;
  return i - offset;
}

/** Fields of a TCP header to write. */
export interface TcpHeaderFields {
  /** Source port. */
  sourcePort: number;
  /** Destination port. */
  destinationPort: number;
  /** Sequence number. */
  sequence: number;
  /** Acknowledgment number. */
  acknowledgment: number;
  /** Flag bits. */
  flags: number;
  /** Window field (already scaled down). */
  window: number;
  /** Options. */
  options?: TcpOptions;
  /** Urgent pointer. */
  urgentPointer?: number;
}

/**
 * Writes a TCP header, its options and the payload at `offset`, with the checksum over the IPv4
 * pseudo-header; returns the segment length. Pass a payload length instead of bytes when the
 * payload is already in place after the header.
 *
 * @example
 * ```ts
 * import { writeTcp, TcpFlags } from "./tcp.ts";
 * const n = writeTcp(new Uint8Array(40), 0, 1, 2, { sourcePort: 1, destinationPort: 2,
 *   sequence: 0, acknowledgment: 0, flags: TcpFlags.RST, window: 0 }, new Uint8Array(0));
 * console.log(n); // 20
 * ```
 */
export function writeTcp(
  buffer: Uint8Array,
  offset: number,
  source: number,
  destination: number,
  f: TcpHeaderFields,
  payload: Uint8Array | number,
  skipChecksum = false,
): number {
  const optionsLength = f.options
    ? writeTcpOptions(buffer, offset + TCP_HEADER_LENGTH, f.options)
    : 0;
  const headerLength = TCP_HEADER_LENGTH + optionsLength;
  const payloadLength = typeof payload === "number" ? payload : payload.length;
  if (typeof payload !== "number") buffer.set(payload, offset + headerLength);
  buffer[offset] = f.sourcePort >>> 8;
  buffer[offset + 1] = f.sourcePort & 0xff;
  buffer[offset + 2] = f.destinationPort >>> 8;
  buffer[offset + 3] = f.destinationPort & 0xff;
  writeUint32(buffer, offset + 4, f.sequence >>> 0);
  writeUint32(buffer, offset + 8, f.acknowledgment >>> 0);
  buffer[offset + 12] = (headerLength / 4) << 4;
  buffer[offset + 13] = f.flags;
  buffer[offset + 14] = f.window >>> 8;
  buffer[offset + 15] = f.window & 0xff;
  buffer[offset + 16] = 0;
  buffer[offset + 17] = 0;
  const urgent = f.urgentPointer ?? 0;
  buffer[offset + 18] = urgent >>> 8;
  buffer[offset + 19] = urgent & 0xff;
  const length = headerLength + payloadLength;
  if (!skipChecksum) {
    const sum = foldChecksum(
      sumWords(buffer, offset, length, pseudoHeaderSum(source, destination, PROTOCOL_TCP, length)),
    );
    buffer[offset + 16] = sum >>> 8;
    buffer[offset + 17] = sum & 0xff;
  }
  return length;
}
