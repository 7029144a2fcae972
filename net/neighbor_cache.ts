/**
 * The IPv4 neighbour cache (ARP, RFC 826 and RFC 1122 §2.3.2): IPv4 → MAC with expiry,
 * rate-limited and retried requests, and a bounded queue of packets waiting for resolution.
 *
 * Sans-IO: methods take `now` (ms) and return what to send; the stack does the sending.
 *
 * @module
 */

/** Tunables of the neighbour cache. */
export interface NeighborCacheOptions {
  /** Most entries kept; the least recently learned goes first (default 1024). */
  maxEntries?: number;
  /** How long a learned address stays valid, ms (default 60 000). */
  reachableTime?: number;
  /** Time between requests for the same address, ms (default 1000; RFC 1122 asks ≥ 1/s). */
  retransmitInterval?: number;
  /** Requests before giving up (default 3). */
  maxRequests?: number;
  /**
   * Bytes queued per unresolved address; older packets are dropped first (default 212 992,
   * Linux's `unres_qlen_bytes`, so one fragmented 64 KiB datagram fits).
   */
  maxQueuedBytesPerEntry?: number;
  /** How long a failed resolution is remembered before trying again, ms (default 3000). */
  failedHoldTime?: number;
}

interface Entry {
  mac: Uint8Array | undefined;
  /** When `mac` stops being trusted. */
  expiresAt: number;
  /** Requests sent for the current resolution. */
  requests: number;
  nextRequestAt: number;
  /** Set when resolution failed; new packets are refused until then. */
  failedUntil: number;
  queue: Uint8Array[];
  queuedBytes: number;
}

/** What the stack must do after {@linkcode NeighborCache.poll}. */
export interface NeighborPollResult {
  /** Addresses to send an ARP request for now. */
  requests: number[];
  /** Packets whose resolution failed: the stack drops them (and may report host unreachable). */
  failed: { address: number; packets: Uint8Array[] }[];
}

/**
 * The ARP cache and its pending-packet queues.
 *
 * @example
 * ```ts
 * import { NeighborCache } from "./neighbor_cache.ts";
 * const cache = new NeighborCache();
 * const pending = new Uint8Array(60);
 * console.log(cache.resolve(0x0a000001, pending, 0)); // undefined: queued, request due
 * console.log(cache.poll(0).requests); // [167772161]
 * const released = cache.learn(0x0a000001, new Uint8Array([2, 0, 0, 0, 0, 1]), 5, false);
 * console.log(released.length); // 1: the queued packet can go now
 * ```
 */
export class NeighborCache {
  readonly #entries = new Map<number, Entry>();
  readonly #maxEntries: number;
  readonly #reachableTime: number;
  readonly #retransmitInterval: number;
  readonly #maxRequests: number;
  readonly #maxQueuedBytes: number;
  readonly #failedHoldTime: number;
  /** Packets dropped because a queue was full or an entry was evicted. */
  queueDrops = 0;

  constructor(options: NeighborCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1024;
    this.#reachableTime = options.reachableTime ?? 60_000;
    this.#retransmitInterval = options.retransmitInterval ?? 1000;
    this.#maxRequests = options.maxRequests ?? 3;
    this.#maxQueuedBytes = options.maxQueuedBytesPerEntry ?? 212_992;
    this.#failedHoldTime = options.failedHoldTime ?? 3000;
  }

  /** Number of entries (resolved or pending). */
  get size(): number {
    return this.#entries.size;
  }

  /** The MAC for `address` if known and fresh. */
  lookup(address: number, now: number): Uint8Array | undefined {
    const e = this.#entries.get(address);
    return e?.mac && e.expiresAt > now ? e.mac : undefined;
  }

