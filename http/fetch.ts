/**
 * `createFetch`: a `fetch`-compatible HTTP/1.1 client over any {@link Conn}.
 *
 * The caller supplies how to open a byte stream (`connect`, or a userspace `stack`) and, for
 * https URLs, how to wrap it in TLS (`tls`, by default usernet's TLS 1.3 client when a `stack`
 * or TLS settings are given); the client does the rest: a keep-alive pool per origin, retries of idempotent
 * requests on stale pooled connections, redirects as the Fetch standard describes them, gzip /
 * deflate (and brotli where the platform has it) decoding, streamed bodies in both directions,
 * `AbortSignal`, timeouts, and an event hook for timelines.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";
import {
  ClientClosed,
  ConnectFailed,
  ConnectionClosed,
  HttpTimeout,
  InvalidRedirect,
  RedirectRefused,
  TlsFailed,
  TlsNotConfigured,
  TooManyRedirects,
  UnsupportedScheme,
} from "./errors.ts";
import type { HttpEvent } from "./events.ts";
import type { TlsHandshakeInfo } from "../tls/handshake_info.ts";
import {
  type ConnectFunction,
  type FetchStack,
  stackConnector,
  type TlsFunction,
  type TlsSettings,
  usernetTls,
} from "./stack_fetch.ts";
import type { ParserLimits } from "./response_parser.ts";
import { encodeRequestHead } from "./request_writer.ts";
import { HttpConnection } from "./_connection.ts";
import { ACCEPT_ENCODING } from "./_decode.ts";
import { Exchange, type ExchangeEvent, type RequestBody } from "./_exchange.ts";
import { Pool } from "./_pool.ts";

/** Options of {@link createFetch}: a transport (`connect` or `stack`) and tunables. */
export interface CreateFetchOptions extends TlsSettings {
  /**
   * Opens a TCP (or any byte-stream) connection to `host` (no brackets for IPv6) and `port`;
   * `signal` aborts when the attempt is abandoned (timeout or the request's signal). Give this
   * or `stack`.
   */
  connect?: ConnectFunction;
  /**
   * A userspace stack (usernet's `Stack`, or anything with its `connect`) to open TCP
   * connections through; names are resolved by the stack. Give this or `connect`. https URLs
   * then use usernet's TLS 1.3 client unless `tls` is given.
   */
  stack?: FetchStack;
  /**
   * Wraps a connection in TLS for https URLs; `alpn` is `["http/1.1"]`. Default: usernet's
   * TLS 1.3 client configured by the {@link TlsSettings} fields when `stack` or any of those
   * fields is given; otherwise https URLs fail with {@link TlsNotConfigured}.
   */
  tls?: TlsFunction;
  /** Connections per origin, busy and idle; further requests wait. Default 32. */
  maxConnectionsPerOrigin?: number;
  /** Idle connections kept per origin (0 disables keep-alive). Default 8. */
  maxIdlePerOrigin?: number;
  /** Idle connections kept across all origins. Default 64. */
  maxIdleTotal?: number;
  /** Idle connections are closed after this long. Default 30 000 ms. */
  idleTimeoutMs?: number;
  /** Bound on opening a connection, TLS included. Default 30 000 ms. */
  connectTimeoutMs?: number;
  /** Bound on the wait for the response head once the request is sent. Default 300 000 ms. */
  headersTimeoutMs?: number;
  /** Bound on any single read of the response body or write of the request. Default 300 000 ms. */
  bodyTimeoutMs?: number;
  /** Redirects followed before {@link TooManyRedirects}. Default 20 (the Fetch standard's). */
  maxRedirects?: number;
  /** Response head limits (see {@link ParserLimits}). */
  limits?: Partial<ParserLimits>;
  /** User-Agent sent when the request has none; `null` sends none. Default `"usernet"`. */
  userAgent?: string | null;
  /** Whether to ask for and decode gzip/deflate/br content codings. Default true. */
  decompress?: boolean;
  /** Largest single read from a connection. Default 262 144 bytes. */
  readBufferSize?: number;
  /** Receives timestamped events; exceptions it throws are ignored. */
  onEvent?: (event: HttpEvent) => void;
}

