/**
 * A client-side cache of TLS 1.3 session tickets (RFC 8446 §4.6.1) for PSK resumption.
 * Tickets are used once (RFC 8446 §C.4 recommends against reuse), expire with their
 * lifetime (at most 7 days), and the cache is bounded.
 *
 * @module
 */

import type { CipherSuiteName } from "./cipher_suite.ts";
import type { PeerCertificateInfo } from "./handshake_info.ts";
import type { Certificate } from "./x509/certificate.ts";

/** A resumable session: what a NewSessionTicket gave us plus the original session's facts. */
export interface SessionTicket {
  /** Server name the session was established with. */
  serverName: string;
  /** Cipher suite of the original session (resumption must use the same hash). */
  cipherSuite: CipherSuiteName;
  /** The resumption PSK. */
  psk: Uint8Array;
  /** The opaque ticket (the PSK identity). */
  ticket: Uint8Array;
  /** ticket_age_add. */
  ageAdd: number;
  /** When the ticket was received (ms since the epoch). */
  receivedAt: number;
  /** Lifetime in ms. */
  lifetimeMs: number;
  /** ALPN protocol of the original session. */
  alpnProtocol: string | undefined;
  /** The original session's server certificate. */
  peerCertificate: PeerCertificateInfo | undefined;
  /** The certificates the server sent in the original session (leaf first). */
  peerCertificates: Certificate[];
  /** Whether the original session's certificate was verified. */
  verified: boolean;
}

/** Limits for a {@linkcode TicketCache}. */
export interface TicketCacheOptions {
  /** Total tickets kept (default 256). */
  maxTickets?: number;
  /** Tickets kept per server name (default 4; servers often send two per connection). */
  maxTicketsPerServer?: number;
}

/**
 * Session tickets by server name. Pass one to several connections to resume sessions.
 *
 * @example
 * ```ts
 * import { TicketCache } from "./ticket_cache.ts";
 * const cache = new TicketCache({ maxTickets: 100 });
 * console.log(cache.size); // 0
 * ```
 */
export class TicketCache {
  readonly #byServer = new Map<string, SessionTicket[]>();
  readonly #maxTickets: number;
  readonly #maxPerServer: number;
  #count = 0;

  constructor(options: TicketCacheOptions = {}) {
    this.#maxTickets = options.maxTickets ?? 256;
    this.#maxPerServer = options.maxTicketsPerServer ?? 4;
  }

  /** Number of tickets held. */
  get size(): number {
    return this.#count;
  }

  /** Stores a ticket, evicting the oldest ones beyond the limits. */
  put(ticket: SessionTicket): void {
    const key = ticket.serverName.toLowerCase();
    let list = this.#byServer.get(key);
    if (!list) this.#byServer.set(key, list = []);
    list.push(ticket);
    this.#count++;
    while (list.length > this.#maxPerServer) {
      list.shift();
      this.#count--;
    }
    // Map iteration order is insertion order: evict from the least recently added server.
    for (const [k, l] of this.#byServer) {
      if (this.#count <= this.#maxTickets) break;
      while (l.length && this.#count > this.#maxTickets) {
        l.shift();
        this.#count--;
      }
      if (!l.length) this.#byServer.delete(k);
    }
  }

  /**
   * Removes and returns the newest unexpired ticket for `serverName` whose suite is
   * acceptable, or `undefined`.
   */
  take(
    serverName: string,
    now: number,
    acceptable: (suite: CipherSuiteName) => boolean = () => true,
  ): SessionTicket | undefined {
    const key = serverName.toLowerCase();
    const list = this.#byServer.get(key);
    if (!list) return undefined;
    let found: SessionTicket | undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const t = list[i];
      const expired = now - t.receivedAt >= t.lifetimeMs || now < t.receivedAt;
      if (expired || (!found && acceptable(t.cipherSuite))) {
        list.splice(i, 1);
        this.#count--;
        if (!expired && !found) found = t;
      }
    }
    if (!list.length) this.#byServer.delete(key);
    return found;
  }

  /** Drops every ticket. */
  clear(): void {
    this.#byServer.clear();
    this.#count = 0;
  }
}
