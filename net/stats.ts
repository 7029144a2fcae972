/**
 * Counters of what the stack received, sent and dropped, by protocol and by drop reason.
 *
 * @module
 */

/** Packets and bytes in and out of one protocol. */
export interface TrafficCounters {
  /** Packets (frames, datagrams, segments) received and accepted. */
  packetsIn: number;
  /** Bytes received and accepted. */
  bytesIn: number;
  /** Packets sent. */
  packetsOut: number;
  /** Bytes sent. */
  bytesOut: number;
}

/** A snapshot of the stack's counters, returned by `stack.stats()`. */
export interface StackStats {
  /** Ethernet frames. */
  ethernet: TrafficCounters;
  /** ARP packets. */
  arp: TrafficCounters;
  /** IPv4 packets (after reassembly on input, before fragmentation on output). */
  ipv4: TrafficCounters & { fragmentsIn: number; reassembled: number; fragmentsOut: number };
  /** ICMP messages. */
  icmp: TrafficCounters & { echoRequestsIn: number; errorsIn: number; errorsOut: number };
  /** UDP datagrams. */
  udp: TrafficCounters;
  /** IGMP messages (the stack's group memberships, RFC 2236). */
  igmp: TrafficCounters & { queriesIn: number; reportsOut: number; leavesOut: number };
  /** TCP segments. */
  tcp: TrafficCounters & {
    retransmits: number;
    resetsOut: number;
    activeOpens: number;
    passiveOpens: number;
  };
  /** Dropped packets, keyed `layer/reason` (e.g. `ipv4/bad-checksum`, `udp/no-socket`). */
  drops: Record<string, number>;
}

function traffic(): TrafficCounters {
  return { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 };
}

/**
 * The stack's live counters.
 *
 * @example
 * ```ts
 * import { StatsCounters } from "./stats.ts";
 * const stats = new StatsCounters();
 * stats.drop("ipv4", "bad-checksum");
 * console.log(stats.snapshot().drops); // { "ipv4/bad-checksum": 1 }
 * ```
 */
export class StatsCounters {
  /** Live counters; mutate in place. */
  readonly live: StackStats = {
    ethernet: traffic(),
    arp: traffic(),
    ipv4: { ...traffic(), fragmentsIn: 0, reassembled: 0, fragmentsOut: 0 },
    icmp: { ...traffic(), echoRequestsIn: 0, errorsIn: 0, errorsOut: 0 },
    udp: traffic(),
    igmp: { ...traffic(), queriesIn: 0, reportsOut: 0, leavesOut: 0 },
    tcp: { ...traffic(), retransmits: 0, resetsOut: 0, activeOpens: 0, passiveOpens: 0 },
    drops: {},
  };

  /** Counts one dropped packet. */
  drop(layer: string, reason: string): void {
    const key = `${layer}/${reason}`;
    this.live.drops[key] = (this.live.drops[key] ?? 0) + 1;
  }

  /** The total number of drops. */
  get totalDrops(): number {
    let n = 0;
    for (const v of Object.values(this.live.drops)) n += v;
    return n;
  }

  /** A copy of the counters. */
  snapshot(): StackStats {
    return structuredClone(this.live);
  }
}
