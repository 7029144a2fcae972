/**
 * A sans-IO SNTP query with retries: one clock measurement from one server.
 *
 * ```
 *  const q = new SntpClient({ server: "10.0.2.2", randomBytes });
 *  q.start(Date.now());
 *  loop: out = q.poll(now) -> { datagrams, done, deadline }
 *        send datagrams from one UDP socket; on a datagram: q.receive(from, port, bytes, now)
 * ```
 *
 * `now` is the local wall clock in Unix ms (the quantity being measured), not a monotonic time.
 *
 * @module
 */

import { formatIpv4, parseIpv4 } from "../dns/_ipv4.ts";
import {
  type SntpBadReply,
  SntpKissOfDeath,
  SntpTimeout,
  type SntpUnsynchronized,
} from "./errors.ts";
import { createSntpRequest, parseSntpReply, type SntpRequest, type SntpResult } from "./sntp.ts";
import { readTimestamp } from "./timestamp.ts";

/**
 * Settings of an {@link SntpClient}.
 *
 * @example
 * ```ts
 * import type { SntpClientOptions } from "./client.ts";
 * const o: SntpClientOptions = { server: "10.0.2.2", timeoutMs: 1000, attempts: 2 };
 * ```
 */
export interface SntpClientOptions {
  /** Server IPv4 address. */
  server: number | string;
  /** Server port, default 123. */
  port?: number;
  /** Random bytes for the transmit timestamp's low bits (recommended). */
  randomBytes?: (n: number) => Uint8Array;
  /** Wait per attempt, ms; doubles each retry. Default 2000. */
  timeoutMs?: number;
  /** Requests sent at most. Default 3. */
  attempts?: number;
}

/**
 * The outcome of a query.
 *
 * @example
 * ```ts
 * import type { SntpOutcome } from "./client.ts";
 * function show(o: SntpOutcome) { return o.ok ? o.result.offsetMs : o.error.message; }
 * ```
 */
export type SntpOutcome =
  | { ok: true; result: SntpResult }
  | { ok: false; error: SntpTimeout | SntpKissOfDeath | SntpUnsynchronized | SntpBadReply };

/**
 * What the stack must do after `poll`.
 *
 * @example
 * ```ts
 * import type { SntpClientOutput } from "./client.ts";
 * function idle(o: SntpClientOutput) { return o.deadline === undefined; }
 * ```
 */
export interface SntpClientOutput {
  /** Requests to send (UDP, to `server:port`). */
  datagrams: Array<{ server: number; port: number; payload: Uint8Array }>;
  /** Set once, when the query finished. */
  done?: SntpOutcome;
  /** When to poll again, or `undefined` when finished. */
  deadline: number | undefined;
}

/**
 * One SNTP measurement with retransmission.
 *
 * @example
 * ```ts
 * import { SntpClient } from "./client.ts";
 * const q = new SntpClient({ server: "127.0.0.1", port: 12300 });
 * q.start(0);
 * const out = q.poll(0);
 * console.assert(out.datagrams.length === 1 && out.deadline === 2000);
 * ```
 */
export class SntpClient {
  readonly #server: number;
  readonly #port: number;
  readonly #randomBytes?: (n: number) => Uint8Array;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  #sent = 0;
  #requests: SntpRequest[] = [];
  #deadline: number | undefined;
  #pending: SntpClientOutput["datagrams"] = [];
  #done?: SntpOutcome;
  #reported = false;
  #lastError?: SntpBadReply | SntpUnsynchronized;

  /** Creates an idle query; nothing is sent before `start`. */
  constructor(options: SntpClientOptions) {
    this.#server = typeof options.server === "string"
      ? parseIpv4(options.server)
      : options.server >>> 0;
    this.#port = options.port ?? 123;
    this.#randomBytes = options.randomBytes;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#attempts = Math.max(1, options.attempts ?? 3);
  }

  /** Sends the first request at `now`. */
  start(now: number): void {
    if (this.#sent === 0) this.#send(now);
  }

  #send(now: number): void {
    const request = createSntpRequest(now, this.#randomBytes);
    // Only the latest requests are remembered (bounded by `attempts`).
    this.#requests.push(request);
    this.#pending.push({ server: this.#server, port: this.#port, payload: request.payload });
    this.#deadline = now + this.#timeoutMs * 2 ** this.#sent;
    this.#sent++;
  }

  /** Runs timers; returns requests to send, the outcome once, and the next deadline. */
  poll(now: number): SntpClientOutput {
    if (!this.#done && this.#deadline !== undefined && now >= this.#deadline) {
      if (this.#sent < this.#attempts) {
        this.#send(now);
      } else {
        this.#finish({
          ok: false,
          error: this.#lastError ??
            new SntpTimeout(
              `no reply from ${
                formatIpv4(this.#server)
              }:${this.#port} after ${this.#sent} attempts`,
            ),
        });
      }
    }
    const out: SntpClientOutput = { datagrams: this.#pending, deadline: this.#deadline };
    this.#pending = [];
    if (this.#done && !this.#reported) {
      out.done = this.#done;
      this.#reported = true;
    }
    return out;
  }

  #finish(outcome: SntpOutcome): void {
    this.#done = outcome;
    this.#deadline = undefined;
    this.#pending = [];
  }

  /**
   * A datagram arrived from `from:fromPort` at local time `now`. Replies from elsewhere, or
   * that match none of our requests, are ignored; a kiss-o'-death ends the query.
   */
  receive(from: number | string, fromPort: number, payload: Uint8Array, now: number): void {
    if (this.#done) return;
    const address = typeof from === "string" ? parseIpv4(from) : from >>> 0;
    if (address !== this.#server || fromPort !== this.#port) return;
    if (payload.length < 32) return;
    // Find the request this reply answers by its originate timestamp (RFC 4330 §5); a reply
    // that echoes none of ours is stale or forged and is ignored.
    const originate = readTimestamp(payload, 24);
    const request = this.#requests.find((r) =>
      r.transmit.seconds === originate.seconds && r.transmit.fraction === originate.fraction
    );
    if (!request) return;
    try {
      this.#finish({ ok: true, result: parseSntpReply(payload, request, now) });
    } catch (e) {
      if (e instanceof SntpKissOfDeath) {
        this.#finish({ ok: false, error: e });
        return;
      }
      // Unsynchronized or malformed: remember it, keep waiting for a better reply.
      this.#lastError = e as SntpBadReply | SntpUnsynchronized;
    }
  }
}
