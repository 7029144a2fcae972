/**
 * Timestamped events reported by `createFetch`'s `onEvent` hook, in the order they happen, for
 * timelines such as a CLI's `-v` output.
 *
 * Every event has `type`, `time` (milliseconds from `performance.now()`) and `requestId` (one per
 * call of the fetch function, shared by its redirects and retries). Events about a connection
 * carry `connectionId`.
 *
 * @module
 */

import type { TlsHandshakeInfo } from "../tls/handshake_info.ts";

/** Fields common to every event. */
export interface HttpEventBase {
  /** `performance.now()` when the event happened. */
  time: number;
  /** Identifies one call of the fetch function (redirects and retries included). */
  requestId: number;
}

/** The fetch function was called (and again for each redirect hop). */
export interface RequestStartEvent extends HttpEventBase {
  /** The event's kind. */
  type: "request-start";
  /** The request method. */
  method: string;
  /** The request URL. */
  url: string;
}

/** A new TCP connection is being opened. */
export interface ConnectStartEvent extends HttpEventBase {
  /** The event's kind. */
  type: "connect-start";
  /** The connection this event concerns. */
  connectionId: number;
  /** The host name or address. */
  host: string;
  /** The TCP port. */
  port: number;
}

/** The TCP connection is open. */
export interface ConnectDoneEvent extends HttpEventBase {
  /** The event's kind. */
  type: "connect-done";
  /** The connection this event concerns. */
  connectionId: number;
  /** The host name or address. */
  host: string;
  /** The TCP port. */
  port: number;
  /** Time since `connect-start`. */
  durationMs: number;
}

/** The TLS handshake completed (https only). */
export interface TlsDoneEvent extends HttpEventBase {
  /** The event's kind. */
  type: "tls-done";
  /** The connection this event concerns. */
  connectionId: number;
  /** The TLS server name. */
  serverName: string;
  /** Time since `connect-done`. */
  durationMs: number;
  /**
   * The negotiated parameters, certificate and handshake timeline, when the `tls` function is
   * usernet's (the default with `stack`).
   */
  handshake?: TlsHandshakeInfo;
}

/** An idle pooled connection is used instead of a new one. */
export interface ReuseEvent extends HttpEventBase {
  /** The event's kind. */
  type: "reuse";
  /** The connection this event concerns. */
  connectionId: number;
  /** How long the connection was idle. */
  idleMs: number;
  /** Requests the connection carried before this one. */
  previousRequests: number;
}

/** The request head and body have been written. */
export interface RequestSentEvent extends HttpEventBase {
  /** The event's kind. */
  type: "request-sent";
  /** The connection this event concerns. */
  connectionId: number;
  /** The request method. */
  method: string;
  /** The request URL. */
  url: string;
  /** The exact request head as written (request line and fields). */
  head: string;
  /** Body bytes written, chunk framing excluded. */
  bodyBytes: number;
}

/** A response head arrived (`status` < 200: informational, another follows). */
export interface ResponseHeadersEvent extends HttpEventBase {
  /** The event's kind. */
  type: "response-headers";
  /** The connection this event concerns. */
  connectionId: number;
  /** The HTTP version of the response. */
  version: "1.0" | "1.1";
  /** The HTTP status code. */
  status: number;
  /** The reason phrase. */
  statusText: string;
  /** Fields as received, names as sent. */
  headers: [string, string][];
}

/** The response body has been read completely (or there was none). */
export interface BodyDoneEvent extends HttpEventBase {
  /** The event's kind. */
  type: "body-done";
  /** The connection this event concerns. */
  connectionId: number;
  /** Body bytes received, after removing chunk framing and before content decoding. */
  bodyBytes: number;
  /** Trailer fields of a chunked body (empty when none). */
  trailers: [string, string][];
  /** Whether the connection went back to the pool (otherwise it was closed). */
  keptAlive: boolean;
}

/** A redirect is being followed. */
export interface RedirectEvent extends HttpEventBase {
  /** The event's kind. */
  type: "redirect";
  /** The HTTP status code. */
  status: number;
  /** The URL redirected from. */
  from: string;
  /** The URL redirected to. */
  to: string;
  /** The method of the next request (GET after a 303, or after a 301/302 to a POST). */
  method: string;
}

