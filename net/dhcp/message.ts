/**
 * BOOTP/DHCP messages (RFC 2131 §2, RFC 951): the fixed header, the magic cookie and the
 * options, with option overload (option 52: options continued in `file`, then `sname`) and
 * long options split over several instances (RFC 3396).
 *
 * @module
 */

import { readIpv4, writeIpv4 } from "../dns/_ipv4.ts";
import { DhcpFormatError } from "./errors.ts";
import { decodeOptions, DhcpOption, type DhcpOptions, encodeOptions } from "./options.ts";

/** Bytes before the options: 236 of BOOTP header and the 4-byte magic cookie. */
export const DHCP_HEADER_SIZE = 240;
/** RFC 1542 §3.3: BOOTP messages are at least 300 bytes; short ones are padded. */
export const BOOTP_MIN_SIZE = 300;
/** The magic cookie 99.130.83.99 (RFC 2131 §3). */
export const MAGIC_COOKIE = 0x63825363;
/** Server (67) and client (68) UDP ports. */
export const DHCP_SERVER_PORT = 67;
/** Client UDP port. */
export const DHCP_CLIENT_PORT = 68;

const SNAME_OFFSET = 44, SNAME_SIZE = 64, FILE_OFFSET = 108, FILE_SIZE = 128;

/**
 * A DHCP message.
 *
 * @example
 * ```ts
 * import type { DhcpMessage } from "./message.ts";
 * const m: DhcpMessage = {
 *   op: 1, htype: 1, hops: 0, xid: 1, secs: 0, broadcast: true,
 *   ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: new Uint8Array(6), sname: "", file: "",
 *   options: { messageType: 1 },
 * };
 * ```
 */