  /**
   * Returns the MAC for `address`, or queues `packet` until it resolves and returns `undefined`.
   * Returns `null` when the address recently failed to resolve (the packet is not queued).
   */
  resolve(address: number, packet: Uint8Array, now: number): Uint8Array | undefined | null {
    let e = this.#entries.get(address);
    if (e?.mac && e.expiresAt > now) return e.mac;
    if (e && e.failedUntil > now) return null;
    if (!e) {
      e = this.#newEntry(address, now);
    } else if (e.mac || e.failedUntil) {
      // Stale or previously failed: start a fresh resolution.
      e.mac = undefined;
      e.failedUntil = 0;
      e.requests = 0;
      e.nextRequestAt = now;
    }
    while (e.queue.length && e.queuedBytes + packet.length > this.#maxQueuedBytes) {
      e.queuedBytes -= e.queue.shift()!.length;
      this.queueDrops++;
    }
    e.queue.push(packet);
    e.queuedBytes += packet.length;
    return undefined;
  }

  #newEntry(address: number, now: number): Entry {
    if (this.#entries.size >= this.#maxEntries) {
      // Evict the oldest entry (Map iteration order is insertion order).
      const [oldest, old] = this.#entries.entries().next().value!;
      this.queueDrops += old.queue.length;
      this.#entries.delete(oldest);
    }
    const e: Entry = {
      mac: undefined,
      expiresAt: 0,
      requests: 0,
      nextRequestAt: now,
      failedUntil: 0,
      queue: [],
      queuedBytes: 0,
    };
    this.#entries.set(address, e);
    return e;
  }

  /**
   * Records `address` is at `mac` (from an ARP packet) and returns packets that were waiting for
   * it. With `create` false, only updates an entry that exists (RFC 826's merge flag: learn from
   * packets addressed to us, refresh from others).
   */
  learn(address: number, mac: Uint8Array, now: number, create = true): Uint8Array[] {
    let e = this.#entries.get(address);
    if (!e) {
      if (!create) return [];
      e = this.#newEntry(address, now);
    } else {
      // Refresh recency for LRU eviction.
      this.#entries.delete(address);
      this.#entries.set(address, e);
    }
    e.mac = mac.slice(0, 6);
    e.expiresAt = now + this.#reachableTime;
    e.requests = 0;
    e.failedUntil = 0;
    const released = e.queue;
    e.queue = [];
    e.queuedBytes = 0;
    return released;
  }

  /** Forgets `address`. */
  forget(address: number): void {
    this.#entries.delete(address);
  }

  /** Forgets everything (the interface's address changed). */
  clear(): void {
    this.#entries.clear();
  }

  /** Sends due requests and fails exhausted resolutions. */
  poll(now: number): NeighborPollResult {
    const result: NeighborPollResult = { requests: [], failed: [] };
    for (const [address, e] of this.#entries) {
      if (e.mac && e.expiresAt <= now && e.queue.length === 0) {
        // Expired and unused: forget it rather than re-probe (it comes back on demand).
        this.#entries.delete(address);
        continue;
      }
      if (e.mac || e.failedUntil) {
        if (e.failedUntil && e.failedUntil <= now && e.queue.length === 0) {
          this.#entries.delete(address);
        }
        continue;
      }
      if (e.nextRequestAt > now) continue;
      if (e.requests >= this.#maxRequests) {
        result.failed.push({ address, packets: e.queue });
        e.queue = [];
        e.queuedBytes = 0;
        e.failedUntil = now + this.#failedHoldTime;
        continue;
      }
      e.requests++;
      e.nextRequestAt = now + this.#retransmitInterval;
      result.requests.push(address);
    }
    return result;
  }

  /** When {@linkcode NeighborCache.poll} next has work, or `Infinity`. */
  nextDeadline(): number {
    let next = Infinity;
    for (const e of this.#entries.values()) {
      if (e.mac) next = Math.min(next, e.expiresAt);
      else if (e.failedUntil) next = Math.min(next, e.failedUntil);
      else next = Math.min(next, e.nextRequestAt);
    }
    return next;
  }

  /** Entries for display: address, MAC (if resolved), and whether packets wait. */
  entries(): { address: number; mac: Uint8Array | undefined; pending: number }[] {
    return [...this.#entries].map(([address, e]) => ({
      address,
      mac: e.mac,
      pending: e.queue.length,
    }));
  }
}
