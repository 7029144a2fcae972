/**
 * A NIC wrapper that damages traffic on purpose: drop, duplicate, reorder, corrupt, delay and
 * rate-limit, each decided by a seeded PRNG so that a failing run replays exactly from its seed.
 *
 * @module
 */
import { FrameQueue } from "./_frame_queue.ts";
import { seededRandom } from "./_random.ts";
import {
  type Frame,
  FRAME_NEEDS_CHECKSUM,
  type Nic,
  type NicFeatures,
  type NicStats,
} from "./nic.ts";
import { completeChecksum } from "../net/wire/checksum.ts";

/** Faults for one direction. Probabilities are per frame, 0 to 1. */
export interface FaultOptions {
  /** Chance a frame is dropped. */
  drop?: number;
  /** Chance a frame is sent twice. */
  duplicate?: number;
  /** Chance a frame is held back and sent after the next one. */
  reorder?: number;
  /** Chance one random byte of a frame is flipped. */
  corrupt?: number;
  /** Extra latency in milliseconds. */
  delayMs?: number;
  /** Uniform jitter added to the delay, in milliseconds (can reorder). */
  jitterMs?: number;
  /** Link rate in bytes per second; frames beyond it queue, and drop past `queueLimit`. */
  rateBytesPerSecond?: number;
  /** Frames held for delay or rate limiting before drops start (default 1024). */
  queueLimit?: number;
}

/** Options of {@linkcode FaultInjector}. */
export interface FaultInjectorOptions {
  /** PRNG seed; print it with a failure so the run can be replayed. */
  seed: number;
  /** Faults applied to transmitted frames. */
  transmit?: FaultOptions;
  /** Faults applied to received frames. */
  receive?: FaultOptions;
}

/** Counts of what the injector did. */
export interface FaultStats {
  /** Frames dropped. */
  dropped: number;
  /** Extra copies sent. */
  duplicated: number;
  /** Frames held back past a later one. */
  reordered: number;
  /** Frames with a flipped byte. */
  corrupted: number;
  /** Frames delayed. */
  delayed: number;
}

/** One direction's fault pipeline: decides each frame's fate and hands survivors on. */
class FaultPipe {
  readonly stats: FaultStats = {
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
    delayed: 0,
  };
  #heldForReorder: Frame | undefined;
  #rateFreeAt = 0;
  #inFlight = 0;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    readonly options: FaultOptions,
    readonly random: () => number,
    readonly deliver: (frames: Frame[]) => void,
  ) {}

  push(frames: Frame[]): void {
    const out: Frame[] = [];
    const o = this.options;
    for (const original of frames) {
      if (o.drop && this.random() < o.drop) {
        this.stats.dropped++;
        continue;
      }
      let frame = original;
      if (o.corrupt && this.random() < o.corrupt && frame.data.length > 0) {
        const data = frame.data.slice();
        const meta = frame.meta;
        if (meta && (meta.flags & FRAME_NEEDS_CHECKSUM)) {
          // Finish the checksum first, as the NIC would have, so the damage is detectable.
          completeChecksum(data, meta.checksumStart, meta.checksumOffset);
        }
        data[Math.floor(this.random() * data.length)] ^= 1 << Math.floor(this.random() * 8);
        frame = { data }; // damaged: no offload metadata, the receiver must check
        this.stats.corrupted++;
      }
      const copies = o.duplicate && this.random() < o.duplicate ? 2 : 1;
      if (copies === 2) this.stats.duplicated++;
      for (let c = 0; c < copies; c++) {
        const f = c === 0 ? frame : { data: frame.data.slice(), meta: frame.meta };
        if (o.reorder && !this.#heldForReorder && this.random() < o.reorder) {
          this.#heldForReorder = f;
          this.stats.reordered++;
          // Released by the next frame, or after 2 ms if none comes (a tail must not vanish).
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            if (this.#heldForReorder === f) {
              this.#heldForReorder = undefined;
              this.#schedule([f]);
            }
          }, 2);
          this.#timers.add(timer);
          continue;
        }
        out.push(f);
        if (this.#heldForReorder) {
          out.push(this.#heldForReorder);
          this.#heldForReorder = undefined;
        }
      }
    }
    if (out.length) this.#schedule(out);
  }

  #schedule(frames: Frame[]): void {
    const o = this.options;
    if (!o.delayMs && !o.jitterMs && !o.rateBytesPerSecond) {
      this.deliver(frames);
      return;
    }
    const limit = o.queueLimit ?? 1024;
    const now = performance.now();
    for (const frame of frames) {
      if (this.#inFlight >= limit) {
        this.stats.dropped++;
        continue;
      }
      let at = now + (o.delayMs ?? 0) + (o.jitterMs ? this.random() * o.jitterMs : 0);
      if (o.rateBytesPerSecond) {
        // Serialisation delay: the frame leaves when the link is free, then takes its time.
        const start = Math.max(now, this.#rateFreeAt);
        this.#rateFreeAt = start + (frame.data.length * 1000) / o.rateBytesPerSecond;
        at = Math.max(at, this.#rateFreeAt);
      }
      this.#inFlight++;
      this.stats.delayed++;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#inFlight--;
        this.deliver([frame]);
      }, Math.max(0, at - now));
      this.#timers.add(timer);
    }
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