export interface DhcpMessage {
  /** 1 = BOOTREQUEST (client), 2 = BOOTREPLY (server). */
  op: number;
  /** Hardware type (1 = Ethernet). */
  htype: number;
  /** Relay hops. */
  hops: number;
  /** Transaction id chosen by the client. */
  xid: number;
  /** Seconds since the client began acquiring or renewing. */
  secs: number;
  /** The BROADCAST flag (RFC 2131 §4.1): the client cannot receive unicast before it is set up. */
  broadcast: boolean;
  /** Client address (only when it can answer ARP for it: BOUND, RENEW, REBIND). */
  ciaddr: number;
  /** "Your" address: the address offered or assigned. */
  yiaddr: number;
  /** Next server (for boot). */
  siaddr: number;
  /** Relay agent address. */
  giaddr: number;
  /** Client hardware address (`hlen` bytes, at most 16). */
  chaddr: Uint8Array;
  /** Server host name (empty when the field carries options). */
  sname: string;
  /** Boot file name (empty when the field carries options). */
  file: string;
  /** Options. */
  options: DhcpOptions;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** Reads TLV options from one field into `raw` (values of repeated codes are concatenated). */
function readOptionField(
  bytes: Uint8Array,
  start: number,
  end: number,
  raw: Map<number, Uint8Array>,
  where: string,
): void {
  let i = start;
  while (i < end) {
    const code = bytes[i];
    if (code === DhcpOption.END) return;
    if (code === DhcpOption.PAD) {
      i++;
      continue;
    }
    if (i + 1 >= end) throw new DhcpFormatError(`option ${code} in ${where} has no length`, code);
    const length = bytes[i + 1];
    if (i + 2 + length > end) {
      throw new DhcpFormatError(`option ${code} in ${where} runs past the field`, code);
    }
    const value = bytes.subarray(i + 2, i + 2 + length);
    const before = raw.get(code);
    // RFC 3396 §7: instances of one option are concatenated in order.
    raw.set(code, before ? Uint8Array.from([...before, ...value]) : value);
    i += 2 + length;
  }
  // A field that ends without END: tolerated in sname/file, and at the very end of the
  // options field (many BOOTP stacks do this); nothing was read past the field.
}

/**
 * Parses a DHCP message. Throws {@link DhcpFormatError} when it is shorter than 240 bytes,
 * lacks the magic cookie, has `hlen` over 16, or an option is malformed.
 *
 * @example
 * ```ts
 * import { parseDhcpMessage, serializeDhcpMessage } from "./message.ts";
 * const bytes = serializeDhcpMessage({
 *   op: 1, htype: 1, hops: 0, xid: 42, secs: 0, broadcast: false, ciaddr: 0, yiaddr: 0,
 *   siaddr: 0, giaddr: 0, chaddr: Uint8Array.of(2, 0, 0, 0, 0, 1), sname: "", file: "",
 *   options: { messageType: 1 },
 * });
 * console.assert(parseDhcpMessage(bytes).xid === 42);
 * ```
 */
export function parseDhcpMessage(bytes: Uint8Array): DhcpMessage {
  if (bytes.length < DHCP_HEADER_SIZE) {
    throw new DhcpFormatError(`message of ${bytes.length} bytes is shorter than 240`);
  }
  if (readIpv4(bytes, 236) !== MAGIC_COOKIE) {
    throw new DhcpFormatError("no DHCP magic cookie (plain BOOTP is not supported)");
  }
  const hlen = bytes[2];
  if (hlen > 16) throw new DhcpFormatError(`hardware address length ${hlen} is over 16`);
  const raw = new Map<number, Uint8Array>();
  readOptionField(bytes, DHCP_HEADER_SIZE, bytes.length, raw, "options");
  const overloadRaw = raw.get(DhcpOption.OVERLOAD);
  let overload = 0;
  if (overloadRaw) {
    if (overloadRaw.length !== 1 || overloadRaw[0] < 1 || overloadRaw[0] > 3) {
      throw new DhcpFormatError("option 52 (overload) must be 1 byte of 1, 2 or 3", 52);
    }
    overload = overloadRaw[0];
    // RFC 2131 §4.1: the options field first, then `file`, then `sname`.
    if (overload & 1) readOptionField(bytes, FILE_OFFSET, FILE_OFFSET + FILE_SIZE, raw, "file");
    if (overload & 2) {
      readOptionField(bytes, SNAME_OFFSET, SNAME_OFFSET + SNAME_SIZE, raw, "sname");
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return {
    op: bytes[0],
    htype: bytes[1],
    hops: bytes[3],
    xid: view.getUint32(4),
    secs: view.getUint16(8),
    broadcast: (view.getUint16(10) & 0x8000) !== 0,
    ciaddr: readIpv4(bytes, 12),
    yiaddr: readIpv4(bytes, 16),
    siaddr: readIpv4(bytes, 20),
    giaddr: readIpv4(bytes, 24),
    chaddr: bytes.slice(28, 28 + hlen),
    sname: overload & 2 ? "" : cString(bytes.subarray(SNAME_OFFSET, SNAME_OFFSET + SNAME_SIZE)),
    file: overload & 1 ? "" : cString(bytes.subarray(FILE_OFFSET, FILE_OFFSET + FILE_SIZE)),
    options: decodeOptions(raw),
  };
}

/** Encodes (code, value) pairs as TLVs, splitting values over 255 bytes (RFC 3396). */
function toUnits(pairs: Array<[number, Uint8Array]>): Uint8Array[] {
  const units: Uint8Array[] = [];
  for (const [code, value] of pairs) {
    if (code === DhcpOption.PAD || code === DhcpOption.END || code === DhcpOption.OVERLOAD) {
      throw new DhcpFormatError(`option ${code} cannot be set directly`, code);
    }
    for (let i = 0; i === 0 || i < value.length; i += 255) {
      const part = value.subarray(i, i + 255);
      units.push(Uint8Array.from([code, part.length, ...part]));
    }
  }
  return units;
}

/**
 * Serializes a message. With `maxSize` (the peer's maximum DHCP message size, option 57, or
 * 576 when unknown) options that do not fit in the options field overflow into `file` and then
 * `sname` (option 52); what still does not fit throws {@link DhcpFormatError}. Messages are
 * padded to 300 bytes (RFC 1542 §3.3).
 *
 * @example
 * ```ts
 * import { serializeDhcpMessage } from "./message.ts";
 * const bytes = serializeDhcpMessage({
 *   op: 2, htype: 1, hops: 0, xid: 1, secs: 0, broadcast: false, ciaddr: 0, yiaddr: 0x0a00020f,
 *   siaddr: 0, giaddr: 0, chaddr: new Uint8Array(6), sname: "", file: "",
 *   options: { messageType: 2, serverId: 0x0a000202, leaseTime: 3600 },
 * });
 * console.assert(bytes.length === 300);
 * ```
 */
export function serializeDhcpMessage(message: DhcpMessage, maxSize?: number): Uint8Array {
  if (message.chaddr.length > 16) {
    throw new DhcpFormatError(`hardware address of ${message.chaddr.length} bytes is over 16`);
  }
  const units = toUnits(encodeOptions(message.options));
  const optionBytes = units.reduce((n, u) => n + u.length, 0);
  const limit = maxSize ?? Infinity;
  let main = units, file: Uint8Array[] = [], sname: Uint8Array[] = [];
  if (DHCP_HEADER_SIZE + optionBytes + 1 > limit) {
    // Overload: keep 3 bytes for option 52 and 1 for END in the options field.
    const room = limit - DHCP_HEADER_SIZE - 3 - 1;
    main = [];
    const fields = [
      { list: main, room },
      { list: file, room: message.file ? 0 : FILE_SIZE - 1 },
      { list: sname, room: message.sname ? 0 : SNAME_SIZE - 1 },
    ];
    let f = 0;
    for (const unit of units) {
      while (f < fields.length && fields[f].room < unit.length) f++;
      if (f === fields.length) {
        throw new DhcpFormatError(`options do not fit in a ${limit}-byte message`, unit[0]);
      }
      fields[f].list.push(unit);
      fields[f].room -= unit.length;
    }
    main = fields[0].list;
    file = fields[1].list;
    sname = fields[2].list;
  }
  const overload = (file.length ? 1 : 0) | (sname.length ? 2 : 0);
  const mainBytes = main.reduce((n, u) => n + u.length, 0) + (overload ? 3 : 0) + 1;
  const size = Math.max(BOOTP_MIN_SIZE, DHCP_HEADER_SIZE + mainBytes);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes[0] = message.op;
  bytes[1] = message.htype;
  bytes[2] = message.chaddr.length;
  bytes[3] = message.hops;
  view.setUint32(4, message.xid >>> 0);
  view.setUint16(8, Math.min(message.secs, 0xffff));
  view.setUint16(10, message.broadcast ? 0x8000 : 0);
  writeIpv4(bytes, 12, message.ciaddr);
  writeIpv4(bytes, 16, message.yiaddr);
  writeIpv4(bytes, 20, message.siaddr);
  writeIpv4(bytes, 24, message.giaddr);
  bytes.set(message.chaddr, 28);
  const enc = new TextEncoder();
  const writeField = (offset: number, size: number, text: string, list: Uint8Array[]) => {
    if (list.length) {
      let o = offset;
      for (const u of list) {
        bytes.set(u, o);
        o += u.length;
      }
      bytes[o] = DhcpOption.END;
    } else {
      const t = enc.encode(text);
      if (t.length >= size) throw new DhcpFormatError(`${text.slice(0, 20)}... is too long`);
      bytes.set(t, offset);
    }
  };
  writeField(SNAME_OFFSET, SNAME_SIZE, message.sname, sname);
  writeField(FILE_OFFSET, FILE_SIZE, message.file, file);
  writeIpv4(bytes, 236, MAGIC_COOKIE);
  let o = DHCP_HEADER_SIZE;
  if (overload) {
    bytes.set([DhcpOption.OVERLOAD, 1, overload], o);
    o += 3;
  }
  for (const u of main) {
    bytes.set(u, o);
    o += u.length;
  }
  bytes[o] = DhcpOption.END;
  return bytes;
}
