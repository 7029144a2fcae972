/**
 * A min-heap of wake-up times for many items (TCP connections), so the event loop finds the next
 * deadline in O(log n) instead of asking every connection.
 *
 * An item keeps at most one live entry: a later deadline does not move an earlier pending wake
 * (the item is woken early, finds nothing due, and is scheduled again), which keeps the heap no
 * bigger than the number of items plus stale leftovers that are dropped as they surface.
 *
 * @module
 */

/**
 * Wake-up times of items.
 *
 * @example
 * ```ts
 * import { DeadlineHeap } from "./deadline_heap.ts";
 * const heap = new DeadlineHeap<string>();
 * heap.schedule("a", 50);
 * heap.schedule("b", 10);
 * console.log(heap.next(), heap.takeDue(20)); // 10 [ "b" ]
 * ```
 */
export class DeadlineHeap<T> {
  readonly #times: number[] = [];
  readonly #items: T[] = [];
  readonly #scheduled = new Map<T, number>();

  /** Items with a pending wake. */
  get size(): number {
    return this.#scheduled.size;
  }

  /** Asks for `item` to be woken at `at` (Infinity: no wake needed). */
  schedule(item: T, at: number): void {
    if (at === Infinity) return; // a pending earlier wake, if any, stays; it is harmless
    const current = this.#scheduled.get(item);
    if (current !== undefined && current <= at) return;
    this.#scheduled.set(item, at);
    this.#push(at, item);
  }

  /** Forgets `item` (its heap entries become stale). */
  delete(item: T): void {
    this.#scheduled.delete(item);
  }

  /** The earliest pending wake, or Infinity. */
  next(): number {
    this.#dropStale();
    return this.#times.length ? this.#times[0] : Infinity;
  }

  /** Removes and returns the items whose wake time is at or before `now`. */
  takeDue(now: number): T[] {
    const due: T[] = [];
    for (;;) {
      this.#dropStale();
      if (!this.#times.length || this.#times[0] > now) return due;
      const item = this.#items[0];
      this.#pop();
      this.#scheduled.delete(item);
      due.push(item);
    }
  }

  #dropStale(): void {
    while (this.#times.length && this.#scheduled.get(this.#items[0]) !== this.#times[0]) {
      this.#pop();
    }
  }

  #push(at: number, item: T): void {
    const times = this.#times;
    const items = this.#items;
    let i = times.length;
    times.push(at);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent] <= at) break;
      times[i] = times[parent];
      items[i] = items[parent];
      i = parent;
    }
    times[i] = at;
    items[i] = item;
  }

  #pop(): void {
    const times = this.#times;
    const items = this.#items;
    const lastTime = times.pop()!;
    const lastItem = items.pop()!;
    const n = times.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && times[right] < times[left] ? right : left;
      if (times[child] >= lastTime) break;
      times[i] = times[child];
      items[i] = items[child];
      i = child;
    }
    times[i] = lastTime;
    items[i] = lastItem;
  }
}
