import type { NetworkInterface } from "./interface.ts";
import type { StatsCounters } from "./stats.ts";
import type { Ipv4Packet } from "./wire/ipv4.ts";

/** What the stack shares with its protocol layers. */
export interface StackInternals {
  readonly iface: NetworkInterface;
  readonly stats: StatsCounters;
  /** The stack's clock, in ms. */
  now(): number;
  /** Asks the event loop to flush output and re-arm its timer soon. */
  kick(): void;
  /** Parses dotted-quad text, throwing InvalidArgument otherwise. */
  parseAddress(text: string): number;
  /** Sends an ICMP port unreachable about `packet` (rate limited, RFC 1122 rules applied). */
  sendIcmpPortUnreachable(packet: Ipv4Packet): void;
}
