/**
 * The stack's TCP layer: demultiplexes segments to control blocks, owns listeners with bounded
 * SYN queues and SYN cookies, answers segments for no connection with RST, and turns the control
 * blocks' output into frames.
 *
 * @module
 */
import { formatIpv4Address } from "../wire/address.ts";
import { writePartialChecksum } from "../wire/checksum.ts";
import { WireError } from "../wire/errors.ts";
import { type Ipv4Packet, PROTOCOL_TCP } from "../wire/ipv4.ts";
import { parseTcp, parseTcpOptions, TcpFlags, tcpOptionsLength, writeTcp } from "../wire/tcp.ts";
import { AddressInUse, InvalidArgument, type NetError } from "../errors.ts";
import { PAYLOAD_OFFSET } from "../interface.ts";
import type { StackInternals } from "../_internals.ts";
import type { IcmpErrorReport } from "../icmp.ts";
import { defaultTcpConfig, type TcpConfig } from "./config.ts";
import {
  type IncomingSegment,
  type OutgoingSegment,
  TcpControlBlock,
  type TcpTuple,
} from "./control_block.ts";
import { TcpConn, type TcpConnHost, TcpListener } from "./conn.ts";
import { IsnGenerator, SynCookies } from "./isn.ts";
import { seqAdd } from "./seq.ts";
import { DeadlineHeap } from "../storage/deadline_heap.ts";

const { FIN, SYN, RST, ACK } = TcpFlags;

/** Options of `stack.connect()`, shaped like `Deno.connect`'s. */
export interface TcpConnectOptions {
  /** Remote IPv4 address. */
  hostname: string;
  /** Remote port. */
  port: number;
  /** Local port (default: a random ephemeral port). */
  localPort?: number;
  /** Cancels the connection attempt. */
  signal?: AbortSignal;
  /** Per-connection TCP settings. */
  tcp?: Partial<TcpConfig>;
}

/** Options of `stack.listen()`, shaped like `Deno.listen`'s. */
export interface TcpListenOptions {
  /** Port to listen on (0 picks one). */
  port: number;
  /** Local address to listen on (default all). */
  hostname?: string;
  /** Established connections waiting for accept() (default 128). */
  backlog?: number;
  /** Half-open connections kept before SYN cookies take over (default 256). */
  synQueueLength?: number;
  /** Per-connection TCP settings for accepted connections. */
  tcp?: Partial<TcpConfig>;
}

interface Entry {
  tcb: TcpControlBlock;
  conn: TcpConn;
  listener?: TcpListener;
  /** Counted in the listener's half-open total until established. */
  halfOpen: boolean;
  /** Made by interception: its fate until established is reported to the interceptor. */
  intercepted?: boolean;
}

function key(
  remoteAddress: number,
  remotePort: number,
  localAddress: number,
  localPort: number,
): string {
  return `${remoteAddress}:${remotePort}:${localAddress}:${localPort}`;
}

/**
 * TCP for one stack.
 *
 * @example
 * ```ts ignore
 * const conn = await stack.connect({ hostname: "10.0.0.2", port: 7 });
 * ```
 */
export class TcpLayer implements TcpConnHost {
  readonly #internals: StackInternals;
  readonly #connections = new Map<string, Entry>();
  readonly #listeners = new Map<number, TcpListener[]>();
  readonly #synQueueLimits = new Map<TcpListener, number>();
  readonly #listenerConfig = new Map<TcpListener, Partial<TcpConfig>>();
  readonly #isn = new IsnGenerator();
  readonly #cookies = new SynCookies();
  readonly #defaults: Partial<TcpConfig>;

  constructor(internals: StackInternals, defaults: Partial<TcpConfig> = {}) {
    this.#internals = internals;
    this.#defaults = defaults;
  }

  readonly #byTcb = new Map<TcpControlBlock, Entry>();
  /** When each connection next needs its timers run. */
  readonly #timers = new DeadlineHeap<TcpControlBlock>();
  #lastLookup:
    | {
      remoteAddress: number;
      remotePort: number;
      localAddress: number;
      localPort: number;
      key: string;
      entry: Entry;
    }
    | undefined;

