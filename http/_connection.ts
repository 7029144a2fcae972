/**
 * One HTTP connection over a {@link Conn}: complete writes, reads into fresh buffers that can be
 * handed to a consumer without copying, and a watch for the server closing it while it is idle.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";

/** Reads returning fewer bytes than this are copied out so the big read buffer can be reused. */
const SMALL_READ = 8 * 1024;

type ReadResult = Uint8Array | null;

interface Refable {
  ref?(): void;
  unref?(): void;
}

/** A connection plus the state the pool and the client keep about it. */
export class HttpConnection {
  readonly conn: Conn;
  readonly id: number;
  /** Pool key: `scheme://host:port`. */
  readonly key: string;
  /** Requests started on this connection. */
  requests = 0;
  /** When the connection last went idle (ms, performance.now()). */
  idleSince = 0;
  /** The pool's idle timer while idle. */
  idleTimer: ReturnType<typeof setTimeout> | undefined;

  readonly #readSize: number;
  #spare: Uint8Array | null = null;
  #idleRead: Promise<ReadResult> | null = null;
  #dead = false;
  #closed = false;

  constructor(conn: Conn, id: number, key: string, readSize: number) {
    this.conn = conn;
    this.id = id;
    this.key = key;
    this.#readSize = readSize;
  }

  /** True once closed, or once the server closed or wrote while the connection was idle. */
  get dead(): boolean {
    return this.#dead || this.#closed;
  }

  /** Writes all of `data`. */
  async write(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const n = await this.conn.write(offset === 0 ? data : data.subarray(offset));
      if (n <= 0) throw new Deno.errors.WriteZero("connection accepted no bytes");
      offset += n;
    }
  }

  /**
   * Reads the next bytes, or null at end of stream. The returned array is never reused by this
   * connection, so it can be handed to a consumer as is.
   */
  read(): Promise<ReadResult> {
    const pending = this.#idleRead;
    if (pending) {
      this.#idleRead = null;
      return pending;
    }
    return this.#readNow();
  }

  async #readNow(): Promise<ReadResult> {
    const buffer = this.#spare ?? new Uint8Array(this.#readSize);
    this.#spare = null;
    const n = await this.conn.read(buffer);
    if (n === null) {
      this.#spare = buffer;
      return null;
    }
    if (n < SMALL_READ) {
      this.#spare = buffer;
      return buffer.slice(0, n);
    }
    return buffer.subarray(0, n);
  }

  /**
   * Starts a background read while the connection is idle: a server that closes (or sends
   * anything) while no request is outstanding makes the connection dead, and `onDead` runs.
   * The pending read does not keep the process alive where the Conn supports `unref`.
   */
  watchIdle(onDead: () => void): void {
    if (this.#idleRead || this.#closed) return;
    (this.conn as Refable).unref?.();
    const read = this.#readNow();
    this.#idleRead = read;
    const settled = () => {
      if (this.#idleRead !== read) return;
      this.#dead = true;
      onDead();
    };
    read.then(settled, settled);
  }

  /** Takes the connection out of idle state (its pending read, if any, becomes the next read). */
  resume(): void {
    this.requests++;
    (this.conn as Refable).ref?.();
  }

  /** Closes the connection; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idleRead) {
      this.#idleRead.catch(() => {});
    }
    try {
      this.conn.close();
    } catch {
      // Already closed by the other side.
    }
  }
}
