/**
 * One request and its response on one connection: writes the request (streaming its body)
 * while watching for the response, parses the head, and exposes the body as a ReadableStream
 * that hands the connection back when the body ends.
 *
 * Failure handling is a latch: an abort, a timeout or a failing request-body source records
 * the error, closes the connection and rejects every pending operation with that error.
 *
 * @module
 */

import {
  ConnectionClosed,
  HttpTimeout,
  InvalidHeader,
  InvalidRequest,
  TruncatedResponse,
  UnexpectedUpgrade,
} from "./errors.ts";
import type { HttpEvent } from "./events.ts";
import type { HttpConnection } from "./_connection.ts";
import { canDecode, decodeBody, parseCodings } from "./_decode.ts";
import { encodeChunk, LAST_CHUNK } from "./request_writer.ts";
import {
  type BodyFraming,
  type ParseEvent,
  type ParserLimits,
  type ResponseHead,
  ResponseParser,
} from "./response_parser.ts";

/** A request body: replayable bytes or a one-shot stream. */
export type RequestBody =
  | null
  | { bytes: Uint8Array }
  | { stream: ReadableStream<Uint8Array>; length?: number };

/** An event without the fields the caller of the exchange fills in. */
export type ExchangeEvent = HttpEvent extends infer E
  ? E extends HttpEvent ? Omit<E, "time" | "requestId" | "connectionId"> : never
  : never;

/** Everything one exchange needs. */
export interface ExchangeOptions {
  connection: HttpConnection;
  method: string;
  url: string;
  head: Uint8Array;
  body: RequestBody;
  /** The request asked for `Connection: close`. */
  closeAfter: boolean;
  limits: Partial<ParserLimits>;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  decompress: boolean;
  signal: AbortSignal;
  emit: (event: ExchangeEvent) => void;
  /** Gives the connection back; called exactly once. */
  release: (reusable: boolean) => void;
}

/** Requests bodies up to this size are sent in the same write as the head. */
const COALESCE_BODY_BELOW = 64 * 1024;

/** Runs one exchange. */
export class Exchange {
  readonly #o: ExchangeOptions;
  readonly #connection: HttpConnection;
  readonly #parser: ResponseParser;

  #failed = false;
  #failure: unknown = undefined;
  #rejecters = new Set<(e: unknown) => void>();
  #released = false;
  #headReceived = false;
  #headersTimer: ReturnType<typeof setTimeout> | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #streamClosed = false;

  #uploadDone = false;
  #uploadError: unknown = undefined;
  #stopUpload = false;
  #uploadReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #trailers: [string, string][] = [];
  readonly #onAbort: () => void;

  constructor(options: ExchangeOptions) {
    this.#o = options;
    this.#connection = options.connection;
    this.#parser = new ResponseParser({ method: options.method, limits: options.limits });
    this.#onAbort = () => this.#fail(options.signal.reason);
  }

  /** Whether any response byte arrived (a request that got none may be retried). */
  get responseStarted(): boolean {
    return this.#parser.totalBytes > 0;
  }

