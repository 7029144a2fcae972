/**
 * ICMPv4 (RFC 792, RFC 1122 §3.2.2): echo replies, `ping`, error generation with rate limiting,
 * and delivery of received errors to the socket or connection they concern.
 *
 * @module
 */
import { formatIpv4Address, IPV4_BROADCAST } from "./wire/address.ts";
import { WireError } from "./wire/errors.ts";
import {
  ICMP_DESTINATION_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LENGTH,
  ICMP_TIME_EXCEEDED,
  parseIcmpv4,
  UnreachableCode,
  writeIcmpEcho,
  writeIcmpError,
} from "./wire/icmpv4.ts";
import { type Ipv4Packet, parseIpv4, PROTOCOL_ICMP } from "./wire/ipv4.ts";
import {
  Aborted,
  HostUnreachable,
  InvalidArgument,
  type NetError,
  NetworkUnreachable,
  PortUnreachable,
  TimedOut,
} from "./errors.ts";
import { PAYLOAD_OFFSET } from "./interface.ts";
import type { StackInternals } from "./_internals.ts";

/** Options of `stack.ping()`. */
export interface PingOptions {
  /** How long to wait for the reply, ms (default 1000). */
  timeout?: number;
  /** Bytes of echo data (default 56, as ping(8)). */
  size?: number;
  /** Sequence number (default: the next of this stack). */
  sequence?: number;
  /** Time to live of the request. */
  ttl?: number;
  /** Set Don't Fragment. */
  dontFragment?: boolean;
  /** Cancels the wait. */
  signal?: AbortSignal;
}

/** One echo reply. */
export interface PingReply {
  /** Who replied. */
  from: string;
  /** Echo sequence number. */
  sequence: number;
  /** TTL of the reply packet. */
  ttl: number;
  /** ICMP bytes in the reply (header and data), as ping(8) prints them. */
  bytes: number;
  /** Round-trip time in milliseconds. */
  rtt: number;
}

/** An ICMP error about a packet we sent, for the transport layers. */
export interface IcmpErrorReport {
  /** Protocol of the packet we sent. */
  protocol: number;
  /** Its source and destination addresses. */
  source: number;
  destination: number;
  /** Its first 8 transport bytes (ports, sequence number). */
  transportHeader: Uint8Array;
  /** ICMP type and code. */
  type: number;
  code: number;
  /** The error to surface to the user. */
  error: NetError;
  /** Next-hop MTU for fragmentation-needed (RFC 1191), else 0. */
  nextHopMtu: number;
}

interface PendingPing {
  resolve: (reply: PingReply) => void;
  reject: (error: Error) => void;
  sentAt: number;
  destination: number;
  deadline: number;
}

/**
 * The ICMP layer of a stack.
 *
 * @example
 * ```ts ignore
 * const reply = await stack.ping("10.0.0.1", { timeout: 1000 });
 * console.log(`${reply.bytes} bytes from ${reply.from}: icmp_seq=${reply.sequence} time=${reply.rtt} ms`);
 * ```
 */
export class IcmpLayer {
  readonly #internals: StackInternals;
  readonly #pending = new Map<number, PendingPing>();
  readonly identifier = Math.floor(Math.random() * 65536);
  #sequence = 0;
  /** Error-message token bucket (RFC 1812 §4.3.2.8 rate limiting). */
  #tokens: number;
  #tokensAt = 0;
  readonly #errorsPerSecond: number;
  /** Receives ICMP errors about TCP/UDP packets we sent. */
  onError: (report: IcmpErrorReport) => void = () => {};

  constructor(internals: StackInternals, errorsPerSecond = 100) {
    this.#internals = internals;
    this.#errorsPerSecond = errorsPerSecond;
    this.#tokens = errorsPerSecond;
  }

