/**
 * SNTP (RFC 4330) for usernet: NTP timestamps, request/reply checks, offset and delay, a
 * sans-IO client with retries, and a query through a usernet stack ({@linkcode ntpQueryOver},
 * behind `stack.ntpQuery()`).
 *
 * @example
 * ```ts
 * import { createSntpRequest } from "./mod.ts";
 * const request = createSntpRequest(Date.now());
 * console.assert(request.payload.length === 48);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./timestamp.ts";
export * from "./sntp.ts";
export * from "./client.ts";
export * from "./deno_transport.ts";
export * from "./stack_query.ts";
