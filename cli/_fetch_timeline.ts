/**
 * The `-v` timeline of `deno task fetch` and `deno task demo`: what the stack put on the wire
 * and took from it (DHCP, ARP, DNS, TCP handshakes, seen by a NIC wrapper), the TLS handshake
 * steps and certificate, and the HTTP exchange, each line stamped with milliseconds since the
 * start and prefixed like curl's `-v`: `*` for what happens, `>` for what was sent, `<` for
 * what was received.
 *
 * @module
 */
import type { Frame, Nic, NicStats } from "../drivers/nic.ts";
import type { HttpEvent } from "../http/events.ts";
import type { TlsHandshakeInfo } from "../tls/handshake_info.ts";
import { formatIpv4Address, formatMac } from "../net/wire/address.ts";
import { ARP_REPLY, ARP_REQUEST, ArpPacket, parseArp } from "../net/wire/arp.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "../net/wire/ethernet.ts";
import { Ipv4Packet, parseIpv4, PROTOCOL_TCP, PROTOCOL_UDP } from "../net/wire/ipv4.ts";
import { parseTcp, parseTcpOptions, TcpSegment } from "../net/wire/tcp.ts";
import { parseUdp, UdpDatagram } from "../net/wire/udp.ts";
import { parseDhcpMessage } from "../net/dhcp/message.ts";
import { DhcpMessageType } from "../net/dhcp/options.ts";
import { parseMessage } from "../net/dns/message.ts";
import { formatRecordData } from "../net/dns/format.ts";
import { rcodeToString, typeToString } from "../net/dns/types.ts";

/** Options of {@linkcode FetchTimeline}. */
export interface FetchTimelineOptions {
  /** Writes one line (default: stderr). */
  write?: (line: string) => void;
  /** Time zero, `performance.now()` (default: now). */
  start?: number;
  /** ANSI colours (default: off). */
  color?: boolean;
  /** The clock (default `performance.now`). */
  now?: () => number;
}

/** Where the time of one fetch went, for a closing summary. */
export interface TimelineSummary {
  /** DHCP, DISCOVER to ACK. */
  dhcpMs?: number;
  /** DNS questions, first to last answer. */
  dnsMs?: number;
  /** ARP request to reply. */
  arpMs?: number;
  /** TCP SYN to SYN-ACK. */
  tcpMs?: number;
  /** TLS handshake. */
  tlsMs?: number;
  /** Request sent to response head. */
  waitMs?: number;
  /** Response head to end of body. */
  bodyMs?: number;
  /** Body bytes received (before content decoding). */
  bodyBytes?: number;
  /** The negotiated TLS parameters. */
  tls?: TlsHandshakeInfo;
}

const COLORS = { "*": "\x1b[36m", ">": "\x1b[33m", "<": "\x1b[32m" } as const;
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";
/** Width of the time column: `  1234.5 ms`. */
const TIME_WIDTH = 11;

/**
 * Collects and prints a fetch's timeline. Feed it HTTP events (`onHttpEvent`), wrap the stack's
 * NIC (`wrapNic`) to see DHCP, ARP, DNS and TCP handshakes, and add lines of your own (`note`).
 *
 * @example
 * ```ts
 * import { FetchTimeline } from "./_fetch_timeline.ts";
 * const lines: string[] = [];
 * const timeline = new FetchTimeline({ write: (l) => lines.push(l), start: 0, now: () => 1.5 });
 * timeline.note("hello");
 * console.log(lines[0]); // "*      1.5 ms  hello"
 * ```
 */
export class FetchTimeline {
  readonly #write: (line: string) => void;
  readonly #start: number;
  readonly #color: boolean;
  readonly #now: () => number;
  readonly #arpAsked = new Map<number, number>();
  readonly #dnsAsked = new Map<number, { at: number; question: string }>();
  readonly #synSent = new Map<string, number>();
  #dhcpStart: number | undefined;
  #dnsFirst: number | undefined;
  #requestSentAt: number | undefined;
  #headAt: number | undefined;
  readonly summary: TimelineSummary = {};

  /** A timeline that writes its lines as they happen. */
  constructor(options: FetchTimelineOptions = {}) {
    this.#write = options.write ?? ((line) => console.error(line));
    this.#now = options.now ?? (() => performance.now());
    this.#start = options.start ?? this.#now();
    this.#color = options.color ?? false;
  }

