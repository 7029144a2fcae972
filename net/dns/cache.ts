/**
 * A bounded DNS cache: answers kept for their TTL, least recently used evicted first, and
 * negative answers (NXDOMAIN and NODATA, RFC 2308) in a separate, smaller bound.
 *
 * Times are milliseconds of the caller's clock (`now`); the cache never reads a clock.
 *
 * @module
 */

import type { ResourceRecord } from "./message.ts";
import { canonicalName } from "./name.ts";

/**
 * What the cache holds for a name and type.
 *
 * @example
 * ```ts
 * import type { CacheEntry } from "./cache.ts";
 * const e: CacheEntry = { kind: "nxdomain", ttl: 60 };
 * ```
 */
export type CacheEntry =
  | {
    kind: "records";
    /** Canonical name at the end of the CNAME chain. */
    canonicalName: string;
    /** CNAME records followed from the asked name. */
    chain: ResourceRecord[];
    /** Records of the asked type. */
    records: ResourceRecord[];
    /** Seconds left. */
    ttl: number;
  }
  | { kind: "nxdomain" | "nodata"; ttl: number; canonicalName?: string };

/**
 * Limits of a {@link DnsCache}.
 *
 * @example
 * ```ts
 * import { DnsCache } from "./cache.ts";
 * const cache = new DnsCache({ maxEntries: 100, maxNegativeEntries: 20 });
 * ```
 */
export interface DnsCacheOptions {
  /** Positive entries kept at most (LRU beyond). Default 1024. */
  maxEntries?: number;
  /** Negative entries kept at most (LRU beyond). Default 256. */
  maxNegativeEntries?: number;
  /** TTL cap for positive entries, seconds. Default 86400 (one day). */
  maxTtl?: number;
  /** TTL cap for negative entries, seconds (RFC 2308 §5 suggests 1-3 hours). Default 3600. */
  maxNegativeTtl?: number;
}

interface Stored {
  entry: CacheEntry;
  expiresAt: number;
}

const NXDOMAIN_KEY = "*";

/**
 * TTL-respecting LRU cache of DNS answers.
 *
 * @example
 * ```ts
 * import { DnsCache } from "./cache.ts";
 * const cache = new DnsCache();
 * cache.putNegative("nx.example.", 1, "nxdomain", 30, 0);
 * console.assert(cache.get("NX.example.", 28, 1000)?.kind === "nxdomain"); // any type
 * console.assert(cache.get("nx.example.", 1, 31_000) === undefined); // expired
 * ```
 */
export class DnsCache {
  readonly #positive = new Map<string, Stored>();
  readonly #negative = new Map<string, Stored>();
  readonly #maxEntries: number;
  readonly #maxNegativeEntries: number;
  readonly #maxTtl: number;
  readonly #maxNegativeTtl: number;

  /** Creates an empty cache with the given bounds. */
  constructor(options: DnsCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1024;
    this.#maxNegativeEntries = options.maxNegativeEntries ?? 256;
    this.#maxTtl = options.maxTtl ?? 86400;
    this.#maxNegativeTtl = options.maxNegativeTtl ?? 3600;
  }

  /** Entries held (positive and negative), expired ones included until touched. */
  get size(): number {
    return this.#positive.size + this.#negative.size;
  }

  /** Drops everything. */
  clear(): void {
    this.#positive.clear();
    this.#negative.clear();
  }

  #take(map: Map<string, Stored>, key: string, now: number): CacheEntry | undefined {
    const stored = map.get(key);
    if (!stored) return undefined;
    map.delete(key);
    if (stored.expiresAt <= now) return undefined;
    map.set(key, stored); // most recently used goes last
    const ttl = Math.max(0, Math.floor((stored.expiresAt - now) / 1000));
    const entry = stored.entry;
    if (entry.kind !== "records") return { ...entry, ttl };
    const age = (r: ResourceRecord) => ({ ...r, ttl: Math.min(r.ttl, ttl) });
    return { ...entry, ttl, chain: entry.chain.map(age), records: entry.records.map(age) };
  }

  /** The live entry for `name`/`type` (TTLs counted down), or `undefined`. */
  get(name: string, type: number, now: number): CacheEntry | undefined {
    const key = canonicalName(name);
    return this.#take(this.#positive, `${key} ${type}`, now) ??
      this.#take(this.#negative, `${key} ${type}`, now) ??
      this.#take(this.#negative, `${key} ${NXDOMAIN_KEY}`, now);
  }

  #store(map: Map<string, Stored>, limit: number, key: string, stored: Stored): void {
    map.delete(key);
    map.set(key, stored);
    while (map.size > limit) map.delete(map.keys().next().value!);
  }

  /** Caches an answer for `ttl` seconds (capped); a TTL of 0 is not cached (RFC 1035 §3.2.1). */
  putRecords(
    name: string,
    type: number,
    answer: { canonicalName: string; chain: ResourceRecord[]; records: ResourceRecord[] },
    ttl: number,
    now: number,
  ): void {
    const seconds = Math.min(ttl, this.#maxTtl);
    if (seconds <= 0 || this.#maxEntries <= 0) return;
    const key = `${canonicalName(name)} ${type}`;
    this.#negative.delete(key);
    this.#store(this.#positive, this.#maxEntries, key, {
      entry: { kind: "records", ...answer, ttl: seconds },
      expiresAt: now + seconds * 1000,
    });
  }

  /**
   * Caches a negative answer for `ttl` seconds (capped). An NXDOMAIN covers every type of the
   * name (RFC 2308 §5); a NODATA only the type asked.
   */
  putNegative(
    name: string,
    type: number,
    kind: "nxdomain" | "nodata",
    ttl: number,
    now: number,
    canonical?: string,
  ): void {
    const seconds = Math.min(ttl, this.#maxNegativeTtl);
    if (seconds <= 0 || this.#maxNegativeEntries <= 0) return;
    const owner = canonicalName(name);
    const key = `${owner} ${kind === "nxdomain" ? NXDOMAIN_KEY : type}`;
    this.#store(this.#negative, this.#maxNegativeEntries, key, {
      entry: { kind, ttl: seconds, canonicalName: canonical },
      expiresAt: now + seconds * 1000,
    });
  }
}
