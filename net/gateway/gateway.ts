/**
 * usernet's gateway: the network for QEMU VMs and for other stacks, like slirp and passt but
 * in TypeScript. A usernet stack sits on the inside of a virtual LAN (default 10.0.2.0/24,
 * gateway 10.0.2.2, DNS 10.0.2.3, as QEMU's user network) and
 *
 * - serves DHCP, answers ARP and ping for its addresses;
 * - relays DNS on 10.0.2.3 to the host's name server (resolv.conf, or `dnsUpstream`);
 * - accepts guest TCP connections to any address once `Deno.connect` to that address succeeded
 *   (else the guest gets RST, also after `connectTimeout`), and splices the two with
 *   backpressure and half-close; connections to the gateway address go to the host's loopback;
 * - carries guest UDP through a NAT table of `Deno.listenDatagram` sockets;
 * - forwards guest pings (ICMP echo) to outside addresses through Linux ping sockets, when the
 *   program has `--allow-ffi` and `net.ipv4.ping_group_range` allows its group (else they stay
 *   unanswered, and the gateway says why once);
 * - forwards host ports to guests (`tcp:HOSTPORT:GUESTIP:GUESTPORT`, and udp).
 *
 * Every table is bounded against a hostile guest: host connects in flight
 * (`maxTcpConnecting`), flows (`maxTcpFlows`, `maxUdpFlows`, `maxIcmpFlows`), handshakes the
 * guest never finishes (the oldest make room, and their host connections are closed), TCP DNS
 * connections, the switch's MAC table, and IPv4 reassembly. Closed flows leave nothing behind:
 * inside connections stay in TIME-WAIT for 2 s only.
 *
 * Needs `--allow-net` (and `--unstable-net` for UDP, set in deno.json; `--allow-read` to find
 * the host's name server in `/etc/resolv.conf`).
 *
 * @module
 */
import type { Nic } from "../../drivers/nic.ts";
import { MemoryLink, type MemoryNic } from "../../drivers/memory.ts";
import { formatIpv4Address, parseIpv4Address, prefixMask } from "../wire/address.ts";
import { Stack } from "../stack.ts";
import { InvalidArgument } from "../errors.ts";
import { DhcpServer } from "../dhcp/server.ts";
import type { TcpConn } from "../tcp/conn.ts";
import type { TcpTuple } from "../tcp/control_block.ts";
import type { TcpConfig } from "../tcp/config.ts";
import { EthernetSwitch } from "./switch.ts";
import { DnsForwarder, type DnsUpstream } from "./dns_forwarder.ts";
import { type AbortableConn, splice } from "./splice.ts";
import { UdpNat } from "./udp_nat.ts";
import { type EchoTransport, IcmpEchoProxy } from "./icmp_echo_proxy.ts";
import { PAYLOAD_OFFSET } from "../interface.ts";
import { PROTOCOL_ICMP } from "../wire/ipv4.ts";
import { ICMP_ECHO_REPLY, ICMP_HEADER_LENGTH, writeIcmpEcho } from "../wire/icmpv4.ts";

/** A host port forwarded to a guest. */
export interface PortForward {
  /** `tcp` or `udp`. */
  protocol: "tcp" | "udp";
  /** Host address to listen on (default 127.0.0.1). */
  hostAddress?: string;
  /** Host port (0 picks one; see {@linkcode Gateway.forwards}). */
  hostPort: number;
  /** Guest address. */
  guestAddress: string;
  /** Guest port. */
  guestPort: number;
}

/**
 * Parses `tcp:HOSTPORT:GUESTIP:GUESTPORT` (or `udp:`, optionally `tcp:HOSTADDR:HOSTPORT:GUESTIP:GUESTPORT`).
 *
 * @example
 * ```ts
 * import { parsePortForward } from "./gateway.ts";
 * console.log(parsePortForward("tcp:2222:10.0.2.15:22").guestPort); // 22
 * ```
 */
