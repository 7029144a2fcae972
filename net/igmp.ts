/**
 * IGMP for a host (RFC 2236 IGMPv2): which multicast groups the stack is a member of, and the
 * reports and leaves that tell routers so.
 *
 * {@linkcode IgmpHost} is the sans-IO core — the per-group state machine of RFC 2236 §6:
 *
 * ```
 *  out = host.join(group, now)    -> report now, and once more later (unsolicited, §3)
 *  out = host.leave(group, now)   -> Leave Group to 224.0.0.2 if we sent the last report
 *  host.receive(message, now)     -> queries arm delayed reports; others' reports suppress ours
 *  out = host.poll(now)           -> the reports whose delay ran out
 *  host.nextDeadline()            -> when to poll next
 * ```
 *
 * {@linkcode IgmpLayer} drives it from the stack's event loop: it counts joins per group (many
 * sockets may join one group), tells the interface which group addresses to accept, and sends
 * each message in an IPv4 packet with TTL 1 and the Router Alert option (RFC 2236 §2, RFC 2113).
 *
 * Queries of every version are answered with IGMPv2 reports, as RFC 3376 §7.2.1 says an IGMPv2
 * host does (an IGMPv3 group-and-source-specific query counts as group-specific). After an
 * IGMPv1 query, reports are IGMPv1 and no Leave is sent until 400 s pass without another
 * (RFC 2236 §4). Queries are taken with or without Router Alert, like Linux.
 *
 * @module
 */
import { formatIpv4Address } from "./wire/address.ts";
import { WireError } from "./wire/errors.ts";
import {
  ALL_HOSTS_GROUP,
  ALL_ROUTERS_GROUP,
  IGMP_HEADER_LENGTH,
  IGMP_LEAVE_GROUP,
  IGMP_MEMBERSHIP_QUERY,
  IGMP_V1_MEMBERSHIP_REPORT,
  IGMP_V2_MEMBERSHIP_REPORT,
  IGMP_V3_MEMBERSHIP_REPORT,
  type IgmpMessage,
  ipv4MulticastMac,
  isIpv4Multicast,
  parseIgmp,
  PROTOCOL_IGMP,
  ROUTER_ALERT_IPV4_HEADER_LENGTH,
  writeIgmp,
  writeRouterAlertIpv4Header,
} from "./wire/igmp.ts";
import type { Ipv4Packet } from "./wire/ipv4.ts";
import { ETHERNET_HEADER_LENGTH, ETHERTYPE_IPV4, writeEthernetHeader } from "./wire/ethernet.ts";
import { InvalidArgument, NetError } from "./errors.ts";
import type { StackInternals } from "./_internals.ts";

/**
 * The stack is a member of as many multicast groups as it may be (`igmp.maxGroups`).
 *
 * @example
 * ```ts
 * import { GroupLimitReached } from "./igmp.ts";
 * const e = new GroupLimitReached("cannot join 239.1.2.3: already in 64 groups (igmp.maxGroups)");
 * console.log(e.code); // "ENOBUFS"
 * ```
 */
export class GroupLimitReached extends NetError {
  /** An errno-style code for this error (Linux's for `igmp_max_memberships`). */
  override readonly code = "ENOBUFS";
}

/** Options of the stack's IGMP (`new Stack({ nic, igmp: {...} })`). */
export interface IgmpOptions {
  /** Groups the stack may be a member of at once (default 64); beyond: {@linkcode GroupLimitReached}. */
  maxGroups?: number;
  /**
   * Unsolicited Report Interval, ms (RFC 2236 §8.10, default 10000): a join's report is sent at
   * once and repeated after a random delay up to this.
   */
  unsolicitedReportIntervalMs?: number;
  /** Reports sent on a join, the first at once (default 2, RFC 2236 §3 "repeated once or twice"). */
  unsolicitedReportCount?: number;
  /** Version 1 Router Present Timeout, ms (RFC 2236 §8.11, default 400000). */
  v1RouterPresentTimeoutMs?: number;
  /** Uniform random numbers in [0, 1) for report delays; default: crypto.getRandomValues. */
  random?: () => number;
}

/** An IGMP message for the stack to send. */
export interface IgmpOutgoing {
  /** {@linkcode IGMP_V2_MEMBERSHIP_REPORT}, {@linkcode IGMP_V1_MEMBERSHIP_REPORT} or {@linkcode IGMP_LEAVE_GROUP}. */
  type: number;
  /** The group the message is about. */
  group: number;
  /** IPv4 destination: the group for reports, 224.0.0.2 for a leave. */
  destination: number;
}

