/**
 * Bookkeeping of out-of-order data for TCP reassembly: which byte ranges past the next expected
 * byte have arrived, with a bounded number of gaps (a hostile peer cannot make the list grow).
 * The bytes themselves live in the receive ring; this tracks only offsets.
 *
 * @module
 */

/** A received range [start, end), in bytes from the next expected byte. */
export interface Range {
  /** First byte offset. */
  start: number;
  /** One past the last byte offset. */
  end: number;
}

/**
 * Tracks received ranges past a moving front.
 *
 * @example
 * ```ts
 * import { Assembler } from "./assembler.ts";
 * const a = new Assembler(4);
 * a.add(10, 20);               // a segment 10 bytes ahead of the front
 * console.log(a.add(0, 10));   // 20: the gap filled, 20 bytes are now contiguous
 * ```
 */
export class Assembler {
  #ranges: Range[] = [];
  /** The most recently added range's start (for the first SACK block, RFC 2018 §4). */
  lastAdded: Range | undefined;

  /** @param maxRanges most separate ranges kept; extra ones are refused */
  constructor(readonly maxRanges: number = 32) {}

  /** Ranges held, in order. */
  get ranges(): readonly Range[] {
    return this.#ranges;
  }

  /** Whether nothing is held. */
  get isEmpty(): boolean {
    return this.#ranges.length === 0;
  }

  /**
   * Records bytes [start, end) as received (offsets from the front). Returns how many bytes
   * from the front are now contiguous (0 unless `start` is 0 or it joins a range at the front),
   * or -1 when the range was refused because too many gaps are held.
   */
  add(start: number, end: number): number {
    if (end <= start) return this.#contiguous();
    const ranges = this.#ranges;
    let i = 0;
    while (i < ranges.length && ranges[i].end < start) i++;
    let j = i;
    let s = start;
    let e = end;
    while (j < ranges.length && ranges[j].start <= end) {
      s = Math.min(s, ranges[j].start);
      e = Math.max(e, ranges[j].end);
      j++;
    }
    if (j === i && ranges.length >= this.maxRanges && start !== 0) return -1;
    const merged = { start: s, end: e };
    ranges.splice(i, j - i, merged);
    this.lastAdded = merged;
    return this.#contiguous();
  }

  #contiguous(): number {
    const first = this.#ranges[0];
    return first && first.start === 0 ? first.end : 0;
  }

  /** Moves the front forward by `n` bytes (they were consumed in order). */
  advance(n: number): void {
    const out: Range[] = [];
    for (const r of this.#ranges) {
      if (r.end <= n) continue;
      out.push({ start: Math.max(0, r.start - n), end: r.end - n });
    }
    this.#ranges = out;
    if (this.lastAdded) {
      const s = this.lastAdded.start - n;
      const e = this.lastAdded.end - n;
      this.lastAdded = e > 0 ? { start: Math.max(0, s), end: e } : undefined;
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#ranges = [];
    this.lastAdded = undefined;
  }
}
