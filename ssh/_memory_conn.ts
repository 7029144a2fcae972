/**
 * An in-memory `Conn` pair for tests of the transport against scripted peers.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";

class Pipe {
  chunks: Uint8Array[] = [];
  ended = false;
  waiter: (() => void) | undefined;
  push(b: Uint8Array) {
    if (this.ended) throw new Error("write after end");
    this.chunks.push(b.slice());
    this.wake();
  }
  end() {
    this.ended = true;
    this.wake();
  }
  wake() {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
  async read(p: Uint8Array): Promise<number | null> {
    while (this.chunks.length === 0) {
      if (this.ended) return null;
      await new Promise<void>((r) => (this.waiter = r));
    }
    const c = this.chunks[0];
    const n = Math.min(p.length, c.length);
    p.set(c.subarray(0, n));
    if (n === c.length) this.chunks.shift();
    else this.chunks[0] = c.subarray(n);
    return n;
  }
}

/** Two connected in-memory `Conn`s: what one writes, the other reads. */
export function memoryConnPair(): [Conn, Conn] {
  const ab = new Pipe();
  const ba = new Pipe();
  const side = (inbound: Pipe, outbound: Pipe): Conn => ({
    read: (p) => inbound.read(p),
    write: (p) => {
      if (outbound.ended) return Promise.reject(new Error("connection closed"));
      outbound.push(p);
      return Promise.resolve(p.length);
    },
    closeWrite: () => {
      outbound.end();
      return Promise.resolve();
    },
    close: () => {
      if (!outbound.ended) outbound.end();
      if (!inbound.ended) inbound.end();
    },
  });
  return [side(ba, ab), side(ab, ba)];
}
