import type { Frame } from "./nic.ts";

/**
 * A bounded queue of received frames with one waiting consumer: the shared receive side of the
 * in-process drivers.
 */
export class FrameQueue {
  #frames: Frame[] = [];
  #waiter: ((frames: Frame[] | null) => void) | undefined;
  #closed = false;

  constructor(readonly limit: number) {}

  /** Adds a frame; returns false (and drops it) when the queue is full or closed. */
  push(frame: Frame): boolean {
    if (this.#closed || this.#frames.length >= this.limit) return false;
    this.#frames.push(frame);
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      const frames = this.#frames;
      this.#frames = [];
      w(frames);
    }
    return true;
  }

  /** Waits for frames; `null` after close. */
  take(): Promise<Frame[] | null> {
    if (this.#frames.length) {
      const frames = this.#frames;
      this.#frames = [];
      return Promise.resolve(frames);
    }
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  get length(): number {
    return this.#frames.length;
  }

  close(): void {
    this.#closed = true;
    this.#frames = [];
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.(null);
  }
}
