/**
 * A hostile host for gateway tests: one NIC on the gateway's LAN that answers ARP for any
 * address it is asked to (so it can pose as many guests at once) and sends hand-made frames:
 * SYNs from any address and port, arbitrary TCP segments, and IPv4 fragments.
 *
 * @module
 */
import type { MemoryNic } from "../../drivers/memory.ts";
import { type Frame, FRAME_NEEDS_CHECKSUM } from "../../drivers/nic.ts";
import { completeChecksum } from "../wire/checksum.ts";
import { writeEthernetHeader } from "../wire/ethernet.ts";
import { PROTOCOL_UDP, writeIpv4Header } from "../wire/ipv4.ts";
import { TcpFlags, type TcpOptions } from "../wire/tcp.ts";
import { writeUdp } from "../wire/udp.ts";
import { arpReplyFor, tcpFrame, tcpOfFrame } from "../_test_raw_frames.ts";

/** A TCP segment the raw host received. */
export interface RawLanSegment {
  source: number;
  destination: number;
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Uint8Array;
}

/** Fields of a TCP segment to send. */
export interface RawLanTcp {
  source: number;
  sourcePort: number;
  destination: number;
  destinationPort: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  options?: TcpOptions;
  payload?: Uint8Array;
}

/** Poses as any number of LAN hosts on one NIC. */
export class RawLanHost {
  /** TCP segments received, for tests that look at them; bounded by `keep`. */
  readonly segments: RawLanSegment[] = [];
  /** TCP segments received in all, by flags (`"SYN|ACK"`, `"RST|ACK"`, ...). */
  readonly counts: Record<string, number> = {};
  #arrival = Promise.withResolvers<void>();
  #closed = false;

  /**
   * @param nic the NIC (from `gateway.connectMemory()`)
   * @param gatewayMac the gateway stack's MAC (frames go there)
   * @param posesAs which addresses to answer ARP for
   * @param keep most segments kept in {@linkcode segments}
   */
  constructor(
    readonly nic: MemoryNic,
    readonly gatewayMac: Uint8Array,
    readonly posesAs: (address: number) => boolean,
    readonly keep = 256,
  ) {
    this.#loop();
  }

  async #loop(): Promise<void> {
    for (;;) {
      const frames = await this.nic.receive();
      if (!frames || this.#closed) return;
      for (const frame of frames) this.#input(complete(frame));
    }
  }

  #input(data: Uint8Array): void {
    const reply = arpReplyFor(data, this.nic.mac, this.posesAs);
    if (reply) {
      this.nic.transmit([{ data: reply }]);
      return;
    }
    const found = tcpOfFrame(data);
    if (!found) return;
    const { source, destination, tcp } = found;
    const name = flagNames(tcp.flags);
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    if (this.segments.length < this.keep) {
      this.segments.push({
        source,
        destination,
        sourcePort: tcp.sourcePort,
        destinationPort: tcp.destinationPort,
        seq: tcp.sequence,
        ack: tcp.acknowledgment,
        flags: tcp.flags,
        payload: tcp.payload.slice(),
      });
    }
    const arrived = this.#arrival;
    this.#arrival = Promise.withResolvers<void>();
    arrived.resolve();
  }

  /** A frame carrying one TCP segment. */
  tcpFrame(s: RawLanTcp): Uint8Array {
    return tcpFrame(this.nic.mac, this.gatewayMac, s.source, s.destination, {
      sourcePort: s.sourcePort,
      destinationPort: s.destinationPort,
      sequence: s.seq,
      acknowledgment: s.ack ?? 0,
      flags: s.flags,
      window: s.window ?? 65535,
      options: s.options,
    }, s.payload);
  }

  /** Sends TCP segments, one frame each, in one batch. */
  sendTcp(...segments: RawLanTcp[]): void {
    this.nic.transmit(segments.map((s) => ({ data: this.tcpFrame(s) })));
  }

  /**
   * Sends the first fragment of a UDP datagram of `totalLength` payload bytes (more fragments
   * follow, never sent), `fragmentLength` bytes of it (a multiple of 8).
   */
  sendFirstFragment(
    source: number,
    destination: number,
    identification: number,
    fragmentLength: number,
  ): void {
    const frame = new Uint8Array(34 + fragmentLength);
    writeEthernetHeader(frame, 0, this.gatewayMac, this.nic.mac, 0x0800);
    // A UDP header with a length that promises more than this fragment carries.
    writeUdp(frame, 34, source, destination, 40000, 9, new Uint8Array(fragmentLength - 8));
    frame[38] = 0xff;
    frame[39] = 0xf0;
    writeIpv4Header(frame, 14, {
      source,
      destination,
      protocol: PROTOCOL_UDP,
      payloadLength: fragmentLength,
      identification,
      moreFragments: true,
      ttl: 64,
    });
    this.nic.transmit([{ data: frame }]);
  }

  /** Waits for (and removes) the first kept segment matching `match`. */
  async expect(
    match: (s: RawLanSegment) => boolean,
    what: string,
    timeoutMs = 5000,
  ): Promise<RawLanSegment> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.segments.findIndex(match);
      if (i >= 0) return this.segments.splice(i, 1)[0];
      const left = end - Date.now();
      if (left <= 0) throw new Error(`raw LAN host: no ${what} within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#arrival.promise,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
  }

  /** Forgets kept segments. */
  clear(): void {
    this.segments.length = 0;
  }

  /** Unplugs. */
  close(): void {
    this.#closed = true;
    this.nic.close();
  }
}

/** The frame's bytes with a partial checksum (checksum offload on the LAN) finished. */
function complete({ data, meta }: Frame): Uint8Array {
  if (meta && (meta.flags & FRAME_NEEDS_CHECKSUM)) {
    completeChecksum(data, meta.checksumStart, meta.checksumOffset);
  }
  return data;
}

/** `"SYN|ACK"` style names of TCP flags. */
export function flagNames(flags: number): string {
  const names: string[] = [];
  for (const [name, bit] of Object.entries(TcpFlags)) if (flags & bit) names.push(name);
  return names.join("|");
}
