/**
 * One HTTP connection over a {@link Conn}: complete writes, reads into fresh buffers that can be
 * handed to a consumer without copying, and a watch for the server closing it while it is idle.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";

/**
 * Reads go into consecutive slices of a slab this large, so a read costs no allocation of its
 * own and the bytes can be handed to a consumer without a copy (a new slab is started when the
 * current one is nearly full; old slabs live as long as consumers hold their slices).
 */
const SLAB_BYTES = 1024 * 1024;

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
  #slab: Uint8Array = new Uint8Array(0);
  #slabUsed = 0;
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
    if (this.#slab.length - this.#slabUsed < this.#readSize / 4) {
      this.#slab = new Uint8Array(Math.max(SLAB_BYTES, this.#readSize * 4));
      this.#slabUsed = 0;
    }
    const start = this.#slabUsed;
    const view = this.#slab.subarray(start, Math.min(this.#slab.length, start + this.#readSize));
    const n = await this.conn.read(view);
    if (n === null) return null;
    // A concurrent read cannot happen (one reader at a time), so the slice is ours.
    this.#slabUsed = start + n;
    return view.subarray(0, n);
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
