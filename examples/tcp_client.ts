/**
 * A TCP client on usernet's own stack: connects, sends a message, half-closes, and prints what
 * comes back.
 *
 *   deno run -A examples/tcp_client.ts --tap tap0 --address 10.0.0.2/24 10.0.0.1 7 "hello"
 *   deno run examples/tcp_client.ts --memory     # a memory link to an echo server in-process
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NIC_FLAG_OPTIONS, openStack, runMain } from "../cli/_nic_flags.ts";
import { MemoryLink } from "../drivers/memory.ts";
import { Stack } from "../net/stack.ts";
import { serveEcho } from "./tcp_echo_server.ts";

runMain(async () => {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { ...NIC_FLAG_OPTIONS, memory: { type: "boolean" } },
    allowPositionals: true,
  });
  let stack: Stack;
  let server: Stack | undefined;
  if (values.memory) {
    const [a, b] = MemoryLink.pair();
    server = new Stack({ nic: b, address: "10.0.0.1/24" });
    serveEcho(server, 7);
    stack = new Stack({ nic: a, address: "10.0.0.2/24" });
  } else {
    stack = await openStack(values);
  }
  const [host = "10.0.0.1", port = "7", message = "hello from usernet"] = positionals;
  const conn = await stack.connect({ hostname: host, port: Number(port) });
  await conn.write(new TextEncoder().encode(message + "\n"));
  await conn.closeWrite();
  console.log((await new Response(conn.readable).text()).trimEnd());
  conn.close();
  await stack.close();
  await server?.close();
});
