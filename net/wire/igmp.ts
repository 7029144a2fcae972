/**
 * IGMP messages (RFC 2236 IGMPv2; RFC 3376 IGMPv3 queries and reports, parsed), IPv4 multicast
 * addresses and their Ethernet mapping (RFC 1112 §6.4), and the IPv4 header with the Router
 * Alert option (RFC 2113) that IGMP messages carry.
 *
 * @module
 */
import { internetChecksum } from "./checksum.ts";
import { type WireError, wireError } from "./errors.ts";
import { IPV4_HEADER_LENGTH, type Ipv4HeaderFields, writeIpv4Header } from "./ipv4.ts";

/** IP protocol number of IGMP. */
export const PROTOCOL_IGMP = 2;
/** Bytes in an IGMPv1/v2 message (and the fixed part of every IGMP message). */
export const IGMP_HEADER_LENGTH = 8;
/** Bytes in an IGMPv3 query without sources (RFC 3376 §4.1). */
export const IGMP_V3_QUERY_LENGTH = 12;
/** Membership Query (every version). */
export const IGMP_MEMBERSHIP_QUERY = 0x11;
/** IGMPv1 Membership Report. */
export const IGMP_V1_MEMBERSHIP_REPORT = 0x12;
/** IGMPv2 Membership Report. */
export const IGMP_V2_MEMBERSHIP_REPORT = 0x16;
/** IGMPv2 Leave Group. */
export const IGMP_LEAVE_GROUP = 0x17;
/** IGMPv3 Membership Report. */
export const IGMP_V3_MEMBERSHIP_REPORT = 0x22;

/** 224.0.0.1, the all-systems group every host is a member of (RFC 1112). */
export const ALL_HOSTS_GROUP = 0xe0000001;
/** 224.0.0.2, the all-routers group, where Leave Group messages go (RFC 2236 §3). */
export const ALL_ROUTERS_GROUP = 0xe0000002;
/** 224.0.0.22, where IGMPv3 reports go (RFC 3376 §4.2.14). */
export const IGMPV3_ROUTERS_GROUP = 0xe0000016;

/** The IPv4 Router Alert option (RFC 2113): type 148, length 4, value 0 ("examine packet"). */
export const ROUTER_ALERT_OPTION: Uint8Array = Uint8Array.of(0x94, 0x04, 0x00, 0x00);
/** Bytes in an IPv4 header carrying only the Router Alert option. */
export const ROUTER_ALERT_IPV4_HEADER_LENGTH = 24;

/** IGMPv3 group record types (RFC 3376 §4.2.12). */
export const IgmpRecordType = {
  modeIsInclude: 1,
  modeIsExclude: 2,
  changeToInclude: 3,
  changeToExclude: 4,
  allowNewSources: 5,
  blockOldSources: 6,
} as const;

/**
 * Whether `address` (uint32) is an IPv4 multicast address, 224.0.0.0/4 (RFC 1112 §4).
 *
 * @example
 * ```ts
 * import { isIpv4Multicast } from "./igmp.ts";
 * console.log(isIpv4Multicast(0xef010203), isIpv4Multicast(0x0a000001)); // true false
 * ```
 */
export function isIpv4Multicast(address: number): boolean {
  return (address >>> 28) === 0xe;
}

/**
 * Writes the Ethernet address of IPv4 multicast group `group` into `out` at `offset`: 01:00:5e
 * and the group's low 23 bits (RFC 1112 §6.4). Returns `out`.
 *
 * @example
 * ```ts
 * import { ipv4MulticastMac } from "./igmp.ts";
 * import { formatMac } from "./address.ts";
 * console.log(formatMac(ipv4MulticastMac(0xef810203))); // "01:00:5e:01:02:03"
 * ```
 */
export function ipv4MulticastMac(
  group: number,
  out: Uint8Array = new Uint8Array(6),
  offset = 0,
): Uint8Array {
  out[offset] = 0x01;
  out[offset + 1] = 0x00;
  out[offset + 2] = 0x5e;
  out[offset + 3] = (group >>> 16) & 0x7f;
  out[offset + 4] = (group >>> 8) & 0xff;
  out[offset + 5] = group & 0xff;
  return out;
}

