/**
 * A sans-IO DHCP client (RFC 2131 §4.4) with address conflict detection (RFC 5227).
 *
 * The stack's event loop owns I/O and time:
 *
 * ```
 *  client.start(now)
 *  loop:
 *    out = client.poll(now)      -> { send, probes, events, deadline }
 *    for m of out.send:   send m.payload from m.source:68 to m.destination:67
 *                         (m.broadcast: to ff:ff:ff:ff:ff:ff, no ARP)
 *    for a of out.probes: ARP-probe a (RFC 5227 §2.1.1), then client.probeResult(a, inUse, now)
 *    for e of out.events: acquired / renewed / changed -> configure the interface; lost -> remove
 *    arm one timer for out.deadline
 *  on a UDP datagram to port 68: client.receive(payload, now)
 * ```
 *
 * Retransmission follows RFC 2131 §4.1: 4, 8, 16, 32, 64 s, each randomized by ±1 s. RENEWING
 * (at T1, unicast to the server) and REBINDING (at T2, broadcast) retry at half the remaining
 * time, at least 60 s (§4.4.5). A lease that runs out is reported lost and acquisition starts
 * over.
 *
 * @module
 */

import { formatIpv4, maskToPrefixLength } from "../dns/_ipv4.ts";
import { DhcpConfigError } from "./errors.ts";
import {
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  type DhcpMessage,
  parseDhcpMessage,
  serializeDhcpMessage,
} from "./message.ts";
import { DhcpMessageType, DhcpOption, type DhcpOptions } from "./options.ts";

/** The limited broadcast address. */
export const BROADCAST = 0xffffffff;
const INFINITE = 0xffffffff;

/**
 * Client states (RFC 2131 Figure 5, plus CHECKING for the RFC 5227 probe and DECLINED for the
 * wait after a conflict).
 *
 * @example
 * ```ts
 * import type { DhcpClientState } from "./client.ts";
 * const s: DhcpClientState = "BOUND";
 * ```
 */
export type DhcpClientState =
  | "INIT"
  | "SELECTING"
  | "REQUESTING"
  | "CHECKING"
  | "BOUND"
  | "RENEWING"
  | "REBINDING"
  | "INIT-REBOOT"
  | "REBOOTING"
  | "DECLINED"
  | "STOPPED";

/**
 * A lease and the network configuration that came with it.
 *
 * @example
 * ```ts
 * import type { DhcpLease } from "./client.ts";
 * function configure(l: DhcpLease) { console.log(l.address, l.prefixLength, l.router, l.dns); }
 * ```
 */
export interface DhcpLease {
  /** Our address. */
  address: number;
  /** Prefix length from the subnet mask (classful default when the server sent none). */
  prefixLength: number;
  /** Subnet mask. */
  subnetMask: number;
  /** First router (default gateway), if any. */
  router?: number;
  /** All routers offered. */
  routers: number[];
  /** DNS servers. */
  dns: number[];
  /** Domain name. */
  domain?: string;
  /** Interface MTU. */
  mtu?: number;
  /** Broadcast address. */
  broadcastAddress?: number;
  /** Lease time, seconds (0xffffffff = infinite). */
  leaseTime: number;
  /** T1, seconds after the lease start. */
  renewalTime: number;
  /** T2, seconds after the lease start. */
  rebindingTime: number;
  /** The server that granted it. */
  serverId: number;
  /** When the lease started (the time the REQUEST was first sent, RFC 2131 §4.4.1), ms. */
  obtainedAt: number;
  /** When it runs out, ms (Infinity for an infinite lease). */
  expiresAt: number;
}

/**
 * Something the stack should know about.
 *
 * @example
 * ```ts
 * import type { DhcpClientEvent } from "./client.ts";
 * function on(e: DhcpClientEvent) { if (e.type === "lost") console.log("down", e.reason); }
 * ```
 */
export type DhcpClientEvent =
  | { type: "acquired"; lease: DhcpLease }
  | { type: "renewed"; lease: DhcpLease }
  | { type: "changed"; lease: DhcpLease; previous: DhcpLease }
  | { type: "lost"; lease: DhcpLease; reason: "expired" | "nak" | "released" }
  | { type: "declined"; address: number; serverId: number };

