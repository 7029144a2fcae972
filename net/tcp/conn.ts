/**
 * `Deno.Conn`-shaped TCP connections and `Deno.Listener`-shaped listeners over usernet's TCP.
 *
 * @module
 */
import { formatIpv4Address } from "../wire/address.ts";
import {
  Aborted,
  Closed,
  ConnectionRefused,
  ConnectionReset,
  HostUnreachable,
  type NetError,
  TimedOut,
} from "../errors.ts";
import type { NetAddr } from "../udp.ts";
import type { TcpControlBlock, TcpError } from "./control_block.ts";
import type { TcpState } from "./state.ts";

/** What a connection needs from the TCP layer. */
export interface TcpConnHost {
  /** The clock, ms. */
  now(): number;
  /** Sends what the control block queued and re-arms timers. */
  flush(tcb: TcpControlBlock): void;
}

type Waiter = { resolve: () => void; reject: (e: Error) => void };

/**
 * A TCP connection shaped like `Deno.Conn`: `read`, `write`, `closeWrite`, `close`, `readable`,
 * `writable`, `localAddr`, `remoteAddr`, `setNoDelay`, `setKeepAlive`.
 *
 * `write` resolves once all its bytes are in the send buffer (backpressure); `read` resolves
 * `null` after the peer's FIN. Errors are typed: {@linkcode ConnectionRefused},
 * {@linkcode ConnectionReset}, {@linkcode TimedOut}, {@linkcode Aborted}.
 *
 * @example
 * ```ts ignore
 * const conn = await stack.connect({ hostname: "10.0.2.2", port: 80 });
 * await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
 * const buf = new Uint8Array(4096);
 * const n = await conn.read(buf);
 * conn.close();
 * ```
 */
export class TcpConn {
  readonly #tcb: TcpControlBlock;
  readonly #host: TcpConnHost;
  #readers: Waiter[] = [];
  #writers: Waiter[] = [];
  #established: Waiter[] = [];
  #closedLocally = false;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /** Made by `stack.connect()` or a listener; not constructed directly. */
  constructor(tcb: TcpControlBlock, host: TcpConnHost) {
    this.#tcb = tcb;
    this.#host = host;
  }

  /** The local address and port. */
  get localAddr(): NetAddr {
    const t = this.#tcb.tuple;
    return { transport: "tcp", hostname: formatIpv4Address(t.localAddress), port: t.localPort };
  }

  /** The remote address and port. */
  get remoteAddr(): NetAddr {
    const t = this.#tcb.tuple;
    return { transport: "tcp", hostname: formatIpv4Address(t.remoteAddress), port: t.remotePort };
  }

  /** The TCP state, for diagnostics. */
  get state(): TcpState {
    return this.#tcb.state;
  }

  /** The control block, for diagnostics and tests. */
  get controlBlock(): TcpControlBlock {
    return this.#tcb;
  }