/** A pooled connection turned out closed; the idempotent request is sent again. */
export interface RetryEvent extends HttpEventBase {
  /** The event's kind. */
  type: "retry";
  /** The connection this event concerns. */
  connectionId: number;
  /** Why the previous attempt failed. */
  reason: string;
}

/** The request or its response body failed. */
export interface ErrorEvent extends HttpEventBase {
  /** The event's kind. */
  type: "error";
  /** The connection this event concerns. */
  connectionId?: number;
  /** The error. */
  error: unknown;
}

/**
 * Everything `onEvent` can receive.
 *
 * @example Print a timeline
 * ```ts
 * import type { HttpEvent } from "./events.ts";
 * const start = performance.now();
 * const onEvent = (e: HttpEvent) => console.error(`${(e.time - start).toFixed(1)}ms ${e.type}`);
 * onEvent({ type: "request-start", time: start, requestId: 1, method: "GET", url: "http://a/" });
 * ```
 */
export type HttpEvent =
  | RequestStartEvent
  | ConnectStartEvent
  | ConnectDoneEvent
  | TlsDoneEvent
  | ReuseEvent
  | RequestSentEvent
  | ResponseHeadersEvent
  | BodyDoneEvent
  | RedirectEvent
  | RetryEvent
  | ErrorEvent;

/**
 * Formats an event as curl-`-v`-like text: a timestamp relative to `start`, the request number,
 * the connection number, and what happened; request and response heads follow line by line
 * with `>` and `<` prefixes. Lines are joined with `\n`.
 *
 * @example
 * ```ts
 * import { formatEvent } from "./events.ts";
 * const line = formatEvent({
 *   type: "connect-done", time: 12.5, requestId: 1, connectionId: 1,
 *   host: "127.0.0.1", port: 8080, durationMs: 0.4,
 * }, 10);
 * console.log(line); // "    2.5 ms #1 c1 connected to 127.0.0.1:8080 in 0.4 ms"
 * ```
 */
export function formatEvent(event: HttpEvent, start = 0): string {
  const ms = (event.time - start).toFixed(1).padStart(7);
  const conn = "connectionId" in event && event.connectionId !== undefined
    ? ` c${event.connectionId}`
    : "";
  const prefix = `${ms} ms #${event.requestId}${conn}`;
  switch (event.type) {
    case "request-start":
      return `${prefix} ${event.method} ${event.url}`;
    case "connect-start":
      return `${prefix} connecting to ${event.host}:${event.port}`;
    case "connect-done":
      return `${prefix} connected to ${event.host}:${event.port} in ${
        event.durationMs.toFixed(1)
      } ms`;
    case "tls-done": {
      const line = `${prefix} TLS with ${event.serverName} in ${event.durationMs.toFixed(1)} ms`;
      const h = event.handshake;
      if (!h) return line;
      return `${line}: ${h.protocol} ${h.cipherSuite} ${h.group}${
        h.alpnProtocol ? ` ALPN ${h.alpnProtocol}` : ""
      }${h.resumed ? " (resumed)" : ""}`;
    }
    case "reuse":
      return `${prefix} reusing connection (idle ${
        event.idleMs.toFixed(0)
      } ms, ${event.previousRequests} earlier requests)`;
    case "request-sent": {
      const lines = event.head.split("\r\n").filter((l) => l !== "").map((l) => `> ${l}`);
      return [`${prefix} request sent (${event.bodyBytes} body bytes)`, ...lines].join("\n");
    }
    case "response-headers": {
      const lines = [
        `< HTTP/${event.version} ${event.status} ${event.statusText}`,
        ...event.headers.map(([n, v]) => `< ${n}: ${v}`),
      ];
      return [`${prefix} response head`, ...lines].join("\n");
    }
    case "body-done":
      return `${prefix} body done: ${event.bodyBytes} bytes${
        event.trailers.length ? `, ${event.trailers.length} trailers` : ""
      }; connection ${event.keptAlive ? "kept alive" : "closed"}`;
    case "redirect":
      return `${prefix} ${event.status} redirect to ${event.to} (${event.method})`;
    case "retry":
      return `${prefix} stale pooled connection (${event.reason}); retrying`;
    case "error": {
      const e = event.error;
      return `${prefix} error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    }
  }
}
