/**
 * A sans-IO DHCP server (RFC 2131 §4.3) for one subnet: a bounded address pool, leases with
 * expiry, static reservations by MAC, and the BROADCAST flag and relay rules for replies.
 *
 * ```
 *  const server = new DhcpServer({ serverAddress: "10.0.2.2", prefixLength: 24,
 *    poolStart: "10.0.2.15", poolEnd: "10.0.2.99", routers: ["10.0.2.2"], dnsServers: [...] });
 *  on a UDP datagram to port 67:
 *    const reply = server.handle(payload, now);
 *    if (reply) send reply.payload from serverAddress:67 to reply.destination:reply.port,
 *      to Ethernet reply.mac when !reply.broadcast (no ARP: the client has no address yet),
 *      else to ff:ff:ff:ff:ff:ff.
 * ```
 *
 * Leases expire lazily: an expired lease's address is reused when the pool needs it, and the
 * same client gets its old address back while nobody else took it.
 *
 * @module
 */

import { formatIpv4, parseIpv4, prefixLengthToMask } from "../dns/_ipv4.ts";
import { DhcpConfigError } from "./errors.ts";
import {
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  type DhcpMessage,
  parseDhcpMessage,
  serializeDhcpMessage,
} from "./message.ts";
import { DhcpMessageType, DhcpOption, type DhcpOptions } from "./options.ts";

/** Largest pool accepted: every table is bounded by the pool size. */
export const MAX_POOL_SIZE = 65536;

/**
 * An IPv4 address as a 32-bit number or "a.b.c.d".
 *
 * @example
 * ```ts
 * import type { Address } from "./server.ts";
 * const a: Address = "10.0.2.2";
 * ```
 */
export type Address = number | string;
const toAddress = (a: Address) => typeof a === "string" ? parseIpv4(a) : a >>> 0;

/**
 * A fixed address for one MAC.
 *
 * @example
 * ```ts
 * import type { DhcpReservation } from "./server.ts";
 * const r: DhcpReservation = { mac: "52:54:00:12:34:56", address: "10.0.2.50" };
 * ```
 */
export interface DhcpReservation {
  /** "aa:bb:cc:dd:ee:ff" or 6 bytes. */
  mac: string | Uint8Array;
  /** The address it always gets (may be outside the dynamic pool, but inside the subnet). */
  address: Address;
  /** Host name to hand out (option 12). */
  hostname?: string;
}

/**
 * Settings of a {@link DhcpServer}.
 *
 * @example
 * ```ts
 * import { DhcpServer } from "./server.ts";
 * const s = new DhcpServer({
 *   serverAddress: "10.0.2.2", prefixLength: 24, poolStart: "10.0.2.15", poolEnd: "10.0.2.30",
 * });
 * ```
 */
export interface DhcpServerOptions {
  /** Our address: the server identifier (option 54). */
  serverAddress: Address;
  /** Subnet prefix length. */
  prefixLength: number;
  /** First address of the dynamic pool. */
  poolStart: Address;
  /** Last address of the dynamic pool (inclusive). */
  poolEnd: Address;
  /** Routers (option 3); default: none. */
  routers?: Address[];
  /** DNS servers (option 6). */
  dnsServers?: Address[];
  /** Domain name (option 15). */
  domainName?: string;
  /** Interface MTU (option 26). */
  mtu?: number;
  /** Lease time, seconds. Default 3600. */
  leaseTime?: number;
  /** T1, seconds. Default half the lease. */
  renewalTime?: number;
  /** T2, seconds. Default 7/8 of the lease. */
  rebindingTime?: number;
  /** Static reservations. */
  reservations?: DhcpReservation[];
  /** How long an OFFER holds its address, ms. Default 30000. */
  offerHoldMs?: number;
  /** How long a DECLINEd address is left unused, ms. Default 600000 (10 minutes). */
  declineHoldMs?: number;
  /**
   * NAK requests for addresses we have no record of (RFC 2131 §4.3.2 "authoritative").
   * Default true: usernet is the only server on its links.
   */
  authoritative?: boolean;
}

/**
 * Where and how to send a reply (RFC 2131 §4.1).
 *
 * @example
 * ```ts
 * import type { DhcpServerReply } from "./server.ts";
 * function l2(r: DhcpServerReply) { return r.broadcast ? "ff:ff:ff:ff:ff:ff" : r.mac; }
 * ```
 */