  /** Sends the request and resolves with the response once its head has arrived. */
  async run(): Promise<Response> {
    const signal = this.#o.signal;
    if (signal.aborted) {
      this.#finish(false);
      throw signal.reason;
    }
    signal.addEventListener("abort", this.#onAbort);
    this.#upload().catch(() => {});
    let head: ResponseHead;
    let framing: BodyFraming;
    let rest: ParseEvent[];
    try {
      ({ head, framing, rest } = await this.#readHead());
      if (head.status === 101) {
        throw new UnexpectedUpgrade(
          "server answered 101 Switching Protocols to a request without Upgrade",
        );
      }
    } catch (e) {
      const error = this.#failed ? this.#failure : e;
      this.#finish(false);
      if (
        error instanceof ConnectionClosed && this.#uploadError !== undefined &&
        error.cause === undefined
      ) {
        throw new ConnectionClosed(error.message, { cause: this.#uploadError });
      }
      throw error;
    }
    const headers = new Headers();
    try {
      for (const [name, value] of head.fields) headers.append(name, value);
    } catch (e) {
      this.#finish(false);
      throw new InvalidHeader(`header rejected by Headers: ${(e as Error).message}`);
    }

    const nullBody = framing.kind === "none" || head.status === 204 || head.status === 205 ||
      head.status === 304;
    const ended = rest.some((e) => e.type === "end");
    for (const e of rest) if (e.type === "trailers") this.#trailers = e.fields;
    if (ended) this.#complete();
    let body: ReadableStream<Uint8Array> | null = null;
    if (nullBody) {
      // 205 may carry a (forbidden) body: drop it and the connection with it.
      if (!ended) this.#finish(false);
    } else {
      body = this.#bodyStream(rest);
      if (framing.kind === "chunked" && framing.codings.length > 0) {
        body = decodeBody(body, framing.codings);
      }
      const contentCodings = parseCodings(headers.get("content-encoding"));
      if (this.#o.decompress && contentCodings.length > 0 && canDecode(contentCodings)) {
        body = decodeBody(body, contentCodings);
      }
    }
    return new Response(body, { status: head.status, statusText: head.statusText, headers });
  }

  async #readHead(): Promise<{ head: ResponseHead; framing: BodyFraming; rest: ParseEvent[] }> {
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await this.#io(this.#connection.read());
      } catch (e) {
        if (this.#failed) throw this.#failure;
        throw this.#parser.totalBytes === 0
          ? new ConnectionClosed(
            `connection closed before any response byte arrived: ${errorText(e)}`,
            { cause: e },
          )
          : new TruncatedResponse(`connection failed inside the response head: ${errorText(e)}`, {
            cause: e,
          });
      }
      const events = chunk === null ? this.#parser.finish() : this.#parser.push(chunk);
      for (let i = 0; i < events.length; i++) {
        const event = events[i];
        if (event.type !== "head") continue;
        const { head } = event;
        this.#o.emit({
          type: "response-headers",
          version: head.version,
          status: head.status,
          statusText: head.statusText,
          headers: head.fields,
        });
        if (head.status >= 200 || head.status === 101) {
          this.#headReceived = true;
          clearTimeout(this.#headersTimer);
          return { head, framing: event.framing, rest: events.slice(i + 1) };
        }
      }
    }
  }

  #bodyStream(initial: ParseEvent[]): ReadableStream<Uint8Array> {
    let queue = initial;
    let next = 0;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: async (controller) => {
        try {
          for (;;) {
            let enqueued = false;
            while (next < queue.length) {
              const event = queue[next++];
              if (event.type === "body") {
                if (event.bytes.length > 0) {
                  controller.enqueue(event.bytes);
                  enqueued = true;
                }
              } else if (event.type === "trailers") {
                this.#trailers = event.fields;
              } else if (event.type === "end") {
                this.#complete();
                this.#streamClosed = true;
                controller.close();
                return;
              }
            }
            if (enqueued) return;
            let chunk: Uint8Array | null;
            try {
              chunk = await this.#io(this.#connection.read(), this.#o.bodyTimeoutMs);
            } catch (e) {
              if (this.#failed) throw this.#failure;
              throw new TruncatedResponse(
                `connection failed after ${this.#parser.bodyBytes} body bytes: ${errorText(e)}`,
                { cause: e },
              );
            }
            queue = chunk === null ? this.#parser.finish() : this.#parser.push(chunk);
            next = 0;
          }
        } catch (e) {
          this.#streamClosed = true;
          this.#o.emit({ type: "error", error: e });
          this.#fail(e);
          throw e;
        }
      },
      cancel: () => {
        this.#streamClosed = true;
        this.#finish(false);
      },
    }, { highWaterMark: 0 });
  }

  /** The response ended normally: hand the connection back if it can carry another request. */
  #complete(): void {
    if (this.#released) return;
    const reusable = this.#parser.keepAlive && this.#uploadDone && !this.#o.closeAfter;
    this.#finish(reusable);
    this.#o.emit({
      type: "body-done",
      bodyBytes: this.#parser.bodyBytes,
      trailers: this.#trailers,
      keptAlive: reusable,
    });
  }

  /** Releases the connection once, and detaches from the signal and timers. */
  #finish(reusable: boolean): void {
    if (this.#released) return;
    this.#released = true;
    clearTimeout(this.#headersTimer);
    this.#o.signal.removeEventListener("abort", this.#onAbort);
    if (!this.#uploadDone) {
      this.#stopUpload = true;
      this.#uploadReader?.cancel().catch(() => {});
    }
    this.#o.release(reusable);
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    if (this.#released && this.#streamClosed) return;
    this.#failed = true;
    this.#failure = error;
    // Once released, the connection may already serve another request: leave it alone.
    if (!this.#released) this.#connection.close();
    for (const reject of this.#rejecters) reject(error);
    this.#rejecters.clear();
    if (this.#controller && !this.#streamClosed) {
      this.#streamClosed = true;
      try {
        this.#controller.error(error);
      } catch {
        // Already closed.
      }
    }
    this.#finish(false);
  }

  /** Awaits `op` unless the exchange fails first; `timeoutMs` bounds the wait. */
  #io<T>(op: Promise<T>, timeoutMs?: number, phase: "headers" | "body" = "body"): Promise<T> {
    if (this.#failed) {
      op.catch(() => {});
      return Promise.reject(this.#failure);
    }
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.#fail(
            new HttpTimeout(
              phase === "body"
                ? `no progress on the connection for ${timeoutMs} ms`
                : `no response head within ${timeoutMs} ms`,
              phase,
              timeoutMs,
            ),
          );
        }, timeoutMs);
      }
      this.#rejecters.add(reject);
      op.then((value) => {
        clearTimeout(timer);
        this.#rejecters.delete(reject);
        if (this.#failed) reject(this.#failure);
        else resolve(value);
      }, (error) => {
        clearTimeout(timer);
        this.#rejecters.delete(reject);
        reject(this.#failed ? this.#failure : error);
      });
    });
  }

  #armHeadersTimer(): void {
    const ms = this.#o.headersTimeoutMs;
    if (this.#headReceived || this.#released || !Number.isFinite(ms)) return;
    this.#headersTimer = setTimeout(() => {
      this.#fail(new HttpTimeout(`no response head within ${ms} ms`, "headers", ms));
    }, ms);
  }

  async #upload(): Promise<void> {
    const { head, body } = this.#o;
    const write = (bytes: Uint8Array) =>
      this.#io(this.#connection.write(bytes), this.#o.bodyTimeoutMs);
    let bodyBytes = 0;
    try {
      if (body === null) {
        await write(head);
      } else if ("bytes" in body) {
        bodyBytes = body.bytes.length;
        if (bodyBytes < COALESCE_BODY_BELOW) {
          const both = new Uint8Array(head.length + bodyBytes);
          both.set(head);
          both.set(body.bytes, head.length);
          await write(both);
        } else {
          await write(head);
          await write(body.bytes);
        }
      } else {
        const reader = body.stream.getReader();
        this.#uploadReader = reader;
        await write(head);
        for (;;) {
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await reader.read();
          } catch (e) {
            if (!this.#stopUpload) this.#fail(e);
            return;
          }
          if (this.#stopUpload) return;
          if (result.done) break;
          const chunk = result.value;
          if (!(chunk instanceof Uint8Array)) {
            const error = new InvalidRequest("request body stream yielded a non-Uint8Array chunk");
            reader.cancel(error).catch(() => {});
            this.#fail(error);
            return;
          }
          bodyBytes += chunk.length;
          if (body.length !== undefined) {
            if (bodyBytes > body.length) {
              const error = new InvalidRequest(
                `request body stream is longer than its Content-Length ${body.length}`,
              );
              reader.cancel(error).catch(() => {});
              this.#fail(error);
              return;
            }
            if (chunk.length > 0) await write(chunk);
          } else {
            for (const part of encodeChunk(chunk)) await write(part);
          }
        }
        if (body.length !== undefined) {
          if (bodyBytes !== body.length) {
            this.#fail(
              new InvalidRequest(
                `request body stream ended after ${bodyBytes} of its Content-Length ${body.length} bytes`,
              ),
            );
            return;
          }
        } else {
          await write(LAST_CHUNK);
        }
      }
    } catch (e) {
      if (this.#failed || this.#stopUpload) return;
      // The connection broke while sending. The server may still have answered (an early
      // error response before closing), so the response read decides what the caller sees.
      this.#uploadError = e;
      this.#armHeadersTimer();
      return;
    }
    this.#uploadDone = true;
    this.#o.emit({
      type: "request-sent",
      method: this.#o.method,
      url: this.#o.url,
      head: latin1(head),
      bodyBytes,
    });
    this.#armHeadersTimer();
  }
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 4096) as unknown as number[]);
  }
  return s;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
