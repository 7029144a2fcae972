/**
 * DHCP for usernet: the BOOTP/DHCP wire format with options, sans-IO client and server
 * cores, and their glue on a usernet stack (`stack.dhcp()` runs {@linkcode StackDhcpClient};
 * {@linkcode StackDhcpServer} serves a link).
 *
 * @example
 * ```ts
 * import { DhcpClient, DhcpServer } from "./mod.ts";
 * const server = new DhcpServer({
 *   serverAddress: "10.0.2.2", prefixLength: 24, poolStart: "10.0.2.15", poolEnd: "10.0.2.30",
 * });
 * const client = new DhcpClient({ mac: Uint8Array.of(2, 0, 0, 0, 0, 1), random: Math.random,
 *   probe: false });
 * client.start(0);
 * for (const m of client.poll(0).send) {
 *   const offer = server.handle(m.payload, 0);
 *   if (offer) client.receive(offer.payload, 0);
 * }
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./options.ts";
export * from "./message.ts";
export * from "./client.ts";
export * from "./server.ts";
export * from "./stack_client.ts";
export * from "./stack_server.ts";
