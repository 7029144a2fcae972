/**
 * Per-connection TCP tunables, with defaults for bulk transfer on a LAN or a VM link.
 *
 * @module
 */
import type { CongestionAlgorithm } from "./congestion.ts";
import { DEFAULT_RTO_BOUNDS, type RtoBounds } from "./rtt.ts";

/** TCP settings of one connection. */
export interface TcpConfig {
  /** Largest payload per segment we accept, announced as our MSS (MTU − 40). */
  maxSegmentSize: number;
  /** Send buffer, bytes (default 1 MiB). */
  sendBufferSize: number;
  /** Receive buffer, bytes: the largest window we advertise (default 1 MiB). */
  receiveBufferSize: number;
  /** Offer window scaling (RFC 7323 §2). */
  windowScaling: boolean;
  /** Offer timestamps (RFC 7323 §3). */
  timestamps: boolean;
  /** Offer SACK (RFC 2018). */
  sack: boolean;
  /** Disable Nagle's algorithm. */
  noDelay: boolean;
  /** Congestion control algorithm. */
  congestionControl: CongestionAlgorithm;
  /** Delayed ACK timeout, ms (RFC 9293 §3.8.6.3 allows up to 500; Linux uses 40). */
  delayedAckTimeout: number;
  /** Time in TIME-WAIT (2 × MSL), ms (default 60 000, as Linux). */
  timeWaitTimeout: number;
  /** Time an orphaned connection may sit in FIN-WAIT-2, ms (default 60 000, Linux's tcp_fin_timeout). */
  finWait2Timeout: number;
  /** RTO bounds. */
  rto: RtoBounds;
  /** SYN retransmissions before connect fails (default 6, as Linux: about 127 s). */
  synRetries: number;
  /** SYN-ACK retransmissions before a half-open connection is dropped (default 5). */
  synAckRetries: number;
  /** Data retransmissions before the connection is declared dead (default 15, as Linux). */
  maxRetransmissions: number;
  /** If set, abort when sent data stays unacknowledged this long, ms (RFC 5482 user timeout). */
  userTimeout: number;
  /** Keepalive: on, idle time, probe interval (ms) and probe count (RFC 1122 §4.2.3.6). */
  keepAlive: boolean;
  /** Idle time before the first keepalive probe, ms (default 7 200 000). */
  keepAliveIdle: number;
  /** Time between keepalive probes, ms (default 75 000). */
  keepAliveInterval: number;
  /** Unanswered probes before the connection is dropped (default 9). */
  keepAliveProbes: number;
  /** Most separate out-of-order ranges kept (default 32). */
  maxOutOfOrderRanges: number;
  /** Challenge ACKs per second per connection (RFC 5961 §7; default 10). */
  challengeAckLimit: number;
}

/**
 * Default settings for a link MTU.
 *
 * @example
 * ```ts
 * import { defaultTcpConfig } from "./config.ts";
 * console.log(defaultTcpConfig(1500).maxSegmentSize); // 1460
 * ```
 */
export function defaultTcpConfig(mtu: number): TcpConfig {
  return {
    maxSegmentSize: Math.min(65495, mtu - 40),
    sendBufferSize: 1 << 20,
    receiveBufferSize: 1 << 20,
    windowScaling: true,
    timestamps: true,
    sack: true,
    noDelay: false,
    congestionControl: "newreno",
    delayedAckTimeout: 40,
    timeWaitTimeout: 60_000,
    finWait2Timeout: 60_000,
    rto: DEFAULT_RTO_BOUNDS,
    synRetries: 6,
    synAckRetries: 5,
    maxRetransmissions: 15,
    userTimeout: 0,
    keepAlive: false,
    keepAliveIdle: 7_200_000,
    keepAliveInterval: 75_000,
    keepAliveProbes: 9,
    maxOutOfOrderRanges: 32,
    challengeAckLimit: 10,
  };
}
