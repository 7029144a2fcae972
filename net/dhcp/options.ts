/**
 * DHCP options (RFC 2132) as typed fields, with strict length checks, and their encoding.
 *
 * @module
 */

import { readIpv4, writeIpv4 } from "../dns/_ipv4.ts";
import { DhcpFormatError } from "./errors.ts";

/**
 * Option codes used by usernet (RFC 2132, RFC 3396 for long options).
 *
 * @example
 * ```ts
 * import { DhcpOption } from "./options.ts";
 * console.assert(DhcpOption.MESSAGE_TYPE === 53);
 * ```
 */
export const DhcpOption = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  MTU: 26,
  BROADCAST_ADDRESS: 28,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

/**
 * DHCP message types (option 53, RFC 2132 §9.6).
 *
 * @example
 * ```ts
 * import { DhcpMessageType } from "./options.ts";
 * console.assert(DhcpMessageType.ACK === 5);
 * ```
 */
export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/**
 * Name of a message type ("DHCPACK"), for logs and errors.
 *
 * @example
 * ```ts
 * import { messageTypeName } from "./options.ts";
 * console.assert(messageTypeName(1) === "DHCPDISCOVER");
 * ```
 */
export function messageTypeName(type: number | undefined): string {
  for (const [k, v] of Object.entries(DhcpMessageType)) if (v === type) return `DHCP${k}`;
  return `DHCP type ${type}`;
}

/**
 * Decoded options. Known codes become typed fields; every other code stays raw in `other`.
 *
 * @example
 * ```ts
 * import type { DhcpOptions } from "./options.ts";
 * const o: DhcpOptions = { messageType: 1, parameterRequestList: [1, 3, 6] };
 * ```
 */
export interface DhcpOptions {
  /** 53: message type (see `DhcpMessageType`). */
  messageType?: number;
  /** 1: subnet mask. */
  subnetMask?: number;
  /** 3: routers, in order of preference. */
  routers?: number[];
  /** 6: DNS servers. */
  dnsServers?: number[];
  /** 12: host name. */
  hostname?: string;
  /** 15: domain name. */
  domainName?: string;
  /** 26: interface MTU (>= 68). */
  mtu?: number;
  /** 28: broadcast address. */
  broadcastAddress?: number;
  /** 50: requested IP address. */
  requestedAddress?: number;
  /** 51: lease time, seconds (0xffffffff = infinite). */
  leaseTime?: number;
  /** 54: server identifier. */
  serverId?: number;
  /** 55: parameter request list. */
  parameterRequestList?: number[];
  /** 56: error message. */
  message?: string;
  /** 57: maximum DHCP message size (>= 576). */
  maxMessageSize?: number;
  /** 58: renewal (T1) time, seconds. */
  renewalTime?: number;
  /** 59: rebinding (T2) time, seconds. */
  rebindingTime?: number;
  /** 61: client identifier (type byte, then the identifier). */
  clientId?: Uint8Array;
  /** Any other option, raw (already concatenated per RFC 3396). */
  other?: Map<number, Uint8Array>;
}

const text = new TextDecoder();
const utf8 = new TextEncoder();

function fail(code: number, what: string): never {
  throw new DhcpFormatError(`option ${code} ${what}`, code);
}