/**
 * A message to send from UDP port 68 to port 67.
 *
 * @example
 * ```ts
 * import type { DhcpClientSend } from "./client.ts";
 * function route(m: DhcpClientSend) { return m.broadcast ? "ff:ff:ff:ff:ff:ff" : "ARP"; }
 * ```
 */
export interface DhcpClientSend {
  /** The DHCP message. */
  payload: Uint8Array;
  /** Link-layer broadcast to 255.255.255.255 (no ARP); otherwise unicast to `destination`. */
  broadcast: boolean;
  /** IPv4 source: 0.0.0.0 before an address is bound, our address afterwards. */
  source: number;
  /** IPv4 destination: 255.255.255.255, or the server when renewing or releasing. */
  destination: number;
  /** Always 68. */
  sourcePort: number;
  /** Always 67. */
  destinationPort: number;
  /** The DHCP message type, for logs ("DHCPDISCOVER"...). */
  messageType: number;
}

/**
 * What the stack must do after a `poll`.
 *
 * @example
 * ```ts
 * import type { DhcpClientOutput } from "./client.ts";
 * function idle(o: DhcpClientOutput) { return o.send.length === 0 && o.probes.length === 0; }
 * ```
 */
export interface DhcpClientOutput {
  /** Messages to send. */
  send: DhcpClientSend[];
  /** Addresses to ARP-probe (RFC 5227); answer with `probeResult`. */
  probes: number[];
  /** What happened to the lease. */
  events: DhcpClientEvent[];
  /** When to poll again, ms; `undefined` when nothing is scheduled. */
  deadline: number | undefined;
}

/**
 * Settings of a {@link DhcpClient}.
 *
 * @example
 * ```ts
 * import { DhcpClient } from "./client.ts";
 * const c = new DhcpClient({ mac: Uint8Array.of(2, 0, 0, 0, 0, 1), random: Math.random });
 * ```
 */
export interface DhcpClientOptions {
  /** Our Ethernet address (6 bytes). */
  mac: Uint8Array;
  /** Uniform random numbers in [0, 1): xids and retransmission jitter. */
  random: () => number;
  /** Host name to send (option 12). */
  hostname?: string;
  /** Client identifier (option 61); default: type 1 (Ethernet) and the MAC. */
  clientId?: Uint8Array;
  /** A lease remembered from before: reuse it through INIT-REBOOT while it has not expired. */
  previousLease?: DhcpLease;
  /** Probe an offered address with ARP before using it (RFC 5227). Default true. */
  probe?: boolean;
  /** How long to wait for `probeResult` before assuming the address is free, ms. Default 10000. */
  probeTimeoutMs?: number;
  /** Set the BROADCAST flag so servers broadcast replies (RFC 2131 §4.1). Default true. */
  broadcastFlag?: boolean;
  /** Maximum DHCP message size we accept (option 57). Default 1500 - 28. */
  maxMessageSize?: number;
  /** REQUEST transmissions in REQUESTING/REBOOTING before starting over. Default 4. */
  maxRequestAttempts?: number;
  /** Delay after a DECLINE before starting over, ms (RFC 2131 §3.1 step 5). Default 10000. */
  declineDelayMs?: number;
}

/** Parameters we ask for (option 55). */
const REQUESTED_PARAMETERS = [
  DhcpOption.SUBNET_MASK,
  DhcpOption.ROUTER,
  DhcpOption.DNS_SERVERS,
  DhcpOption.HOSTNAME,
  DhcpOption.DOMAIN_NAME,
  DhcpOption.MTU,
  DhcpOption.BROADCAST_ADDRESS,
  DhcpOption.LEASE_TIME,
  DhcpOption.RENEWAL_TIME,
  DhcpOption.REBINDING_TIME,
];

/** RFC 5227 §1.1 MAX_CONFLICTS and RATE_LIMIT_INTERVAL. */
const MAX_CONFLICTS = 10;
const RATE_LIMIT_INTERVAL_MS = 60_000;

function classfulMask(address: number): number {
  const top = address >>> 24;
  return top < 128 ? 0xff000000 : top < 192 ? 0xffff0000 : 0xffffff00;
}

