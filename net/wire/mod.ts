/**
 * Pure parse/serialize of each header: zero-copy views over `Uint8Array`, typed errors, no
 * state, no I/O.
 *
 * @example
 * ```ts
 * import { parseEthernet, EthernetFrame } from "./mod.ts";
 * const frame = parseEthernet(new Uint8Array(60));
 * console.log(frame instanceof EthernetFrame); // true
 * ```
 *
 * @module
 */
export * from "./address.ts";
export * from "./arp.ts";
export * from "./checksum.ts";
export * from "./errors.ts";
export * from "./ethernet.ts";
export * from "./icmpv4.ts";
export * from "./ipv4.ts";
export * from "./tcp.ts";
export * from "./udp.ts";
export * from "./igmp.ts";
