/**
 * SNTP (RFC 4330): build a client request, check a server reply, compute clock offset and
 * round-trip delay. Sans-IO: `now` is always the caller's Unix time in ms.
 *
 * @module
 */

import { SntpBadReply, SntpKissOfDeath, SntpUnsynchronized } from "./errors.ts";
import {
  isZeroTimestamp,
  type NtpTimestamp,
  ntpToUnixMs,
  readTimestamp,
  unixMsToNtp,
  writeTimestamp,
} from "./timestamp.ts";

/** Size of an NTP packet without extensions. */
export const NTP_PACKET_SIZE = 48;

/**
 * A request ready to send, with what is needed to check its reply.
 *
 * @example
 * ```ts
 * import { createSntpRequest } from "./sntp.ts";
 * const req = createSntpRequest(Date.now());
 * console.assert(req.payload[0] === 0x23); // LI 0, version 4, mode 3
 * ```
 */
export interface SntpRequest {
  /** 48 bytes to send to UDP port 123. */
  payload: Uint8Array;
  /** The transmit timestamp written; the reply must echo it as its originate timestamp. */
  transmit: NtpTimestamp;
  /** T1: local Unix ms at which the request is sent. */
  sentAt: number;
}

/**
 * Builds a version-4 client request (mode 3) sent at `now` (Unix ms). With `randomBytes`, the
 * transmit timestamp's low 16 fraction bits (about 15 µs) are random, so an off-path attacker
 * cannot guess the originate value a reply must carry.
 *
 * @example
 * ```ts
 * import { createSntpRequest } from "./sntp.ts";
 * const req = createSntpRequest(0, (n) => crypto.getRandomValues(new Uint8Array(n)));
 * console.assert(req.payload.length === 48);
 * ```
 */
export function createSntpRequest(
  now: number,
  randomBytes?: (n: number) => Uint8Array,
): SntpRequest {
  const payload = new Uint8Array(NTP_PACKET_SIZE);
  payload[0] = (0 << 6) | (4 << 3) | 3; // LI 0, VN 4, mode 3 (client)
  const transmit = unixMsToNtp(now);
  if (randomBytes) {
    const r = randomBytes(2);
    transmit.fraction = ((transmit.fraction & 0xffff0000) | (r[0] << 8) | r[1]) >>> 0;
  }
  writeTimestamp(payload, 40, transmit);
  return { payload, transmit, sentAt: now };
}

/**
 * A checked reply and the clock measurement it gives.
 *
 * @example
 * ```ts
 * import type { SntpResult } from "./sntp.ts";
 * function apply(r: SntpResult) { return Date.now() + r.offsetMs; }
 * ```
 */
export interface SntpResult {
  /** How far the local clock is behind the server: add it to local time, ms. */
  offsetMs: number;
  /** Round-trip delay, ms (RFC 4330 §5). */
  delayMs: number;
  /** Server stratum (1 = primary). */
  stratum: number;
  /** Leap indicator (0 none, 1 +1 s, 2 -1 s). */
  leap: number;
  /** Server's NTP version. */
  version: number;
  /** Precision of the server clock, log2 seconds. */
  precision: number;
  /** Root delay, ms. */
  rootDelayMs: number;
  /** Root dispersion, ms. */
  rootDispersionMs: number;
  /** Reference identifier: 4 ASCII letters at stratum 1, an IPv4 address or hash above. */
  referenceId: string;
  /** T2: when the server received the request, Unix ms. */
  receivedAt: number;
  /** T3: when the server sent the reply, Unix ms. */
  transmittedAt: number;
}

function readFixed16_16(view: DataView, offset: number): number {
  return (view.getUint32(offset) / 65536) * 1000; // seconds 16.16 -> ms
}

/**
 * Checks a reply against `request` (RFC 4330 §5) and computes offset and delay from
 * T1 = `request.sentAt`, T2, T3 (from the reply) and T4 = `receivedAt` (local Unix ms).
 *
 * Throws {@link SntpBadReply}, {@link SntpKissOfDeath} or {@link SntpUnsynchronized}.
 *
 * @example
 * ```ts
 * import { createSntpRequest, parseSntpReply } from "./sntp.ts";
 * import { unixMsToNtp, writeTimestamp } from "./timestamp.ts";
 * const req = createSntpRequest(1_000_000);
 * const reply = new Uint8Array(48);
 * reply[0] = 0x24; // version 4, mode 4
 * reply[1] = 2;
 * reply.set(req.payload.subarray(40, 48), 24); // originate = our transmit
 * writeTimestamp(reply, 32, unixMsToNtp(1_000_510)); // T2
 * writeTimestamp(reply, 40, unixMsToNtp(1_000_520)); // T3
 * const r = parseSntpReply(reply, req, 1_000_030); // T4
 * console.assert(Math.round(r.offsetMs) === 500 && Math.round(r.delayMs) === 20);
 * ```
 */
export function parseSntpReply(
  payload: Uint8Array,
  request: SntpRequest,
  receivedAt: number,
): SntpResult {
  if (payload.length < NTP_PACKET_SIZE) {
    throw new SntpBadReply(`reply of ${payload.length} bytes is shorter than 48`);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const leap = payload[0] >> 6;
  const version = (payload[0] >> 3) & 7;
  const mode = payload[0] & 7;
  const stratum = payload[1];
  if (mode !== 4) throw new SntpBadReply(`mode ${mode}, expected 4 (server)`);
  if (version < 1 || version > 4) throw new SntpBadReply(`unsupported NTP version ${version}`);
  const originate = readTimestamp(payload, 24);
  if (
    originate.seconds !== request.transmit.seconds ||
    originate.fraction !== request.transmit.fraction
  ) {
    throw new SntpBadReply("originate timestamp does not match our request (stale or forged)");
  }
  const refBytes = payload.subarray(12, 16);
  if (stratum === 0) {
    // RFC 4330 §8: the reference identifier carries a four-letter kiss code.
    throw new SntpKissOfDeath(String.fromCharCode(...refBytes).replace(/\0+$/, ""));
  }
  if (leap === 3) throw new SntpUnsynchronized("server clock is not synchronized (leap 3)");
  if (stratum >= 16) throw new SntpUnsynchronized(`server stratum ${stratum} is unsynchronized`);
  const transmitTs = readTimestamp(payload, 40);
  if (isZeroTimestamp(transmitTs)) throw new SntpBadReply("reply has a zero transmit timestamp");
  const receiveTs = readTimestamp(payload, 32);
  if (isZeroTimestamp(receiveTs)) throw new SntpBadReply("reply has a zero receive timestamp");
  const t1 = request.sentAt;
  const t2 = ntpToUnixMs(receiveTs, t1);
  const t3 = ntpToUnixMs(transmitTs, t1);
  const t4 = receivedAt;
  const referenceId = stratum === 1
    ? String.fromCharCode(...refBytes).replace(/\0+$/, "")
    : [...refBytes].join(".");
  return {
    offsetMs: ((t2 - t1) + (t3 - t4)) / 2,
    delayMs: (t4 - t1) - (t3 - t2),
    stratum,
    leap,
    version,
    precision: view.getInt8(3),
    rootDelayMs: readFixed16_16(view, 4),
    rootDispersionMs: readFixed16_16(view, 8),
    referenceId,
    receivedAt: t2,
    transmittedAt: t3,
  };
}