  /** Sends an echo request and waits for its reply. */
  ping(destination: number, options: PingOptions = {}): Promise<PingReply> {
    const size = options.size ?? 56;
    if (!Number.isInteger(size) || size < 0 || size > 65507) {
      return Promise.reject(new InvalidArgument(`ping size must be 0–65507 bytes, got ${size}`));
    }
    const sequence = options.sequence ?? (this.#sequence = (this.#sequence + 1) & 0xffff);
    if (this.#pending.has(sequence)) {
      return Promise.reject(
        new InvalidArgument(`a ping with sequence ${sequence} is already waiting`),
      );
    }
    const now = this.#internals.now();
    const data = new Uint8Array(size);
    // Like ping(8): a timestamp first (unused by the reply check), then a byte pattern.
    for (let i = 0; i < size; i++) data[i] = i & 0xff;
    const iface = this.#internals.iface;
    const frame = iface.allocatePacket(ICMP_HEADER_LENGTH + size);
    writeIcmpEcho(frame, PAYLOAD_OFFSET, ICMP_ECHO_REQUEST, this.identifier, sequence, data);
    const error = iface.sendIpv4(frame, {
      destination,
      protocol: PROTOCOL_ICMP,
      ttl: options.ttl,
      dontFragment: options.dontFragment,
    }, now);
    if (error) return Promise.reject(error);
    this.#countOut(ICMP_HEADER_LENGTH + size);
    const timeout = options.timeout ?? 1000;
    return new Promise<PingReply>((resolve, reject) => {
      const cleanup = () => {
        this.#pending.delete(sequence);
        options.signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        cleanup();
        reject(new Aborted(`ping ${formatIpv4Address(destination)} aborted`));
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(sequence, {
        sentAt: now,
        destination,
        deadline: now + timeout,
        resolve: (r) => {
          cleanup();
          resolve(r);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      });
      this.#internals.kick();
    });
  }

  /** Times out pings whose deadline passed. */
  poll(now: number): void {
    for (const [sequence, p] of this.#pending) {
      if (p.deadline <= now) {
        p.reject(
          new TimedOut(
            `no echo reply from ${formatIpv4Address(p.destination)} (icmp_seq=${sequence}) within ${
              Math.round(p.deadline - p.sentAt)
            } ms`,
          ),
        );
      }
    }
  }

  /** The earliest ping deadline. */
  nextDeadline(): number {
    let next = Infinity;
    for (const p of this.#pending.values()) next = Math.min(next, p.deadline);
    return next;
  }

  /** Fails the ping that sent `frame` when its destination did not resolve. */
  unreachable(frame: Uint8Array, error: NetError): void {
    // frame: Ethernet + IPv4 + ICMP echo. Sequence at ICMP offset 6.
    const icmp = PAYLOAD_OFFSET;
    if (frame.length < icmp + 8 || frame[icmp] !== ICMP_ECHO_REQUEST) return;
    const sequence = (frame[icmp + 6] << 8) | frame[icmp + 7];
    this.#pending.get(sequence)?.reject(error);
  }

  /** Handles a received ICMP message. */
  input(packet: Ipv4Packet, now: number): void {
    const stats = this.#internals.stats;
    const message = parseIcmpv4(packet.payload);
    if (message instanceof WireError) {
      stats.drop("icmp", message.reason);
      return;
    }
    const s = stats.live.icmp;
    s.packetsIn++;
    s.bytesIn += message.bytes.length;
    switch (message.type) {
      case ICMP_ECHO_REQUEST: {
        s.echoRequestsIn++;
        // A gateway accepts packets for any address; it answers only for its own.
        if (!this.#internals.iface.isLocalAddress(packet.destination)) {
          stats.drop("icmp", "echo-not-for-us");
          return;
        }
        // Like Linux (icmp_echo_ignore_broadcasts=1), don't answer broadcast pings (smurf).
        if (
          packet.destination === IPV4_BROADCAST ||
          packet.destination === this.#internals.iface.subnetBroadcast
        ) {
          stats.drop("icmp", "broadcast-echo");
          return;
        }
        const iface = this.#internals.iface;
        const frame = iface.allocatePacket(message.bytes.length);
        writeIcmpEcho(
          frame,
          PAYLOAD_OFFSET,
          ICMP_ECHO_REPLY,
          message.identifier,
          message.sequence,
          message.payload,
        );
        if (
          !iface.sendIpv4(frame, {
            destination: packet.source,
            protocol: PROTOCOL_ICMP,
            source: packet.destination,
          }, now)
        ) {
          this.#countOut(message.bytes.length);
        }
        return;
      }
      case ICMP_ECHO_REPLY: {
        const pending = this.#pending.get(message.sequence);
        if (
          !pending || message.identifier !== this.identifier ||
          pending.destination !== packet.source
        ) {
          stats.drop("icmp", "unmatched-echo-reply");
          return;
        }
        pending.resolve({
          from: formatIpv4Address(packet.source),
          sequence: message.sequence,
          ttl: packet.ttl,
          bytes: message.bytes.length,
          rtt: now - pending.sentAt,
        });
        return;
      }
      case ICMP_DESTINATION_UNREACHABLE:
      case ICMP_TIME_EXCEEDED: {
        s.errorsIn++;
        this.#inputError(message.type, message.code, message.nextHopMtu, message.payload);
        return;
      }
      default:
        stats.drop("icmp", "unhandled-type");
    }
  }

  #inputError(type: number, code: number, nextHopMtu: number, quoted: Uint8Array): void {
    // The quoted packet is our own IP header plus at least 8 bytes of transport header.
    const inner = parseIpv4Quoted(quoted);
    if (!inner) {
      this.#internals.stats.drop("icmp", "bad-quoted-packet");
      return;
    }
    const { header, transport } = inner;
    const destination = formatIpv4Address(header.destination);
    const port = (transport[2] << 8) | transport[3];
    let error: NetError;
    if (type === ICMP_TIME_EXCEEDED) {
      error = new HostUnreachable(`time exceeded in transit to ${destination}`);
    } else if (code === UnreachableCode.port) {
      error = new PortUnreachable(`${destination}:${port} port unreachable`);
    } else if (code === UnreachableCode.net) {
      error = new NetworkUnreachable(`network of ${destination} unreachable (ICMP)`);
    } else {
      error = new HostUnreachable(`${destination} unreachable (ICMP code ${code})`);
    }
    if (header.protocol === PROTOCOL_ICMP) {
      // An error about one of our echo requests: fail that ping now.
      if (transport[0] === ICMP_ECHO_REQUEST) {
        const id = (transport[4] << 8) | transport[5];
        const seq = (transport[6] << 8) | transport[7];
        if (id === this.identifier) this.#pending.get(seq)?.reject(error);
      }
      return;
    }
    this.onError({
      protocol: header.protocol,
      source: header.source,
      destination: header.destination,
      transportHeader: transport,
      type,
      code,
      error,
      nextHopMtu: code === UnreachableCode.fragmentationNeeded ? nextHopMtu : 0,
    });
  }

  /**
   * Sends an ICMP error about `packet` unless RFC 1122 §3.2.2 forbids it (errors about ICMP
   * errors, broadcasts, non-first fragments, non-unicast sources) or the rate limit is hit.
   */
  sendError(packet: Ipv4Packet, type: number, code: number, now: number): void {
    const iface = this.#internals.iface;
    const stats = this.#internals.stats;
    if (packet.destination === IPV4_BROADCAST || packet.destination === iface.subnetBroadcast) {
      return;
    }
    if (packet.source === 0 || packet.source === IPV4_BROADCAST || (packet.source >>> 28) === 0xe) {
      return;
    }
    if (packet.fragmentOffset !== 0) return;
    if (packet.protocol === PROTOCOL_ICMP) {
      const t = packet.payload[0];
      if (t !== ICMP_ECHO_REQUEST && t !== ICMP_ECHO_REPLY) return;
    }
    this.#tokens = Math.min(
      this.#errorsPerSecond,
      this.#tokens + ((now - this.#tokensAt) * this.#errorsPerSecond) / 1000,
    );
    this.#tokensAt = now;
    if (this.#tokens < 1) {
      stats.drop("icmp", "error-rate-limited");
      return;
    }
    this.#tokens--;
    // Quote the IP header and the first 8 bytes of its payload (RFC 792).
    const quoted = packet.bytes.subarray(0, Math.min(packet.bytes.length, packet.headerLength + 8));
    const frame = iface.allocatePacket(ICMP_HEADER_LENGTH + quoted.length);
    writeIcmpError(frame, PAYLOAD_OFFSET, type, code, 0, quoted);
    if (!iface.sendIpv4(frame, { destination: packet.source, protocol: PROTOCOL_ICMP }, now)) {
      this.#countOut(ICMP_HEADER_LENGTH + quoted.length);
      stats.live.icmp.errorsOut++;
    }
  }

  #countOut(bytes: number): void {
    const s = this.#internals.stats.live.icmp;
    s.packetsOut++;
    s.bytesOut += bytes;
  }
}

function parseIpv4Quoted(
  bytes: Uint8Array,
): { header: Ipv4Packet; transport: Uint8Array } | undefined {
  // The quoted packet is cut short, so its total length does not match: parse the header only.
  if (bytes.length < 28 || (bytes[0] >>> 4) !== 4) return undefined;
  const headerLength = (bytes[0] & 0x0f) * 4;
  if (headerLength < 20 || bytes.length < headerLength + 8) return undefined;
  const header = new Uint8Array(bytes.subarray(0, headerLength + 8));
  header[2] = 0;
  header[3] = headerLength + 8; // pretend the total length is what we have
  const parsed = parseIpv4(header, false);
  if (parsed instanceof WireError) return undefined;
  return { header: parsed, transport: parsed.payload };
}
