/**
 * `deno task demo`: two usernet stacks on an in-memory Ethernet link; one pings the other and
 * they exchange UDP, printing what happens. Needs no permissions.
 *
 * @module
 */
import { MemoryLink } from "../drivers/memory.ts";
import { Stack } from "../net/stack.ts";
import { pingLoop } from "./ping.ts";
import { formatStats } from "./up.ts";

if (import.meta.main) {
  const [a, b] = MemoryLink.pair();
  const left = new Stack({ nic: a, address: "10.0.0.1/24" });
  const right = new Stack({ nic: b, address: "10.0.0.2/24" });
  console.log(
    `left  ${left.mac} 10.0.0.1/24   <- memory link ->   right ${right.mac} 10.0.0.2/24\n`,
  );
  const status = await pingLoop(left, "10.0.0.2", { count: 3, intervalMs: 200 });
  const echo = right.listenDatagram({ port: 7 });
  const client = left.listenDatagram({});
  await client.send(new TextEncoder().encode("hello over usernet"), {
    hostname: "10.0.0.2",
    port: 7,
  });
  const [data, from] = await echo.receive();
  console.log(
    `\nUDP: right received "${new TextDecoder().decode(data)}" from ${from.hostname}:${from.port}`,
  );
  console.log(`\nleft's counters:\n${formatStats(left.stats())}`);
  echo.close();
  client.close();
  await left.close();
  await right.close();
  Deno.exit(status);
}
