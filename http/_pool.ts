/**
 * The per-origin keep-alive pool: bounded connections per origin (callers wait in FIFO order
 * beyond the bound), bounded idle connections per origin and in total (oldest closed first),
 * an idle timeout, and dead-connection detection while idle.
 *
 * @module
 */

import { ClientClosed } from "./errors.ts";
import type { HttpConnection } from "./_connection.ts";

/** Pool bounds. */
export interface PoolLimits {
  maxConnectionsPerOrigin: number;
  maxIdlePerOrigin: number;
  maxIdleTotal: number;
  idleTimeoutMs: number;
}

interface Origin {
  /** Connections counted against the bound: connecting, busy and idle. */
  total: number;
  /** Idle connections, most recently used last. */
  idle: HttpConnection[];
  waiters: Array<() => void>;
}

/** A connection handed out by {@link Pool.acquire}. */
export interface Acquired {
  connection: HttpConnection;
  /** Whether the connection served an earlier request. */
  reused: boolean;
}

/** Keep-alive pool keyed by origin. */
export class Pool {
  readonly #limits: PoolLimits;
  readonly #origins = new Map<string, Origin>();
  /** All idle connections, oldest first (Set keeps insertion order). */
  readonly #idle = new Set<HttpConnection>();
  #closed = false;

  constructor(limits: PoolLimits) {
    this.#limits = limits;
  }

  /** Number of idle connections (for tests and diagnostics). */
  get idleCount(): number {
    return this.#idle.size;
  }

  /**
   * Returns an idle connection for `key`, or a new one from `dial` if the origin is below its
   * bound, or waits for one of those to become possible.
   */
  async acquire(
    key: string,
    dial: () => Promise<HttpConnection>,
    signal: AbortSignal,
  ): Promise<Acquired> {
    for (;;) {
      if (this.#closed) throw new ClientClosed("the HTTP client was closed");
      signal.throwIfAborted();
      const origin = this.#origin(key);
      let connection: HttpConnection | undefined;
      while ((connection = origin.idle.pop())) {
        this.#unidle(connection);
        if (connection.dead) {
          this.#discard(origin, key, connection);
          continue;
        }
        connection.resume();
        return { connection, reused: true };
      }
      if (origin.total < this.#limits.maxConnectionsPerOrigin) {
        origin.total++;
        try {
          connection = await dial();
        } catch (e) {
          origin.total--;
          this.#wake(origin, key);
          throw e;
        }
        connection.resume();
        return { connection, reused: false };
      }
      await this.#wait(origin, signal);
    }
  }

  /**
   * Gives a connection back after a response: kept idle when `reusable` and within bounds,
   * closed otherwise. Must be called exactly once per acquire.
   */
  release(connection: HttpConnection, reusable: boolean): void {
    const key = connection.key;
    const origin = this.#origin(key);
    if (!reusable || this.#closed || connection.dead || this.#limits.maxIdlePerOrigin <= 0) {
      this.#discard(origin, key, connection);
      return;
    }
    while (origin.idle.length >= this.#limits.maxIdlePerOrigin) {
      const oldest = origin.idle.shift()!;
      this.#unidle(oldest);
      this.#discard(origin, key, oldest);
    }
    while (this.#idle.size >= this.#limits.maxIdleTotal) {
      const oldest = this.#idle.values().next().value!;
      const other = this.#origins.get(oldest.key)!;
      other.idle.splice(other.idle.indexOf(oldest), 1);
      this.#unidle(oldest);
      this.#discard(other, oldest.key, oldest);
    }
    connection.idleSince = performance.now();
    origin.idle.push(connection);
    this.#idle.add(connection);
    const drop = () => {
      const at = origin.idle.indexOf(connection);
      if (at < 0) return;
      origin.idle.splice(at, 1);
      this.#unidle(connection);
      this.#discard(origin, key, connection);
    };
    const timer = setTimeout(drop, this.#limits.idleTimeoutMs);
    Deno.unrefTimer(timer);
    connection.idleTimer = timer;
    connection.watchIdle(drop);
    this.#wake(origin, key);
  }

  /** Closes idle connections, rejects waiters and refuses further acquires. */
  close(): void {
    this.#closed = true;
    for (const [key, origin] of this.#origins) {
      for (const c of origin.idle.splice(0)) {
        this.#unidle(c);
        this.#discard(origin, key, c);
      }
      for (const w of origin.waiters.splice(0)) w();
    }
  }

  #origin(key: string): Origin {
    let origin = this.#origins.get(key);
    if (!origin) {
      origin = { total: 0, idle: [], waiters: [] };
      this.#origins.set(key, origin);
    }
    return origin;
  }

  #unidle(connection: HttpConnection): void {
    this.#idle.delete(connection);
    clearTimeout(connection.idleTimer);
    connection.idleTimer = undefined;
  }

  #discard(origin: Origin, key: string, connection: HttpConnection): void {
    connection.close();
    origin.total--;
    this.#wake(origin, key);
  }

  #wake(origin: Origin, key: string): void {
    const waiter = origin.waiters.shift();
    if (waiter) {
      waiter();
    } else if (origin.total === 0 && origin.idle.length === 0) {
      this.#origins.delete(key);
    }
  }

  #wait(origin: Origin, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = origin.waiters.indexOf(wake);
        if (at >= 0) origin.waiters.splice(at, 1);
        reject(signal.reason);
      };
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      origin.waiters.push(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
