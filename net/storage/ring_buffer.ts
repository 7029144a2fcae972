/**
 * A fixed-capacity byte ring: the TCP send and receive buffers. Data past the readable end can
 * be written at an offset (out-of-order segments) and committed later when the gap fills.
 *
 * @module
 */

/**
 * A bounded byte ring buffer.
 *
 * @example
 * ```ts
 * import { RingBuffer } from "./ring_buffer.ts";
 * const ring = new RingBuffer(8);
 * ring.write(new Uint8Array([1, 2, 3]));
 * const out = new Uint8Array(2);
 * ring.read(out);
 * console.log(out, ring.length); // Uint8Array(2) [ 1, 2 ] 1
 * ```
 */
export class RingBuffer {
  /** The storage: empty until the first write, then grown by doubling up to `capacity`. */
  #buffer: Uint8Array = EMPTY;
  #start = 0;
  #length = 0;

  /**
   * A ring that holds at most `capacity` bytes. Memory is taken as data arrives (an idle
   * connection's buffers cost nothing), doubling from 4 KiB up to `capacity`.
   */
  constructor(readonly capacity: number) {}

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Bytes that can still be written. */
  get free(): number {
    return this.capacity - this.#length;
  }

  /** Bytes of memory the ring holds now (at most `capacity`). */
  get allocated(): number {
    return this.#buffer.length;
  }

  /** Grows the storage to hold `needed` bytes from the start, keeping every byte's offset. */
  #reserve(needed: number): void {
    const size = this.#buffer.length;
    if (needed <= size) return;
    let next = Math.max(size * 2, INITIAL_SIZE);
    while (next < needed) next *= 2;
    const grown = new Uint8Array(Math.min(next, this.capacity));
    // Unwrap the whole old ring (readable data and out-of-order data past it) to offset 0.
    grown.set(this.#buffer.subarray(this.#start), 0);
    grown.set(this.#buffer.subarray(0, this.#start), size - this.#start);
    this.#buffer = grown;
    this.#start = 0;
  }

  /** Appends as much of `data` as fits; returns the bytes taken. */
  write(data: Uint8Array): number {
    const n = this.writeAt(0, data);
    this.#length += n;
    return n;
  }

  /**
   * Copies `data` to `offset` bytes past the readable end without making it readable; returns
   * the bytes stored (those that fit in the capacity).
   */
  writeAt(offset: number, data: Uint8Array): number {
    const room = this.capacity - this.#length - offset;
    if (room <= 0) return 0;
    const n = Math.min(room, data.length);
    if (n === 0) return 0;
    this.#reserve(this.#length + offset + n);
    const size = this.#buffer.length;
    let at = (this.#start + this.#length + offset) % size;
    const first = Math.min(n, size - at);
    this.#buffer.set(first === data.length ? data : data.subarray(0, first), at);
    if (first < n) {
      at = 0;
      this.#buffer.set(data.subarray(first, n), at);
    }
    return n;
  }

  /** Makes `n` bytes written with {@linkcode writeAt} at the end readable. */
  commit(n: number): void {
    this.#length = Math.min(this.capacity, this.#buffer.length, this.#length + n);
  }

  /** Moves up to `dst.length` bytes out; returns the count. */
  read(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.#length);
    if (n === 0) return 0;
    const size = this.#buffer.length;
    const first = Math.min(n, size - this.#start);
    dst.set(this.#buffer.subarray(this.#start, this.#start + first), 0);
    if (first < n) dst.set(this.#buffer.subarray(0, n - first), first);
    this.consume(n);
    return n;
  }

  /**
   * `length` bytes starting `offset` bytes into the readable data: a view when contiguous, a
   * copy when the range wraps. The view is valid until the next write.
   */
  peek(offset: number, length: number): Uint8Array {
    const size = this.#buffer.length;
    if (length === 0 || size === 0) return EMPTY;
    const at = (this.#start + offset) % size;
    if (at + length <= size) return this.#buffer.subarray(at, at + length);
    const out = new Uint8Array(length);
    const first = size - at;
    out.set(this.#buffer.subarray(at), 0);
    out.set(this.#buffer.subarray(0, length - first), first);
    return out;
  }

  /** Copies `length` bytes at `offset` into `dst` at `dstOffset` (no intermediate copy). */
  copyOut(offset: number, length: number, dst: Uint8Array, dstOffset: number): void {
    const size = this.#buffer.length;
    if (length === 0 || size === 0) return;
    const at = (this.#start + offset) % size;
    const first = Math.min(length, size - at);
    dst.set(this.#buffer.subarray(at, at + first), dstOffset);
    if (first < length) dst.set(this.#buffer.subarray(0, length - first), dstOffset + first);
  }

  /** Drops `n` bytes from the front. */
  consume(n: number): void {
    const k = Math.min(n, this.#length);
    if (k === 0) return;
    this.#length -= k;
    // Never re-home start when empty: bytes written past the end with writeAt (out-of-order
    // data) are addressed relative to it.
    this.#start = (this.#start + k) % this.#buffer.length;
  }
}

const EMPTY = new Uint8Array(0);
/** The first allocation: one page-sized chunk, enough for small exchanges. */
const INITIAL_SIZE = 4096;
