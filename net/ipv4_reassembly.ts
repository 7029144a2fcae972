/**
 * Bounded, timed reassembly of IPv4 fragments (RFC 791 §3.2, RFC 815's hole idea, simplified
 * to a sorted list of received ranges).
 *
 * Limits: a number of datagrams in progress, a total of buffered bytes, and a timeout after
 * which a partial datagram is discarded (RFC 1122 §3.3.2 suggests 60–120 s; Linux uses 30 s).
 * Overlapping fragments that disagree drop the whole datagram, as Linux does since 4.19
 * (RFC 5722's reasoning applies to IPv4 too).
 *
 * @module
 */
import type { Ipv4Packet } from "./wire/ipv4.ts";

/** Limits of the reassembler. */
export interface ReassemblyOptions {
  /** Datagrams reassembled at once (default 64). */
  maxDatagrams?: number;
  /** Bytes buffered across all datagrams (default 4 MiB). */
  maxBytes?: number;
  /** Time a partial datagram is kept, ms (default 30 000). */
  timeout?: number;
}

interface Partial {
  key: string;
  header: Uint8Array | undefined;
  /** Received payload ranges, sorted and non-overlapping: [start, end). */
  ranges: { start: number; end: number; data: Uint8Array }[];
  /** Total payload length, known once the last fragment arrived. */
  totalLength: number;
  bufferedBytes: number;
  expiresAt: number;
}

/** Why a fragment was not kept. */
export type ReassemblyDrop = "too-many" | "too-big" | "overlap" | "timeout" | "bad-fragment";

/**
 * Collects fragments and returns whole datagrams.
 *
 * @example
 * ```ts ignore
 * import { Ipv4Reassembler } from "./ipv4_reassembly.ts";
 * const reassembler = new Ipv4Reassembler();
 * const whole = reassembler.add(fragment, now); // Uint8Array (the whole IP packet) or undefined
 * ```
 */
export class Ipv4Reassembler {
  readonly #partials = new Map<string, Partial>();
  readonly #maxDatagrams: number;
  readonly #maxBytes: number;
  readonly #timeout: number;
  #bufferedBytes = 0;
  /** Called for each fragment or datagram that is dropped, with the reason. */
  onDrop: (reason: ReassemblyDrop) => void = () => {};

  constructor(options: ReassemblyOptions = {}) {
    this.#maxDatagrams = options.maxDatagrams ?? 64;
    this.#maxBytes = options.maxBytes ?? 4 << 20;
    this.#timeout = options.timeout ?? 30_000;
  }

  /** Datagrams in progress. */
  get pending(): number {
    return this.#partials.size;
  }

  /**
   * Adds a fragment. Returns the reassembled IPv4 packet (header of the first fragment with
   * offset/MF cleared, total length set, checksum not recomputed) when complete.
   */
  add(fragment: Ipv4Packet, now: number): Uint8Array | undefined {
    const key =
      `${fragment.source}/${fragment.destination}/${fragment.protocol}/${fragment.identification}`;
    const payload = fragment.payload;
    const start = fragment.fragmentOffset;
    const end = start + payload.length;
    const more = fragment.moreFragments;
    // Every fragment but the last carries a multiple of 8 bytes (RFC 791).
    if (
      (more && (payload.length & 7) !== 0) || end > 65535 - 20 || (more && payload.length === 0)
    ) {
      this.onDrop("bad-fragment");
      return undefined;
    }
    let p = this.#partials.get(key);
    if (!p) {
      if (this.#partials.size >= this.#maxDatagrams) {
        this.onDrop("too-many");
        return undefined;
      }
      p = {
        key,
        header: undefined,
        ranges: [],
        totalLength: -1,
        bufferedBytes: 0,
        expiresAt: now + this.#timeout,
      };
      this.#partials.set(key, p);
    }
    if (this.#bufferedBytes + payload.length > this.#maxBytes) {
      this.#discard(p, "too-big");
      return undefined;
    }
    if (!more) {
      const received = p.ranges.length ? p.ranges[p.ranges.length - 1].end : 0;
      if ((p.totalLength >= 0 && p.totalLength !== end) || received > end) {
        // Two different ends, or data already received past this end.
        this.#discard(p, "overlap");
        return undefined;
      }
      p.totalLength = end;
    }
    if (p.totalLength >= 0 && end > p.totalLength) {
      this.#discard(p, "overlap");
      return undefined;
    }
    if (start === 0) p.header = fragment.header.slice();
    // Insert the range, refusing overlaps with different bytes and ignoring exact duplicates.
    let i = 0;
    while (i < p.ranges.length && p.ranges[i].end <= start) i++;
    if (i < p.ranges.length && p.ranges[i].start < end) {
      const r = p.ranges[i];
      if (r.start === start && r.end === end && equalBytes(r.data, payload)) return undefined;
      this.#discard(p, "overlap");
      return undefined;
    }
    const data = payload.slice();
    p.ranges.splice(i, 0, { start, end, data });
    p.bufferedBytes += data.length;
    this.#bufferedBytes += data.length;
    return this.#complete(p);
  }

  #complete(p: Partial): Uint8Array | undefined {
    if (p.totalLength < 0 || !p.header) return undefined;
    let covered = 0;
    for (const r of p.ranges) {
      if (r.start !== covered) return undefined;
      covered = r.end;
    }
    if (covered !== p.totalLength) return undefined;
    const headerLength = p.header.length;
    if (headerLength + p.totalLength > 65535) {
      // Options in the first fragment's header push the datagram past IPv4's limit.
      this.#discard(p, "too-big");
      return undefined;
    }
    const packet = new Uint8Array(headerLength + p.totalLength);
    packet.set(p.header, 0);
    for (const r of p.ranges) packet.set(r.data, headerLength + r.start);
    const total = packet.length;
    packet[2] = total >>> 8;
    packet[3] = total & 0xff;
    packet[6] &= 0x40; // keep DF, clear MF and the offset
    packet[7] = 0;
    this.#remove(p);
    return packet;
  }

  #discard(p: Partial, reason: ReassemblyDrop): void {
    this.onDrop(reason);
    this.#remove(p);
  }

  #remove(p: Partial): void {
    this.#bufferedBytes -= p.bufferedBytes;
    this.#partials.delete(p.key);
  }

  /** Discards timed-out partial datagrams. */
  poll(now: number): void {
    for (const p of this.#partials.values()) {
      if (p.expiresAt <= now) this.#discard(p, "timeout");
    }
  }

  /** When the oldest partial datagram times out, or `Infinity`. */
  nextDeadline(): number {
    let next = Infinity;
    for (const p of this.#partials.values()) next = Math.min(next, p.expiresAt);
    return next;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
