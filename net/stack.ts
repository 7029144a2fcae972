/**
 * The usernet stack: one NIC, its IPv4 interface, and the ICMP, UDP (and TCP) layers, driven by
 * one event loop that owns all I/O and timers.
 *
 * @module
 */
import type { Nic } from "../drivers/nic.ts";
import { formatIpv4Address, formatMac, parseIpv4Address } from "./wire/address.ts";
import { ICMP_DESTINATION_UNREACHABLE, UnreachableCode } from "./wire/icmpv4.ts";
import { PROTOCOL_ICMP, PROTOCOL_TCP, PROTOCOL_UDP } from "./wire/ipv4.ts";
import { PROTOCOL_IGMP } from "./wire/igmp.ts";
import { type IgmpGroupState, IgmpLayer, type IgmpOptions } from "./igmp.ts";
import { Closed, HostUnreachable, InvalidArgument, type NetError } from "./errors.ts";
import { type InterfaceOptions, type Ipv4Config, NetworkInterface } from "./interface.ts";
import { IcmpLayer, type PingOptions, type PingReply } from "./icmp.ts";
import { type StackStats, StatsCounters } from "./stats.ts";
import { type ListenDatagramOptions, UdpLayer, type UdpSocket } from "./udp.ts";
import type { StackInternals } from "./_internals.ts";
import { type TcpConnectOptions, TcpLayer, type TcpListenOptions } from "./tcp/layer.ts";
import type { TcpConn, TcpListener } from "./tcp/conn.ts";
import type { TcpConfig } from "./tcp/config.ts";
import type { DhcpLease } from "./dhcp/client.ts";
import { StackDhcpClient, type StackDhcpOptions } from "./dhcp/stack_client.ts";
import type { DnsAnswer } from "./dns/resolver.ts";
import { type ResolveOptions, type StackDnsOptions, StackResolver } from "./dns/stack_resolver.ts";
import type { SntpResult } from "./ntp/sntp.ts";
import { type NtpQueryOptions, ntpQueryOver } from "./ntp/stack_query.ts";

// The types of the stack's DHCP, DNS and NTP methods, public with the stack.
export type { DhcpClientState, DhcpLease } from "./dhcp/client.ts";
export {
  type DhcpLeaseChange,
  DhcpLeaseEvent,
  type DhcpProbeOptions,
  DhcpStopped,
  StackDhcpClient,
  type StackDhcpOptions,
} from "./dhcp/stack_client.ts";
export type { DnsAnswer, DnsServerAddress } from "./dns/resolver.ts";
export type { RecordData, ResourceRecord } from "./dns/message.ts";
export { type CacheEntry, DnsCache, type DnsCacheOptions } from "./dns/cache.ts";
export { type HostsResult, HostsTable } from "./dns/hosts.ts";
export { type ResolveOptions, type StackDnsOptions, StackResolver } from "./dns/stack_resolver.ts";
export type { SntpResult } from "./ntp/sntp.ts";
export type { NtpQueryOptions } from "./ntp/stack_query.ts";

/** Options of {@linkcode Stack}. */
/** Options of {@linkcode Stack}: the NIC, addressing and interface tunables. */
export interface StackOptions extends InterfaceOptions {
  /** The NIC the stack owns. */
  nic: Nic;
  /** IPv4 address with prefix, e.g. `"10.0.2.15/24"`. Omit to configure later (DHCP). */
  address?: string;
  /** Default gateway, e.g. `"10.0.2.2"`. */
  gateway?: string;
  /** The clock, in ms (default `performance.now`). Tests may pass a virtual one. */
  clock?: () => number;
  /** ICMP error messages per second (default 100). */
  icmpErrorsPerSecond?: number;
  /** Default TCP settings for every connection (buffer sizes, congestion control, ...). */
  tcp?: Partial<TcpConfig>;
  /** Configure by DHCP: `true` or client options; `await stack.dhcp()` waits for the lease. */
  dhcp?: boolean | StackDhcpOptions;
  /** DNS servers (e.g. `["10.0.2.3"]`) or settings; default: the DHCP lease's servers. */
  dns?: string[] | StackDnsOptions;
  /** IGMP settings: group limit, report timing (see `UdpSocket.joinMulticastV4`). */
  igmp?: IgmpOptions;
}