export interface DhcpServerReply {
  /** The DHCP message. */
  payload: Uint8Array;
  /** Message type sent (OFFER, ACK, NAK). */
  messageType: number;
  /** IPv4 destination. */
  destination: number;
  /** UDP destination port: 68, or 67 when answering through a relay. */
  port: number;
  /** Ethernet broadcast (and `destination` 255.255.255.255). */
  broadcast: boolean;
  /** The client's hardware address, for a unicast the stack must not ARP for. */
  mac: Uint8Array;
}

/**
 * One lease as the server sees it.
 *
 * @example
 * ```ts
 * import type { DhcpServerLease } from "./server.ts";
 * function show(l: DhcpServerLease) { return `${l.address} ${l.state} until ${l.expiresAt}`; }
 * ```
 */
export interface DhcpServerLease {
  /** The address. */
  address: number;
  /** Client key: "id:<hex>" (option 61) or "mac:<hex>". */
  client: string;
  /** Client hardware address. */
  mac: Uint8Array;
  /** "offered" (held for a REQUEST), "bound", or "released" (kept for the same client). */
  state: "offered" | "bound" | "released";
  /** Expiry, ms. */
  expiresAt: number;
  /** Host name the client sent. */
  hostname?: string;
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function parseMac(mac: string | Uint8Array): Uint8Array {
  if (typeof mac !== "string") {
    if (mac.length !== 6) throw new DhcpConfigError("a MAC address has 6 bytes");
    return mac;
  }
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new DhcpConfigError(`"${mac}" is not a MAC address`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/**
 * The DHCP server core.
 *
 * @example
 * ```ts
 * import { DhcpServer } from "./server.ts";
 * const server = new DhcpServer({
 *   serverAddress: "10.0.2.2", prefixLength: 24, poolStart: "10.0.2.15", poolEnd: "10.0.2.20",
 *   routers: ["10.0.2.2"], dnsServers: ["10.0.2.3"],
 * });
 * console.assert(server.handle(new Uint8Array(10), 0) === undefined); // malformed: ignored
 * ```
 */
export class DhcpServer {
  readonly #server: number;
  readonly #mask: number;
  readonly #network: number;
  readonly #poolStart: number;
  readonly #poolEnd: number;
  readonly #routers: number[];
  readonly #dns: number[];
  readonly #domain?: string;
  readonly #mtu?: number;
  readonly #leaseTime: number;
  readonly #t1: number;
  readonly #t2: number;
  readonly #offerHoldMs: number;
  readonly #declineHoldMs: number;
  readonly #authoritative: boolean;
  /** MAC hex -> reservation. */
  readonly #reservations = new Map<string, { address: number; hostname?: string }>();
  readonly #reservedAddresses = new Set<number>();
  /** address -> lease (at most one per address: bounded by pool + reservations). */
  readonly #byAddress = new Map<number, DhcpServerLease>();
  /** client key -> address. */
  readonly #byClient = new Map<string, number>();
  /** Lowest pool address that may never have been leased. */
  #unusedCursor: number;
  /** address -> until when it is not handed out (declined). */
  readonly #declined = new Map<number, number>();

  /** Creates a server; throws `DhcpConfigError` for an impossible pool or reservation. */
  constructor(options: DhcpServerOptions) {
    this.#server = toAddress(options.serverAddress);
    this.#mask = prefixLengthToMask(options.prefixLength);
    this.#network = (this.#server & this.#mask) >>> 0;
    this.#poolStart = toAddress(options.poolStart);
    this.#poolEnd = toAddress(options.poolEnd);
    this.#unusedCursor = this.#poolStart;
    if (this.#poolEnd < this.#poolStart) {
      throw new DhcpConfigError(
        `pool ${formatIpv4(this.#poolStart)}-${formatIpv4(this.#poolEnd)} is empty`,
      );
    }
    if (this.#poolEnd - this.#poolStart + 1 > MAX_POOL_SIZE) {
      throw new DhcpConfigError(`pool is larger than ${MAX_POOL_SIZE} addresses`);
    }
    if (!this.#inSubnet(this.#poolStart) || !this.#inSubnet(this.#poolEnd)) {
      throw new DhcpConfigError("the pool is not inside the server's subnet");
    }
    this.#routers = (options.routers ?? []).map(toAddress);
    this.#dns = (options.dnsServers ?? []).map(toAddress);
    this.#domain = options.domainName;
    this.#mtu = options.mtu;
    this.#leaseTime = options.leaseTime ?? 3600;
    this.#t1 = options.renewalTime ?? Math.floor(this.#leaseTime / 2);
    this.#t2 = options.rebindingTime ?? Math.floor(this.#leaseTime * 7 / 8);
    this.#offerHoldMs = options.offerHoldMs ?? 30_000;
    this.#declineHoldMs = options.declineHoldMs ?? 600_000;
    this.#authoritative = options.authoritative ?? true;
    for (const r of options.reservations ?? []) {
      const address = toAddress(r.address);
      if (!this.#inSubnet(address)) {
        throw new DhcpConfigError(`reservation ${formatIpv4(address)} is outside the subnet`);
      }
      this.#reservations.set(hex(parseMac(r.mac)), { address, hostname: r.hostname });
      this.#reservedAddresses.add(address);
    }
  }

  #inSubnet(a: number): boolean {
    const host = (a & ~this.#mask) >>> 0;
    return ((a & this.#mask) >>> 0) === this.#network && host !== 0 &&
      host !== (~this.#mask >>> 0) && a !== this.#server;
  }

  /** Current leases (offered, bound, and released-but-remembered) that have not expired. */
  leases(now: number): DhcpServerLease[] {
    return [...this.#byAddress.values()].filter((l) => l.expiresAt > now || l.state === "released")
      .map((l) => ({ ...l }));
  }

  /**
   * Handles one datagram received on port 67; returns the reply to send, if any. Malformed
   * messages and messages for other servers are ignored.
   */
  handle(payload: Uint8Array, now: number): DhcpServerReply | undefined {
    let m: DhcpMessage;
    try {
      m = parseDhcpMessage(payload);
    } catch {
      return undefined;
    }
    if (m.op !== 1 || m.htype !== 1 || m.chaddr.length !== 6) return undefined;
    const client = m.options.clientId ? `id:${hex(m.options.clientId)}` : `mac:${hex(m.chaddr)}`;
    switch (m.options.messageType) {
      case DhcpMessageType.DISCOVER:
        return this.#discover(m, client, now);
      case DhcpMessageType.REQUEST:
        return this.#request(m, client, now);
      case DhcpMessageType.DECLINE:
        this.#decline(m, client, now);
        return undefined;
      case DhcpMessageType.RELEASE:
        this.#release(m, client);
        return undefined;
      case DhcpMessageType.INFORM:
        return this.#inform(m);
      default:
        return undefined;
    }
  }

  // --- allocation ---

  #isFreeFor(address: number, client: string, mac: Uint8Array, now: number): boolean {
    if (!this.#inSubnet(address)) return false;
    const reservation = this.#reservations.get(hex(mac));
    if (this.#reservedAddresses.has(address) && reservation?.address !== address) return false;
    if ((this.#declined.get(address) ?? 0) > now) return false;
    const lease = this.#byAddress.get(address);
    return !lease || lease.client === client || lease.expiresAt <= now;
  }

  #inPool(a: number): boolean {
    return a >= this.#poolStart && a <= this.#poolEnd;
  }

  /** Picks an address for a client (RFC 2131 §4.3.1 order of preference). */
  #choose(m: DhcpMessage, client: string, now: number): number | undefined {
    const reservation = this.#reservations.get(hex(m.chaddr));
    if (reservation) {
      return this.#isFreeFor(reservation.address, client, m.chaddr, now)
        ? reservation.address
        : undefined;
    }
    const current = this.#byClient.get(client);
    if (current !== undefined && this.#isFreeFor(current, client, m.chaddr, now)) return current;
    const requested = m.options.requestedAddress;
    if (
      requested !== undefined && this.#inPool(requested) &&
      this.#isFreeFor(requested, client, m.chaddr, now)
    ) {
      return requested;
    }
    // Never-used addresses first, so expired clients can get theirs back. A cursor makes this
    // O(1) amortized: every address below it has had a lease record at some point.
    for (; this.#unusedCursor <= this.#poolEnd; this.#unusedCursor++) {
      const a = this.#unusedCursor;
      if (this.#byAddress.has(a) || this.#reservedAddresses.has(a)) continue;
      if (!this.#isFreeFor(a, client, m.chaddr, now)) continue;
      return a;
    }
    // The pool has been through once: an address without a record (freed by a DECLINE or a
    // move), else the longest-expired lease. O(pool), only when the pool is nearly full.
    let oldest: DhcpServerLease | undefined;
    for (let a = this.#poolStart; a <= this.#poolEnd; a++) {
      if (!this.#isFreeFor(a, client, m.chaddr, now)) continue;
      const lease = this.#byAddress.get(a);
      if (!lease) return a;
      if (!oldest || lease.expiresAt < oldest.expiresAt) oldest = lease;
    }
    return oldest?.address;
  }

  #assign(
    address: number,
    client: string,
    m: DhcpMessage,
    state: DhcpServerLease["state"],
    expiresAt: number,
  ): void {
    const old = this.#byAddress.get(address);
    if (old && old.client !== client) this.#byClient.delete(old.client);
    const previous = this.#byClient.get(client);
    if (previous !== undefined && previous !== address) this.#byAddress.delete(previous);
    this.#byAddress.set(address, {
      address,
      client,
      mac: m.chaddr.slice(),
      state,
      expiresAt,
      hostname: m.options.hostname,
    });
    this.#byClient.set(client, address);
  }

  // --- message handlers ---

  #discover(m: DhcpMessage, client: string, now: number): DhcpServerReply | undefined {
    const address = this.#choose(m, client, now);
    if (address === undefined) return undefined; // pool exhausted: stay silent
    const existing = this.#byAddress.get(address);
    const keepBound = existing?.client === client && existing.state === "bound" &&
      existing.expiresAt > now;
    if (!keepBound) this.#assign(address, client, m, "offered", now + this.#offerHoldMs);
    return this.#reply(m, DhcpMessageType.OFFER, address, true);
  }

  #request(m: DhcpMessage, client: string, now: number): DhcpServerReply | undefined {
    const serverId = m.options.serverId;
    const requested = m.options.requestedAddress;
    if (serverId !== undefined) {
      // SELECTING: the client answered one server's offer (RFC 2131 §4.3.2).
      const ours = this.#byClient.get(client);
      if (serverId !== this.#server) {
        // It chose another server: forget our offer.
        if (ours !== undefined && this.#byAddress.get(ours)?.state === "offered") {
          this.#byAddress.delete(ours);
          this.#byClient.delete(client);
        }
        return undefined;
      }
      if (requested === undefined || ours !== requested || m.ciaddr !== 0) {
        return this.#nak(m, "requested address was not offered to this client");
      }
      return this.#ack(m, client, requested, now);
    }
    if (m.ciaddr === 0) {
      // INIT-REBOOT: the client checks its remembered address.
      if (requested === undefined) return undefined;
      if (!this.#inSubnet(requested)) return this.#nak(m, "address is not on this network");
      const lease = this.#byAddress.get(requested);
      const ours = lease?.client === client;
      const reservation = this.#reservations.get(hex(m.chaddr));
      if (reservation && reservation.address !== requested) {
        return this.#nak(m, "this client has a reserved address");
      }
      if (ours || (this.#authoritative && this.#isFreeFor(requested, client, m.chaddr, now))) {
        if (!ours && !this.#inPool(requested) && !reservation) {
          return this.#nak(m, "address is outside the pool");
        }
        return this.#ack(m, client, requested, now);
      }
      return this.#authoritative ? this.#nak(m, "address belongs to another client") : undefined;
    }
    // RENEWING (unicast) or REBINDING (broadcast): ciaddr is the client's address.
    const lease = this.#byAddress.get(m.ciaddr);
    if (lease && lease.client === client && lease.state === "bound") {
      return this.#ack(m, client, m.ciaddr, now);
    }
    return this.#authoritative ? this.#nak(m, "no such lease") : undefined;
  }

  #ack(m: DhcpMessage, client: string, address: number, now: number): DhcpServerReply {
    this.#assign(address, client, m, "bound", now + this.#leaseTime * 1000);
    return this.#reply(m, DhcpMessageType.ACK, address, true);
  }

  #nak(m: DhcpMessage, why: string): DhcpServerReply {
    return this.#reply(m, DhcpMessageType.NAK, 0, false, why);
  }

  #decline(m: DhcpMessage, client: string, now: number): void {
    const address = m.options.requestedAddress;
    if (address === undefined || m.options.serverId !== this.#server) return;
    const lease = this.#byAddress.get(address);
    if (lease?.client !== client) return;
    // RFC 2131 §4.3.3: mark the address as not available (for a while: a conflict can end).
    this.#byAddress.delete(address);
    this.#byClient.delete(client);
    if (this.#declined.size < MAX_POOL_SIZE) this.#declined.set(address, now + this.#declineHoldMs);
  }

  #release(m: DhcpMessage, client: string): void {
    const lease = this.#byAddress.get(m.ciaddr);
    if (!lease || lease.client !== client) return;
    // Keep the record so the same client gets the same address next time (RFC 2131 §4.3.4).
    lease.state = "released";
    lease.expiresAt = 0;
  }

  #inform(m: DhcpMessage): DhcpServerReply | undefined {
    if (m.ciaddr === 0) return undefined;
    return this.#reply(m, DhcpMessageType.ACK, 0, false);
  }

  #reply(
    m: DhcpMessage,
    type: number,
    yiaddr: number,
    withLease: boolean,
    message?: string,
  ): DhcpServerReply {
    const options: DhcpOptions = { messageType: type, serverId: this.#server };
    if (type === DhcpMessageType.NAK) {
      options.message = message;
    } else {
      if (withLease) {
        options.leaseTime = this.#leaseTime;
        options.renewalTime = this.#t1;
        options.rebindingTime = this.#t2;
      }
      // RFC 2131 §4.3.1: parameters the client asked for (all of ours when it sent no list).
      const wanted = new Set(
        m.options.parameterRequestList ?? [
          DhcpOption.SUBNET_MASK,
          DhcpOption.ROUTER,
          DhcpOption.DNS_SERVERS,
          DhcpOption.DOMAIN_NAME,
          DhcpOption.MTU,
          DhcpOption.BROADCAST_ADDRESS,
          DhcpOption.HOSTNAME,
        ],
      );
      if (wanted.has(DhcpOption.SUBNET_MASK)) options.subnetMask = this.#mask;
      if (wanted.has(DhcpOption.ROUTER) && this.#routers.length) options.routers = this.#routers;
      if (wanted.has(DhcpOption.DNS_SERVERS) && this.#dns.length) options.dnsServers = this.#dns;
      if (wanted.has(DhcpOption.DOMAIN_NAME) && this.#domain) options.domainName = this.#domain;
      if (wanted.has(DhcpOption.MTU) && this.#mtu) options.mtu = this.#mtu;
      if (wanted.has(DhcpOption.BROADCAST_ADDRESS)) {
        options.broadcastAddress = (this.#network | ~this.#mask) >>> 0;
      }
      const reserved = this.#reservations.get(hex(m.chaddr))?.hostname;
      if (wanted.has(DhcpOption.HOSTNAME) && reserved && yiaddr) options.hostname = reserved;
    }
    const reply: DhcpMessage = {
      op: 2,
      htype: 1,
      hops: 0,
      xid: m.xid,
      secs: 0,
      broadcast: m.broadcast,
      ciaddr: type === DhcpMessageType.NAK ? 0 : m.ciaddr,
      yiaddr,
      siaddr: 0,
      giaddr: m.giaddr,
      chaddr: m.chaddr,
      sname: "",
      file: "",
      options,
    };
    const maxSize = m.options.maxMessageSize ?? 576;
    const payload = serializeDhcpMessage(reply, Math.max(576, maxSize));
    // RFC 2131 §4.1, server -> client addressing.
    let destination: number, port = DHCP_CLIENT_PORT, broadcast = false;
    if (m.giaddr) {
      destination = m.giaddr;
      port = DHCP_SERVER_PORT;
    } else if (type === DhcpMessageType.NAK) {
      destination = 0xffffffff;
      broadcast = true;
    } else if (m.ciaddr) {
      destination = m.ciaddr;
    } else if (m.broadcast) {
      destination = 0xffffffff;
      broadcast = true;
    } else {
      destination = yiaddr;
    }
    return { payload, messageType: type, destination, port, broadcast, mac: m.chaddr.slice() };
  }
}
