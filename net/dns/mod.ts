/**
 * DNS for usernet: the wire format, a sans-IO stub resolver with cache and hosts table,
 * `dig +short`-style formatting, and the resolver's glue on a usernet stack
 * ({@linkcode StackResolver}, behind `stack.resolve()`).
 *
 * @example Resolve from the hosts table (no I/O needed)
 * ```ts
 * import { formatShort, Resolver } from "./mod.ts";
 * const resolver = new Resolver({ servers: ["10.0.2.3"], random: Math.random });
 * resolver.resolve("localhost", 1, 0);
 * const [done] = resolver.poll(0).completions;
 * if (done.ok) console.log(formatShort(done.answer)); // ["127.0.0.1"]
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./types.ts";
export * from "./name.ts";
export * from "./message.ts";
export * from "./cache.ts";
export * from "./hosts.ts";
export * from "./resolver.ts";
export * from "./format.ts";
export * from "./deno_transport.ts";
export * from "./stack_resolver.ts";
