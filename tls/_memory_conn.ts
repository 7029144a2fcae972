/**
 * An in-memory, bounded, bidirectional byte pipe with the {@linkcode Conn} shape, for tests
 * that need exact control over what each side sees (byte-by-byte delivery, EOF, resets).
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";

class Pipe {
  #chunks: Uint8Array[] = [];
  #size = 0;
  #closed = false;
  #readers: Array<() => void> = [];
  #writers: Array<() => void> = [];
  constructor(readonly limit: number, readonly maxRead: number) {}

  #wake(list: Array<() => void>) {
    const l = list.splice(0);
    for (const f of l) f();
  }

  async write(p: Uint8Array): Promise<number> {
    while (this.#size >= this.limit && !this.#closed) {
      await new Promise<void>((r) => this.#writers.push(r));
    }
    if (this.#closed) throw new Deno.errors.BrokenPipe("pipe closed");
    const n = Math.min(p.length, this.limit - this.#size);
    this.#chunks.push(p.slice(0, n));
    this.#size += n;
    this.#wake(this.#readers);
    return n;
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (!this.#size && !this.#closed) await new Promise<void>((r) => this.#readers.push(r));
    if (!this.#size) return null;
    let n = 0;
    const max = Math.min(p.length, this.maxRead);
    while (n < max && this.#chunks.length) {
      const c = this.#chunks[0];
      const take = Math.min(c.length, max - n);
      p.set(c.subarray(0, take), n);
      n += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    this.#size -= n;
    this.#wake(this.#writers);
    return n;
  }

  close() {
    this.#closed = true;
    this.#wake(this.#readers);
    this.#wake(this.#writers);
  }
}

/** Options for {@linkcode memoryConnPair}. */
export interface MemoryConnOptions {
  /** Bytes buffered per direction before writes block (default 1 MiB). */
  bufferSize?: number;
  /** Most bytes a single read returns (1 delivers byte by byte; default unlimited). */
  maxRead?: number;
}

/**
 * Two connected {@linkcode Conn}s: what one writes, the other reads.
 *
 * @example
 * ```ts
 * import { memoryConnPair } from "./_memory_conn.ts";
 * const [a, b] = memoryConnPair();
 * await a.write(new Uint8Array([1, 2]));
 * const buf = new Uint8Array(4);
 * console.log(await b.read(buf)); // 2
 * ```
 */
export function memoryConnPair(options: MemoryConnOptions = {}): [Conn, Conn] {
  const limit = options.bufferSize ?? 1 << 20;
  const maxRead = options.maxRead ?? Infinity;
  const ab = new Pipe(limit, maxRead);
  const ba = new Pipe(limit, maxRead);
  const end = (inbound: Pipe, outbound: Pipe): Conn => ({
    read: (p) => inbound.read(p),
    write: (p) => outbound.write(p),
    closeWrite: () => {
      outbound.close();
      return Promise.resolve();
    },
    close: () => {
      outbound.close();
      inbound.close();
    },
  });
  return [end(ba, ab), end(ab, ba)];
}