/**
 * Decodes an IGMPv3 Max Resp Code or QQIC (RFC 3376 §4.1.1, §4.1.7): below 128 the value
 * itself, else a floating-point value `(mant | 0x10) << (exp + 3)`.
 *
 * @example
 * ```ts
 * import { decodeIgmpV3Code } from "./igmp.ts";
 * console.log(decodeIgmpV3Code(100), decodeIgmpV3Code(0x80), decodeIgmpV3Code(0xff)); // 100 128 31744
 * ```
 */
export function decodeIgmpV3Code(code: number): number {
  if (code < 128) return code;
  const mant = code & 0x0f;
  const exp = (code >>> 4) & 0x07;
  return (mant | 0x10) << (exp + 3);
}

/** One group record of an IGMPv3 report (RFC 3376 §4.2.4). */
export interface IgmpGroupRecord {
  /** Record type, one of {@linkcode IgmpRecordType}. */
  type: number;
  /** The multicast address the record is about (uint32). */
  group: number;
  /** Source addresses (uint32). */
  sources: number[];
}

/**
 * A zero-copy view of an IGMP message.
 *
 * @example
 * ```ts
 * import { IgmpMessage, parseIgmp, writeIgmp, IGMP_V2_MEMBERSHIP_REPORT } from "./igmp.ts";
 * const buf = new Uint8Array(8);
 * writeIgmp(buf, 0, IGMP_V2_MEMBERSHIP_REPORT, 0, 0xef010203);
 * const m = parseIgmp(buf);
 * if (m instanceof IgmpMessage) console.log(m.type === IGMP_V2_MEMBERSHIP_REPORT); // true
 * ```
 */
export class IgmpMessage {
  readonly #view: DataView;
  /**
   * Wraps bytes already validated by the parse function (no copy).
   * @param bytes the whole IGMP message (the IPv4 payload)
   */
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Message type. */
  get type(): number {
    return this.bytes[0];
  }
  /** Max Resp Time (v2, tenths of a second) or Max Resp Code (v3); 0 in reports. */
  get maxResponseCode(): number {
    return this.bytes[1];
  }
  /** Checksum field. */
  get checksum(): number {
    return this.#view.getUint16(2);
  }
  /** Group Address (uint32): 0 in a general query. Meaningless in an IGMPv3 report. */
  get group(): number {
    return this.#view.getUint32(4);
  }
  /**
   * For a query, the querier's version as RFC 3376 §7.1 tells them apart: 1 (8 bytes, Max Resp
   * Time 0), 2 (8 bytes, non-zero), 3 (12 bytes or more); 0 for any other message.
   */
  get queryVersion(): 0 | 1 | 2 | 3 {
    if (this.type !== IGMP_MEMBERSHIP_QUERY) return 0;
    if (this.bytes.length >= IGMP_V3_QUERY_LENGTH) return 3;
    return this.bytes[1] === 0 ? 1 : 2;
  }
  /**
   * A query's maximum response time in ms: v1 10 s (RFC 2236 §4), v2 Max Resp Time × 100 ms,
   * v3 the decoded Max Resp Code × 100 ms. 0 for other messages.
   */
  get maxResponseTime(): number {
    switch (this.queryVersion) {
      case 1:
        return 10_000;
      case 2:
        return this.bytes[1] * 100;
      case 3:
        return decodeIgmpV3Code(this.bytes[1]) * 100;
      default:
        return 0;
    }
  }
  /** IGMPv3 query: Suppress Router-Side Processing flag. */
  get suppressRouterProcessing(): boolean {
    return this.queryVersion === 3 && (this.bytes[8] & 0x08) !== 0;
  }
  /** IGMPv3 query: Querier's Robustness Variable (0 when not a v3 query). */
  get robustness(): number {
    return this.queryVersion === 3 ? this.bytes[8] & 0x07 : 0;
  }
  /** IGMPv3 query: Querier's Query Interval in seconds, decoded from QQIC (0 when not v3). */
  get queryInterval(): number {
    return this.queryVersion === 3 ? decodeIgmpV3Code(this.bytes[9]) : 0;
  }
  /** IGMPv3 query: the source addresses (uint32); empty for other messages. */
  get sources(): number[] {
    if (this.queryVersion !== 3) return [];
    const n = this.#view.getUint16(10);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.#view.getUint32(12 + 4 * i));
    return out;
  }
  /** IGMPv3 report: its group records (parse allocates: not a hot path). */
  get groupRecords(): IgmpGroupRecord[] {
    if (this.type !== IGMP_V3_MEMBERSHIP_REPORT) return [];
    const v = this.#view;
    const count = v.getUint16(6);
    const records: IgmpGroupRecord[] = [];
    let o = 8;
    for (let r = 0; r < count; r++) {
      const auxWords = this.bytes[o + 1];
      const n = v.getUint16(o + 2);
      const sources: number[] = [];
      for (let i = 0; i < n; i++) sources.push(v.getUint32(o + 8 + 4 * i));
      records.push({ type: this.bytes[o], group: v.getUint32(o + 4), sources });
      o += 8 + 4 * n + 4 * auxWords;
    }
    return records;
  }
}