  #add(k: string, entry: Entry): void {
    const old = this.#connections.get(k);
    if (old) this.#byTcb.delete(old.tcb);
    this.#connections.set(k, entry);
    this.#byTcb.set(entry.tcb, entry);
  }

  #remove(k: string): void {
    const old = this.#connections.get(k);
    if (old) {
      this.#byTcb.delete(old.tcb);
      this.#timers.delete(old.tcb);
    }
    this.#connections.delete(k);
    if (this.#lastLookup?.key === k) this.#lastLookup = undefined;
  }

  /** The clock. */
  now(): number {
    return this.#internals.now();
  }

  /** Number of connections the layer tracks (any state). */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** States of all connections, for diagnostics (`ss`). */
  connections(): { local: string; remote: string; state: string }[] {
    return [...this.#connections.values()].map(({ tcb }) => ({
      local: `${formatIpv4Address(tcb.tuple.localAddress)}:${tcb.tuple.localPort}`,
      remote: `${formatIpv4Address(tcb.tuple.remoteAddress)}:${tcb.tuple.remotePort}`,
      state: tcb.state,
    }));
  }

  #config(overrides?: Partial<TcpConfig>): TcpConfig {
    return { ...defaultTcpConfig(this.#internals.iface.mtu), ...this.#defaults, ...overrides };
  }

  #localAddress(): number {
    return this.#internals.iface.config?.address ?? 0;
  }

  // ---------------------------------------------------------------- user API

  /** Active open. */
  async connect(options: TcpConnectOptions): Promise<TcpConn> {
    const remoteAddress = this.#internals.parseAddress(options.hostname);
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new InvalidArgument(`TCP port must be 1–65535, got ${options.port}`);
    }
    const route = this.#internals.iface.nextHop(remoteAddress);
    if (typeof route !== "number") throw route;
    const localPort = options.localPort ?? this.#ephemeralPort(remoteAddress, options.port);
    if (this.#connections.has(key(remoteAddress, options.port, this.#localAddress(), localPort))) {
      throw new AddressInUse(
        `local port ${localPort} is already connected to ${options.hostname}:${options.port}`,
      );
    }
    const tuple: TcpTuple = {
      localAddress: this.#localAddress(),
      localPort,
      remoteAddress,
      remotePort: options.port,
    };
    const now = this.now();
    const iss = this.#isn.next(tuple.localAddress, localPort, remoteAddress, options.port, now);
    const tcb = TcpControlBlock.connect(this.#config(options.tcp), tuple, iss, now);
    const conn = new TcpConn(tcb, this);
    this.#add(key(remoteAddress, options.port, this.#localAddress(), localPort), {
      tcb,
      conn,
      halfOpen: false,
    });
    this.#internals.stats.live.tcp.activeOpens++;
    this.flush(tcb);
    await conn._waitEstablished(options.signal);
    return conn;
  }

  /** Passive open. */
  listen(options: TcpListenOptions): TcpListener {
    let port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new InvalidArgument(`TCP port must be 0–65535, got ${port}`);
    }
    const address = options.hostname && options.hostname !== "0.0.0.0"
      ? this.#internals.parseAddress(options.hostname)
      : 0;
    if (port === 0) port = this.#ephemeralPort(0, 0);
    const existing = this.#listeners.get(port) ?? [];
    if (existing.some((l) => l.localAddress === 0 || address === 0 || l.localAddress === address)) {
      throw new AddressInUse(`TCP port ${port} is already listening`);
    }
    const listener = new TcpListener(
      address,
      port,
      options.backlog ?? 128,
      (l) => this.#unlisten(l),
    );
    existing.push(listener);
    this.#listeners.set(port, existing);
    this.#synQueueLimits.set(listener, options.synQueueLength ?? 256);
    if (options.tcp) this.#listenerConfig.set(listener, options.tcp);
    return listener;
  }

  #unlisten(listener: TcpListener): void {
    const rest = (this.#listeners.get(listener.port) ?? []).filter((l) => l !== listener);
    if (rest.length) this.#listeners.set(listener.port, rest);
    else this.#listeners.delete(listener.port);
    this.#synQueueLimits.delete(listener);
    this.#listenerConfig.delete(listener);
  }

  #ephemeralPort(remoteAddress: number, remotePort: number): number {
    // Random ports (RFC 6056 §3.3.1) from the IANA dynamic range.
    for (let attempt = 0; attempt < 4096; attempt++) {
      const port = 49152 + Math.floor(Math.random() * 16384);
      if (this.#listeners.has(port)) continue;
      if (
        remotePort !== 0 &&
        this.#connections.has(key(remoteAddress, remotePort, this.#localAddress(), port))
      ) continue;
      if (
        remotePort === 0 &&
        [...this.#connections.values()].some((e) => e.tcb.tuple.localPort === port)
      ) continue;
      return port;
    }
    throw new AddressInUse("no free ephemeral TCP port");
  }

  // ---------------------------------------------------------------- output

  /** Sends what `tcb` queued, updates its connection and asks the loop to re-arm. */
  flush(tcb: TcpControlBlock): void {
    const now = this.now();
    for (const segment of tcb.takeOutput()) this.#transmit(tcb.tuple, segment, now);
    const entry = this.#byTcb.get(tcb);
    if (entry) {
      this.#afterChange(entry);
      if (this.#byTcb.has(tcb)) this.#timers.schedule(tcb, tcb.nextDeadline());
    }
    this.#internals.kick();
  }

  #transmit(tuple: TcpTuple, segment: OutgoingSegment, now: number): void {
    const iface = this.#internals.iface;
    const optionsLength = segment.options ? tcpOptionsLength(segment.options) : 0;
    const length = 20 + optionsLength + segment.payload.length;
    const frame = iface.allocatePacket(length);
    const source = tuple.localAddress || iface.config?.address || 0;
    writeTcp(
      frame,
      PAYLOAD_OFFSET,
      source,
      tuple.remoteAddress,
      {
        sourcePort: tuple.localPort,
        destinationPort: tuple.remotePort,
        sequence: segment.seq,
        acknowledgment: segment.ack,
        flags: segment.flags,
        window: segment.window,
        options: segment.options,
      },
      segment.payload,
      iface.checksumOffload,
    );
    // With checksum offload the NIC completes the checksum from the pseudo-header sum.
    if (iface.checksumOffload) {
      writePartialChecksum(
        frame,
        PAYLOAD_OFFSET + 16,
        source,
        tuple.remoteAddress,
        PROTOCOL_TCP,
        length,
      );
    }
    const error = iface.sendIpv4(frame, {
      destination: tuple.remoteAddress,
      protocol: PROTOCOL_TCP,
      source,
      dontFragment: true,
      checksumFieldOffset: iface.checksumOffload ? 16 : undefined,
    }, now);
    if (error) {
      this.#internals.stats.drop(
        "tcp",
        error.code === "EMSGSIZE" ? "segment-too-long" : "no-route",
      );
      return;
    }
    const s = this.#internals.stats.live.tcp;
    s.packetsOut++;
    s.bytesOut += segment.payload.length;
    if (segment.retransmission) s.retransmits++;
    if (segment.flags & RST) s.resetsOut++;
  }

  #afterChange(entry: Entry): void {
    const tcb = entry.tcb;
    if (entry.halfOpen && tcb.state !== "SYN-RECEIVED") {
      entry.halfOpen = false;
      if (entry.listener) entry.listener.halfOpen--;
      let delivered = false;
      if (tcb.state !== "CLOSED" && entry.listener) {
        if (entry.listener.closed || !entry.listener._enqueue(entry.conn)) {
          // Accept queue full or listener gone: refuse (Linux would drop the ACK; RST is clearer).
          tcb.abort(this.now(), "aborted");
          for (const segment of tcb.takeOutput()) this.#transmit(tcb.tuple, segment, this.now());
        } else delivered = true;
      }
      if (entry.intercepted) {
        const t = tcb.tuple;
        this.#interceptHalfOpen.delete(
          key(t.remoteAddress, t.remotePort, t.localAddress, t.localPort),
        );
        if (!delivered) this.#interceptDropped?.(t);
      }
    }
    entry.conn._update();
    tcb.changed = false;
    if (tcb.state === "CLOSED") {
      this.#remove(
        key(
          tcb.tuple.remoteAddress,
          tcb.tuple.remotePort,
          tcb.tuple.localAddress,
          tcb.tuple.localPort,
        ),
      );
      if (entry.halfOpen && entry.listener) entry.listener.halfOpen--;
    }
  }

  // ---------------------------------------------------------------- input

  /** Handles a received TCP segment. */
  input(packet: Ipv4Packet, now: number): void {
    const stats = this.#internals.stats;
    const parsed = parseTcp(
      packet.payload,
      packet.source,
      packet.destination,
      !packet.checksumValid,
    );
    if (parsed instanceof WireError) {
      stats.drop("tcp", parsed.reason);
      return;
    }
    const options = parseTcpOptions(parsed.optionBytes);
    if (options instanceof WireError) {
      stats.drop("tcp", "bad-option");
      return;
    }
    const s = stats.live.tcp;
    s.packetsIn++;
    s.bytesIn += parsed.payload.length;
    const segment: IncomingSegment = {
      seq: parsed.sequence,
      ack: parsed.acknowledgment,
      flags: parsed.flags,
      window: parsed.window,
      options,
      payload: parsed.payload,
    };
    const remoteAddress = packet.source;
    const remotePort = parsed.sourcePort;
    const localPort = parsed.destinationPort;
    // Most segments belong to the connection of the one before: skip building the key then.
    const last = this.#lastLookup;
    let entry: Entry | undefined;
    let k: string;
    if (
      last && last.remoteAddress === remoteAddress && last.remotePort === remotePort &&
      last.localAddress === packet.destination && last.localPort === localPort &&
      this.#byTcb.has(last.entry.tcb)
    ) {
      entry = last.entry;
      k = last.key;
    } else {
      k = key(remoteAddress, remotePort, packet.destination, localPort);
      entry = this.#connections.get(k);
      if (entry) {
        this.#lastLookup = {
          remoteAddress,
          remotePort,
          localAddress: packet.destination,
          localPort,
          key: k,
          entry,
        };
      }
    }
    // A new SYN may reuse a tuple in TIME-WAIT when it is clearly newer (RFC 6191's idea).
    if (
      entry && entry.tcb.state === "TIME-WAIT" && (segment.flags & (SYN | ACK | RST)) === SYN &&
      (this.#findListener(localPort, packet.destination) || this.#intercept) &&
      ((segment.seq - entry.tcb.rcvNxt) | 0) > 0
    ) {
      this.#remove(k);
      entry = undefined;
    }
    if (entry) {
      entry.tcb.receive(segment, now);
      this.flush(entry.tcb);
      return;
    }
    const listener = this.#findListener(localPort, packet.destination);
    if (!listener && this.#intercept && (segment.flags & (SYN | ACK | RST)) === SYN) {
      this.#interceptSyn(packet, segment, remoteAddress, remotePort, localPort);
      return;
    }
    if (listener && !(segment.flags & RST)) {
      if ((segment.flags & (SYN | ACK)) === SYN) {
        this.#passiveOpen(listener, packet, segment, remoteAddress, remotePort, localPort, now);
        return;
      }
      if ((segment.flags & (SYN | ACK | FIN)) === ACK || (segment.flags & (SYN | ACK)) === ACK) {
        if (
          this.#cookieOpen(listener, packet, segment, remoteAddress, remotePort, localPort, now)
        ) return;
      }
    }
    stats.drop("tcp", "no-connection");
    this.#sendReset(packet.destination, remoteAddress, localPort, remotePort, segment, now);
  }

  #intercept: ((tuple: TcpTuple) => Promise<boolean>) | undefined;
  #interceptDropped: ((tuple: TcpTuple) => void) | undefined;
  #interceptListener: TcpListener | undefined;
  readonly #pendingSyns = new Map<string, { syn: IncomingSegment; tuple: TcpTuple }>();
  /** Accepted intercepted connections still in SYN-RECEIVED, oldest first. */
  readonly #interceptHalfOpen = new Map<string, Entry>();
  /**
   * Most intercepted connections not yet established: SYNs waiting for a decision plus accepted
   * ones in SYN-RECEIVED. A SYN flood cannot grow them: the oldest half-open one is reset to
   * make room (RFC 4987 §3.4's "drop oldest"), and SYNs beyond that are dropped.
   */
  maxPendingSyns = 1024;

  /**
   * Takes SYNs no listener takes (a gateway's outbound connections): `decide` is asked, before any answer
   * goes to the peer, whether to accept (e.g. after the outside connection succeeded). Accepted
   * connections come out of the returned listener once established; refused ones get RST.
   * `dropped` hears of accepted ones that never came out (the handshake was reset, timed out,
   * or made room for newer SYNs), so that what `decide` set up for them can go.
   */
  interceptConnections(
    decide: (tuple: TcpTuple) => Promise<boolean>,
    dropped?: (tuple: TcpTuple) => void,
  ): TcpListener {
    this.#intercept = decide;
    this.#interceptDropped = dropped;
    this.#interceptListener = new TcpListener(0, 0, Number.MAX_SAFE_INTEGER, () => {
      this.#intercept = undefined;
      this.#interceptDropped = undefined;
      this.#interceptListener = undefined;
    });
    return this.#interceptListener;
  }

  #interceptSyn(
    packet: Ipv4Packet,
    syn: IncomingSegment,
    remoteAddress: number,
    remotePort: number,
    localPort: number,
  ): void {
    const k = key(remoteAddress, remotePort, packet.destination, localPort);
    const pending = this.#pendingSyns.get(k);
    if (pending) {
      pending.syn = { ...syn, payload: new Uint8Array(0) }; // a retransmitted SYN: keep waiting
      return;
    }
    if (this.#pendingSyns.size + this.#interceptHalfOpen.size >= this.maxPendingSyns) {
      const oldest = this.#interceptHalfOpen.values().next().value;
      if (!oldest) {
        this.#internals.stats.drop("tcp", "intercept-queue-full");
        return;
      }
      this.#internals.stats.drop("tcp", "intercept-half-open-reset");
      oldest.tcb.abort(this.now(), "aborted");
      this.flush(oldest.tcb);
    }
    const tuple: TcpTuple = {
      localAddress: packet.destination,
      localPort,
      remoteAddress,
      remotePort,
    };
    // The SYN's options are needed later; its payload (if any) is dropped and retransmitted.
    this.#pendingSyns.set(k, { syn: { ...syn, payload: new Uint8Array(0) }, tuple });
    const decide = this.#intercept!;
    decide(tuple).then((ok) => ok, () => false).then((ok) => {
      const entry = this.#pendingSyns.get(k);
      this.#pendingSyns.delete(k);
      if (!entry) return;
      const now = this.now();
      const listener = this.#interceptListener;
      const existing = this.#connections.get(k);
      if (!ok || !listener || existing) {
        this.#sendReset(tuple.localAddress, remoteAddress, localPort, remotePort, entry.syn, now);
        if (ok) this.#interceptDropped?.(tuple);
        return;
      }
      const iss = this.#isn.next(tuple.localAddress, localPort, remoteAddress, remotePort, now);
      const tcb = TcpControlBlock.accept(this.#config(), tuple, entry.syn, iss, now);
      const conn = new TcpConn(tcb, this);
      listener.halfOpen++;
      const accepted: Entry = { tcb, conn, listener, halfOpen: true, intercepted: true };
      this.#add(k, accepted);
      this.#interceptHalfOpen.set(k, accepted);
      this.#internals.stats.live.tcp.passiveOpens++;
      this.flush(tcb);
    });
  }

  #findListener(port: number, address: number): TcpListener | undefined {
    const listeners = this.#listeners.get(port);
    return listeners?.find((l) =>
      !l.closed && (l.localAddress === 0 || l.localAddress === address)
    );
  }

  #passiveOpen(
    listener: TcpListener,
    packet: Ipv4Packet,
    syn: IncomingSegment,
    remoteAddress: number,
    remotePort: number,
    localPort: number,
    now: number,
  ): void {
    const tuple: TcpTuple = {
      localAddress: packet.destination,
      localPort,
      remoteAddress,
      remotePort,
    };
    const limit = this.#synQueueLimits.get(listener) ?? 256;
    if (listener.halfOpen >= limit || listener.full) {
      // SYN queue full: answer with a cookie and keep no state (RFC 4987 §3.6).
      const mss = Math.min(syn.options.maxSegmentSize ?? 536, this.#config().maxSegmentSize);
      const cookie = this.#cookies.make(
        packet.destination,
        localPort,
        remoteAddress,
        remotePort,
        syn.seq,
        mss,
        now,
      );
      this.#internals.stats.drop("tcp", "syn-queue-full-cookie-sent");
      this.#transmit(tuple, {
        seq: cookie,
        ack: seqAdd(syn.seq, 1),
        flags: SYN | ACK,
        window: 65535,
        options: { maxSegmentSize: mss },
        payload: new Uint8Array(0),
        retransmission: false,
      }, now);
      this.#internals.kick();
      return;
    }
    const iss = this.#isn.next(packet.destination, localPort, remoteAddress, remotePort, now);
    const tcb = TcpControlBlock.accept(
      this.#config(this.#listenerConfig.get(listener)),
      tuple,
      syn,
      iss,
      now,
    );
    const conn = new TcpConn(tcb, this);
    listener.halfOpen++;
    this.#add(key(remoteAddress, remotePort, packet.destination, localPort), {
      tcb,
      conn,
      listener,
      halfOpen: true,
    });
    this.#internals.stats.live.tcp.passiveOpens++;
    this.flush(tcb);
  }

  #cookieOpen(
    listener: TcpListener,
    packet: Ipv4Packet,
    ack: IncomingSegment,
    remoteAddress: number,
    remotePort: number,
    localPort: number,
    now: number,
  ): boolean {
    if (listener.full) return false;
    const mss = this.#cookies.check(
      packet.destination,
      localPort,
      remoteAddress,
      remotePort,
      ack.seq,
      ack.ack,
      now,
    );
    if (mss === undefined) return false;
    const tuple: TcpTuple = {
      localAddress: packet.destination,
      localPort,
      remoteAddress,
      remotePort,
    };
    const iss = seqAdd(ack.ack, -1);
    const tcb = TcpControlBlock.fromCookie(
      this.#config(this.#listenerConfig.get(listener)),
      tuple,
      ack,
      iss,
      mss,
      now,
    );
    const conn = new TcpConn(tcb, this);
    this.#add(key(remoteAddress, remotePort, packet.destination, localPort), {
      tcb,
      conn,
      listener,
      halfOpen: false,
    });
    this.#internals.stats.live.tcp.passiveOpens++;
    listener._enqueue(conn);
    this.flush(tcb);
    return true;
  }

  /** RST for a segment that belongs to no connection (RFC 9293 §3.10.7.1). */
  #sendReset(
    localAddress: number,
    remoteAddress: number,
    localPort: number,
    remotePort: number,
    segment: IncomingSegment,
    now: number,
  ): void {
    if (segment.flags & RST) return;
    const tuple: TcpTuple = { localAddress, localPort, remoteAddress, remotePort };
    const length = segment.payload.length + (segment.flags & SYN ? 1 : 0) +
      (segment.flags & FIN ? 1 : 0);
    const reset: OutgoingSegment = segment.flags & ACK
      ? {
        seq: segment.ack,
        ack: 0,
        flags: RST,
        window: 0,
        payload: new Uint8Array(0),
        retransmission: false,
      }
      : {
        seq: 0,
        ack: seqAdd(segment.seq, length),
        flags: RST | ACK,
        window: 0,
        payload: new Uint8Array(0),
        retransmission: false,
      };
    this.#transmit(tuple, reset, now);
    this.#internals.kick();
  }

  // ---------------------------------------------------------------- timers and errors

  /** Runs connection timers. */
  poll(now: number): void {
    for (const tcb of this.#timers.takeDue(now)) {
      if (!this.#byTcb.has(tcb)) continue;
      // Woken early when a deadline moved later: nothing to run, just schedule again.
      if (tcb.nextDeadline() <= now) tcb.poll(now);
      this.flush(tcb);
    }
  }

  /** The earliest connection deadline. */
  nextDeadline(): number {
    return this.#timers.next();
  }

  /**
   * The stack is closing: resets every connection (their pending reads and writes fail with
   * Aborted) and closes every listener.
   */
  closeAll(): void {
    const now = this.now();
    for (const entry of [...this.#connections.values()]) {
      const tcb = entry.tcb;
      if (tcb.state !== "CLOSED") tcb.abort(now, "aborted");
      this.flush(tcb);
    }
    for (const listeners of [...this.#listeners.values()]) for (const l of listeners) l.close();
    this.#interceptListener?.close();
  }

  /** An ICMP error about a segment we sent. */
  icmpError(report: IcmpErrorReport): void {
    const h = report.transportHeader;
    const localPort = (h[0] << 8) | h[1];
    const remotePort = (h[2] << 8) | h[3];
    const entry = this.#connections.get(
      key(report.destination, remotePort, report.source, localPort),
    );
    if (!entry) return;
    if (report.nextHopMtu > 0) {
      // Path MTU discovery (RFC 1191): shrink segments; retransmission resends them smaller.
      entry.tcb.sendMss = Math.max(536, Math.min(entry.tcb.sendMss, report.nextHopMtu - 40));
      return;
    }
    entry.tcb.unreachable(this.now());
    this.flush(entry.tcb);
  }

  /** Packets to `frame`'s destination were dropped because ARP failed. */
  unreachable(frame: Uint8Array, _error: NetError): void {
    if (frame.length < 38 || frame[23] !== PROTOCOL_TCP) return;
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const localAddress = view.getUint32(26);
    const remoteAddress = view.getUint32(30);
    const localPort = (frame[34] << 8) | frame[35];
    const remotePort = (frame[36] << 8) | frame[37];
    const entry = this.#connections.get(key(remoteAddress, remotePort, localAddress, localPort));
    if (!entry) return;
    entry.tcb.unreachable(this.now());
    this.flush(entry.tcb);
  }
}