function usableAddress(a: number): boolean {
  const top = a >>> 24;
  return a !== 0 && a !== BROADCAST && top !== 127 && top !== 0 && top < 224;
}

function sameConfig(a: DhcpLease, b: DhcpLease): boolean {
  return a.address === b.address && a.prefixLength === b.prefixLength && a.router === b.router &&
    a.dns.join() === b.dns.join() && a.domain === b.domain && a.mtu === b.mtu;
}

/**
 * The DHCP client core. See the module documentation for the call protocol.
 *
 * @example
 * ```ts
 * import { DhcpClient } from "./client.ts";
 * const client = new DhcpClient({ mac: Uint8Array.of(2, 0, 0, 0, 0, 1), random: () => 0.5 });
 * client.start(0);
 * const out = client.poll(0);
 * console.assert(out.send[0].broadcast && client.state === "SELECTING");
 * console.assert(out.deadline === 4000); // first retransmission after 4 s (jitter 0 here)
 * ```
 */
export class DhcpClient {
  readonly #mac: Uint8Array;
  readonly #random: () => number;
  readonly #hostname?: string;
  readonly #clientId: Uint8Array;
  readonly #probe: boolean;
  readonly #probeTimeoutMs: number;
  readonly #broadcastFlag: boolean;
  readonly #maxMessageSize: number;
  readonly #maxRequestAttempts: number;
  readonly #declineDelayMs: number;

  #state: DhcpClientState = "INIT";
  #lease: DhcpLease | undefined;
  #previous: DhcpLease | undefined;
  #xid = 0;
  /** Start of the current exchange (for `secs`), ms. */
  #exchangeStart = 0;
  /** When the current REQUEST was first sent (lease start), ms. */
  #requestSentAt = 0;
  #attempts = 0;
  #deadline: number | undefined;
  /** The offer being requested or the ACK being probed. */
  #offer: { address: number; serverId: number; ack?: DhcpMessage } | undefined;
  /** The lease from an ACK, while its address is being probed. */
  #pendingLease: DhcpLease | undefined;
  #conflicts = 0;
  #naks = 0;

  #send: DhcpClientSend[] = [];
  #probes: number[] = [];
  #events: DhcpClientEvent[] = [];

  /** Creates a client in state INIT; nothing is sent before `start`. */
  constructor(options: DhcpClientOptions) {
    if (options.mac.length !== 6) {
      throw new DhcpConfigError(`a MAC address has 6 bytes, got ${options.mac.length}`);
    }
    this.#mac = options.mac.slice();
    this.#random = options.random;
    this.#hostname = options.hostname;
    this.#clientId = options.clientId ?? Uint8Array.of(1, ...options.mac);
    this.#previous = options.previousLease;
    this.#probe = options.probe ?? true;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 10_000;
    this.#broadcastFlag = options.broadcastFlag ?? true;
    this.#maxMessageSize = options.maxMessageSize ?? 1500 - 28;
    this.#maxRequestAttempts = options.maxRequestAttempts ?? 4;
    this.#declineDelayMs = options.declineDelayMs ?? 10_000;
  }

  /** Current state. */
  get state(): DhcpClientState {
    return this.#state;
  }

  /** The lease in use (BOUND, RENEWING, REBINDING), if any. */
  get lease(): DhcpLease | undefined {
    return this.#lease;
  }