/** A function with `fetch`'s signature, plus `close()`. */
export interface HttpFetch {
  /** Like `fetch`: resolves with a standard `Response` once the response head has arrived. */
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /**
   * Closes idle connections; connections in use close when their response ends. Later calls
   * reject with {@link ClientClosed}.
   */
  close(): void;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const BODY_HEADERS = [
  "content-encoding",
  "content-language",
  "content-location",
  "content-type",
  "content-length",
];
const CROSS_ORIGIN_DROPPED = ["authorization", "cookie", "proxy-authorization", "host"];
/** Header fields the client writes itself from the request's body and URL. */
const MANAGED = new Set(["host", "content-length", "transfer-encoding", "upgrade"]);
const MAX_RETRIES = 3;
/** Redirect bodies up to this size are read to keep the connection; longer ones close it. */
const REDIRECT_DRAIN_LIMIT = 64 * 1024;

type Emit = (event: DistributiveOmit<HttpEvent, "time" | "requestId">) => void;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Creates a `fetch`-compatible function that speaks HTTP/1.1 over connections from
 * `options.connect` (and `options.tls` for https).
 *
 * The returned `Response`'s body streams from the connection; the connection returns to the pool
 * when the body has been read to its end and is closed if the body is cancelled. Responses whose
 * body is neither read nor cancelled keep their connection open.
 *
 * @example Plain HTTP over Deno's TCP
 * ```ts ignore
 * import { createFetch } from "./fetch.ts";
 * const fetch = createFetch({
 *   connect: (hostname, port) => Deno.connect({ hostname, port }),
 *   onEvent: (e) => console.error(e.type),
 * });
 * const response = await fetch("http://127.0.0.1:8080/");
 * console.log(response.status, await response.text());
 * fetch.close();
 * ```
 *
 * @example HTTPS through a usernet stack (TLS 1.3, verified against the system trust store)
 * ```ts ignore
 * import { createFetch } from "./fetch.ts";
 * import { hostNetwork } from "../net/gateway/host_network.ts";
 * const net = await hostNetwork({ dhcp: true });
 * const fetch = createFetch({ stack: net.stack });
 * console.log((await fetch("https://example.com/")).status);
 * fetch.close();
 * await net.close();
 * ```
 */
export function createFetch(options: CreateFetchOptions): HttpFetch {
  const client = new Client(options);
  const fetchFn =
    ((input: string | URL | Request, init?: RequestInit) => client.fetch(input, init)) as HttpFetch;
  fetchFn.close = () => client.close();
  return fetchFn;
}

class Client {
  readonly #options: CreateFetchOptions;
  readonly #connect: ConnectFunction;
  readonly #tls: TlsFunction | undefined;
  readonly #pool: Pool;
  readonly #connectTimeoutMs: number;
  readonly #headersTimeoutMs: number;
  readonly #bodyTimeoutMs: number;
  readonly #maxRedirects: number;
  readonly #readBufferSize: number;
  readonly #decompress: boolean;
  readonly #userAgent: string | null;
  #nextRequestId = 0;
  #nextConnectionId = 0;
  #closed = false;