export function parsePortForward(text: string): PortForward {
  const parts = text.split(":");
  const protocol = parts[0];
  if ((protocol !== "tcp" && protocol !== "udp") || (parts.length !== 4 && parts.length !== 5)) {
    throw new InvalidArgument(`"${text}" is not tcp|udp:[HOSTADDR:]HOSTPORT:GUESTIP:GUESTPORT`);
  }
  const [hostAddress, hostPort, guestAddress, guestPort] = parts.length === 5
    ? parts.slice(1)
    : [undefined, ...parts.slice(1)];
  const forward: PortForward = {
    protocol,
    hostAddress,
    hostPort: Number(hostPort),
    guestAddress: guestAddress!,
    guestPort: Number(guestPort),
  };
  if (
    !Number.isInteger(forward.hostPort) || forward.hostPort < 0 || forward.hostPort > 65535 ||
    !Number.isInteger(forward.guestPort) || forward.guestPort < 1 || forward.guestPort > 65535 ||
    parseIpv4Address(forward.guestAddress) === undefined
  ) {
    throw new InvalidArgument(`"${text}" has a bad port or guest address`);
  }
  return forward;
}

/** Options of {@linkcode Gateway}. */
export interface GatewayOptions {
  /** The LAN, e.g. "10.0.2.0/24" (default). */
  network?: string;
  /** The gateway's address (default .2 of the network). */
  address?: string;
  /** The DNS forwarder's address (default .3 of the network). */
  dnsAddress?: string;
  /** First and last DHCP pool addresses (default .15 to .254). */
  dhcpPool?: [string, string];
  /** DHCP lease time, seconds (default 86400). */
  leaseTime?: number;
  /** Domain name handed out by DHCP. */
  domainName?: string;
  /** MTU of the LAN (default 1500). */
  mtu?: number;
  /**
   * The name server guest DNS queries are relayed to (default: the host's, the first IPv4
   * `nameserver` in `/etc/resolv.conf`; without one, answers come from `Deno.resolveDns`).
   */
  dnsUpstream?: DnsUpstream;
  /** Host-to-guest port forwards. */
  forwards?: PortForward[];
  /**
   * Guest TCP connections at most, spliced or being set up (default 1024); more are refused
   * with RST. Connections to TCP port forwards have a limit of their own of the same size.
   */
  maxTcpFlows?: number;
  /**
   * Host connects in flight at most (default 256); more guest SYNs are refused with RST, so a
   * SYN flood to unreachable addresses cannot hold more host sockets than this.
   */
  maxTcpConnecting?: number;
  /** Guest UDP flows at most (default 1024). */
  maxUdpFlows?: number;
  /** Idle time before a UDP flow is closed, ms (default 60 000). */
  udpIdleTimeout?: number;
  /**
   * Forward guest ICMP echo requests to outside addresses through Linux ping sockets (default
   * true). Needs the FFI permission already granted (`--allow-ffi`; never prompted for) and
   * `net.ipv4.ping_group_range` to include the process's group; without them echo to outside
   * addresses stays unanswered and the gateway logs why, once.
   */
  icmpEcho?: boolean;
  /**
   * ICMP echo flows (guest, identifier, destination: one host socket each) at most (default
   * 256); requests that would need more are dropped and counted.
   */
  maxIcmpFlows?: number;
  /** Idle time before an ICMP echo flow's socket is closed, ms (default 30 000). */
  icmpIdleTimeout?: number;
  /** @internal Replaces the ping sockets (tests). */
  icmpEchoTransport?: () => EchoTransport;
  /** Where the gateway's one-time notices go (default `console.error`). */
  log?: (line: string) => void;
  /** How long to wait for the host's connect before refusing the guest, ms (default 20 000). */
  connectTimeout?: number;
  /**
   * TCP settings of the gateway's inside connections. The defaults differ from a host's:
   * TIME-WAIT lasts 2 s, not 60 s (the LAN is a virtual wire with no stray old segments; slirp
   * keeps 10 s), so closed flows leave nothing behind for long; send and receive buffers are
   * 256 KiB, not 1 MiB (plenty for a LAN's round trip, and a quarter of the memory per flow).
   */
  tcp?: Partial<TcpConfig>;
  /**
   * Carry 127/8 to the host's loopback (for stacks in the gateway's own program: a tool's
   * `127.0.0.1` means the host). Off by default: a VM's 127/8 must never leave it.
   */
  hostLoopback?: boolean;
  /** Wraps the gateway stack's NIC (e.g. a PcapNic for `--pcap`). */
  wrapNic?: (nic: Nic) => Nic;
}

