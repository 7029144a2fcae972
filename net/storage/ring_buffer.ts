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
  readonly #buffer: Uint8Array;
  #start = 0;
  #length = 0;

  /** Allocates a ring of `capacity` bytes. */
  constructor(readonly capacity: number) {
    this.#buffer = new Uint8Array(capacity);
  }

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Bytes that can still be written. */
  get free(): number {
    return this.capacity - this.#length;
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
    let at = (this.#start + this.#length + offset) % this.capacity;
    const first = Math.min(n, this.capacity - at);
    this.#buffer.set(first === data.length ? data : data.subarray(0, first), at);
    if (first < n) {
      at = 0;
      this.#buffer.set(data.subarray(first, n), at);
    }
    return n;
  }

  /** Makes `n` bytes written with {@linkcode writeAt} at the end readable. */
  commit(n: number): void {
    this.#length = Math.min(this.capacity, this.#length + n);
  }

  /** Moves up to `dst.length` bytes out; returns the count. */
  read(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.#length);
    const first = Math.min(n, this.capacity - this.#start);
    dst.set(this.#buffer.subarray(this.#start, this.#start + first), 0);
    if (first < n) dst.set(this.#buffer.subarray(0, n - first), first);
    this.consume(n);
    return n;
  }

  /**
   * `length` bytes starting `offset` bytes into the readable data: a view when contiguous, a
   * copy when the range wraps.
   */
  peek(offset: number, length: number): Uint8Array {
    const at = (this.#start + offset) % this.capacity;
    if (at + length <= this.capacity) return this.#buffer.subarray(at, at + length);
    const out = new Uint8Array(length);
    const first = this.capacity - at;
    out.set(this.#buffer.subarray(at), 0);
    out.set(this.#buffer.subarray(0, length - first), first);
    return out;
  }

  /** Copies `length` bytes at `offset` into `dst` at `dstOffset` (no intermediate copy). */
  copyOut(offset: number, length: number, dst: Uint8Array, dstOffset: number): void {
    const at = (this.#start + offset) % this.capacity;
    const first = Math.min(length, this.capacity - at);
    dst.set(this.#buffer.subarray(at, at + first), dstOffset);
    if (first < length) dst.set(this.#buffer.subarray(0, length - first), dstOffset + first);
  }

  /** Drops `n` bytes from the front. */
  consume(n: number): void {
    const k = Math.min(n, this.#length);
    this.#length -= k;
    // Never re-home start when empty: bytes written past the end with writeAt (out-of-order
    // data) are addressed relative to it.
    this.#start = (this.#start + k) % this.capacity;
  }
}
