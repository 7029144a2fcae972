/**
 * An in-memory Ethernet link: two NICs joined by a virtual cable, for tests and for running two
 * stacks in one process. Needs no permissions.
 *
 * @module
 */
import { FrameQueue } from "./_frame_queue.ts";
import {
  emptyNicStats,
  type Frame,
  type Nic,
  type NicFeatures,
  type NicStats,
  NO_OFFLOADS,
} from "./nic.ts";
import { randomMac } from "../net/wire/address.ts";

/** Options for {@linkcode MemoryLink.pair}. */
export interface MemoryLinkOptions {
  /** MTU of both ends (default 1500). */
  mtu?: number;
  /** Frames each receive queue holds before dropping (default 4096). */
  queueLimit?: number;
  /** MACs of the two ends (default: random locally administered). */
  macs?: [Uint8Array, Uint8Array];
}

/**
 * One end of a memory link.
 *
 * @example
 * ```ts
 * import { MemoryLink } from "./memory.ts";
 * const [a, b] = MemoryLink.pair({ mtu: 9000 });
 * console.log(a.mtu, b.mtu); // 9000 9000
 * a.close();
 * b.close();
 * ```
 */
export class MemoryNic implements Nic {
  readonly features: NicFeatures = NO_OFFLOADS;
  /** The other end of the link. */
  peer: MemoryNic | undefined;
  readonly #queue: FrameQueue;
  readonly #stats = emptyNicStats();

  /** Use {@linkcode MemoryLink.pair} instead. */
  constructor(
    readonly name: string,
    readonly mac: Uint8Array,
    readonly mtu: number,
    queueLimit: number,
  ) {
    this.#queue = new FrameQueue(queueLimit);
  }

  receive(): Promise<Frame[] | null> {
    return this.#queue.take();
  }

  transmit(frames: Frame[]): void {
    const peer = this.peer;
    for (const frame of frames) {
      if (peer && peer.#deliver(frame)) {
        this.#stats.txFrames++;
        this.#stats.txBytes += frame.data.length;
      } else {
        this.#stats.txDropped++;
      }
    }
  }

  #deliver(frame: Frame): boolean {
    if (!this.#queue.push(frame)) {
      this.#stats.rxDropped++;
      return false;
    }
    this.#stats.rxFrames++;
    this.#stats.rxBytes += frame.data.length;
    return true;
  }

  stats(): NicStats {
    return { ...this.#stats };
  }

  close(): void {
    this.#queue.close();
  }
}

/**
 * Creates pairs of connected memory NICs.
 *
 * @example
 * ```ts
 * import { MemoryLink } from "./memory.ts";
 * const [a, b] = MemoryLink.pair();
 * b.transmit([{ data: new Uint8Array(64) }]);
 * console.log((await a.receive())?.[0].data.length); // 64
 * a.close();
 * b.close();
 * ```
 */
export class MemoryLink {
  /** Two NICs joined back to back: what one transmits, the other receives. */
  static pair(options: MemoryLinkOptions = {}): [MemoryNic, MemoryNic] {
    const mtu = options.mtu ?? 1500;
    const limit = options.queueLimit ?? 4096;
    const [macA, macB] = options.macs ?? [randomMac(), randomMac()];
    const a = new MemoryNic("memory-a", macA, mtu, limit);
    const b = new MemoryNic("memory-b", macB, mtu, limit);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }
}
