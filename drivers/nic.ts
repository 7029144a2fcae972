/**
 * The one interface every NIC driver implements, modelled on virtio-net: a MAC, an MTU, feature
 * bits, and batches of frames through a receive queue and a transmit queue. Each frame may carry
 * virtio-net header metadata (checksum needed/valid, GSO), so a TAP opened with IFF_VNET_HDR or a
 * virtio device maps onto it directly; a driver without offloads advertises none and sends no
 * metadata.
 *
 * @module
 */

/** Offloads a NIC offers (virtio-net feature names in parentheses). */
export interface NicFeatures {
  /** The device fills in transport checksums of frames marked `needsChecksum` (CSUM). */
  txChecksum: boolean;
  /** The device validates checksums and marks good frames `dataValid` (GUEST_CSUM). */
  rxChecksum: boolean;
  /** The device segments large TCP/IPv4 frames (HOST_TSO4). */
  txTcpSegmentation: boolean;
  /** The device may deliver coalesced TCP/IPv4 super-frames (GUEST_TSO4). */
  rxTcpCoalescing: boolean;
}

/** A NIC with no offloads. */
export const NO_OFFLOADS: NicFeatures = Object.freeze({
  txChecksum: false,
  rxChecksum: false,
  txTcpSegmentation: false,
  rxTcpCoalescing: false,
});

/** `FrameMetadata.flags`: the checksum at csumStart+csumOffset still has to be computed. */
export const FRAME_NEEDS_CHECKSUM = 1;
/** `FrameMetadata.flags`: the device validated the frame's checksums. */
export const FRAME_DATA_VALID = 2;

/** GSO types, with virtio-net's numbers. */
export const GsoType = { none: 0, tcpIpv4: 1, udp: 3, tcpIpv6: 4 } as const;

/** Per-frame offload metadata: the fields of `struct virtio_net_hdr`. */
export interface FrameMetadata {
  /** {@linkcode FRAME_NEEDS_CHECKSUM} and/or {@linkcode FRAME_DATA_VALID}. */
  flags: number;
  /** One of {@linkcode GsoType}. */
  gsoType: number;
  /** Bytes of headers before the payload that GSO splits. */
  headerLength: number;
  /** Payload bytes per segment after GSO. */
  gsoSize: number;
  /** Where checksumming starts (from the start of the frame). */
  checksumStart: number;
  /** Where, after `checksumStart`, the checksum is stored. */
  checksumOffset: number;
}

/** One Ethernet frame, without FCS. Ownership of `data` passes with the frame. */
export interface Frame {
  /** The frame's bytes, starting with the Ethernet header. */
  data: Uint8Array;
  /** Offload metadata; absent means none. */
  meta?: FrameMetadata;
}

/** Counters every driver keeps. */
export interface NicStats {
  /** Frames received. */
  rxFrames: number;
  /** Bytes received. */
  rxBytes: number;
  /** Frames transmitted. */
  txFrames: number;
  /** Bytes transmitted. */
  txBytes: number;
  /** Frames dropped on receive (queue full, bad framing). */
  rxDropped: number;
  /** Frames dropped on transmit (queue full, device gone). */
  txDropped: number;
}

/**
 * A network interface card.
 *
 * `receive()` resolves with one or more frames, or `null` once the NIC is closed; at most one
 * call may be outstanding. `transmit()` takes ownership of the frames and never blocks: a
 * driver that cannot take more drops and counts them, as a hardware ring would.
 *
 * @example A NIC from a memory link
 * ```ts
 * import { MemoryLink } from "./memory.ts";
 * const [a, b] = MemoryLink.pair();
 * a.transmit([{ data: new Uint8Array(60) }]);
 * const frames = await b.receive();
 * console.log(frames?.length); // 1
 * a.close();
 * b.close();
 * ```
 */
export interface Nic {
  /** A short name for logs, e.g. `tap0` or `memory-a`. */
  readonly name: string;
  /** The MAC address frames from this NIC carry. */
  readonly mac: Uint8Array;
  /** The largest IP packet (Ethernet payload) the link carries. */
  readonly mtu: number;
  /** Negotiated offloads. */
  readonly features: NicFeatures;
  /** Waits for received frames; `null` when the NIC is closed. */
  receive(): Promise<Frame[] | null>;
  /** Queues frames for transmission. */
  transmit(frames: Frame[]): void;
  /** Counters. */
  stats(): NicStats;
  /** Stops the NIC; a pending `receive()` resolves `null`. */
  close(): void;
}

/**
 * A zeroed {@linkcode NicStats}.
 *
 * @example
 * ```ts
 * import { emptyNicStats } from "./nic.ts";
 * console.log(emptyNicStats().rxFrames); // 0
 * ```
 */
export function emptyNicStats(): NicStats {
  return { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, rxDropped: 0, txDropped: 0 };
}