  constructor(options: CreateFetchOptions) {
    this.#options = options;
    if ((options.connect === undefined) === (options.stack === undefined)) {
      throw new TypeError("createFetch needs exactly one of the connect and stack options");
    }
    this.#connect = options.connect ?? stackConnector(options.stack!);
    const tlsSettings = options.caCerts ?? options.trustStore ?? options.insecureSkipVerify ??
      options.ticketCache ?? options.tlsGroups ?? options.tlsCipherSuites;
    this.#tls = options.tls ??
      (options.stack || tlsSettings !== undefined ? usernetTls(options) : undefined);
    this.#pool = new Pool({
      maxConnectionsPerOrigin: options.maxConnectionsPerOrigin ?? 32,
      maxIdlePerOrigin: options.maxIdlePerOrigin ?? 8,
      maxIdleTotal: options.maxIdleTotal ?? 64,
      idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    });
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? 300_000;
    this.#bodyTimeoutMs = options.bodyTimeoutMs ?? 300_000;
    this.#maxRedirects = options.maxRedirects ?? 20;
    this.#readBufferSize = options.readBufferSize ?? 256 * 1024;
    this.#decompress = options.decompress ?? true;
    this.#userAgent = options.userAgent === undefined ? "usernet" : options.userAgent;
  }

  close(): void {
    this.#closed = true;
    this.#pool.close();
  }

  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const requestId = ++this.#nextRequestId;
    const emit: Emit = (event) => {
      const onEvent = this.#options.onEvent;
      if (!onEvent) return;
      try {
        onEvent({ ...event, time: performance.now(), requestId } as HttpEvent);
      } catch {
        // A faulty observer must not break requests.
      }
    };
    try {
      if (this.#closed) throw new ClientClosed("the HTTP client was closed");
      return await this.#fetch(emit, input, init);
    } catch (error) {
      emit({ type: "error", error });
      throw error;
    }
  }

  async #fetch(emit: Emit, input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const signal = request.signal;
    signal.throwIfAborted();
    let body: RequestBody = null;
    if (request.body !== null) {
      const streamed = init?.body instanceof ReadableStream ||
        (init?.body === undefined && input instanceof Request);
      body = streamed
        ? { stream: request.body }
        : { bytes: new Uint8Array(await request.arrayBuffer()) };
    }
    let url = new URL(request.url);
    let method = request.method;
    const headers = new Headers(request.headers);
    let redirects = 0;
    for (;;) {
      emit({ type: "request-start", method, url: url.href });
      const response = await this.#send(emit, url, method, headers, body, signal);
      const location = response.headers.get("location");
      if (!REDIRECTS.has(response.status) || request.redirect === "manual" || location === null) {
        return withUrl(response, url, redirects > 0);
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        await discard(response);
        throw new InvalidRedirect(`Location ${JSON.stringify(location)} is not a valid URL`);
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        await discard(response);
        throw new InvalidRedirect(`Location ${JSON.stringify(next.href)} is not an http(s) URL`);
      }
      if (request.redirect === "error") {
        await discard(response);
        throw new RedirectRefused(
          `${response.status} redirect to ${next.href} refused (redirect: "error")`,
          response.status,
          next.href,
        );
      }
      if (++redirects > this.#maxRedirects) {
        await discard(response);
        throw new TooManyRedirects(
          `more than ${this.#maxRedirects} redirects (the last to ${next.href})`,
        );
      }
      await discard(response);
      // Fetch standard, HTTP-redirect fetch, steps 11-12.
      const status = response.status;
      if (
        (status === 303 && method !== "GET" && method !== "HEAD") ||
        ((status === 301 || status === 302) && method === "POST")
      ) {
        method = "GET";
        body = null;
        for (const name of BODY_HEADERS) headers.delete(name);
      } else if (body !== null && "stream" in body) {
        throw new InvalidRedirect(
          `${status} redirect to ${next.href} would resend a streamed request body, which cannot be replayed`,
        );
      }
      if (next.origin !== url.origin) {
        for (const name of CROSS_ORIGIN_DROPPED) headers.delete(name);
      }
      if (next.hash === "" && url.hash !== "") next.hash = url.hash;
      emit({ type: "redirect", status, from: url.href, to: next.href, method });
      url = next;
    }
  }

  /** One hop: picks a connection, retrying idempotent requests on stale pooled connections. */
  async #send(
    emit: Emit,
    url: URL,
    method: string,
    userHeaders: Headers,
    body: RequestBody,
    signal: AbortSignal,
  ): Promise<Response> {
    const https = url.protocol === "https:";
    if (!https && url.protocol !== "http:") {
      throw new UnsupportedScheme(`scheme ${JSON.stringify(url.protocol)} is not supported`);
    }
    if (https && !this.#tls) {
      throw new TlsNotConfigured(
        `${url.href} needs TLS, but createFetch was given no tls option`,
      );
    }
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port ? Number(url.port) : https ? 443 : 80;
    const key = `${url.protocol}//${url.hostname}:${port}`;
    const { head, closeAfter, length } = this.#requestHead(url, method, userHeaders, body);
    if (body !== null && "stream" in body && length !== undefined) {
      body = { stream: body.stream, length };
    }
    const replayable = body === null || "bytes" in body;
    const idempotent = IDEMPOTENT.has(method) || userHeaders.has("idempotency-key");
    for (let attempt = 0;; attempt++) {
      const { connection, reused } = await this.#pool.acquire(
        key,
        () => this.#dial(emit, key, host, port, https, signal),
        signal,
      );
      const connEmit = (event: ExchangeEvent) =>
        emit({ ...event, connectionId: connection.id } as Parameters<Emit>[0]);
      if (reused) {
        connEmit({
          type: "reuse",
          idleMs: performance.now() - connection.idleSince,
          previousRequests: connection.requests - 1,
        });
      }
      const exchange = new Exchange({
        connection,
        method,
        url: url.href,
        head,
        body,
        closeAfter,
        limits: this.#options.limits ?? {},
        headersTimeoutMs: this.#headersTimeoutMs,
        bodyTimeoutMs: this.#bodyTimeoutMs,
        decompress: this.#decompress,
        signal,
        emit: connEmit,
        release: (reusable) => this.#pool.release(connection, reusable),
      });
      try {
        return await exchange.run();
      } catch (error) {
        if (
          reused && error instanceof ConnectionClosed && !exchange.responseStarted && idempotent &&
          replayable && !signal.aborted && attempt < MAX_RETRIES
        ) {
          connEmit({ type: "retry", reason: error.message });
          continue;
        }
        throw error;
      }
    }
  }

  #requestHead(
    url: URL,
    method: string,
    userHeaders: Headers,
    body: RequestBody,
  ): { head: Uint8Array; closeAfter: boolean; length?: number } {
    const fields: [string, string][] = [["host", userHeaders.get("host") ?? url.host]];
    let declaredLength: string | null = null;
    let closeAfter = false;
    for (const [name, value] of userHeaders) {
      if (MANAGED.has(name)) {
        if (name === "content-length") declaredLength = value;
        continue;
      }
      if (name === "connection" && /(^|,)\s*close\s*(,|$)/i.test(value)) closeAfter = true;
      fields.push([name, value]);
    }
    if ((url.username || url.password) && !userHeaders.has("authorization")) {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      const bytes = new TextEncoder().encode(credentials);
      fields.push(["authorization", `Basic ${btoa(String.fromCharCode(...bytes))}`]);
    }
    if (this.#userAgent !== null && !userHeaders.has("user-agent")) {
      fields.push(["user-agent", this.#userAgent]);
    }
    if (!userHeaders.has("accept")) fields.push(["accept", "*/*"]);
    if (this.#decompress && !userHeaders.has("accept-encoding")) {
      fields.push(["accept-encoding", ACCEPT_ENCODING]);
    }
    let length: number | undefined;
    if (body === null) {
      // Fetch standard, HTTP-network-or-cache fetch, step 8.
      if (method === "POST" || method === "PUT") fields.push(["content-length", "0"]);
    } else if ("bytes" in body) {
      fields.push(["content-length", String(body.bytes.length)]);
    } else if (declaredLength !== null && /^[0-9]{1,15}$/.test(declaredLength.trim())) {
      length = Number(declaredLength.trim());
      fields.push(["content-length", String(length)]);
    } else {
      fields.push(["transfer-encoding", "chunked"]);
    }
    return {
      head: encodeRequestHead(method, url.pathname + url.search, fields),
      closeAfter,
      length,
    };
  }

  async #dial(
    emit: Emit,
    key: string,
    host: string,
    port: number,
    https: boolean,
    signal: AbortSignal,
  ): Promise<HttpConnection> {
    const connectionId = ++this.#nextConnectionId;
    const timeoutMs = this.#connectTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    const timeout = () =>
      new HttpTimeout(
        `connecting to ${host}:${port} took longer than ${timeoutMs} ms`,
        "connect",
        timeoutMs,
      );
    const started = performance.now();
    emit({ type: "connect-start", connectionId, host, port });
    // Aborts the transport's attempt (SYN retries, TLS handshake) when it is abandoned.
    const attempt = new AbortController();
    let conn: Conn;
    try {
      conn = await settle(this.#connect(host, port, attempt.signal), deadline, signal, timeout);
    } catch (e) {
      attempt.abort(e);
      if (e instanceof HttpTimeout || signal.aborted) throw e;
      throw new ConnectFailed(`connecting to ${host}:${port} failed: ${errorText(e)}`, {
        cause: e,
      });
    }
    const connected = performance.now();
    emit({ type: "connect-done", connectionId, host, port, durationMs: connected - started });
    if (https) {
      try {
        conn = await settle(
          this.#tls!(conn, host, ["http/1.1"], attempt.signal),
          deadline,
          signal,
          timeout,
        );
      } catch (e) {
        attempt.abort(e);
        try {
          conn.close();
        } catch {
          // Already closed by the TLS layer.
        }
        if (e instanceof HttpTimeout || signal.aborted) throw e;
        throw new TlsFailed(`TLS with ${host}:${port} failed: ${errorText(e)}`, { cause: e });
      }
      emit({
        type: "tls-done",
        connectionId,
        serverName: host,
        durationMs: performance.now() - connected,
        handshake: handshakeOf(conn),
      });
    }
    return new HttpConnection(conn, connectionId, key, this.#readBufferSize);
  }
}

/**
 * Resolves like `promise` unless the deadline passes or the signal aborts first; a connection
 * that arrives too late is closed.
 */
function settle<T extends Conn>(
  promise: Promise<T>,
  deadline: number,
  signal: AbortSignal,
  timeout: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      if (done) return;
      finish();
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      if (done) return;
      finish();
      reject(timeout());
    }, Math.max(0, deadline - performance.now()));
    if (signal.aborted) {
      onAbort();
    } else {
      signal.addEventListener("abort", onAbort, { once: true });
    }
    promise.then((value) => {
      if (done) {
        try {
          value.close();
        } catch {
          // Nothing to release.
        }
        return;
      }
      finish();
      resolve(value);
    }, (error) => {
      if (done) return;
      finish();
      reject(error);
    });
  });
}

/** Reads a little of a body that will not be used (to keep the connection), else cancels it. */
async function discard(response: Response): Promise<void> {
  if (!response.body) return;
  const reader = response.body.getReader();
  let read = 0;
  try {
    while (read <= REDIRECT_DRAIN_LIMIT) {
      const r = await reader.read();
      if (r.done) return;
      read += r.value.length;
    }
    await reader.cancel();
  } catch {
    // The body failed: its connection is already closed.
  }
}

function withUrl(response: Response, url: URL, redirected: boolean): Response {
  const shown = new URL(url);
  shown.hash = "";
  shown.username = "";
  shown.password = "";
  Object.defineProperty(response, "url", { value: shown.href });
  Object.defineProperty(response, "redirected", { value: redirected });
  return response;
}

/** The handshake facts of a usernet TLS connection (undefined for other `tls` functions). */
function handshakeOf(conn: Conn): TlsHandshakeInfo | undefined {
  try {
    const info = (conn as { handshake?: TlsHandshakeInfo }).handshake;
    return info && typeof info.protocol === "string" ? info : undefined;
  } catch {
    return undefined;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