/** RFC 2236 §6 host states of a group we are a member of. */
export type IgmpGroupState = "delaying" | "idle";

/** One group as {@linkcode IgmpHost.groups} shows it. */
export interface IgmpGroupInfo {
  /** The group (uint32). */
  group: number;
  /** Delaying Member (a report is due at `reportAt`) or Idle Member. */
  state: IgmpGroupState;
  /** Whether we sent the last report for the group (so a leave sends Leave Group). */
  lastReporter: boolean;
  /** When the pending report is due, ms; undefined when idle. */
  reportAt?: number;
}

interface GroupEntry {
  state: IgmpGroupState;
  lastReporter: boolean;
  reportAt: number;
  /** Unsolicited repeats still to send after this timer. */
  repeats: number;
}

function cryptoRandom(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] / 0x1_0000_0000;
}

/**
 * The sans-IO IGMPv2 host (RFC 2236): one entry per joined group, timers in virtual time.
 *
 * @example Join, hear a general query, answer after a random delay
 * ```ts
 * import { IgmpHost } from "./igmp.ts";
 * const host = new IgmpHost({ random: () => 0.5, unsolicitedReportCount: 1 });
 * console.log(host.join(0xef010203, 0).length); // 1: the report, at once
 * console.log(host.nextDeadline()); // Infinity
 * ```
 */
export class IgmpHost {
  readonly #groups = new Map<number, GroupEntry>();
  readonly #maxGroups: number;
  readonly #interval: number;
  readonly #count: number;
  readonly #v1Timeout: number;
  readonly #random: () => number;
  #v1RouterUntil = -Infinity;

  /** Creates a host in no group (224.0.0.1 is implicit: always a member, never reported). */
  constructor(options: IgmpOptions = {}) {
    this.#maxGroups = options.maxGroups ?? 64;
    this.#interval = options.unsolicitedReportIntervalMs ?? 10_000;
    this.#count = Math.max(1, options.unsolicitedReportCount ?? 2);
    this.#v1Timeout = options.v1RouterPresentTimeoutMs ?? 400_000;
    this.#random = options.random ?? cryptoRandom;
  }

  /** Whether the host is a member of `group` (always of 224.0.0.1). */
  has(group: number): boolean {
    return group === ALL_HOSTS_GROUP || this.#groups.has(group);
  }

