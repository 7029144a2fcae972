/**
 * One SNTP measurement through a usernet {@linkcode Stack}: the {@linkcode SntpClient} core over
 * a UDP socket of the stack (a random source port), with `Date.now()` as the clock measured.
 *
 * @module
 */
import type { Stack } from "../stack.ts";
import { sntpQuery } from "./deno_transport.ts";
import type { SntpResult } from "./sntp.ts";

/**
 * Options of `stack.ntpQuery()`.
 *
 * @example
 * ```ts
 * import type { NtpQueryOptions } from "./stack_query.ts";
 * const o: NtpQueryOptions = { port: 123, timeoutMs: 1000, attempts: 3 };
 * ```
 */
export interface NtpQueryOptions {
  /** Server port. Default 123. */
  port?: number;
  /** Wait for the first reply, ms; doubles each retry. Default 2000. */
  timeoutMs?: number;
  /** Requests sent at most. Default 3. */
  attempts?: number;
}

/**
 * Asks `server` (an IPv4 address, or a name the stack resolves) for the time. Resolves with the
 * clock offset and round-trip delay; rejects with `SntpTimeout`, `SntpKissOfDeath`,
 * `SntpUnsynchronized` or `SntpBadReply`, or a DNS error for a name that does not resolve.
 *
 * @example
 * ```ts ignore
 * const r = await ntpQueryOver(stack, "10.0.2.2");
 * console.log(`offset ${r.offsetMs.toFixed(3)} ms, delay ${r.delayMs.toFixed(3)} ms`);
 * ```
 */
export async function ntpQueryOver(
  stack: Stack,
  server: string,
  options: NtpQueryOptions = {},
): Promise<SntpResult> {
  const address = await stack.resolver.lookupIpv4(server);
  // The query's transmit time is stamped when it is built: an ARP wait before it leaves would
  // read as clock offset. Resolve the next hop first (best effort: the query reports failure).
  await stack.resolveNextHop(address).catch(() => {});
  const outcome = await sntpQuery({ ...options, server: address }, { net: stack });
  if (!outcome.ok) throw outcome.error;
  return outcome.result;
}
