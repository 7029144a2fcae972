/**
 * TCP connection states (RFC 9293 §3.3.2).
 *
 * @module
 */

/** One of the eleven TCP states. */
export type TcpState =
  | "CLOSED"
  | "LISTEN"
  | "SYN-SENT"
  | "SYN-RECEIVED"
  | "ESTABLISHED"
  | "FIN-WAIT-1"
  | "FIN-WAIT-2"
  | "CLOSE-WAIT"
  | "CLOSING"
  | "LAST-ACK"
  | "TIME-WAIT";

/**
 * Whether the state is synchronized (a SYN was received and acknowledged in both directions,
 * RFC 9293 §3.5.2).
 *
 * @example
 * ```ts
 * import { isSynchronized } from "./state.ts";
 * console.log(isSynchronized("ESTABLISHED"), isSynchronized("SYN-SENT")); // true false
 * ```
 */
export function isSynchronized(state: TcpState): boolean {
  return state !== "CLOSED" && state !== "LISTEN" && state !== "SYN-SENT" &&
    state !== "SYN-RECEIVED";
}