  /** Reads up to `p.length` bytes; `null` at end of stream (the peer's FIN). */
  read(p: Uint8Array): Promise<number | null> {
    if (this.#closedLocally) return Promise.reject(new Closed("the connection is closed"));
    if (p.length === 0) return Promise.resolve(0);
    const attempt = (): number | null | undefined => {
      const tcb = this.#tcb;
      if (tcb.readableLength > 0) {
        const n = tcb.read(p, this.#host.now());
        this.#host.flush(tcb);
        return n;
      }
      if (tcb.readEnded) return null;
      if (tcb.state === "CLOSED") {
        if (tcb.error) throw this.#error(tcb.error);
        return null;
      }
      return undefined;
    };
    try {
      const now = attempt();
      if (now !== undefined) return Promise.resolve(now);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<number | null>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          try {
            const r = attempt();
            if (r === undefined) this.#readers.push(waiter);
            else resolve(r);
          } catch (error) {
            reject(error);
          }
        },
        reject,
      };
      this.#readers.push(waiter);
    });
  }

  /** Writes all of `p` into the send buffer, waiting for room; resolves to `p.length`. */
  async write(p: Uint8Array): Promise<number> {
    let offset = 0;
    while (offset < p.length) {
      if (this.#closedLocally) throw new Closed("the connection is closed");
      const tcb = this.#tcb;
      if (tcb.state === "CLOSED") {
        throw tcb.error ? this.#error(tcb.error) : new Closed("the connection is closed");
      }
      if (!tcb.canWrite) throw new Closed("the connection's sending side is closed");
      const n = tcb.write(offset === 0 ? p : p.subarray(offset), this.#host.now());
      if (n > 0) {
        offset += n;
        this.#host.flush(tcb);
        continue;
      }
      await new Promise<void>((resolve, reject) => this.#writers.push({ resolve, reject }));
    }
    return p.length;
  }

  /** Sends FIN after the data already written; reading goes on. */
  closeWrite(): Promise<void> {
    const tcb = this.#tcb;
    if (this.#closedLocally) return Promise.reject(new Closed("the connection is closed"));
    tcb.close(this.#host.now());
    this.#host.flush(tcb);
    this.#wake();
    return Promise.resolve();
  }

  /**
   * Closes the connection. Data already written is still delivered (FIN follows it), unless
   * received data was left unread: then the connection is reset, as RFC 2525 §2.17 asks.
   */
  close(): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    const tcb = this.#tcb;
    const now = this.#host.now();
    tcb.orphaned = true;
    if (tcb.readableLength > 0) tcb.abort(now, "aborted");
    else tcb.close(now);
    this.#host.flush(tcb);
    const error = new Closed("the connection was closed");
    for (
      const w of [
        ...this.#readers.splice(0),
        ...this.#writers.splice(0),
        ...this.#established.splice(0),
      ]
    ) {
      w.reject(error);
    }
  }

  /** Closes the connection at once with RST (data not yet sent or read is discarded). */
  abort(): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    const tcb = this.#tcb;
    tcb.orphaned = true;
    tcb.abort(this.#host.now(), "aborted");
    this.#host.flush(tcb);
    const error = new Closed("the connection was aborted");
    for (
      const w of [
        ...this.#readers.splice(0),
        ...this.#writers.splice(0),
        ...this.#established.splice(0),
      ]
    ) {
      w.reject(error);
    }
  }

  /** Turns Nagle's algorithm off (`true`) or on. */
  setNoDelay(noDelay = true): void {
    this.#tcb.setNoDelay(noDelay, this.#host.now());
    this.#host.flush(this.#tcb);
  }

  /** Turns keepalive probes on or off. */
  setKeepAlive(keepAlive = true): void {
    this.#tcb.setKeepAlive(keepAlive, this.#host.now());
    this.#host.flush(this.#tcb);
  }

  /** For `Deno.Conn` compatibility: the stack's loop decides liveness; a no-op. */
  ref(): void {}

  /** For `Deno.Conn` compatibility: a no-op. */
  unref(): void {}

  /** Closes the connection (`using` support). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The receiving side as a byte stream. */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      type: "bytes",
      pull: async (controller) => {
        const byob = (controller as ReadableByteStreamController).byobRequest;
        if (byob?.view) {
          const view = new Uint8Array(byob.view.buffer, byob.view.byteOffset, byob.view.byteLength);
          const n = await this.read(view);
          if (n === null) {
            controller.close();
            byob.respond(0);
          } else byob.respond(n);
          return;
        }
        const buffer = new Uint8Array(64 * 1024);
        const n = await this.read(buffer);
        if (n === null) controller.close();
        else controller.enqueue(buffer.subarray(0, n));
      },
      cancel: () => this.close(),
      autoAllocateChunkSize: 64 * 1024,
    });
    return this.#readable;
  }

  /** The sending side as a byte stream; closing it sends FIN. */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
    return this.#writable;
  }

  /** @internal Resolves when the handshake completes; rejects on failure. */
  _waitEstablished(signal?: AbortSignal): Promise<void> {
    const tcb = this.#tcb;
    if (tcb.state !== "SYN-SENT" && tcb.state !== "SYN-RECEIVED" && tcb.state !== "CLOSED") {
      return Promise.resolve();
    }
    if (tcb.state === "CLOSED") return Promise.reject(this.#error(tcb.error ?? "aborted"));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        // Off the waiting list first: the abort below wakes the waiters with its own error.
        this.#established = this.#established.filter((w) => w !== waiter);
        tcb.abort(this.#host.now(), "aborted");
        this.#host.flush(tcb);
        reject(
          new Aborted(`connect to ${this.remoteAddr.hostname}:${this.remoteAddr.port} aborted`),
        );
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#established.push(waiter);
    });
  }

  /** @internal Called by the layer after the control block changed. */
  _update(): void {
    this.#wake();
  }

  #wake(): void {
    const tcb = this.#tcb;
    const state = tcb.state;
    if (this.#established.length && state !== "SYN-SENT" && state !== "SYN-RECEIVED") {
      const waiters = this.#established.splice(0);
      if (state === "CLOSED" && tcb.error) {
        const e = this.#error(tcb.error);
        for (const w of waiters) w.reject(e);
      } else for (const w of waiters) w.resolve();
    }
    if (this.#readers.length && (tcb.readableLength > 0 || tcb.readEnded || state === "CLOSED")) {
      for (const w of this.#readers.splice(0)) w.resolve();
    }
    if (this.#writers.length && (tcb.writableLength > 0 || !tcb.canWrite || state === "CLOSED")) {
      for (const w of this.#writers.splice(0)) w.resolve();
    }
  }

  #error(error: TcpError): NetError {
    const peer = `${this.remoteAddr.hostname}:${this.remoteAddr.port}`;
    switch (error) {
      case "refused":
        return new ConnectionRefused(`${peer} refused the connection (RST)`);
      case "reset":
        return new ConnectionReset(`${peer} reset the connection`);
      case "timeout":
        return new TimedOut(
          `connection to ${peer} timed out (no acknowledgment after retransmissions)`,
        );
      case "unreachable":
        return new HostUnreachable(`${peer} is unreachable`);
      default:
        return new Aborted(`connection to ${peer} was aborted`);
    }
  }
}

