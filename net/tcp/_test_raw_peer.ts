/**
 * A hand-driven peer for TCP layer tests: one end of a memory link that answers ARP and sends
 * and receives raw TCP segments, so a test can put any segment in front of a real
 * {@linkcode Stack}.
 *
 * @module
 */
import type { MemoryNic } from "../../drivers/memory.ts";
import { parseIpv4Address, parseMac } from "../wire/address.ts";
import { parseTcpOptions, type TcpOptions } from "../wire/tcp.ts";
import { WireError } from "../wire/errors.ts";
import { arpReplyFor, tcpFrame, tcpOfFrame } from "../_test_raw_frames.ts";
import { parseFlags } from "./_test_harness.ts";

/** A TCP segment the raw peer received. */
export interface RawSegment {
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  options: TcpOptions;
  payload: Uint8Array;
}

/** The raw peer: address 10.0.0.2 on its end of the link. */
export class RawTcpPeer {
  readonly address: number;
  readonly segments: RawSegment[] = [];
  /** Resolved (and replaced) whenever a segment arrives. */
  #arrival = Promise.withResolvers<void>();
  #closed = false;

  constructor(
    readonly nic: MemoryNic,
    stackMac: string,
    address = "10.0.0.2",
    readonly stackAddress = "10.0.0.1",
  ) {
    this.address = parseIpv4Address(address)!;
    this.#peerMac = parseMac(stackMac);
    this.#loop();
  }

  async #loop(): Promise<void> {
    for (;;) {
      const frames = await this.nic.receive();
      if (!frames || this.#closed) return;
      for (const { data } of frames) this.#input(data);
    }
  }

  #input(data: Uint8Array): void {
    const reply = arpReplyFor(data, this.nic.mac, (a) => a === this.address);
    if (reply) {
      this.nic.transmit([{ data: reply }]);
      return;
    }
    const tcp = tcpOfFrame(data)?.tcp;
    if (!tcp) return;
    const options = parseTcpOptions(tcp.optionBytes);
    this.segments.push({
      sourcePort: tcp.sourcePort,
      destinationPort: tcp.destinationPort,
      seq: tcp.sequence,
      ack: tcp.acknowledgment,
      flags: tcp.flags,
      window: tcp.window,
      options: options instanceof WireError ? {} : options,
      payload: tcp.payload.slice(),
    });
    const arrived = this.#arrival;
    this.#arrival = Promise.withResolvers<void>();
    arrived.resolve();
  }

  #peerMac: Uint8Array | undefined;

  /** Sends one segment to the stack. */
  send(segment: {
    sourcePort: number;
    destinationPort: number;
    seq: number;
    ack?: number;
    flags: string;
    window?: number;
    options?: TcpOptions;
    payload?: Uint8Array;
  }): void {
    const destination = parseIpv4Address(this.stackAddress)!;
    const frame = tcpFrame(this.nic.mac, this.#peerMac!, this.address, destination, {
      sourcePort: segment.sourcePort,
      destinationPort: segment.destinationPort,
      sequence: segment.seq,
      acknowledgment: segment.ack ?? 0,
      flags: parseFlags(segment.flags),
      window: segment.window ?? 65535,
      options: segment.options,
    }, segment.payload);
    this.nic.transmit([{ data: frame }]);
  }

  /** Waits for (and removes) the first received segment matching `match`. */
  async expect(
    match: (s: RawSegment) => boolean,
    what: string,
    timeoutMs = 5000,
  ): Promise<RawSegment> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.segments.findIndex(match);
      if (i >= 0) return this.segments.splice(i, 1)[0];
      const left = end - Date.now();
      if (left <= 0) {
        throw new Error(
          `raw peer: no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.segments)}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#arrival.promise,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
  }

  close(): void {
    this.#closed = true;
    this.nic.close();
  }
}