  /** Starts acquisition: INIT-REBOOT with a remembered, unexpired lease, else INIT. */
  start(now: number): void {
    if (this.#state !== "INIT" && this.#state !== "STOPPED") return;
    if (this.#previous && this.#previous.expiresAt > now) {
      this.#state = "INIT-REBOOT";
      this.#beginExchange(now);
      this.#sendRequest(now, "REBOOTING");
    } else {
      this.#discover(now);
    }
  }

  /**
   * Releases the lease (DHCPRELEASE unicast to the server, RFC 2131 §4.4.6) and stops.
   * A `lost` event with reason "released" is reported.
   */
  release(now: number): void {
    const lease = this.#lease;
    if (lease) {
      this.#beginExchange(now);
      this.#emit(DhcpMessageType.RELEASE, {
        ciaddr: lease.address,
        options: { serverId: lease.serverId },
        broadcast: false,
        source: lease.address,
        destination: lease.serverId,
        now,
      });
      this.#events.push({ type: "lost", lease, reason: "released" });
    }
    this.#lease = undefined;
    this.#previous = undefined;
    this.#state = "STOPPED";
    this.#deadline = undefined;
  }

  /** Stops without telling the server (the lease stays remembered in `lease`). */
  stop(): void {
    this.#state = "STOPPED";
    this.#deadline = undefined;
  }

  /** Runs due timers; returns what to send and probe, what happened, and the next deadline. */
  poll(now: number): DhcpClientOutput {
    if (this.#deadline !== undefined && now >= this.#deadline) this.#timer(now);
    const out: DhcpClientOutput = {
      send: this.#send,
      probes: this.#probes,
      events: this.#events,
      deadline: this.#deadline,
    };
    this.#send = [];
    this.#probes = [];
    this.#events = [];
    return out;
  }

  /** A datagram arrived on UDP port 68. Anything not for our current exchange is ignored. */
  receive(payload: Uint8Array, now: number): void {
    let m: DhcpMessage;
    try {
      m = parseDhcpMessage(payload);
    } catch {
      return; // RFC 2131 §4.1 silently discards malformed messages.
    }
    if (
      m.op !== 2 || m.xid !== this.#xid || m.chaddr.length < 6 ||
      !m.chaddr.subarray(0, 6).every((b, i) => b === this.#mac[i])
    ) {
      return;
    }
    const type = m.options.messageType;
    switch (this.#state) {
      case "SELECTING":
        if (type === DhcpMessageType.OFFER) this.#onOffer(m, now);
        return;
      case "REQUESTING":
      case "REBOOTING":
      case "RENEWING":
      case "REBINDING":
        if (type === DhcpMessageType.ACK) this.#onAck(m, now);
        else if (type === DhcpMessageType.NAK) this.#onNak(m, now);
        return;
      default:
        return;
    }
  }

  /**
   * The result of an ARP probe the core asked for: `inUse` when another host answered for
   * the address (or probed it too). On a conflict the core declines the address.
   */
  probeResult(address: number, inUse: boolean, now: number): void {
    if (this.#state !== "CHECKING" || !this.#offer || this.#offer.address !== address) return;
    if (inUse) this.#decline(now);
    else this.#bind(now);
  }

  // --- internals ---

  #jitter(): number {
    return (this.#random() * 2 - 1) * 1000;
  }

  /** RFC 2131 §4.1: 4 s, doubling to 64 s, ±1 s, for the n-th (0-based) wait. */
  #backoff(n: number): number {
    return Math.min(4000 * 2 ** n, 64_000) + this.#jitter();
  }

  #beginExchange(now: number): void {
    this.#xid = Math.floor(this.#random() * 0x100000000) >>> 0;
    this.#exchangeStart = now;
    this.#attempts = 0;
  }

  #emit(
    messageType: number,
    o: {
      ciaddr?: number;
      options: DhcpOptions;
      broadcast: boolean;
      source: number;
      destination: number;
      now: number;
    },
  ): void {
    const withCommon: DhcpOptions = { messageType, clientId: this.#clientId, ...o.options };
    const isRequestish = messageType === DhcpMessageType.DISCOVER ||
      messageType === DhcpMessageType.REQUEST;
    if (isRequestish) {
      withCommon.parameterRequestList = REQUESTED_PARAMETERS;
      withCommon.maxMessageSize = this.#maxMessageSize;
      if (this.#hostname) withCommon.hostname = this.#hostname;
    }
    const message: DhcpMessage = {
      op: 1,
      htype: 1,
      hops: 0,
      xid: this.#xid,
      secs: Math.min(0xffff, Math.floor((o.now - this.#exchangeStart) / 1000)),
      // Only while we have no address can we need broadcast replies.
      broadcast: this.#broadcastFlag && !o.ciaddr && isRequestish,
      ciaddr: o.ciaddr ?? 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr: this.#mac,
      sname: "",
      file: "",
      options: withCommon,
    };
    this.#send.push({
      payload: serializeDhcpMessage(message),
      broadcast: o.broadcast,
      source: o.source,
      destination: o.destination,
      sourcePort: DHCP_CLIENT_PORT,
      destinationPort: DHCP_SERVER_PORT,
      messageType,
    });
  }

  #discover(now: number): void {
    this.#state = "SELECTING";
    this.#offer = undefined;
    this.#beginExchange(now);
    this.#sendDiscover(now);
  }

  #sendDiscover(now: number): void {
    // RFC 2131 §4.4.1: the client may suggest its last address.
    const requested = this.#previous?.address;
    this.#emit(DhcpMessageType.DISCOVER, {
      options: requested ? { requestedAddress: requested } : {},
      broadcast: true,
      source: 0,
      destination: BROADCAST,
      now,
    });
    this.#deadline = now + this.#backoff(this.#attempts);
    this.#attempts++;
  }

  /** Sends (or resends) the REQUEST of the current state and arms its retransmission. */
  #sendRequest(now: number, state: "REQUESTING" | "REBOOTING" | "RENEWING" | "REBINDING"): void {
    if (this.#state !== state) {
      this.#state = state;
      this.#attempts = 0;
      this.#requestSentAt = now;
    }
    const lease = this.#lease;
    switch (state) {
      case "REQUESTING":
        this.#emit(DhcpMessageType.REQUEST, {
          options: { serverId: this.#offer!.serverId, requestedAddress: this.#offer!.address },
          broadcast: true,
          source: 0,
          destination: BROADCAST,
          now,
        });
        break;
      case "REBOOTING":
        this.#emit(DhcpMessageType.REQUEST, {
          options: { requestedAddress: this.#previous!.address },
          broadcast: true,
          source: 0,
          destination: BROADCAST,
          now,
        });
        break;
      case "RENEWING":
        this.#emit(DhcpMessageType.REQUEST, {
          ciaddr: lease!.address,
          options: {},
          broadcast: false,
          source: lease!.address,
          destination: lease!.serverId,
          now,
        });
        break;
      case "REBINDING":
        this.#emit(DhcpMessageType.REQUEST, {
          ciaddr: lease!.address,
          options: {},
          broadcast: true,
          source: lease!.address,
          destination: BROADCAST,
          now,
        });
        break;
    }
    if (state === "RENEWING" || state === "REBINDING") {
      // RFC 2131 §4.4.5: wait half the time to T2 (or expiry), at least 60 s.
      const until = state === "RENEWING" ? this.#rebindAt(lease!) : lease!.expiresAt;
      this.#deadline = Math.min(until, now + Math.max(60_000, (until - now) / 2));
    } else {
      this.#deadline = now + this.#backoff(this.#attempts);
    }
    this.#attempts++;
  }

  #renewAt(lease: DhcpLease): number {
    return lease.renewalTime === INFINITE ? Infinity : lease.obtainedAt + lease.renewalTime * 1000;
  }

  #rebindAt(lease: DhcpLease): number {
    return lease.rebindingTime === INFINITE
      ? Infinity
      : lease.obtainedAt + lease.rebindingTime * 1000;
  }

  #timer(now: number): void {
    switch (this.#state) {
      case "SELECTING":
        this.#sendDiscover(now);
        return;
      case "REQUESTING":
      case "REBOOTING":
        if (this.#attempts >= this.#maxRequestAttempts) {
          // No answer to our REQUEST: start over (RFC 2131 §3.1 step 3, §3.2 step 3).
          this.#discover(now);
        } else {
          this.#sendRequest(now, this.#state);
        }
        return;
      case "CHECKING":
        // The stack never answered the probe: nothing claimed the address.
        this.#bind(now);
        return;
      case "DECLINED":
      case "INIT":
        this.#discover(now);
        return;
      case "BOUND":
      case "RENEWING":
      case "REBINDING": {
        const lease = this.#lease!;
        if (now >= lease.expiresAt) {
          this.#events.push({ type: "lost", lease, reason: "expired" });
          this.#lease = undefined;
          this.#previous = undefined;
          this.#discover(now);
        } else if (now >= this.#rebindAt(lease)) {
          this.#beginExchangeIfNew(now, "REBINDING");
          this.#sendRequest(now, "REBINDING");
        } else if (now >= this.#renewAt(lease)) {
          this.#beginExchangeIfNew(now, "RENEWING");
          this.#sendRequest(now, "RENEWING");
        } else {
          this.#deadline = this.#nextLeaseTimer(lease);
        }
        return;
      }
      default:
        this.#deadline = undefined;
    }
  }

  #beginExchangeIfNew(now: number, next: DhcpClientState): void {
    // RENEWING and REBINDING each start a new transaction; their retransmissions keep it.
    if (this.#state !== next) this.#beginExchange(now);
  }

  #nextLeaseTimer(lease: DhcpLease): number | undefined {
    const t = Math.min(this.#renewAt(lease), this.#rebindAt(lease), lease.expiresAt);
    return Number.isFinite(t) ? t : undefined;
  }

  #onOffer(m: DhcpMessage, now: number): void {
    const serverId = m.options.serverId;
    if (!usableAddress(m.yiaddr) || serverId === undefined) return;
    this.#offer = { address: m.yiaddr, serverId };
    // The REQUEST keeps the DISCOVER's xid (RFC 2131 §4.4.1).
    this.#sendRequest(now, "REQUESTING");
  }

  #leaseFrom(m: DhcpMessage, now: number): DhcpLease | undefined {
    const o = m.options;
    const serverId = o.serverId ?? this.#offer?.serverId ?? this.#lease?.serverId;
    const leaseTime = o.leaseTime;
    if (serverId === undefined || leaseTime === undefined || !usableAddress(m.yiaddr)) {
      return undefined; // RFC 2131 Table 3: an ACK to a REQUEST carries both.
    }
    let mask = o.subnetMask ?? classfulMask(m.yiaddr);
    let prefixLength: number;
    try {
      prefixLength = maskToPrefixLength(mask);
    } catch {
      mask = classfulMask(m.yiaddr);
      prefixLength = maskToPrefixLength(mask);
    }
    // RFC 2131 §4.4.5 defaults: T1 = 0.5 lease, T2 = 0.875 lease; keep T1 <= T2 <= lease.
    let t1 = o.renewalTime, t2 = o.rebindingTime;
    if (leaseTime === INFINITE) {
      t1 = INFINITE;
      t2 = INFINITE;
    } else {
      if (t2 === undefined || t2 > leaseTime) t2 = Math.floor(leaseTime * 0.875);
      if (t1 === undefined || t1 > t2) t1 = Math.floor(leaseTime * 0.5);
    }
    // The lease runs from when the REQUEST was first sent, not from when the ACK arrived.
    const obtainedAt = Math.min(this.#requestSentAt, now);
    const routers = o.routers ?? [];
    return {
      address: m.yiaddr,
      prefixLength,
      subnetMask: mask,
      router: routers[0],
      routers,
      dns: o.dnsServers ?? [],
      domain: o.domainName,
      mtu: o.mtu,
      broadcastAddress: o.broadcastAddress,
      leaseTime,
      renewalTime: t1,
      rebindingTime: t2,
      serverId,
      obtainedAt,
      expiresAt: leaseTime === INFINITE ? Infinity : obtainedAt + leaseTime * 1000,
    };
  }

  #onAck(m: DhcpMessage, now: number): void {
    const state = this.#state;
    if (state === "REQUESTING" && m.options.serverId !== undefined) {
      if (m.options.serverId !== this.#offer!.serverId) return;
    }
    if (state === "RENEWING" && m.options.serverId !== undefined) {
      if (m.options.serverId !== this.#lease!.serverId) return;
    }
    const lease = this.#leaseFrom(m, now);
    if (!lease) return;
    if (state === "REQUESTING" || state === "REBOOTING") {
      this.#offer = { address: lease.address, serverId: lease.serverId, ack: m };
      this.#pendingLease = lease;
      if (this.#probe) {
        this.#state = "CHECKING";
        this.#probes.push(lease.address);
        this.#deadline = now + this.#probeTimeoutMs;
      } else {
        this.#bind(now);
      }
      return;
    }
    // RENEWING / REBINDING: the lease is extended (possibly with new settings).
    const previous = this.#lease!;
    this.#lease = lease;
    this.#previous = lease;
    this.#state = "BOUND";
    this.#naks = 0;
    this.#events.push(
      sameConfig(previous, lease)
        ? { type: "renewed", lease }
        : { type: "changed", lease, previous },
    );
    this.#deadline = this.#nextLeaseTimer(lease);
  }

  #bind(now: number): void {
    const lease = this.#pendingLease!;
    this.#pendingLease = undefined;
    this.#offer = undefined;
    this.#lease = lease;
    this.#previous = lease;
    this.#state = "BOUND";
    this.#conflicts = 0;
    this.#naks = 0;
    this.#events.push({ type: "acquired", lease });
    this.#deadline = this.#nextLeaseTimer(lease);
    if (this.#deadline !== undefined && this.#deadline <= now) this.#timer(now);
  }

  #decline(now: number): void {
    const lease = this.#pendingLease!;
    this.#pendingLease = undefined;
    // RFC 2131 §4.4.1 / Table 5: DECLINE carries the address and the server id, ciaddr 0.
    this.#emit(DhcpMessageType.DECLINE, {
      options: { requestedAddress: lease.address, serverId: lease.serverId },
      broadcast: true,
      source: 0,
      destination: BROADCAST,
      now,
    });
    this.#events.push({ type: "declined", address: lease.address, serverId: lease.serverId });
    if (this.#previous?.address === lease.address) this.#previous = undefined;
    this.#conflicts++;
    this.#offer = undefined;
    this.#state = "DECLINED";
    // RFC 5227 §2.1.1: after MAX_CONFLICTS, at most one attempt per RATE_LIMIT_INTERVAL.
    this.#deadline = now +
      (this.#conflicts >= MAX_CONFLICTS ? RATE_LIMIT_INTERVAL_MS : this.#declineDelayMs);
  }

  #onNak(m: DhcpMessage, now: number): void {
    const state = this.#state;
    const from = m.options.serverId;
    // Only the server we asked may refuse us (a stray NAK from elsewhere is ignored).
    if (state === "REQUESTING" && from !== undefined && from !== this.#offer!.serverId) return;
    if (state === "RENEWING" && from !== undefined && from !== this.#lease!.serverId) return;
    const lease = this.#lease;
    if (lease) this.#events.push({ type: "lost", lease, reason: "nak" });
    this.#lease = undefined;
    this.#previous = undefined;
    this.#naks++;
    // RFC 2131 §3.1 step 5 / §3.2 step 3: back to INIT. Repeated NAKs back off (4, 8, ... 64 s)
    // so a misbehaving server cannot make us loop at network speed.
    if (this.#naks <= 1) {
      this.#discover(now);
    } else {
      this.#state = "INIT";
      this.#offer = undefined;
      this.#deadline = now + this.#backoff(this.#naks - 2);
    }
  }
}

/**
 * A lease as text, for logs: "10.0.2.15/24 via 10.0.2.2 dns 10.0.2.3 (3600 s from 10.0.2.2)".
 *
 * @example
 * ```ts
 * import { describeLease } from "./client.ts";
 * console.log(describeLease({
 *   address: 0x0a00020f, prefixLength: 24, subnetMask: 0xffffff00, router: 0x0a000202,
 *   routers: [0x0a000202], dns: [0x0a000203], leaseTime: 3600, renewalTime: 1800,
 *   rebindingTime: 3150, serverId: 0x0a000202, obtainedAt: 0, expiresAt: 3_600_000,
 * }));
 * ```
 */
export function describeLease(lease: DhcpLease): string {
  const parts = [`${formatIpv4(lease.address)}/${lease.prefixLength}`];
  if (lease.router !== undefined) parts.push(`via ${formatIpv4(lease.router)}`);
  if (lease.dns.length) parts.push(`dns ${lease.dns.map(formatIpv4).join(",")}`);
  if (lease.domain) parts.push(`domain ${lease.domain}`);
  if (lease.mtu) parts.push(`mtu ${lease.mtu}`);
  parts.push(`(${lease.leaseTime} s from ${formatIpv4(lease.serverId)})`);
  return parts.join(" ");
}