/**
 * A TCP listener shaped like `Deno.Listener`: `accept()`, async iteration, `addr`, `close()`.
 *
 * @example
 * ```ts ignore
 * const listener = stack.listen({ port: 8080 });
 * for await (const conn of listener) {
 *   await conn.write(new TextEncoder().encode("hello\n"));
 *   conn.close();
 * }
 * ```
 */
export class TcpListener implements AsyncIterable<TcpConn> {
  readonly #queue: TcpConn[] = [];
  readonly #waiters: { resolve: (c: TcpConn) => void; reject: (e: Error) => void }[] = [];
  #closed = false;
  /** Half-open connections (SYN-RECEIVED) belonging to this listener. */
  halfOpen = 0;

  /** Made by `stack.listen()`; not constructed directly. */
  constructor(
    /** Bound address (0 = any). */
    readonly localAddress: number,
    /** Bound port. */
    readonly port: number,
    /** Most established connections waiting for accept(). */
    readonly backlog: number,
    private readonly onClose: (listener: TcpListener) => void,
  ) {}

  /** The listening address. */
  get addr(): NetAddr {
    return { transport: "tcp", hostname: formatIpv4Address(this.localAddress), port: this.port };
  }

  /** Whether the accept queue is full. */
  get full(): boolean {
    return this.#queue.length >= this.backlog;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Waits for the next established connection. */
  accept(): Promise<TcpConn> {
    const next = this.#queue.shift();
    if (next) return Promise.resolve(next);
    if (this.#closed) return Promise.reject(new Closed(`listener on port ${this.port} is closed`));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Stops listening; queued connections are reset. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = new Closed(`listener on port ${this.port} is closed`);
    for (const w of this.#waiters.splice(0)) w.reject(error);
    for (const conn of this.#queue.splice(0)) conn.close();
    this.onClose(this);
  }

  /** For `Deno.Listener` compatibility: a no-op. */
  ref(): void {}

  /** For `Deno.Listener` compatibility: a no-op. */
  unref(): void {}

  /** Closes the listener (`using` support). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Hands an established connection to accept(). */
  _enqueue(conn: TcpConn): boolean {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(conn);
      return true;
    }
    if (this.full) return false;
    this.#queue.push(conn);
    return true;
  }

  /** Yields connections until the listener closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<TcpConn> {
    while (!this.#closed) {
      try {
        yield await this.accept();
      } catch (error) {
        if (error instanceof Closed) return;
        throw error;
      }
    }
  }
}