/**
 * Validates an IGMP message: length, checksum over the whole message (RFC 2236 §2.3), and for
 * IGMPv3 queries and reports that their sources and records fit. A query of 9–11 bytes is
 * `truncated` (RFC 3376 §7.1 says to ignore it). Unknown types parse; the caller ignores them.
 *
 * @example
 * ```ts
 * import { parseIgmp } from "./igmp.ts";
 * console.log(parseIgmp(new Uint8Array(8)).constructor.name); // "WireError" (bad checksum)
 * ```
 */
export function parseIgmp(bytes: Uint8Array, verifyChecksum = true): IgmpMessage | WireError {
  const length = bytes.length;
  if (length < IGMP_HEADER_LENGTH) return wireError("igmp", "truncated");
  if (verifyChecksum && internetChecksum(bytes) !== 0) return wireError("igmp", "bad-checksum");
  const type = bytes[0];
  if (type === IGMP_MEMBERSHIP_QUERY && length > IGMP_HEADER_LENGTH) {
    if (length < IGMP_V3_QUERY_LENGTH) return wireError("igmp", "truncated");
    const sources = (bytes[10] << 8) | bytes[11];
    if (length < IGMP_V3_QUERY_LENGTH + 4 * sources) return wireError("igmp", "truncated");
  } else if (type === IGMP_V3_MEMBERSHIP_REPORT) {
    const count = (bytes[6] << 8) | bytes[7];
    let o = IGMP_HEADER_LENGTH;
    for (let r = 0; r < count; r++) {
      if (o + 8 > length) return wireError("igmp", "truncated");
      o += 8 + 4 * ((bytes[o + 2] << 8) | bytes[o + 3]) + 4 * bytes[o + 1];
    }
    if (o > length) return wireError("igmp", "truncated");
  }
  return new IgmpMessage(bytes);
}

/**
 * Writes an 8-byte IGMPv1/v2 message (query, report, leave) with its checksum; returns 8.
 *
 * @example
 * ```ts
 * import { writeIgmp, IGMP_LEAVE_GROUP } from "./igmp.ts";
 * console.log(writeIgmp(new Uint8Array(8), 0, IGMP_LEAVE_GROUP, 0, 0xef010203)); // 8
 * ```
 */
export function writeIgmp(
  buffer: Uint8Array,
  offset: number,
  type: number,
  maxResponseCode: number,
  group: number,
): number {
  buffer[offset] = type;
  buffer[offset + 1] = maxResponseCode;
  buffer[offset + 2] = 0;
  buffer[offset + 3] = 0;
  buffer[offset + 4] = group >>> 24;
  buffer[offset + 5] = (group >>> 16) & 0xff;
  buffer[offset + 6] = (group >>> 8) & 0xff;
  buffer[offset + 7] = group & 0xff;
  const sum = internetChecksum(buffer, offset, IGMP_HEADER_LENGTH);
  buffer[offset + 2] = sum >>> 8;
  buffer[offset + 3] = sum & 0xff;
  return IGMP_HEADER_LENGTH;
}

