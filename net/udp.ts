/**
 * UDP sockets (RFC 768) shaped like `Deno.DatagramConn`.
 *
 * @module
 */
import { formatIpv4Address } from "./wire/address.ts";
import { WireError } from "./wire/errors.ts";
import type { Ipv4Packet } from "./wire/ipv4.ts";
import { PROTOCOL_UDP } from "./wire/ipv4.ts";
import { parseUdp, UDP_HEADER_LENGTH, writeUdp } from "./wire/udp.ts";
import { isIpv4Multicast } from "./wire/igmp.ts";
import { AddressInUse, Closed, InvalidArgument, MessageTooLong, type NetError } from "./errors.ts";
import { PAYLOAD_OFFSET } from "./interface.ts";
import type { StackInternals } from "./_internals.ts";
import type { IgmpLayer } from "./igmp.ts";

/** An address and port, shaped like `Deno.NetAddr`. */
export interface NetAddr {
  /** `"udp"` or `"tcp"`. */
  transport: "udp" | "tcp";
  /** Dotted-quad IPv4 address. */
  hostname: string;
  /** Port number. */
  port: number;
}

/** Options of `stack.listenDatagram()`, shaped like Deno's. */
export interface ListenDatagramOptions {
  /** Local port; 0 or absent picks a free ephemeral port. */
  port?: number;
  /** Local address to bind; default all (`0.0.0.0`). */
  hostname?: string;
  /** Only `"udp"` is supported. */
  transport?: "udp";
  /** Datagrams queued before new ones are dropped (default 512). */
  receiveQueueLength?: number;
  /** Bytes queued before new datagrams are dropped (default 4 MiB). */
  receiveQueueBytes?: number;
  /**
   * Share the port with other sockets that set this too (SO_REUSEADDR), e.g. several receivers
   * of one multicast group: each gets a copy of every multicast datagram, while a unicast
   * datagram goes to one of them. Default false.
   */
  reuseAddress?: boolean;
  /**
   * Loop multicast datagrams this socket sends back to this stack's sockets that receive the
   * group (IP_MULTICAST_LOOP); {@linkcode MulticastV4Membership.setLoopback} changes it.
   * Default false, as Deno's.
   */
  loopback?: boolean;
}

/** Options of one send. */
export interface DatagramSendOptions {
  /** Source address to use (e.g. `0.0.0.0` for DHCP before a lease). */
  source?: number;
  /** Time to live (default 64; to a multicast group, the socket's multicast TTL, 1 unless set). */
  ttl?: number;
  /** Set Don't Fragment. */
  dontFragment?: boolean;
}

interface Received {
  data: Uint8Array;
  from: NetAddr;
}

/** A datagram no socket took, offered to {@linkcode UdpLayer.intercept}. */
export interface InterceptedDatagram {
  /** Source address (uint32). */
  source: number;
  /** Source port. */
  sourcePort: number;
  /** Destination address (uint32). */
  destination: number;
  /** Destination port. */
  destinationPort: number;
  /** Payload: a view of the received frame. */
  payload: Uint8Array;
}

/** The largest UDP payload in one IPv4 datagram (65535 − 20 − 8). */
export const MAX_UDP_PAYLOAD = 65507;

/**
 * A socket's membership of an IPv4 multicast group, from
 * {@linkcode UdpSocket.joinMulticastV4}. Shaped like `Deno.MulticastV4Membership`; as there,
 * the loopback and TTL settings belong to the socket (they apply to everything it sends to any
 * group), not to the group.
 *
 * @example
 * ```ts ignore
 * const socket = stack.listenDatagram({ port: 5000 });
 * const membership = await socket.joinMulticastV4("239.1.2.3", "0.0.0.0");
 * await membership.setTTL(4);
 * await membership.leave();
 * ```
 */
export class MulticastV4Membership {
  readonly #socket: UdpSocket;
  readonly #group: number;
  #left = false;

  /** Made by {@linkcode UdpSocket.joinMulticastV4}; not constructed directly. */
  constructor(socket: UdpSocket, group: number) {
    this.#socket = socket;
    this.#group = group;
  }