  /** Writes a `*` line (or `>`/`<`) stamped `time`; further lines are indented under it. */
  note(text: string, time = this.#now(), prefix: "*" | ">" | "<" = "*"): void {
    const [first, ...rest] = text.split("\n");
    const ms = `${(time - this.#start).toFixed(1)} ms`.padStart(TIME_WIDTH);
    const mark = this.#color ? `${COLORS[prefix]}${prefix}${RESET}` : prefix;
    const stamp = this.#color ? `${DIM}${ms}${RESET}` : ms;
    this.#write(`${mark}${stamp}  ${first}`);
    for (const line of rest) this.#write(`${mark}${" ".repeat(TIME_WIDTH)}  ${line}`);
  }

  /** A NIC that reports DHCP, ARP, DNS and TCP connection set-up frames, then passes them on. */
  wrapNic(nic: Nic): Nic {
    return new TracingNic(nic, (frame, outbound) => {
      try {
        this.#onFrame(frame, outbound);
      } catch {
        // A frame the tracer cannot read is the stack's business, not the timeline's.
      }
    });
  }

  /** Reports one event of `createFetch`'s `onEvent`. */
  onHttpEvent(event: HttpEvent): void {
    const t = event.time;
    switch (event.type) {
      case "request-start":
        this.note(`fetch ${event.method} ${event.url}`, t);
        return;
      case "connect-start":
        this.note(`connecting to ${event.host}:${event.port}`, t);
        return;
      case "connect-done":
        return; // the SYN-ACK line says it, with the TCP options
      case "tls-done":
        this.#tlsDone(event.handshake, event.serverName, event.durationMs, t);
        return;
      case "reuse":
        this.note(
          `reusing connection #${event.connectionId} (idle ${
            event.idleMs.toFixed(1)
          } ms, ${event.previousRequests} earlier request${
            event.previousRequests === 1 ? "" : "s"
          })`,
          t,
        );
        return;
      case "request-sent": {
        this.#requestSentAt = t;
        const lines = event.head.split("\r\n").filter((l) => l !== "");
        this.note(lines.join("\n"), t, ">");
        if (event.bodyBytes) this.note(`request body sent: ${event.bodyBytes} bytes`, t);
        return;
      }
      case "response-headers": {
        this.#headAt = t;
        if (this.#requestSentAt !== undefined) this.summary.waitMs = t - this.#requestSentAt;
        const lines = [
          `HTTP/${event.version} ${event.status} ${event.statusText}`,
          ...event.headers.map(([n, v]) => `${n}: ${v}`),
        ];
        this.note(lines.join("\n"), t, "<");
        return;
      }
      case "body-done":
        if (this.#headAt !== undefined) this.summary.bodyMs = t - this.#headAt;
        this.summary.bodyBytes = event.bodyBytes;
        this.note(
          `body done: ${event.bodyBytes} bytes${
            event.trailers.length ? `, ${event.trailers.length} trailer fields` : ""
          }; connection #${event.connectionId} ${
            event.keptAlive ? "kept alive for reuse" : "closed"
          }`,
          t,
        );
        return;
      case "redirect":
        this.note(`${event.status} redirect to ${event.to} (${event.method})`, t);
        return;
      case "retry":
        this.note(`the pooled connection was closed (${event.reason}); sending again`, t);
        return;
      case "error": {
        const e = event.error;
        this.note(`error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, t);
        return;
      }
    }
  }

  #tlsDone(
    h: TlsHandshakeInfo | undefined,
    serverName: string,
    durationMs: number,
    time: number,
  ): void {
    this.summary.tlsMs = durationMs;
    if (!h) {
      this.note(`TLS with ${serverName} in ${durationMs.toFixed(1)} ms`, time);
      return;
    }
    this.summary.tls = h;
    // The handshake's steps are timed from its start, when the TCP connection was ready.
    const began = time - durationMs;
    for (const step of h.timeline) this.note(`TLS ${step.event}`, began + step.atMs);
    const cert = h.peerCertificate;
    const lines = [
      `TLS connection: ${h.protocol}, ${h.cipherSuite}, ${h.group}, ALPN ${
        h.alpnProtocol ?? "none"
      }${h.resumed ? ", resumed from a session ticket" : ""} (handshake ${
        durationMs.toFixed(1)
      } ms)`,
    ];
    if (cert) {
      const days = Math.round((cert.notAfter.getTime() - Date.now()) / 86_400_000);
      lines.push(
        `certificate: ${cert.subject} (${cert.publicKey})`,
        `issuer: ${cert.issuer}`,
        `valid until ${cert.notAfter.toISOString().slice(0, 10)} (${days} days); names: ${
          cert.altNames.join(", ") || "none"
        }`,
      );
    }
    lines.push(
      h.verified
        ? `verified: a chain of ${
          cert?.pathLength ?? "?"
        } certificates to a trusted CA, valid for ${h.serverName}`
        : "NOT verified (insecure: -k)",
    );
    this.note(lines.join("\n"), time);
  }

  #onFrame(frame: Frame, outbound: boolean): void {
    const data = frame.data;
    if (data.length < 14) return;
    const etherType = (data[12] << 8) | data[13];
    const now = this.#now();
    if (etherType === ETHERTYPE_ARP) {
      const arp = parseArp(data.subarray(14));
      if (arp instanceof ArpPacket) this.#onArp(arp, outbound, now);
      return;
    }
    if (etherType !== ETHERTYPE_IPV4) return;
    const ip = parseIpv4(data.subarray(14), false);
    if (!(ip instanceof Ipv4Packet) || ip.isFragment) return;
    if (ip.protocol === PROTOCOL_TCP) {
      // Only connection set-up and refusals: flags SYN or RST.
      const flags = ip.payload[13];
      if (ip.payload.length < 20 || (flags & 0x06) === 0) return;
      const tcp = parseTcp(ip.payload, ip.source, ip.destination, false);
      if (tcp instanceof TcpSegment) this.#onTcp(ip, tcp, outbound, now);
    } else if (ip.protocol === PROTOCOL_UDP) {
      const udp = parseUdp(ip.payload, ip.source, ip.destination, false);
      if (!(udp instanceof UdpDatagram)) return;
      const ports = [udp.sourcePort, udp.destinationPort];
      if (ports.includes(67) && ports.includes(68)) this.#onDhcp(udp.payload, now);
      else if (outbound ? udp.destinationPort === 53 : udp.sourcePort === 53) {
        this.#onDns(udp.payload, outbound, ip, now);
      }
    }
  }

  #onArp(arp: ArpPacket, outbound: boolean, now: number): void {
    const sender = formatIpv4Address(arp.senderProtocolAddress);
    const target = formatIpv4Address(arp.targetProtocolAddress);
    if (arp.operation === ARP_REQUEST && outbound) {
      const mac = formatMac(arp.senderHardwareAddress);
      if (arp.senderProtocolAddress === 0) {
        this.note(`ARP probe: is ${target} in use? (RFC 5227)`, now);
        return;
      }
      if (arp.senderProtocolAddress === arp.targetProtocolAddress) {
        this.note(`ARP announcement: ${sender} is-at ${mac}`, now);
        return;
      }
      this.#arpAsked.set(arp.targetProtocolAddress, now);
      this.note(`ARP who-has ${target}? tell ${sender}`, now);
    } else if (arp.operation === ARP_REPLY && !outbound) {
      const asked = this.#arpAsked.get(arp.senderProtocolAddress);
      if (asked === undefined) return;
      this.#arpAsked.delete(arp.senderProtocolAddress);
      this.summary.arpMs ??= now - asked;
      this.note(
        `ARP ${sender} is-at ${formatMac(arp.senderHardwareAddress)} (${
          (now - asked).toFixed(1)
        } ms)`,
        now,
      );
    }
  }

  #onTcp(ip: Ipv4Packet, tcp: TcpSegment, outbound: boolean, now: number): void {
    const local = outbound
      ? `${formatIpv4Address(ip.source)}:${tcp.sourcePort}`
      : `${formatIpv4Address(ip.destination)}:${tcp.destinationPort}`;
    const remote = outbound
      ? `${formatIpv4Address(ip.destination)}:${tcp.destinationPort}`
      : `${formatIpv4Address(ip.source)}:${tcp.sourcePort}`;
    const key = `${local}>${remote}`;
    if (outbound && tcp.isSyn && !tcp.isAck) {
      const again = this.#synSent.has(key);
      if (!again) this.#synSent.set(key, now);
      this.note(`TCP SYN ${local} → ${remote}${again ? " (sent again: no answer yet)" : ""}`, now);
      return;
    }
    if (outbound) return;
    const sent = this.#synSent.get(key);
    if (sent === undefined) return;
    this.#synSent.delete(key);
    if (tcp.isSyn && tcp.isAck) {
      this.summary.tcpMs ??= now - sent;
      const options = parseTcpOptions(tcp.optionBytes);
      const facts = options instanceof Error ? [] : [
        options.maxSegmentSize !== undefined ? `MSS ${options.maxSegmentSize}` : "",
        options.windowScale !== undefined ? `window scale ${options.windowScale}` : "",
        options.sackPermitted ? "SACK" : "",
        options.timestamp ? "timestamps" : "",
      ].filter(Boolean);
      this.note(
        `TCP SYN-ACK from ${remote}: connected in ${(now - sent).toFixed(1)} ms${
          facts.length ? ` (${facts.join(", ")})` : ""
        }`,
        now,
      );
    } else if (tcp.isRst) {
      this.note(`TCP RST from ${remote}: connection refused`, now);
    }
  }

  #onDhcp(payload: Uint8Array, now: number): void {
    const m = parseDhcpMessage(payload);
    const type = m.options.messageType;
    const ip = formatIpv4Address;
    switch (type) {
      case DhcpMessageType.DISCOVER:
        this.#dhcpStart ??= now;
        this.note(`DHCP DISCOVER from ${formatMac(m.chaddr)}`, now);
        return;
      case DhcpMessageType.OFFER:
        this.note(
          `DHCP OFFER ${ip(m.yiaddr)} from ${ip(m.options.serverId ?? m.siaddr)}`,
          now,
        );
        return;
      case DhcpMessageType.REQUEST:
        this.note(`DHCP REQUEST ${ip(m.options.requestedAddress ?? m.ciaddr)}`, now);
        return;
      case DhcpMessageType.ACK: {
        const o = m.options;
        const address = o.subnetMask === undefined
          ? ip(m.yiaddr)
          : `${ip(m.yiaddr)}/${prefixLength(o.subnetMask)}`;
        const parts = [
          address,
          o.routers?.length ? `router ${o.routers.map(ip).join(", ")}` : "",
          o.dnsServers?.length ? `DNS ${o.dnsServers.map(ip).join(", ")}` : "",
          o.leaseTime !== undefined ? `lease ${formatSeconds(o.leaseTime)}` : "",
          o.mtu !== undefined ? `MTU ${o.mtu}` : "",
        ].filter(Boolean);
        const took = this.#dhcpStart === undefined ? undefined : now - this.#dhcpStart;
        if (took !== undefined) this.summary.dhcpMs ??= took;
        this.note(
          `DHCP ACK: ${parts.join(", ")}${
            took === undefined ? "" : ` (${took.toFixed(1)} ms after DISCOVER)`
          }`,
          now,
        );
        return;
      }
      case DhcpMessageType.NAK:
        this.note(`DHCP NAK${m.options.message ? `: ${m.options.message}` : ""}`, now);
        return;
    }
  }

  #onDns(payload: Uint8Array, outbound: boolean, ip: Ipv4Packet, now: number): void {
    const m = parseMessage(payload);
    const q = m.questions[0];
    if (!q) return;
    const question = `${typeToString(q.type)} ${q.name.replace(/\.$/, "") || "."}`;
    if (outbound) {
      this.#dnsAsked.set(m.id, { at: now, question });
      this.#dnsFirst ??= now;
      this.note(`DNS ${question}? → ${formatIpv4Address(ip.destination)}`, now);
      return;
    }
    const asked = this.#dnsAsked.get(m.id);
    this.#dnsAsked.delete(m.id);
    const took = asked ? ` (${(now - asked.at).toFixed(1)} ms)` : "";
    if (this.#dnsFirst !== undefined) this.summary.dnsMs = now - this.#dnsFirst;
    const answers = m.answers.filter((a) => a.type === q.type).map((a) => formatRecordData(a.data));
    const text = m.rcode !== 0
      ? rcodeToString(m.rcode)
      : answers.length
      ? answers.join(", ")
      : "no records";
    this.note(`DNS ${question}: ${text}${took}`, now);
  }
}

function prefixLength(mask: number): number {
  let n = 0;
  for (let bit = 31; bit >= 0 && (mask >>> bit) & 1; bit--) n++;
  return n;
}

function formatSeconds(s: number): string {
  if (s === 0xffffffff) return "infinite";
  if (s % 86400 === 0) return `${s / 86400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  return `${s} s`;
}

/** Passes frames through unchanged, showing each to `observe` first. */
class TracingNic implements Nic {
  readonly #inner: Nic;
  readonly #observe: (frame: Frame, outbound: boolean) => void;

  constructor(inner: Nic, observe: (frame: Frame, outbound: boolean) => void) {
    this.#inner = inner;
    this.#observe = observe;
  }

  get name(): string {
    return this.#inner.name;
  }

  get mac(): Uint8Array {
    return this.#inner.mac;
  }

  get mtu(): number {
    return this.#inner.mtu;
  }

  get features() {
    return this.#inner.features;
  }

  async receive(): Promise<Frame[] | null> {
    const frames = await this.#inner.receive();
    if (frames) { for (const f of frames) this.#observe(f, false); }
    return frames;
  }

  transmit(frames: Frame[]): void {
    for (const f of frames) this.#observe(f, true);
    this.#inner.transmit(frames);
  }

  stats(): NicStats {
    return this.#inner.stats();
  }

  close(): void {
    this.#inner.close();
  }
}
