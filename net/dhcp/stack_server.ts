/**
 * A DHCP server on a usernet {@linkcode Stack}: the {@linkcode DhcpServer} core on the stack's
 * UDP port 67. Replies go where RFC 2131 §4.1 says: broadcast when the client asked for it,
 * through the relay when there is one, otherwise unicast to the offered address at the client's
 * MAC, without ARP (the client cannot answer ARP before it has the address).
 *
 * @module
 */
import { PAYLOAD_OFFSET } from "../interface.ts";
import type { Stack } from "../stack.ts";
import type { UdpSocket } from "../udp.ts";
import { formatIpv4Address } from "../wire/address.ts";
import { ETHERNET_HEADER_LENGTH, ETHERTYPE_IPV4, writeEthernetHeader } from "../wire/ethernet.ts";
import { PROTOCOL_UDP, writeIpv4Header } from "../wire/ipv4.ts";
import { UDP_HEADER_LENGTH, writeUdp } from "../wire/udp.ts";
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, parseDhcpMessage } from "./message.ts";
import {
  type Address,
  DhcpServer,
  type DhcpServerLease,
  type DhcpServerOptions,
  type DhcpServerReply,
} from "./server.ts";

/**
 * Options of {@linkcode StackDhcpServer}: the core's, with the server address defaulting to the
 * stack's own and the prefix length to its prefix.
 *
 * @example
 * ```ts
 * import type { StackDhcpServerOptions } from "./stack_server.ts";
 * const o: StackDhcpServerOptions = { poolStart: "10.0.2.15", poolEnd: "10.0.2.30" };
 * ```
 */
export interface StackDhcpServerOptions
  extends Omit<DhcpServerOptions, "serverAddress" | "prefixLength"> {
  /** Server identifier; default: the stack's address. */
  serverAddress?: Address;
  /** Subnet prefix length; default: the stack's. */
  prefixLength?: number;
}

/**
 * Dispatched as `"reply"` for every OFFER, ACK and NAK the server sends.
 *
 * @example
 * ```ts
 * import { DhcpServerReplyEvent } from "./stack_server.ts";
 * const e = new DhcpServerReplyEvent(5, 0x0a00020f, "52:54:00:12:34:56");
 * console.assert(e.messageType === 5 && e.address === "10.0.2.15");
 * ```
 */
export class DhcpServerReplyEvent extends Event {
  /** The address offered or acknowledged (`yiaddr`), as text. */
  readonly address: string;
  /** Made by the server glue. */
  constructor(
    /** DHCP message type sent (2 OFFER, 5 ACK, 6 NAK). */
    readonly messageType: number,
    yiaddr: number,
    /** The client's MAC, as text. */
    readonly mac: string,
  ) {
    super("reply");
    this.address = formatIpv4Address(yiaddr);
  }
}

/**
 * Serves DHCP on a configured stack.
 *
 * @example
 * ```ts ignore
 * const server = new StackDhcpServer(stack, {
 *   poolStart: "10.0.2.15", poolEnd: "10.0.2.30", routers: ["10.0.2.2"], dnsServers: ["10.0.2.3"],
 * });
 * server.addEventListener("reply", (e) => console.log((e as DhcpServerReplyEvent).address));
 * ```
 */
export class StackDhcpServer extends EventTarget {
  /** The core: leases, pool, reservations. */
  readonly core: DhcpServer;
  readonly #stack: Stack;
  readonly #socket: UdpSocket;
  readonly #serverAddress: number;

  /** Binds UDP port 67 on `stack` (which must have an address) and starts serving. */
  constructor(stack: Stack, options: StackDhcpServerOptions) {
    super();
    const v4 = stack.ipv4;
    const serverAddress = options.serverAddress ?? v4?.address;
    const prefixLength = options.prefixLength ?? v4?.prefixLength;
    if (serverAddress === undefined || prefixLength === undefined) {
      throw new TypeError("a DHCP server needs a configured stack or serverAddress/prefixLength");
    }
    this.core = new DhcpServer({ ...options, serverAddress, prefixLength });
    this.#stack = stack;
    this.#serverAddress = typeof serverAddress === "number"
      ? serverAddress >>> 0
      : stack._internals.parseAddress(serverAddress);
    this.#socket = stack.listenDatagram({ port: DHCP_SERVER_PORT });
    this.#serve();
  }

  /** Current leases. */
  leases(): DhcpServerLease[] {
    return this.core.leases(this.#stack._internals.now());
  }

  /** Stops serving and frees port 67. */
  close(): void {
    this.#socket.close();
  }

  async #serve(): Promise<void> {
    for (;;) {
      let data: Uint8Array;
      try {
        [data] = await this.#socket.receive();
      } catch {
        if (this.#socket.closed) return;
        continue;
      }
      const reply = this.core.handle(data, this.#stack._internals.now());
      if (reply) this.#send(reply);
    }
  }

  #send(reply: DhcpServerReply): void {
    const message = parseDhcpMessage(reply.payload);
    const mac = [...reply.mac].map((b) => b.toString(16).padStart(2, "0")).join(":");
    if (reply.broadcast || reply.port === DHCP_SERVER_PORT) {
      // Broadcast, or to a relay agent (which has an address and answers ARP).
      this.#socket.send(
        reply.payload,
        { hostname: formatIpv4Address(reply.destination), port: reply.port },
        { source: this.#serverAddress },
      ).catch(() => {});
    } else {
      this.#sendToMac(reply);
    }
    this.dispatchEvent(new DhcpServerReplyEvent(reply.messageType, message.yiaddr, mac));
  }

  /** Unicast to an address the client does not have yet: straight to its MAC, no ARP. */
  #sendToMac(reply: DhcpServerReply): void {
    const iface = this.#stack._iface;
    const udpLength = UDP_HEADER_LENGTH + reply.payload.length;
    const frame = iface.allocatePacket(udpLength);
    writeUdp(
      frame,
      PAYLOAD_OFFSET,
      this.#serverAddress,
      reply.destination,
      DHCP_SERVER_PORT,
      DHCP_CLIENT_PORT,
      reply.payload,
    );
    writeIpv4Header(frame, ETHERNET_HEADER_LENGTH, {
      source: this.#serverAddress,
      destination: reply.destination,
      protocol: PROTOCOL_UDP,
      payloadLength: udpLength,
      identification: iface.nextIdentification(),
      ttl: iface.ttl,
    });
    writeEthernetHeader(frame, 0, reply.mac, iface.mac, ETHERTYPE_IPV4);
    iface.transmitRaw(frame);
    this.#stack._internals.kick();
  }
}