/** What the gateway is doing, for `stats()` and tests. */
export interface GatewayStats {
  /** Guest TCP connections being spliced. */
  tcpFlows: number;
  /** Guest TCP connections accepted so far. */
  tcpAccepted: number;
  /** Guest TCP connections refused (host refused, unreachable, or too many). */
  tcpRefused: number;
  /** Host connects in flight (the guest's SYN waits for them). */
  tcpConnecting: number;
  /** Host connections made, waiting for the guest to finish its handshake. */
  tcpPending: number;
  /** UDP NAT flows. */
  udpFlows: number;
  /** ICMP echo flows (host ping sockets). */
  icmpEchoFlows: number;
  /** Guest echo requests sent to outside addresses. */
  icmpEchoForwarded: number;
  /** Echo replies from outside delivered to guests. */
  icmpEchoReplies: number;
  /** Echo requests and replies dropped (too many flows, no ping sockets, host errors). */
  icmpEchoDropped: number;
  /** DNS questions answered. */
  dnsQueries: number;
  /** DHCP leases held. */
  dhcpLeases: number;
  /** Ports attached to the virtual LAN. */
  ports: number;
}

/**
 * A gateway for a virtual LAN.
 *
 * @example Give an in-process stack a network through the host
 * ```ts ignore
 * import { Gateway } from "./gateway.ts";
 * import { Stack } from "../stack.ts";
 * const gateway = new Gateway();
 * const stack = new Stack({ nic: gateway.connectMemory(), address: "10.0.2.15/24", gateway: "10.0.2.2" });
 * const conn = await stack.connect({ hostname: "10.0.2.2", port: 8080 }); // the host's 127.0.0.1:8080
 * ```
 */
export class Gateway {
  /** The gateway's own stack on the LAN. */
  readonly stack: Stack;
  /** The virtual LAN. */
  readonly lan: EthernetSwitch;
  readonly #address: number;
  readonly #dnsAddress: number;
  readonly #network: number;
  readonly #prefixLength: number;
  readonly #options: GatewayOptions;
  readonly #nat: UdpNat;
  readonly #echo: IcmpEchoProxy | undefined;
  readonly #dhcp: DhcpServer;
  readonly #dns: DnsForwarder;
  /** Host connections whose guest handshake is not complete yet, by tuple. */
  readonly #pending = new Map<string, Deno.Conn>();
  /** Spliced connections (guest flows and port forwards), closed with the gateway. */
  readonly #flows = new Set<{ a: AbortableConn; b: AbortableConn }>();
  readonly #closers: (() => void)[] = [];
  readonly #boundForwards: PortForward[] = [];
  #tcpAccepted = 0;
  #tcpRefused = 0;
  #tcpActive = 0;
  #tcpConnecting = 0;
  #forwardFlows = 0;
  #dnsQueries = 0;
  #closed = false;