  /** Groups joined (224.0.0.1 not listed), in join order. */
  groups(): IgmpGroupInfo[] {
    return [...this.#groups].map(([group, e]) => ({
      group,
      state: e.state,
      lastReporter: e.lastReporter,
      ...(e.state === "delaying" ? { reportAt: e.reportAt } : {}),
    }));
  }

  /** Whether an IGMPv1 querier was heard within the Version 1 Router Present Timeout. */
  v1RouterPresent(now: number): boolean {
    return now < this.#v1RouterUntil;
  }

  /**
   * Joins `group`: reports at once and arms the repeat (RFC 2236 §3). Joining 224.0.0.1 or a
   * group already joined does nothing. Throws {@linkcode InvalidArgument} for a non-multicast
   * address and {@linkcode GroupLimitReached} past `maxGroups`.
   */
  join(group: number, now: number): IgmpOutgoing[] {
    if (!isIpv4Multicast(group)) {
      throw new InvalidArgument(`${formatIpv4Address(group)} is not a multicast address`);
    }
    if (this.has(group)) return [];
    if (this.#groups.size >= this.#maxGroups) {
      throw new GroupLimitReached(
        `cannot join ${
          formatIpv4Address(group)
        }: already in ${this.#maxGroups} groups (igmp.maxGroups)`,
      );
    }
    const entry: GroupEntry = { state: "idle", lastReporter: true, reportAt: Infinity, repeats: 0 };
    this.#groups.set(group, entry);
    if (this.#count > 1) this.#delay(entry, this.#interval, now, this.#count - 2);
    return [this.#report(group, now)];
  }

  /**
   * Leaves `group`: sends Leave Group to 224.0.0.2 when we sent the last report and no IGMPv1
   * querier is present (RFC 2236 §3, §4). Leaving a group not joined does nothing.
   */
  leave(group: number, now: number): IgmpOutgoing[] {
    const entry = this.#groups.get(group);
    if (!entry) return [];
    this.#groups.delete(group);
    if (!entry.lastReporter || this.v1RouterPresent(now)) return [];
    return [{ type: IGMP_LEAVE_GROUP, group, destination: ALL_ROUTERS_GROUP }];
  }

  /**
   * Reports every joined group again, as on a join (at once, then the repeats): for when the
   * interface gets a new address, since reports sent before it came from 0.0.0.0, which
   * routers and snooping switches may ignore (Linux reports again when an interface comes up).
   */
  reportAll(now: number): IgmpOutgoing[] {
    const out: IgmpOutgoing[] = [];
    for (const [group, entry] of this.#groups) {
      entry.state = "idle";
      entry.reportAt = Infinity;
      entry.lastReporter = true;
      if (this.#count > 1) this.#delay(entry, this.#interval, now, this.#count - 2);
      out.push(this.#report(group, now));
    }
    return out;
  }

  /**
   * Takes a received IGMP message. A query arms a report for each group it asks about, at a
   * random time up to its Max Resp Time, unless one is due sooner (RFC 2236 §3); another
   * host's report for a group whose report is pending cancels ours (suppression).
   */
  receive(message: IgmpMessage, now: number): void {
    const type = message.type;
    if (type === IGMP_MEMBERSHIP_QUERY) {
      if (message.queryVersion === 1) this.#v1RouterUntil = now + this.#v1Timeout;
      const maxResponse = message.maxResponseTime;
      const group = message.group;
      if (group === 0) {
        for (const entry of this.#groups.values()) this.#delay(entry, maxResponse, now, 0);
      } else {
        const entry = this.#groups.get(group);
        if (entry) this.#delay(entry, maxResponse, now, 0);
      }
    } else if (type === IGMP_V1_MEMBERSHIP_REPORT || type === IGMP_V2_MEMBERSHIP_REPORT) {
      const entry = this.#groups.get(message.group);
      if (!entry) return;
      // Someone else reported: ours is not needed, and we are no longer the last reporter.
      // (RFC 2236 §6 says so for the Delaying state; Linux clears the flag in Idle too.)
      entry.state = "idle";
      entry.reportAt = Infinity;
      entry.repeats = 0;
      entry.lastReporter = false;
    }
  }

  /** Sends the reports that are due. */
  poll(now: number): IgmpOutgoing[] {
    const out: IgmpOutgoing[] = [];
    for (const [group, entry] of this.#groups) {
      if (entry.state !== "delaying" || entry.reportAt > now) continue;
      entry.state = "idle";
      entry.reportAt = Infinity;
      entry.lastReporter = true;
      if (entry.repeats > 0) this.#delay(entry, this.#interval, now, entry.repeats - 1);
      out.push(this.#report(group, now));
    }
    return out;
  }

  /** When a report is next due (Infinity when none). */
  nextDeadline(): number {
    let next = Infinity;
    for (const entry of this.#groups.values()) if (entry.reportAt < next) next = entry.reportAt;
    return next;
  }

  /** Arms a report within `max` ms, unless one is already due sooner (RFC 2236 §3). */
  #delay(entry: GroupEntry, max: number, now: number, repeats: number): void {
    if (entry.state === "delaying" && entry.reportAt <= now + max) return;
    entry.state = "delaying";
    // A random value in (0, max] (RFC 2236 §3).
    entry.reportAt = now + (1 - this.#random()) * max;
    entry.repeats = repeats;
  }

  #report(group: number, now: number): IgmpOutgoing {
    const type = this.v1RouterPresent(now) ? IGMP_V1_MEMBERSHIP_REPORT : IGMP_V2_MEMBERSHIP_REPORT;
    return { type, group, destination: group };
  }
}

/** Bytes of an IGMP frame: Ethernet, IPv4 with Router Alert, the 8-byte message. */
const IGMP_FRAME_LENGTH = ETHERNET_HEADER_LENGTH + ROUTER_ALERT_IPV4_HEADER_LENGTH +
  IGMP_HEADER_LENGTH;

/**
 * The stack's IGMP: group membership counted per join, the {@linkcode IgmpHost} core, and its
 * messages on the wire.
 *
 * @example
 * ```ts ignore
 * const igmp = new IgmpLayer(internals, { maxGroups: 16 });
 * igmp.join(0xef010203); // the interface now takes 239.1.2.3; a report goes out
 * ```
 */
export class IgmpLayer {
  readonly #internals: StackInternals;
  readonly #host: IgmpHost;
  readonly #joins = new Map<number, number>();

  constructor(internals: StackInternals, options: IgmpOptions = {}) {
    this.#internals = internals;
    this.#host = new IgmpHost(options);
  }

  /** The core, for inspection. */
  get host(): IgmpHost {
    return this.#host;
  }

  /** Whether the stack is a member of `group` (always of 224.0.0.1). */
  isMember(group: number): boolean {
    return this.#host.has(group);
  }

  /** Counts one more join of `group`; the first joins it on the interface and reports. */
  join(group: number): void {
    const count = this.#joins.get(group) ?? 0;
    if (count === 0) {
      const out = this.#host.join(group, this.#internals.now()); // may throw: nothing changed
      this.#internals.iface.joinGroup(group);
      this.#send(out);
    }
    this.#joins.set(group, count + 1);
  }

  /** Counts one join of `group` less; the last leaves it (Leave Group if we reported last). */
  leave(group: number): void {
    const count = this.#joins.get(group);
    if (count === undefined) return;
    if (count > 1) {
      this.#joins.set(group, count - 1);
      return;
    }
    this.#joins.delete(group);
    this.#internals.iface.leaveGroup(group);
    this.#send(this.#host.leave(group, this.#internals.now()));
  }

  /** Reports every joined group again (the interface has a new address). */
  reportAll(): void {
    this.#send(this.#host.reportAll(this.#internals.now()));
  }

  /** Handles a received IGMP packet. */
  input(packet: Ipv4Packet, now: number): void {
    const message = parseIgmp(packet.payload);
    if (message instanceof WireError) {
      this.#internals.stats.drop("igmp", message.reason);
      return;
    }
    const type = message.type;
    if (
      type !== IGMP_MEMBERSHIP_QUERY && type !== IGMP_V1_MEMBERSHIP_REPORT &&
      type !== IGMP_V2_MEMBERSHIP_REPORT && type !== IGMP_LEAVE_GROUP &&
      type !== IGMP_V3_MEMBERSHIP_REPORT
    ) {
      this.#internals.stats.drop("igmp", "unknown-type");
      return;
    }
    const counters = this.#internals.stats.live.igmp;
    counters.packetsIn++;
    counters.bytesIn += packet.payload.length;
    if (type === IGMP_MEMBERSHIP_QUERY) counters.queriesIn++;
    this.#host.receive(message, now);
    this.#internals.kick();
  }

  /** Sends the reports that are due. */
  poll(now: number): void {
    this.#send(this.#host.poll(now));
  }

  /** When a report is next due. */
  nextDeadline(): number {
    return this.#host.nextDeadline();
  }

  #send(messages: IgmpOutgoing[]): void {
    if (messages.length === 0) return;
    const iface = this.#internals.iface;
    const stats = this.#internals.stats.live.ipv4;
    for (const m of messages) {
      const frame = new Uint8Array(IGMP_FRAME_LENGTH);
      writeEthernetHeader(frame, 0, ipv4MulticastMac(m.destination), iface.mac, ETHERTYPE_IPV4);
      // Like Linux: precedence "internetwork control", DF, TTL 1 (RFC 2236 §2).
      const h = writeRouterAlertIpv4Header(frame, ETHERNET_HEADER_LENGTH, {
        source: iface.config?.address ?? 0,
        destination: m.destination,
        protocol: PROTOCOL_IGMP,
        payloadLength: IGMP_HEADER_LENGTH,
        identification: iface.nextIdentification(),
        ttl: 1,
        dontFragment: true,
        typeOfService: 0xc0,
      });
      writeIgmp(frame, ETHERNET_HEADER_LENGTH + h, m.type, 0, m.group);
      stats.packetsOut++;
      stats.bytesOut += h + IGMP_HEADER_LENGTH;
      const counters = this.#internals.stats.live.igmp;
      counters.packetsOut++;
      counters.bytesOut += IGMP_HEADER_LENGTH;
      if (m.type === IGMP_LEAVE_GROUP) counters.leavesOut++;
      else counters.reportsOut++;
      iface.transmitRaw(frame);
    }
    this.#internals.kick();
  }
}
