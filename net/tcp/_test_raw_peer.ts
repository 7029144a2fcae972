/**
 * A hand-driven peer for TCP layer tests: one end of a memory link that answers ARP and sends
 * and receives raw TCP segments, so a test can put any segment in front of a real
 * {@linkcode Stack}.
 *
 * @module
 */
import type { MemoryNic } from "../../drivers/memory.ts";
import { parseIpv4Address, parseMac } from "../wire/address.ts";
import { parseArp, writeArp } from "../wire/arp.ts";
import { parseEthernet, writeEthernetHeader } from "../wire/ethernet.ts";
import { parseIpv4, PROTOCOL_TCP, writeIpv4Header } from "../wire/ipv4.ts";
import {
  parseTcp,
  parseTcpOptions,
  type TcpOptions,
  tcpOptionsLength,
  writeTcp,
} from "../wire/tcp.ts";
import { WireError } from "../wire/errors.ts";
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
    const eth = parseEthernet(data);
    if (eth instanceof WireError) return;
    if (eth.etherType === 0x0806) {
      const arp = parseArp(eth.payload);
      if (
        arp instanceof WireError || arp.operation !== 1 ||
        arp.targetProtocolAddress !== this.address
      ) return;
      const reply = new Uint8Array(42);
      writeEthernetHeader(reply, 0, eth.source, this.nic.mac, 0x0806);
      writeArp(
        reply,
        14,
        2,
        this.nic.mac,
        this.address,
        arp.senderHardwareAddress,
        arp.senderProtocolAddress,
      );
      this.nic.transmit([{ data: reply }]);
      return;
    }
    if (eth.etherType !== 0x0800) return;
    const ip = parseIpv4(eth.payload);
    if (ip instanceof WireError || ip.protocol !== PROTOCOL_TCP) return;
    const tcp = parseTcp(ip.payload, ip.source, ip.destination);
    if (tcp instanceof WireError) return;
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
    const payload = segment.payload ?? new Uint8Array(0);
    const tcpLength = 20 + (segment.options ? tcpOptionsLength(segment.options) : 0) +
      payload.length;
    const frame = new Uint8Array(34 + tcpLength);
    const destination = parseIpv4Address(this.stackAddress)!;
    writeEthernetHeader(frame, 0, this.#peerMac!, this.nic.mac, 0x0800);
    writeTcp(frame, 34, this.address, destination, {
      sourcePort: segment.sourcePort,
      destinationPort: segment.destinationPort,
      sequence: segment.seq,
      acknowledgment: segment.ack ?? 0,
      flags: parseFlags(segment.flags),
      window: segment.window ?? 65535,
      options: segment.options,
    }, payload);
    writeIpv4Header(frame, 14, {
      source: this.address,
      destination,
      protocol: PROTOCOL_TCP,
      payloadLength: tcpLength,
      identification: 0,
      ttl: 64,
    });
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