/** Fields of an IGMPv3 query (RFC 3376 §4.1). */
export interface IgmpV3QueryFields {
  /** Max Resp Code (encoded). */
  maxResponseCode: number;
  /** Group address; 0 for a general query. */
  group: number;
  /** Suppress Router-Side Processing. */
  suppressRouterProcessing?: boolean;
  /** Querier's Robustness Variable, 0–7 (default 2). */
  robustness?: number;
  /** Querier's Query Interval Code (default 125). */
  queryIntervalCode?: number;
  /** Source addresses (default none). */
  sources?: number[];
}

/**
 * Writes an IGMPv3 query with its checksum; returns its length (12 + 4 per source).
 *
 * @example
 * ```ts
 * import { writeIgmpV3Query } from "./igmp.ts";
 * console.log(writeIgmpV3Query(new Uint8Array(12), 0, { maxResponseCode: 100, group: 0 })); // 12
 * ```
 */
export function writeIgmpV3Query(
  buffer: Uint8Array,
  offset: number,
  fields: IgmpV3QueryFields,
): number {
  const sources = fields.sources ?? [];
  const length = IGMP_V3_QUERY_LENGTH + 4 * sources.length;
  writeIgmp(buffer, offset, IGMP_MEMBERSHIP_QUERY, fields.maxResponseCode, fields.group);
  buffer[offset + 2] = 0;
  buffer[offset + 3] = 0;
  buffer[offset + 8] = (fields.suppressRouterProcessing ? 0x08 : 0) |
    ((fields.robustness ?? 2) & 7);
  buffer[offset + 9] = fields.queryIntervalCode ?? 125;
  buffer[offset + 10] = sources.length >>> 8;
  buffer[offset + 11] = sources.length & 0xff;
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  sources.forEach((s, i) => view.setUint32(offset + 12 + 4 * i, s));
  const sum = internetChecksum(buffer, offset, length);
  buffer[offset + 2] = sum >>> 8;
  buffer[offset + 3] = sum & 0xff;
  return length;
}

/**
 * Writes a 24-byte IPv4 header carrying the Router Alert option (RFC 2113), as every IGMP
 * message does, with its checksum; returns 24. `payloadLength` counts the bytes after the 24.
 *
 * @example
 * ```ts
 * import { writeRouterAlertIpv4Header, PROTOCOL_IGMP } from "./igmp.ts";
 * const n = writeRouterAlertIpv4Header(new Uint8Array(32), 0, { source: 0x0a000002,
 *   destination: 0xef010203, protocol: PROTOCOL_IGMP, payloadLength: 8, identification: 0,
 *   ttl: 1, dontFragment: true, typeOfService: 0xc0 });
 * console.log(n); // 24
 * ```
 */
export function writeRouterAlertIpv4Header(
  buffer: Uint8Array,
  offset: number,
  fields: Ipv4HeaderFields,
): number {
  writeIpv4Header(buffer, offset, {
    ...fields,
    payloadLength: fields.payloadLength + ROUTER_ALERT_OPTION.length,
    skipChecksum: true,
  });
  buffer[offset] = 0x46;
  buffer.set(ROUTER_ALERT_OPTION, offset + IPV4_HEADER_LENGTH);
  if (!fields.skipChecksum) {
    const sum = internetChecksum(buffer, offset, ROUTER_ALERT_IPV4_HEADER_LENGTH);
    buffer[offset + 10] = sum >>> 8;
    buffer[offset + 11] = sum & 0xff;
  }
  return ROUTER_ALERT_IPV4_HEADER_LENGTH;
}

/**
 * Whether an IPv4 header's options (`Ipv4Packet.options`) hold a Router Alert option.
 *
 * @example
 * ```ts
 * import { hasRouterAlert, ROUTER_ALERT_OPTION } from "./igmp.ts";
 * console.log(hasRouterAlert(ROUTER_ALERT_OPTION), hasRouterAlert(new Uint8Array(0))); // true false
 * ```
 */
export function hasRouterAlert(options: Uint8Array): boolean {
  let o = 0;
  while (o < options.length) {
    const type = options[o];
    if (type === 0) return false; // end of option list
    if (type === 1) {
      o++; // no-operation
      continue;
    }
    if (o + 1 >= options.length) return false;
    const length = options[o + 1];
    if (type === 0x94 && length === 4) return true;
    if (length < 2) return false;
    o += length;
  }
  return false;
}
