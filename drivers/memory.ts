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
  /**
   * Offer checksum offload, as virtio-net between two guests does (default false): senders may
   * leave transport checksums partial (pseudo-header sum only, flagged in the frame metadata),
   * and receivers take such frames as valid — memory does not damage frames. A FaultInjector
   * completes the checksum before it damages a frame, so corruption is still caught. Leave it
   * off when frames are inspected by hand or written to a capture.
   */
  checksumOffload?: boolean;
}

/** Checksum offload both ways. */
const CHECKSUM_OFFLOAD: NicFeatures = Object.freeze({
  txChecksum: true,
  rxChecksum: true,
  txTcpSegmentation: false,
  rxTcpCoalescing: false,
});

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
  /** Offloads offered (see {@linkcode MemoryLinkOptions.checksumOffload}). */
  features: NicFeatures = NO_OFFLOADS;
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
    if (options.checksumOffload) {
      a.features = CHECKSUM_OFFLOAD;
      b.features = CHECKSUM_OFFLOAD;
    }
    return [a, b];
  }
}
