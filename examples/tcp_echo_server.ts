/**
 * A TCP echo server on usernet's own stack: each connection gets back what it sends.
 *
 *   ip tuntap add dev tap0 mode tap && ip addr add 10.0.0.1/24 dev tap0 && ip link set tap0 up
 *   deno run -A examples/tcp_echo_server.ts --tap tap0 --address 10.0.0.2/24 --port 7
 *   echo hello | nc -N 10.0.0.2 7
 *
 * `examples/tcp_client.ts --memory` runs this server and a client in one process.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NIC_FLAG_OPTIONS, openStack, runMain } from "../cli/_nic_flags.ts";
import type { Stack } from "../net/stack.ts";

/**
 * Echoes every connection to `port` until the stack closes.
 *
 * @example
 * ```ts ignore
 * serveEcho(stack, 7);
 * ```
 */
export async function serveEcho(stack: Stack, port: number): Promise<void> {
  for await (const conn of stack.listen({ port })) {
    // Everything read is written back; the peer's FIN closes our side after the last byte.
    conn.readable.pipeTo(conn.writable).catch((e) => console.error(`${e.name}: ${e.message}`))
      .finally(() => conn.close());
  }
}

if (import.meta.main) {
  runMain(async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: { ...NIC_FLAG_OPTIONS, port: { type: "string", default: "7" } },
    });
    const stack = await openStack(values);
    console.log(`echo server on ${stack.ipv4!.address}:${values.port}`);
    await serveEcho(stack, Number(values.port));
  });
}