  /** The group, e.g. `"239.1.2.3"`. */
  get group(): string {
    return formatIpv4Address(this.#group);
  }

  /** Whether {@linkcode leave} was called (or the socket closed). */
  get left(): boolean {
    return this.#left;
  }

  /**
   * Leaves the group. When no other socket of the stack is in it, the stack stops taking it and
   * sends IGMP Leave Group if it sent the last report. Leaving again does nothing.
   */
  leave(): Promise<void> {
    if (!this.#left) {
      this.#left = true;
      this.#socket._leave(this.#group);
    }
    return Promise.resolve();
  }

  /** Loops the socket's multicast datagrams back to this stack's receivers (IP_MULTICAST_LOOP). */
  setLoopback(loopback: boolean): Promise<void> {
    this.#socket.multicastLoopback = Boolean(loopback);
    return Promise.resolve();
  }

  /** Sets the TTL of the socket's multicast datagrams, 0–255 (IP_MULTICAST_TTL; default 1). */
  setTTL(ttl: number): Promise<void> {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
      return Promise.reject(new InvalidArgument(`multicast TTL must be 0–255, got ${ttl}`));
    }
    this.#socket.multicastTtl = ttl;
    return Promise.resolve();
  }

  /** Another name of {@linkcode setTTL}. */
  setTtl(ttl: number): Promise<void> {
    return this.setTTL(ttl);
  }

  /** @internal The socket is closing: the membership ends with it. */
  _end(): void {
    this.#left = true;
  }
}

/**
 * A bound UDP socket. Mirrors `Deno.DatagramConn`: `receive`, `send`, `close`, `addr`, async
 * iteration. ICMP errors about datagrams it sent (port unreachable, host unreachable) reject the
 * next `receive()`, once each, as Linux does with `IP_RECVERR`.
 *
 * @example Echo server on a stack
 * ```ts ignore
 * const socket = stack.listenDatagram({ port: 7, transport: "udp" });
 * for await (const [data, from] of socket) await socket.send(data, from);
 * ```
 */
export class UdpSocket implements AsyncIterable<[Uint8Array, NetAddr]> {
  readonly #layer: UdpLayer;
  readonly #queue: Received[] = [];
  #queuedBytes = 0;
  readonly #maxQueue: number;
  readonly #maxBytes: number;
  readonly #waiters: { resolve: (r: Received) => void; reject: (e: Error) => void }[] = [];
  readonly #errors: NetError[] = [];
  #closed = false;
  readonly #memberships = new Map<number, MulticastV4Membership>();
  /** TTL of multicast datagrams sent without a `ttl` option (IP_MULTICAST_TTL, default 1). */
  multicastTtl = 1;
  /** Whether multicast datagrams sent are looped back to this stack (IP_MULTICAST_LOOP). */
  multicastLoopback: boolean;
  /** Whether the port may be shared (the `reuseAddress` option). */
  readonly reuseAddress: boolean;

  /** Made by `stack.listenDatagram()`; not constructed directly. */
  constructor(
    layer: UdpLayer,
    /** The bound address (`0.0.0.0` when bound to all). */
    readonly localAddress: number,
    /** The bound port. */
    readonly localPort: number,
    options: ListenDatagramOptions,
  ) {
    this.#layer = layer;
    this.#maxQueue = options.receiveQueueLength ?? 512;
    this.#maxBytes = options.receiveQueueBytes ?? 4 << 20;
    this.multicastLoopback = options.loopback ?? false;
    this.reuseAddress = options.reuseAddress ?? false;
  }

  /** The local address, like `Deno.DatagramConn.addr`. */
  get addr(): NetAddr {
    return {
      transport: "udp",
      hostname: formatIpv4Address(this.localAddress),
      port: this.localPort,
    };
  }