/** A multicast group the stack is a member of, as {@linkcode Stack.multicastGroups} lists it. */
export interface MulticastGroup {
  /** The group, e.g. `"239.1.2.3"`. */
  group: string;
  /** RFC 2236 §6: `"delaying"` while a report is pending, else `"idle"`. */
  state: IgmpGroupState;
  /** Whether this stack sent the last report for the group (leaving then sends Leave Group). */
  lastReporter: boolean;
}

/** The stack's IPv4 configuration as text. */
export interface Ipv4Settings {
  /** Address, e.g. `"10.0.2.15"`. */
  address: string;
  /** Prefix length, e.g. 24. */
  prefixLength: number;
  /** Gateway, if any. */
  gateway?: string;
  /** IP MTU (from a DHCP lease); clamped to 576 … the NIC's MTU. */
  mtu?: number;
}

/**
 * Resolves in a macrotask (a message event, not a clamped timer): timers and I/O get their turn
 * first. A channel per call, closed at once, so nothing is left to keep the process alive.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(0);
    channel.port2.close();
  });
}

/**
 * Parses `"a.b.c.d/len"` into a configuration.
 *
 * @example
 * ```ts
 * import { parseCidr } from "./stack.ts";
 * console.log(parseCidr("10.0.2.15/24")); // { address: 167772687, prefixLength: 24 }
 * ```
 */
export function parseCidr(text: string): { address: number; prefixLength: number } {
  const [addressText, prefixText, extra] = text.split("/");
  const address = parseIpv4Address(addressText);
  const prefixLength = prefixText === undefined ? 32 : Number(prefixText);
  if (
    address === undefined || extra !== undefined || !Number.isInteger(prefixLength) ||
    prefixLength < 0 || prefixLength > 32
  ) {
    throw new InvalidArgument(
      `"${text}" is not an IPv4 address with prefix length, like 10.0.2.15/24`,
    );
  }
  return { address, prefixLength };
}

/**
 * A userspace TCP/IP stack on one NIC.
 *
 * @example Two stacks on a memory link, one pings the other
 * ```ts
 * import { MemoryLink } from "../drivers/memory.ts";
 * import { Stack } from "./stack.ts";
 * const [a, b] = MemoryLink.pair();
 * const left = new Stack({ nic: a, address: "10.0.0.1/24" });
 * const right = new Stack({ nic: b, address: "10.0.0.2/24" });
 * const reply = await left.ping("10.0.0.2");
 * console.log(reply.from); // "10.0.0.2"
 * await left.close();
 * await right.close();
 * ```
 */
export class Stack extends EventTarget {
  /** The NIC this stack owns. */
  readonly nic: Nic;
  readonly #iface: NetworkInterface;
  readonly #stats = new StatsCounters();
  readonly #icmp: IcmpLayer;
  readonly #udp: UdpLayer;
  readonly #tcp: TcpLayer;
  readonly #igmp: IgmpLayer;
  readonly #clock: () => number;
  readonly #internals: StackInternals;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #kicked = false;
  #closed = false;
  readonly #loopDone: Promise<void>;
  /** Extra timed protocol layers (TCP, DHCP, DNS) registered by the stack's owners. */
  readonly #timed: Set<{ poll(now: number): void; nextDeadline(): number }> = new Set();