/**
 * Wraps any NIC and injects faults in either direction.
 *
 * @example Drop 10% of transmitted frames, replayably
 * ```ts
 * import { MemoryLink } from "./memory.ts";
 * import { FaultInjector } from "./fault_injector.ts";
 * const [a, b] = MemoryLink.pair();
 * const lossy = new FaultInjector(a, { seed: 42, transmit: { drop: 0.1 } });
 * lossy.transmit([{ data: new Uint8Array(60) }]);
 * console.log(lossy.faultStats().transmit.dropped <= 1); // true
 * lossy.close();
 * b.close();
 * ```
 */
export class FaultInjector implements Nic {
  readonly #inner: Nic;
  readonly #tx: FaultPipe;
  readonly #rx: FaultPipe;
  readonly #rxQueue = new FrameQueue(65536);
  #pumping = false;
  #closed = false;

  /** Wraps `inner`; frames are damaged as `options` says, from `options.seed`. */
  constructor(inner: Nic, readonly options: FaultInjectorOptions) {
    this.#inner = inner;
    const random = seededRandom(options.seed);
    this.#tx = new FaultPipe(options.transmit ?? {}, random, (f) => inner.transmit(f));
    this.#rx = new FaultPipe(options.receive ?? {}, random, (frames) => {
      for (const f of frames) this.#rxQueue.push(f);
    });
  }

  get name(): string {
    return `faulty(${this.#inner.name})`;
  }
  get mac(): Uint8Array {
    return this.#inner.mac;
  }
  get mtu(): number {
    return this.#inner.mtu;
  }
  get features(): NicFeatures {
    return this.#inner.features;
  }

  receive(): Promise<Frame[] | null> {
    if (!this.#pumping) {
      this.#pumping = true;
      this.#pump();
    }
    return this.#rxQueue.take();
  }

  async #pump(): Promise<void> {
    for (;;) {
      const frames = await this.#inner.receive();
      if (!frames || this.#closed) break;
      this.#rx.push(frames);
    }
    this.#rxQueue.close();
  }

  transmit(frames: Frame[]): void {
    if (!this.#closed) this.#tx.push(frames);
  }

  stats(): NicStats {
    return this.#inner.stats();
  }

  /** What the injector did in each direction. */
  faultStats(): { transmit: FaultStats; receive: FaultStats } {
    return { transmit: { ...this.#tx.stats }, receive: { ...this.#rx.stats } };
  }

  close(): void {
    this.#closed = true;
    this.#tx.close();
    this.#rx.close();
    this.#rxQueue.close();
    this.#inner.close();
  }
}