  /**
   * Waits for a datagram. With `buffer`, copies into it (truncating, as `recvfrom` does) and
   * returns the filled part.
   */
  receive(buffer?: Uint8Array): Promise<[Uint8Array, NetAddr]> {
    const deliver = (r: Received): [Uint8Array, NetAddr] => {
      if (!buffer) return [r.data, r.from];
      const n = Math.min(buffer.length, r.data.length);
      buffer.set(r.data.subarray(0, n));
      return [buffer.subarray(0, n), r.from];
    };
    if (this.#errors.length) return Promise.reject(this.#errors.shift()!);
    const next = this.#queue.shift();
    if (next) {
      this.#queuedBytes -= next.data.length;
      return Promise.resolve(deliver(next));
    }
    if (this.#closed) {
      return Promise.reject(new Closed(`UDP socket on port ${this.localPort} is closed`));
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve: (r) => resolve(deliver(r)), reject });
    });
  }

  /** Sends `data` to `address`; resolves to the number of bytes sent. */
  send(
    data: Uint8Array,
    address: NetAddr | { hostname: string; port: number },
    options: DatagramSendOptions = {},
  ): Promise<number> {
    if (this.#closed) {
      return Promise.reject(new Closed(`UDP socket on port ${this.localPort} is closed`));
    }
    try {
      this.#layer.send(this, data, address, options);
      return Promise.resolve(data.length);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Joins IPv4 multicast group `address` (shaped like `Deno.DatagramConn.joinMulticastV4`). The
   * stack then takes datagrams to the group, and every socket bound to their port on the
   * wildcard address (or on the group address) receives them — as on Linux, whichever socket
   * joined; a socket bound to a unicast address does not. The first join of a group on the stack
   * sends an IGMP Membership Report (twice, RFC 2236 §3).
   *
   * `networkInterface` names the interface by its IPv4 address, as Deno's does: the stack has
   * one, so this is `"0.0.0.0"` (any) or the stack's own address. Rejects with
   * {@linkcode InvalidArgument} for a non-multicast group or another interface address,
   * {@linkcode AddressInUse} when this socket already joined the group, and `GroupLimitReached`
   * past the stack's `igmp.maxGroups`.
   *
   * @example
   * ```ts ignore
   * const socket = stack.listenDatagram({ port: 5000 });
   * const membership = await socket.joinMulticastV4("239.1.2.3", "0.0.0.0");
   * const [data, from] = await socket.receive(); // a datagram to 239.1.2.3:5000
   * ```
   */
  joinMulticastV4(address: string, networkInterface: string): Promise<MulticastV4Membership> {
    if (this.#closed) {
      return Promise.reject(new Closed(`UDP socket on port ${this.localPort} is closed`));
    }
    try {
      const group = this.#layer.checkMulticastJoin(address, networkInterface);
      if (this.#memberships.has(group)) {
        throw new AddressInUse(`this socket already joined ${address}`);
      }
      this.#layer.joinGroup(group);
      const membership = new MulticastV4Membership(this, group);
      this.#memberships.set(group, membership);
      return Promise.resolve(membership);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal A membership of this socket leaves its group. */
  _leave(group: number): void {
    if (this.#memberships.delete(group)) this.#layer.leaveGroup(group);
  }

  /** Stops receiving and frees the port; leaves its groups. Pending receives reject with {@linkcode Closed}. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [group, membership] of this.#memberships) {
      membership._end();
      this.#layer.leaveGroup(group);
    }
    this.#memberships.clear();
    this.#layer.unbind(this);
    for (const w of this.#waiters.splice(0)) {
      w.reject(new Closed(`UDP socket on port ${this.localPort} is closed`));
    }
  }

  /** Whether the socket is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal Queues a received datagram; returns false when it had to be dropped. */
  _deliver(data: Uint8Array, from: NetAddr): boolean {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ data, from });
      return true;
    }
    if (this.#queue.length >= this.#maxQueue || this.#queuedBytes + data.length > this.#maxBytes) {
      return false;
    }
    this.#queue.push({ data, from });
    this.#queuedBytes += data.length;
    return true;
  }

  /** Destinations this socket sent to lately: ICMP errors are believed only for these. */
  readonly #recentPeers: string[] = [];

  /** @internal Remembers a destination this socket sent to. */
  _sentTo(address: number, port: number): void {
    const key = `${address}:${port}`;
    if (this.#recentPeers.includes(key)) return;
    if (this.#recentPeers.length >= 16) this.#recentPeers.shift();
    this.#recentPeers.push(key);
  }

  /** @internal Whether this socket recently sent to `address:port`. */
  _talksTo(address: number, port: number): boolean {
    return this.#recentPeers.includes(`${address}:${port}`);
  }

  /** @internal Reports an ICMP error about a datagram this socket sent. */
  _error(error: NetError): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.reject(error);
    else if (this.#errors.length < 8) this.#errors.push(error);
  }

  /** Yields each received datagram and its sender until the socket closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<[Uint8Array, NetAddr]> {
    while (!this.#closed) {
      try {
        yield await this.receive();
      } catch (error) {
        if (error instanceof Closed) return;
        throw error;
      }
    }
  }
}

/**
 * The stack's UDP layer: the port table, input demultiplexing and output.
 *
 * @example
 * ```ts ignore
 * const udp = new UdpLayer(internals);
 * const socket = udp.bind({ port: 53 });
 * ```
 */
export class UdpLayer {
  readonly #sockets = new Map<number, UdpSocket[]>();
  readonly #internals: StackInternals;
  /** The stack's IGMP layer: multicast joins go through it. */
  multicast: IgmpLayer | undefined;

  constructor(internals: StackInternals) {
    this.#internals = internals;
  }

  /** Binds a socket. */
  bind(options: ListenDatagramOptions): UdpSocket {
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new InvalidArgument(`UDP port must be 0–65535, got ${port}`);
    }
    const address = options.hostname ? this.#internals.parseAddress(options.hostname) : 0;
    const chosen = port === 0 ? this.#ephemeralPort() : port;
    const bound = this.#sockets.get(chosen) ?? [];
    const shared = options.reuseAddress === true && bound.every((s) => s.reuseAddress);
    if (
      !shared &&
      bound.some((s) => s.localAddress === 0 || address === 0 || s.localAddress === address)
    ) {
      throw new AddressInUse(`UDP port ${chosen} is already bound`);
    }
    const socket = new UdpSocket(this, address, chosen, options);
    bound.push(socket);
    this.#sockets.set(chosen, bound);
    return socket;
  }

  #ephemeralPort(): number {
    // Random ports (RFC 6056 §3.3.1) from the IANA dynamic range.
    for (let attempt = 0; attempt < 1000; attempt++) {
      const port = 49152 + Math.floor(Math.random() * 16384);
      if (!this.#sockets.has(port)) return port;
    }
    throw new AddressInUse("no free ephemeral UDP port");
  }

  /** The stack is closing: closes every socket (pending receives fail with Closed). */
  closeAll(): void {
    for (const bound of [...this.#sockets.values()]) for (const socket of bound) socket.close();
  }

  /** Removes a socket from the table. */
  unbind(socket: UdpSocket): void {
    const bound = this.#sockets.get(socket.localPort);
    if (!bound) return;
    const rest = bound.filter((s) => s !== socket);
    if (rest.length) this.#sockets.set(socket.localPort, rest);
    else this.#sockets.delete(socket.localPort);
  }

  /** Validates a join's arguments; returns the group. */
  checkMulticastJoin(address: string, networkInterface: string): number {
    const group = this.#internals.parseAddress(address);
    if (!isIpv4Multicast(group)) {
      throw new InvalidArgument(`${address} is not an IPv4 multicast address (224.0.0.0/4)`);
    }
    const local = this.#internals.parseAddress(networkInterface);
    const own = this.#internals.iface.config?.address;
    if (local !== 0 && local !== own) {
      throw new InvalidArgument(
        `networkInterface must be "0.0.0.0" or this stack's address${
          own === undefined ? "" : ` (${formatIpv4Address(own)})`
        }, got "${networkInterface}"`,
      );
    }
    return group;
  }

  /** One more join of `group` (the IGMP layer counts them). */
  joinGroup(group: number): void {
    if (!this.multicast) throw new InvalidArgument("this stack has no IGMP layer");
    this.multicast.join(group);
  }

  /** One join of `group` less. */
  leaveGroup(group: number): void {
    this.multicast?.leave(group);
  }

  /** Sends one datagram from `socket`. Throws on bad arguments or no route. */
  send(
    socket: UdpSocket,
    data: Uint8Array,
    to: { hostname: string; port: number },
    options: DatagramSendOptions,
  ): void {
    const destination = this.#internals.parseAddress(to.hostname);
    if (!Number.isInteger(to.port) || to.port < 1 || to.port > 65535) {
      throw new InvalidArgument(`UDP destination port must be 1–65535, got ${to.port}`);
    }
    if (data.length > MAX_UDP_PAYLOAD) {
      throw new MessageTooLong(`datagram of ${data.length} bytes exceeds ${MAX_UDP_PAYLOAD}`);
    }
    const iface = this.#internals.iface;
    // A socket bound to a group address sends from the interface's address.
    const bound = isIpv4Multicast(socket.localAddress) ? 0 : socket.localAddress;
    const source = options.source ?? (bound || iface.config?.address || 0);
    const multicast = isIpv4Multicast(destination);
    const frame = iface.allocatePacket(UDP_HEADER_LENGTH + data.length);
    writeUdp(frame, PAYLOAD_OFFSET, source, destination, socket.localPort, to.port, data);
    const error = iface.sendIpv4(frame, {
      destination,
      protocol: PROTOCOL_UDP,
      source,
      ttl: options.ttl ?? (multicast ? socket.multicastTtl : undefined),
      dontFragment: options.dontFragment,
      multicastLoop: multicast && socket.multicastLoopback,
    }, this.#internals.now());
    if (error) throw error;
    const s = this.#internals.stats.live.udp;
    s.packetsOut++;
    s.bytesOut += data.length;
    socket._sentTo(destination, to.port);
    this.#internals.kick();
  }

  /**
   * Receives datagrams no socket takes (a gateway's NAT); returns true when it took one. The
   * payload is a view of the frame: copy it if kept.
   */
  intercept: ((datagram: InterceptedDatagram) => boolean) | undefined;

  /** Sends a datagram with any source address and port (a gateway answering for the outside). */
  sendFrom(
    source: number,
    sourcePort: number,
    destination: number,
    destinationPort: number,
    payload: Uint8Array,
  ): void {
    if (payload.length > MAX_UDP_PAYLOAD) {
      throw new MessageTooLong(`datagram of ${payload.length} bytes exceeds ${MAX_UDP_PAYLOAD}`);
    }
    const iface = this.#internals.iface;
    const frame = iface.allocatePacket(UDP_HEADER_LENGTH + payload.length);
    writeUdp(frame, PAYLOAD_OFFSET, source, destination, sourcePort, destinationPort, payload);
    const error = iface.sendIpv4(
      frame,
      { destination, protocol: PROTOCOL_UDP, source },
      this.#internals.now(),
    );
    if (error) throw error;
    const s = this.#internals.stats.live.udp;
    s.packetsOut++;
    s.bytesOut += payload.length;
    this.#internals.kick();
  }

  /** Handles a received UDP packet. */
  input(packet: Ipv4Packet, _now: number): void {
    const stats = this.#internals.stats;
    const datagram = parseUdp(
      packet.payload,
      packet.source,
      packet.destination,
      !packet.checksumValid,
    );
    if (datagram instanceof WireError) {
      stats.drop("udp", datagram.reason);
      return;
    }
    const port = datagram.destinationPort;
    const bound = this.#sockets.get(port);
    const destination = packet.destination;
    if (isIpv4Multicast(destination)) {
      this.#inputMulticast(packet, datagram.sourcePort, datagram.payload, bound);
      return;
    }
    const iface = this.#internals.iface;
    const local = iface.isLocalAddress(destination) || iface.acceptsUnconfigured(port);
    // A wildcard socket takes datagrams for this host only, even on a gateway that accepts all.
    const socket = bound?.find((s) =>
      s.localAddress === destination || (s.localAddress === 0 && local)
    );
    if (!socket) {
      const intercept = this.intercept;
      if (
        intercept && intercept({
          source: packet.source,
          sourcePort: datagram.sourcePort,
          destination,
          destinationPort: port,
          payload: datagram.payload,
        })
      ) {
        const s = stats.live.udp;
        s.packetsIn++;
        s.bytesIn += datagram.payload.length;
        return;
      }
      stats.drop("udp", "no-socket");
      // RFC 1122 §4.1.3.1: port unreachable for unicast datagrams to a closed port.
      this.#internals.sendIcmpPortUnreachable(packet);
      return;
    }
    const s = stats.live.udp;
    s.packetsIn++;
    s.bytesIn += datagram.payload.length;
    const from: NetAddr = {
      transport: "udp",
      hostname: formatIpv4Address(packet.source),
      port: datagram.sourcePort,
    };
    // The payload is a view of the received frame, which the stack owns no further: no copy.
    if (!socket._deliver(datagram.payload, from)) stats.drop("udp", "queue-full");
  }

  /**
   * A datagram to a group the interface joined: a copy to every socket on the port bound to the
   * wildcard or the group address (Linux with IP_MULTICAST_ALL, its default). No ICMP error
   * when there is none (RFC 1122 §3.2.2), and never offered to `intercept`.
   */
  #inputMulticast(
    packet: Ipv4Packet,
    sourcePort: number,
    payload: Uint8Array,
    bound: UdpSocket[] | undefined,
  ): void {
    const stats = this.#internals.stats;
    const destination = packet.destination;
    const receivers =
      bound?.filter((s) => s.localAddress === 0 || s.localAddress === destination) ?? [];
    if (receivers.length === 0) {
      stats.drop("udp", "no-socket");
      return;
    }
    const s = stats.live.udp;
    s.packetsIn++;
    s.bytesIn += payload.length;
    const from: NetAddr = {
      transport: "udp",
      hostname: formatIpv4Address(packet.source),
      port: sourcePort,
    };
    for (let i = 0; i < receivers.length; i++) {
      // The first receiver keeps the view of the frame; the others get copies.
      const data = i === 0 ? payload : payload.slice();
      if (!receivers[i]._deliver(data, i === 0 ? from : { ...from })) {
        stats.drop("udp", "queue-full");
      }
    }
  }

  /**
   * Delivers an ICMP error about a datagram we sent from `localPort` to `remoteAddress:remotePort`
   * — only to a socket that recently sent there, so an off-path host cannot fail a server's
   * receive loop with forged errors (Linux reports them only to connected sockets).
   */
  error(localPort: number, remoteAddress: number, remotePort: number, error: NetError): void {
    const socket = this.#sockets.get(localPort)?.find((s) => s._talksTo(remoteAddress, remotePort));
    socket?._error(error);
  }
}