function addresses(code: number, v: Uint8Array): number[] {
  if (v.length === 0 || v.length % 4) fail(code, `needs a multiple of 4 bytes, has ${v.length}`);
  const out: number[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(readIpv4(v, i));
  return out;
}

function exact(code: number, v: Uint8Array, n: number): void {
  if (v.length !== n) fail(code, `must be ${n} bytes, has ${v.length}`);
}

function u32(code: number, v: Uint8Array): number {
  exact(code, v, 4);
  return readIpv4(v, 0);
}

function u16(code: number, v: Uint8Array): number {
  exact(code, v, 2);
  return (v[0] << 8) | v[1];
}

function str(code: number, v: Uint8Array): string {
  if (v.length === 0) fail(code, "is empty");
  // Some servers NUL-terminate strings (RFC 2132 §2 says they should not): drop the NULs.
  let end = v.length;
  while (end > 0 && v[end - 1] === 0) end--;
  return text.decode(v.subarray(0, end));
}

/**
 * Turns raw options (code -> concatenated value) into typed fields, checking lengths.
 * Throws {@link DhcpFormatError} naming the option at fault.
 *
 * @example
 * ```ts
 * import { decodeOptions } from "./options.ts";
 * const o = decodeOptions(new Map([[51, Uint8Array.of(0, 0, 0x0e, 0x10)]]));
 * console.assert(o.leaseTime === 3600);
 * ```
 */
export function decodeOptions(raw: Map<number, Uint8Array>): DhcpOptions {
  const o: DhcpOptions = {};
  for (const [code, v] of raw) {
    switch (code) {
      case DhcpOption.MESSAGE_TYPE:
        exact(code, v, 1);
        o.messageType = v[0];
        break;
      case DhcpOption.SUBNET_MASK:
        o.subnetMask = u32(code, v);
        break;
      case DhcpOption.ROUTER:
        o.routers = addresses(code, v);
        break;
      case DhcpOption.DNS_SERVERS:
        o.dnsServers = addresses(code, v);
        break;
      case DhcpOption.HOSTNAME:
        o.hostname = str(code, v);
        break;
      case DhcpOption.DOMAIN_NAME:
        o.domainName = str(code, v);
        break;
      case DhcpOption.MTU:
        o.mtu = u16(code, v);
        if (o.mtu < 68) fail(code, `MTU ${o.mtu} is below the minimum of 68`);
        break;
      case DhcpOption.BROADCAST_ADDRESS:
        o.broadcastAddress = u32(code, v);
        break;
      case DhcpOption.REQUESTED_ADDRESS:
        o.requestedAddress = u32(code, v);
        break;
      case DhcpOption.LEASE_TIME:
        o.leaseTime = u32(code, v);
        break;
      case DhcpOption.SERVER_ID:
        o.serverId = u32(code, v);
        break;
      case DhcpOption.PARAMETER_REQUEST_LIST:
        if (v.length === 0) fail(code, "is empty");
        o.parameterRequestList = [...v];
        break;
      case DhcpOption.MESSAGE:
        o.message = str(code, v);
        break;
      case DhcpOption.MAX_MESSAGE_SIZE:
        o.maxMessageSize = u16(code, v);
        if (o.maxMessageSize < 576) fail(code, `max message size ${o.maxMessageSize} < 576`);
        break;
      case DhcpOption.RENEWAL_TIME:
        o.renewalTime = u32(code, v);
        break;
      case DhcpOption.REBINDING_TIME:
        o.rebindingTime = u32(code, v);
        break;
      case DhcpOption.CLIENT_ID:
        if (v.length < 2) fail(code, "needs at least 2 bytes");
        o.clientId = v.slice();
        break;
      case DhcpOption.OVERLOAD:
        break; // consumed by the message parser
      default:
        (o.other ??= new Map()).set(code, v.slice());
    }
  }
  return o;
}

/**
 * Encodes typed options as (code, value) pairs in a conventional order (message type first).
 *
 * @example
 * ```ts
 * import { encodeOptions } from "./options.ts";
 * const pairs = encodeOptions({ messageType: 1, hostname: "vm" });
 * console.assert(pairs[0][0] === 53 && pairs[1][0] === 12);
 * ```
 */
export function encodeOptions(o: DhcpOptions): Array<[number, Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [];
  const ip = (a: number) => {
    const b = new Uint8Array(4);
    writeIpv4(b, 0, a);
    return b;
  };
  const ips = (list: number[]) => {
    const b = new Uint8Array(list.length * 4);
    list.forEach((a, i) => writeIpv4(b, i * 4, a));
    return b;
  };
  const be16 = (n: number) => Uint8Array.of(n >> 8, n & 255);
  if (o.messageType !== undefined) {
    out.push([DhcpOption.MESSAGE_TYPE, Uint8Array.of(o.messageType)]);
  }
  if (o.serverId !== undefined) out.push([DhcpOption.SERVER_ID, ip(o.serverId)]);
  if (o.requestedAddress !== undefined) {
    out.push([DhcpOption.REQUESTED_ADDRESS, ip(o.requestedAddress)]);
  }
  if (o.clientId) out.push([DhcpOption.CLIENT_ID, o.clientId]);
  if (o.leaseTime !== undefined) out.push([DhcpOption.LEASE_TIME, ip(o.leaseTime)]);
  if (o.renewalTime !== undefined) out.push([DhcpOption.RENEWAL_TIME, ip(o.renewalTime)]);
  if (o.rebindingTime !== undefined) out.push([DhcpOption.REBINDING_TIME, ip(o.rebindingTime)]);
  if (o.subnetMask !== undefined) out.push([DhcpOption.SUBNET_MASK, ip(o.subnetMask)]);
  if (o.broadcastAddress !== undefined) {
    out.push([DhcpOption.BROADCAST_ADDRESS, ip(o.broadcastAddress)]);
  }
  if (o.routers?.length) out.push([DhcpOption.ROUTER, ips(o.routers)]);
  if (o.dnsServers?.length) out.push([DhcpOption.DNS_SERVERS, ips(o.dnsServers)]);
  if (o.domainName) out.push([DhcpOption.DOMAIN_NAME, utf8.encode(o.domainName)]);
  if (o.hostname) out.push([DhcpOption.HOSTNAME, utf8.encode(o.hostname)]);
  if (o.mtu !== undefined) out.push([DhcpOption.MTU, be16(o.mtu)]);
  if (o.maxMessageSize !== undefined) {
    out.push([DhcpOption.MAX_MESSAGE_SIZE, be16(o.maxMessageSize)]);
  }
  if (o.parameterRequestList?.length) {
    out.push([DhcpOption.PARAMETER_REQUEST_LIST, Uint8Array.from(o.parameterRequestList)]);
  }
  if (o.message) out.push([DhcpOption.MESSAGE, utf8.encode(o.message)]);
  for (const [code, v] of o.other ?? []) out.push([code, v]);
  return out;
}