  /** Brings a stack up on `options.nic` and starts its event loop. */
  constructor(options: StackOptions) {
    super();
    this.nic = options.nic;
    this.#clock = options.clock ?? (() => performance.now());
    this.#iface = new NetworkInterface(options.nic, this.#stats, options);
    this.#internals = {
      iface: this.#iface,
      stats: this.#stats,
      // One clock reading per batch of frames: layers ask for the time many times per frame.
      now: () => this.#batchNow ?? this.#clock(),
      kick: () => this.#kick(),
      parseAddress: (text) => this.#parseAddress(text),
      sendIcmpPortUnreachable: (packet) =>
        this.#icmp.sendError(
          packet,
          ICMP_DESTINATION_UNREACHABLE,
          UnreachableCode.port,
          this.#clock(),
        ),
    };
    this.#icmp = new IcmpLayer(this.#internals, options.icmpErrorsPerSecond);
    this.#udp = new UdpLayer(this.#internals);
    this.#tcp = new TcpLayer(this.#internals, options.tcp);
    this.#iface.handlers.set(PROTOCOL_TCP, (p, now) => this.#tcp.input(p, now));
    this.#timed.add(this.#tcp);
    this.#iface.handlers.set(PROTOCOL_ICMP, (p, now) => this.#icmp.input(p, now));
    this.#iface.handlers.set(PROTOCOL_UDP, (p, now) => this.#udp.input(p, now));
    this.#igmp = new IgmpLayer(this.#internals, options.igmp);
    this.#iface.handlers.set(PROTOCOL_IGMP, (p, now) => this.#igmp.input(p, now));
    this.#timed.add(this.#igmp);
    this.#udp.multicast = this.#igmp;
    this.#iface.onUnknownProtocol = (p, now) => {
      this.#stats.drop("ipv4", "unknown-protocol");
      this.#icmp.sendError(p, ICMP_DESTINATION_UNREACHABLE, UnreachableCode.protocol, now);
    };
    this.#iface.onUnreachable = (frame, error) => this.#reportUnreachable(frame, error);
    this.#icmp.onError = (report) => {
      if (report.protocol === PROTOCOL_UDP) {
        const h = report.transportHeader;
        this.#udp.error((h[0] << 8) | h[1], report.destination, (h[2] << 8) | h[3], report.error);
      } else if (report.protocol === PROTOCOL_TCP) {
        this.#tcp.icmpError(report);
      }
    };
    if (options.address) {
      const { address, prefixLength } = parseCidr(options.address);
      const gateway = options.gateway ? this.#parseAddress(options.gateway) : undefined;
      this.#iface.configure({ address, prefixLength, gateway }, this.#clock());
    }
    this.#loopDone = this.#receiveLoop();
    this.#kick();
    this.#dnsOptions = Array.isArray(options.dns) ? { servers: options.dns } : options.dns;
    if (options.dhcp) this.dhcp(options.dhcp === true ? {} : options.dhcp).catch(() => {});
  }

  #dhcpClient: StackDhcpClient | undefined;
  #resolver: StackResolver | undefined;
  readonly #dnsOptions: StackDnsOptions | undefined;

  /**
   * Starts the DHCP client (once; later calls just wait) and resolves with the lease when it is
   * bound. Lease changes are dispatched on the stack as `"lease"` events
   * (`DhcpLeaseEvent`: acquired, renewed, changed, lost, declined).
   *
   * @example
   * ```ts ignore
   * const stack = new Stack({ nic });
   * stack.addEventListener("lease", (e) => console.log((e as DhcpLeaseEvent).change));
   * const lease = await stack.dhcp({ hostname: "usernet" });
   * console.log(stack.ipv4); // { address: "10.0.2.15", prefixLength: 24, gateway: "10.0.2.2" }
   * ```
   */
  dhcp(options: StackDhcpOptions = {}, signal?: AbortSignal): Promise<DhcpLease> {
    this.#assertOpen();
    if (!this.#dhcpClient) {
      this.#dhcpClient = new StackDhcpClient(this, options);
      this.#dhcpClient.start();
    }
    return this.#dhcpClient.bound(signal);
  }

  /** The DHCP client, once `dhcp()` (or the `dhcp` option) started it. */
  get dhcpClient(): StackDhcpClient | undefined {
    return this.#dhcpClient;
  }

  /** The resolver (servers from the `dns` option, else the DHCP lease). */
  get resolver(): StackResolver {
    return this.#resolver ??= new StackResolver(
      this,
      this.#dnsOptions,
      () => this.#dhcpClient?.lease?.dns ?? [],
    );
  }

  /**
   * Resolves `name` through the stack (hosts table, cache, then DNS over the stack's UDP, TCP
   * when truncated). Rejects with a `DnsResolveError` subclass.
   *
   * @example
   * ```ts ignore
   * const answer = await stack.resolve("example.com", { type: "MX" });
   * console.log(formatShort(answer)); // ["10 mail.example.com."]
   * ```
   */
  resolve(name: string, options?: ResolveOptions): Promise<DnsAnswer> {
    this.#assertOpen();
    return this.resolver.resolve(name, options);
  }

  /**
   * Measures the local clock against an NTP server (SNTP, RFC 4330) through the stack.
   *
   * @example
   * ```ts ignore
   * const { offsetMs, delayMs } = await stack.ntpQuery("10.0.2.2");
   * ```
   */
  ntpQuery(server: string, options?: NtpQueryOptions): Promise<SntpResult> {
    this.#assertOpen();
    return ntpQueryOver(this, server, options);
  }

  /** The NIC's MAC address as text. */
  get mac(): string {
    return formatMac(this.#iface.mac);
  }

  /** The IP MTU. */
  get mtu(): number {
    return this.#iface.mtu;
  }

  /** The current IPv4 configuration, or `undefined` before one is set. */
  get ipv4(): Ipv4Settings | undefined {
    const c = this.#iface.config;
    if (!c) return undefined;
    return {
      address: formatIpv4Address(c.address),
      prefixLength: c.prefixLength,
      gateway: c.gateway === undefined ? undefined : formatIpv4Address(c.gateway),
    };
  }

  /** Sets or clears the IPv4 configuration (static, or from a DHCP lease). */
  setIpv4(settings: Ipv4Settings | undefined): void {
    let config: Ipv4Config | undefined;
    if (settings) {
      const address = this.#parseAddress(settings.address);
      if (
        !Number.isInteger(settings.prefixLength) || settings.prefixLength < 0 ||
        settings.prefixLength > 32
      ) {
        throw new InvalidArgument(`prefix length must be 0–32, got ${settings.prefixLength}`);
      }
      config = {
        address,
        prefixLength: settings.prefixLength,
        gateway: settings.gateway ? this.#parseAddress(settings.gateway) : undefined,
      };
    }
    if (settings?.mtu !== undefined && Number.isInteger(settings.mtu)) {
      // RFC 1122 §3.3.3: every host takes 576; never more than the link carries.
      this.#iface.mtu = Math.max(576, Math.min(settings.mtu, this.nic.mtu));
    }
    const before = this.#iface.config?.address;
    this.#iface.configure(config, this.#clock());
    // Reports sent while we had no address (or another) came from it: report again.
    if (config && config.address !== before) this.#igmp.reportAll();
    this.#kick();
  }

  /**
   * Sends an ICMP echo request and waits for the reply.
   *
   * @example
   * ```ts ignore
   * const r = await stack.ping("10.0.2.2");
   * console.log(`${r.bytes} bytes from ${r.from}: icmp_seq=${r.sequence} ttl=${r.ttl} time=${r.rtt.toFixed(3)} ms`);
   * ```
   */
  ping(host: string, options?: PingOptions): Promise<PingReply> {
    this.#assertOpen();
    let destination: number;
    try {
      destination = this.#parseAddress(host);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#icmp.ping(destination, options);
  }

  /**
   * Binds a UDP socket shaped like `Deno.DatagramConn`.
   *
   * @example
   * ```ts ignore
   * const socket = stack.listenDatagram({ port: 5353, transport: "udp" });
   * const [data, from] = await socket.receive();
   * await socket.send(data, from);
   * ```
   */
  listenDatagram(options: ListenDatagramOptions = {}): UdpSocket {
    this.#assertOpen();
    return this.#udp.bind(options);
  }

  /**
   * Opens a TCP connection; resolves once established. Shaped like `Deno.connect`: `hostname`
   * is an IPv4 address or a name, resolved first through {@linkcode resolve}.
   *
   * @example
   * ```ts ignore
   * const conn = await stack.connect({ hostname: "10.0.2.2", port: 22 });
   * ```
   */
  connect(options: TcpConnectOptions): Promise<TcpConn> {
    this.#assertOpen();
    if (parseIpv4Address(options.hostname) !== undefined) return this.#tcp.connect(options);
    // A name: resolve it first (A records through the stack's resolver).
    return this.resolver.lookupIpv4(options.hostname).then((hostname) =>
      this.#tcp.connect({ ...options, hostname })
    );
  }

  /**
   * Listens for TCP connections. Shaped like `Deno.listen`.
   *
   * @example
   * ```ts ignore
   * const listener = stack.listen({ port: 8080 });
   * const conn = await listener.accept();
   * ```
   */
  listen(options: TcpListenOptions): TcpListener {
    this.#assertOpen();
    return this.#tcp.listen(options);
  }

  /**
   * The multicast groups the stack is a member of through its sockets' `joinMulticastV4` (like
   * `ip maddr`; 224.0.0.1, always joined, is not listed).
   */
  multicastGroups(): MulticastGroup[] {
    return this.#igmp.host.groups().map((g) => ({
      group: formatIpv4Address(g.group),
      state: g.state,
      lastReporter: g.lastReporter,
    }));
  }

  /** TCP connections and their states (like `ss -t`). */
  tcpConnections(): { local: string; remote: string; state: string }[] {
    return this.#tcp.connections();
  }

  /** A snapshot of the stack's counters. */
  stats(): StackStats {
    return this.#stats.snapshot();
  }

  /**
   * Resolves the link-layer address of the next hop towards `host` (like arping), so a
   * time-sensitive first packet (an SNTP query) does not wait in the ARP queue. Resolves with
   * the MAC; rejects with HostUnreachable when no answer comes within `timeoutMs`.
   *
   * @example
   * ```ts ignore
   * console.log(await stack.resolveNextHop("10.0.2.2")); // "52:55:0a:00:02:02"
   * ```
   */
  async resolveNextHop(host: string, timeoutMs = 3000): Promise<string> {
    this.#assertOpen();
    const iface = this.#iface;
    const hop = iface.nextHop(this.#parseAddress(host));
    if (typeof hop !== "number") throw hop;
    if (hop === 0xffffffff || hop === iface.subnetBroadcast) return "ff:ff:ff:ff:ff:ff";
    if (hop === iface.config?.address) return this.mac;
    const deadline = performance.now() + timeoutMs;
    let nextRequest = 0;
    for (;;) {
      const mac = iface.neighbors.lookup(hop, this.#clock());
      if (mac) return formatMac(mac);
      const now = performance.now();
      if (now >= deadline) {
        throw new HostUnreachable(
          `${formatIpv4Address(hop)} did not answer ARP within ${timeoutMs} ms`,
        );
      }
      if (now >= nextRequest) {
        iface.sendArpRequest(hop);
        this.#kick();
        nextRequest = now + 1000;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The neighbour cache, for display (`arp -n`). */
  neighbors(): { address: string; mac: string | undefined; pending: number }[] {
    return this.#iface.neighbors.entries().map((e) => ({
      address: formatIpv4Address(e.address),
      mac: e.mac ? formatMac(e.mac) : undefined,
      pending: e.pending,
    }));
  }

  /** Stops the event loop and closes the NIC. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dhcpClient?.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // Nothing waits forever on a closed stack: connections are reset, sockets closed.
    this.#tcp.closeAll();
    this.#udp.closeAll();
    this.#flush();
    this.nic.close();
    await this.#resolver?.close();
    await this.#loopDone;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  // ---- extension points for protocol layers built on the stack (TCP, DHCP, DNS, gateway) ----

  /** @internal Shared internals for layers in this package. */
  get _internals(): StackInternals {
    return this.#internals;
  }

  /** @internal The interface. */
  get _iface(): NetworkInterface {
    return this.#iface;
  }

  /** @internal The TCP layer (a gateway intercepts connections through it). */
  get _tcp(): TcpLayer {
    return this.#tcp;
  }

  /** @internal The UDP layer (a gateway intercepts datagrams through it). */
  get _udp(): UdpLayer {
    return this.#udp;
  }

  /** @internal Registers a timed layer polled by the event loop. */
  _addTimed(layer: { poll(now: number): void; nextDeadline(): number }): void {
    this.#timed.add(layer);
    this.#kick();
  }

  /** @internal Removes a timed layer. */
  _removeTimed(layer: { poll(now: number): void; nextDeadline(): number }): void {
    this.#timed.delete(layer);
  }

  // ---- the event loop ----

  #parseAddress(text: string): number {
    const address = parseIpv4Address(text);
    if (address === undefined) throw new InvalidArgument(`"${text}" is not an IPv4 address`);
    return address;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Closed("the stack is closed");
  }

  #reportUnreachable(frame: Uint8Array, error: NetError): void {
    // frame: Ethernet(14) + IPv4(20) + transport.
    const protocol = frame[23];
    if (protocol === PROTOCOL_ICMP) this.#icmp.unreachable(frame, error);
    else if (protocol === PROTOCOL_TCP) this.#tcp.unreachable(frame, error);
    else if (protocol === PROTOCOL_UDP && frame.length >= 38) {
      const destination = ((frame[30] << 24) | (frame[31] << 16) | (frame[32] << 8) | frame[33]) >>>
        0;
      this.#udp.error(
        (frame[34] << 8) | frame[35],
        destination,
        (frame[36] << 8) | frame[37],
        error,
      );
    }
  }

  async #receiveLoop(): Promise<void> {
    let busySince = performance.now();
    for (;;) {
      // In-process NICs hand frames over in microtasks, which never let timers or I/O run:
      // after 10 ms of back-to-back work, give the event loop a turn.
      if (performance.now() - busySince > 10) {
        await yieldToEventLoop();
        busySince = performance.now();
      }
      let frames;
      try {
        frames = await this.nic.receive();
      } catch (error) {
        if (this.#closed) return;
        // A NIC that fails is counted and the stack goes on without it.
        this.#stats.drop("nic", "receive-error");
        console.error(`usernet: ${this.nic.name}: receive failed: ${(error as Error).message}`);
        return;
      }
      if (!frames || this.#closed) return;
      const now = this.#clock();
      this.#batchNow = now;
      for (const frame of frames) {
        try {
          this.#iface.input(frame, now);
        } catch (error) {
          // A bug on one frame must not take the stack down: count it, keep going.
          this.#stats.drop("stack", "internal-error");
          if (this.#stats.live.drops["stack/internal-error"] <= 3) {
            console.error("usernet: internal error while processing a frame:", error);
          }
        }
      }
      this.#batchNow = undefined;
      this.#afterWork();
    }
  }

  /** The time of the batch of frames being processed, so layers share one clock reading. */
  #batchNow: number | undefined;

  #kick(): void {
    if (this.#kicked || this.#closed) return;
    this.#kicked = true;
    queueMicrotask(() => {
      this.#kicked = false;
      this.#afterWork();
    });
  }

  /** Runs due timers, flushes output and arms the timer for the next deadline. */
  #afterWork(): void {
    if (this.#closed) return;
    // Loopback and timers can create work for each other: bounded rounds.
    for (let round = 0; round < 16; round++) {
      const now = this.#clock();
      const loop = this.#iface.loopbackQueue;
      if (loop.length) {
        this.#iface.loopbackQueue = [];
        for (const frame of loop) this.#iface.input(frame, now);
      }
      let deadline = this.#runTimers(now);
      if (this.#iface.loopbackQueue.length === 0 && deadline > now) {
        this.#flush();
        this.#arm(deadline);
        return;
      }
      deadline = 0;
    }
    this.#flush();
    this.#arm(this.#clock());
  }

  #runTimers(now: number): number {
    if (this.#iface.nextDeadline() <= now) this.#iface.poll(now);
    if (this.#icmp.nextDeadline() <= now) this.#icmp.poll(now);
    for (const t of this.#timed) if (t.nextDeadline() <= now) t.poll(now);
    let next = Math.min(this.#iface.nextDeadline(), this.#icmp.nextDeadline());
    for (const t of this.#timed) next = Math.min(next, t.nextDeadline());
    return next;
  }

  #flush(): void {
    const frames = this.#iface.takeTransmitQueue();
    if (frames.length) this.nic.transmit(frames);
  }

  #arm(deadline: number): void {
    if (deadline === this.#timerAt && this.#timer !== undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = deadline;
    if (deadline === Infinity) return;
    const delay = Math.max(0, deadline - this.#clock());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#afterWork();
    }, Math.ceil(delay));
  }
}