  /** Brings the LAN, the gateway's stack and its services up. */
  constructor(options: GatewayOptions = {}) {
    this.#options = options;
    const [networkText, prefixText] = (options.network ?? "10.0.2.0/24").split("/");
    const network = parseIpv4Address(networkText);
    const prefixLength = Number(prefixText ?? 24);
    if (
      network === undefined || !Number.isInteger(prefixLength) || prefixLength < 8 ||
      prefixLength > 30
    ) {
      throw new InvalidArgument(`"${options.network}" is not a network like 10.0.2.0/24`);
    }
    this.#network = (network & prefixMask(prefixLength)) >>> 0;
    this.#prefixLength = prefixLength;
    const at = (n: number) => (this.#network + n) >>> 0;
    const parse = (text: string | undefined, fallback: number) => {
      if (text === undefined) return fallback;
      const a = parseIpv4Address(text);
      if (a === undefined) throw new InvalidArgument(`"${text}" is not an IPv4 address`);
      return a;
    };
    this.#address = parse(options.address, at(2));
    this.#dnsAddress = parse(options.dnsAddress, at(3));
    const mtu = options.mtu ?? 1500;

    this.lan = new EthernetSwitch();
    // In-process links offload checksums (the switch finishes them for ports that need them).
    const [inside, lanSide] = MemoryLink.pair({ mtu, checksumOffload: true });
    this.lan.attach(lanSide);
    const nic = options.wrapNic ? options.wrapNic(inside) : inside;
    this.stack = new Stack({
      nic,
      address: `${formatIpv4Address(this.#address)}/${prefixLength}`,
      tcp: {
        timeWaitTimeout: 2000,
        sendBufferSize: 256 * 1024,
        receiveBufferSize: 256 * 1024,
        ...options.tcp,
      },
    });
    const iface = this.stack._iface;
    iface.acceptAnyDestination = true;
    iface.extraAddresses.add(this.#dnsAddress);

    // DHCP.
    const broadcast = (this.#network | ~prefixMask(prefixLength)) >>> 0;
    const [poolStart, poolEnd] = options.dhcpPool ??
      [formatIpv4Address(at(15)), formatIpv4Address(broadcast - 1)];
    this.#dhcp = new DhcpServer({
      serverAddress: this.#address,
      prefixLength,
      poolStart,
      poolEnd,
      routers: [this.#address],
      dnsServers: [this.#dnsAddress],
      domainName: options.domainName,
      mtu,
      leaseTime: options.leaseTime ?? 86400,
    });
    this.#serveDhcp();
    this.#dns = new DnsForwarder({ upstream: options.dnsUpstream });
    this.#serveDns();

    // TCP: accept a guest's connection only once the host connection exists.
    const listener = this.stack._tcp.interceptConnections(
      (tuple) => this.#connectOutside(tuple),
      (tuple) => this.#dropPending(tuple),
    );
    this.#closers.push(() => listener.close());
    this.#acceptLoop(listener);

    // UDP NAT.
    this.#nat = new UdpNat({
      sendInside: (s, sp, d, dp, payload) => this.stack._udp.sendFrom(s, sp, d, dp, payload),
      mapDestination: (d) => this.#hostAddressFor(d),
      maxFlows: options.maxUdpFlows,
      idleTimeout: options.udpIdleTimeout,
    });
    this.stack._udp.intercept = (d) => this.#nat.outbound(d);

    // ICMP echo to outside addresses: ping sockets. The stack answers for its own addresses.
    if (options.icmpEcho !== false) {
      const echo = this.#echo = new IcmpEchoProxy({
        sendInside: (source, destination, identifier, sequence, data) =>
          this.#sendEchoReply(source, destination, identifier, sequence, data),
        mapDestination: (d) => {
          const host = this.#hostAddressFor(d);
          return host === undefined ? undefined : parseIpv4Address(host);
        },
        maxFlows: options.maxIcmpFlows,
        idleTimeout: options.icmpIdleTimeout,
        transport: options.icmpEchoTransport,
        log: options.log,
      });
      const icmpInput = iface.handlers.get(PROTOCOL_ICMP);
      iface.handlers.set(PROTOCOL_ICMP, (packet, now) => {
        if (
          !iface.isLocalAddress(packet.destination) &&
          echo.outbound(packet.source, packet.destination, packet.payload)
        ) {
          return;
        }
        icmpInput?.(packet, now);
      });
    }
    for (const forward of options.forwards ?? []) this.addForward(forward);
  }

  /** Sends an echo reply into the LAN from an outside address. */
  #sendEchoReply(
    source: number,
    destination: number,
    identifier: number,
    sequence: number,
    data: Uint8Array,
  ): void {
    if (this.#closed) return;
    const iface = this.stack._iface;
    const frame = iface.allocatePacket(ICMP_HEADER_LENGTH + data.length);
    writeIcmpEcho(frame, PAYLOAD_OFFSET, ICMP_ECHO_REPLY, identifier, sequence, data);
    const error = iface.sendIpv4(
      frame,
      { destination, protocol: PROTOCOL_ICMP, source },
      this.stack._internals.now(),
    );
    if (error) throw error;
    this.stack._internals.kick();
  }

  /** The gateway's address as text. */
  get address(): string {
    return formatIpv4Address(this.#address);
  }

  /** The DNS forwarder's address as text. */
  get dnsAddress(): string {
    return formatIpv4Address(this.#dnsAddress);
  }

  /** The LAN's prefix length. */
  get prefixLength(): number {
    return this.#prefixLength;
  }

  /** Port forwards with their bound host ports. */
  get forwards(): readonly PortForward[] {
    return this.#boundForwards;
  }

  /** Attaches a NIC to the LAN (the far side of a VM's or a stack's link). */
  attach(nic: Nic): Promise<void> {
    return this.lan.attach(nic);
  }

  /** A new NIC plugged into the LAN, for an in-process stack. */
  connectMemory(options: { mac?: Uint8Array } = {}): MemoryNic {
    const mtu = this.stack.mtu;
    const [client, lanSide] = MemoryLink.pair({
      mtu,
      checksumOffload: true,
      macs: options.mac
        ? [options.mac, crypto.getRandomValues(new Uint8Array(6)).map((b, i) => i === 0 ? 2 : b)]
        : undefined,
    });
    this.lan.attach(lanSide);
    return client;
  }

  /** Counters. */
  stats(): GatewayStats {
    return {
      tcpFlows: this.#tcpActive,
      tcpAccepted: this.#tcpAccepted,
      tcpRefused: this.#tcpRefused,
      tcpConnecting: this.#tcpConnecting,
      tcpPending: this.#pending.size,
      udpFlows: this.#nat.size,
      icmpEchoFlows: this.#echo?.size ?? 0,
      icmpEchoForwarded: this.#echo?.forwarded ?? 0,
      icmpEchoReplies: this.#echo?.replies ?? 0,
      icmpEchoDropped: this.#echo?.dropped ?? 0,
      dnsQueries: this.#dnsQueries,
      dhcpLeases: this.#dhcp.leases(Date.now()).length,
      ports: this.lan.portCount,
    };
  }

  /** The host address a LAN destination maps to (the gateway → loopback), or undefined. */
  #hostAddressFor(destination: number): string | undefined {
    if (destination === this.#address) return "127.0.0.1";
    if (destination === this.#dnsAddress) return undefined; // only DNS lives there
    const mask = prefixMask(this.#prefixLength);
    if (((destination & mask) >>> 0) === this.#network) return undefined; // the LAN itself
    if (destination === 0xffffffff || (destination >>> 28) === 0xe) return undefined; // broadcast, multicast
    // "This network" and loopback never appear on a wire (RFC 1122 §3.2.1.3): a guest reaches
    // the host's loopback through the gateway address only — unless the LAN is in process and
    // its stacks belong to the host's own program (hostNetwork), where 127/8 means the host.
    if ((destination >>> 24) === 127 && this.#options.hostLoopback) {
      return formatIpv4Address(destination);
    }
    if ((destination >>> 24) === 0 || (destination >>> 24) === 127) return undefined;
    return formatIpv4Address(destination);
  }

  async #connectOutside(tuple: TcpTuple): Promise<boolean> {
    const maxFlows = this.#options.maxTcpFlows ?? 1024;
    const maxConnecting = this.#options.maxTcpConnecting ?? 256;
    const host = this.#hostAddressFor(tuple.localAddress);
    if (
      host === undefined || this.#closed || this.#tcpConnecting >= maxConnecting ||
      this.#tcpActive + this.#pending.size + this.#tcpConnecting >= maxFlows
    ) {
      this.#tcpRefused++;
      return false;
    }
    this.#tcpConnecting++;
    // The signal aborts the host's connect attempt itself, so its socket goes at the timeout.
    const signal = AbortSignal.timeout(this.#options.connectTimeout ?? 20_000);
    let outside: Deno.TcpConn;
    try {
      outside = await Deno.connect({ hostname: host, port: tuple.localPort, signal });
    } catch {
      this.#tcpRefused++;
      return false;
    } finally {
      this.#tcpConnecting--;
    }
    if (this.#closed) {
      outside.close();
      return false;
    }
    outside.setNoDelay(true);
    const key = tupleKey(tuple);
    this.#pending.get(key)?.close(); // cannot happen: the layer asks once per half-open tuple
    this.#pending.set(key, outside);
    return true;
  }

  /** The guest's handshake failed (reset, timed out, or made room for newer SYNs). */
  #dropPending(tuple: TcpTuple): void {
    const key = tupleKey(tuple);
    const outside = this.#pending.get(key);
    if (!outside) return;
    this.#pending.delete(key);
    try {
      outside.close();
    } catch { /* already closed */ }
  }

  async #acceptLoop(listener: AsyncIterable<TcpConn>): Promise<void> {
    for await (const inside of listener) {
      const tuple = inside.controlBlock.tuple;
      const key = tupleKey(tuple);
      const outside = this.#pending.get(key);
      this.#pending.delete(key);
      if (!outside) {
        inside.abort();
        continue;
      }
      this.#tcpAccepted++;
      this.#tcpActive++;
      inside.setNoDelay(true);
      this.#splice(inside, outside, () => this.#tcpActive--);
    }
  }

  /** Splices two connections, tracked so that {@linkcode close} can end them. */
  #splice(a: AbortableConn, b: AbortableConn, done?: () => void): void {
    const flow = { a, b };
    this.#flows.add(flow);
    splice(a, b).finally(() => {
      this.#flows.delete(flow);
      done?.();
    });
  }

  async #serveDhcp(): Promise<void> {
    const socket = this.stack.listenDatagram({ port: 67 });
    this.#closers.push(() => socket.close());
    for await (const [payload] of socket) {
      const reply = this.#dhcp.handle(payload, Date.now());
      if (!reply) continue;
      try {
        if (!reply.broadcast) {
          // The client has no address yet that it answers ARP for: use its MAC directly.
          this.stack._iface.neighbors.learn(reply.destination, reply.mac, performance.now());
        }
        await socket.send(reply.payload, {
          hostname: reply.broadcast ? "255.255.255.255" : formatIpv4Address(reply.destination),
          port: reply.port,
        });
      } catch { /* a reply that cannot go out is dropped, the client retries */ }
    }
  }

  async #serveDns(): Promise<void> {
    const dnsHost = formatIpv4Address(this.#dnsAddress);
    const socket = this.stack.listenDatagram({ port: 53, hostname: dnsHost });
    this.#closers.push(() => socket.close());
    const tcp = this.stack.listen({ port: 53, hostname: dnsHost });
    this.#closers.push(() => tcp.close());
    this.#serveDnsTcp(tcp);
    let inFlight = 0;
    for await (const [query, from] of socket) {
      if (inFlight >= 256) continue; // bounded: the client retries
      inFlight++;
      this.#dnsQueries++;
      const copy = query.slice();
      this.#dns.answer(copy, "udp").then(async (answer) => {
        if (answer) await socket.send(answer, from).catch(() => {});
      }).catch(() => {}).finally(() => inFlight--);
    }
  }

  async #serveDnsTcp(listener: AsyncIterable<TcpConn>): Promise<void> {
    let open = 0;
    for await (const conn of listener) {
      if (open >= DNS_TCP_MAX_CONNECTIONS) {
        conn.abort(); // bounded: each holds a 64 KiB message buffer
        continue;
      }
      open++;
      (async () => {
        const buffer = new Uint8Array(65537);
        let have = 0;
        // RFC 7766 §6.2.3: a server may close idle connections; a few seconds is the norm.
        let idle = setTimeout(() => conn.abort(), DNS_TCP_IDLE_TIMEOUT);
        Deno.unrefTimer(idle);
        try {
          for (;;) {
            const n = await conn.read(buffer.subarray(have));
            if (n === null) break;
            clearTimeout(idle);
            idle = setTimeout(() => conn.abort(), DNS_TCP_IDLE_TIMEOUT);
            Deno.unrefTimer(idle);
            have += n;
            while (have >= 2) {
              const length = (buffer[0] << 8) | buffer[1];
              if (have < 2 + length) break;
              const query = buffer.slice(2, 2 + length);
              buffer.copyWithin(0, 2 + length, have);
              have -= 2 + length;
              this.#dnsQueries++;
              const answer = await this.#dns.answer(query, "tcp");
              if (!answer) continue;
              const framed = new Uint8Array(2 + answer.length);
              framed[0] = answer.length >> 8;
              framed[1] = answer.length & 0xff;
              framed.set(answer, 2);
              await conn.write(framed);
            }
            if (have === buffer.length) break; // a message longer than 65535: give up
          }
        } catch { /* client went away, or idle too long */ }
        clearTimeout(idle);
        conn.close();
        open--;
      })();
    }
  }

  /** Adds a host-to-guest port forward and starts listening. */
  addForward(forward: PortForward): PortForward {
    const hostname = forward.hostAddress ?? "127.0.0.1";
    if (forward.protocol === "tcp") {
      const listener = Deno.listen({ hostname, port: forward.hostPort });
      const bound = {
        ...forward,
        hostAddress: hostname,
        hostPort: (listener.addr as Deno.NetAddr).port,
      };
      this.#boundForwards.push(bound);
      this.#closers.push(() => listener.close());
      (async () => {
        try {
          for await (const outside of listener) {
            // Forwarded connections are bounded like the guest's own (maxTcpFlows).
            if (this.#forwardFlows >= (this.#options.maxTcpFlows ?? 1024)) {
              outside.close();
              continue;
            }
            this.#forwardFlows++;
            this.stack.connect({ hostname: forward.guestAddress, port: forward.guestPort }).then(
              (inside) => {
                inside.setNoDelay(true);
                outside.setNoDelay(true);
                this.#splice(outside, inside, () => this.#forwardFlows--);
              },
              () => {
                this.#forwardFlows--;
                outside.close();
              },
            );
          }
        } catch { /* listener closed */ }
      })();
      return bound;
    }
    const host = Deno.listenDatagram({ transport: "udp", hostname, port: forward.hostPort });
    const bound = { ...forward, hostAddress: hostname, hostPort: (host.addr as Deno.NetAddr).port };
    this.#boundForwards.push(bound);
    // One gateway-side socket per host peer, so guest replies find their way back.
    const peers = new Map<
      string,
      { socket: ReturnType<Stack["listenDatagram"]>; lastUsed: number }
    >();
    this.#closers.push(() => {
      host.close();
      for (const peer of peers.values()) peer.socket.close();
      peers.clear();
    });
    (async () => {
      try {
        for await (const [data, from] of host) {
          const addr = from as Deno.NetAddr;
          const key = `${addr.hostname}:${addr.port}`;
          let peer = peers.get(key);
          if (!peer) {
            if (peers.size >= 256) {
              const [oldestKey, oldest] = [...peers].sort((a, b) =>
                a[1].lastUsed - b[1].lastUsed
              )[0];
              oldest.socket.close();
              peers.delete(oldestKey);
            }
            const socket = this.stack.listenDatagram({});
            peer = { socket, lastUsed: Date.now() };
            peers.set(key, peer);
            (async () => {
              for await (const [reply] of socket) {
                await host.send(reply.slice(), addr).catch(() => {});
              }
            })().catch(() => {});
          }
          peer.lastUsed = Date.now();
          await peer.socket.send(data.slice(), {
            hostname: forward.guestAddress,
            port: forward.guestPort,
          }).catch(() => {});
        }
      } catch { /* closed */ }
    })();
    return bound;
  }

  /** Stops serving: closes forwards, flows, the LAN and the stack. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const close of this.#closers.splice(0)) {
      try {
        close();
      } catch { /* already closed */ }
    }
    for (const outside of this.#pending.values()) outside.close();
    this.#pending.clear();
    for (const { a, b } of this.#flows) {
      for (const c of [a, b]) {
        try {
          if (c.abort) c.abort();
          else c.close();
        } catch { /* already closed */ }
      }
    }
    this.#flows.clear();
    this.#nat.close();
    await this.#echo?.close();
    this.lan.close();
    await this.stack.close();
  }
}

/** TCP DNS connections served at once. */
const DNS_TCP_MAX_CONNECTIONS = 32;
/** A TCP DNS connection with no query for this long is closed, ms. */
const DNS_TCP_IDLE_TIMEOUT = 10_000;

function tupleKey(t: TcpTuple): string {
  return `${t.remoteAddress}:${t.remotePort}>${t.localAddress}:${t.localPort}`;
}
