/**
 * Runs an {@link SntpClient} over a host UDP socket (Deno.listenDatagram), with `Date.now()`
 * as the local clock. The thin I/O layer for tools and tests on the host network; inside
 * usernet the stack drives the same core over its own UDP.
 *
 * Needs `--allow-net` and `--unstable-net` (or `"unstable": ["net"]` in deno.json).
 *
 * @module
 */

import { SntpClient, type SntpClientOptions, type SntpOutcome } from "./client.ts";

const dotted = (a: number) => `${a >>> 24}.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}`;

/**
 * Measures the local clock against one SNTP server over the host network.
 *
 * @example
 * ```ts ignore
 * import { sntpQuery } from "./deno_transport.ts";
 * const outcome = await sntpQuery({ server: "127.0.0.1", port: 123 });
 * if (outcome.ok) console.log(`offset ${outcome.result.offsetMs} ms`);
 * ```
 */
export async function sntpQuery(
  options: SntpClientOptions,
  clock: () => number = Date.now,
): Promise<SntpOutcome> {
  const client = new SntpClient({
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    ...options,
  });
  const socket = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
  // One receive in flight at a time, kept across timer wake-ups.
  let pending: Promise<[Uint8Array, Deno.Addr] | null> | undefined;
  try {
    client.start(clock());
    for (;;) {
      const out = client.poll(clock());
      for (const d of out.datagrams) {
        try {
          await socket.send(d.payload, {
            hostname: dotted(d.server),
            port: d.port,
            transport: "udp",
          });
        } catch { /* unreachable now: the core's timer retries */ }
      }
      if (out.done) return out.done;
      pending ??= socket.receive().catch(() => null);
      const wait = Math.max(0, (out.deadline ?? clock()) - clock());
      let timer: ReturnType<typeof setTimeout> | undefined;
      const received = await Promise.race([
        pending,
        new Promise<"timer">((r) => timer = setTimeout(() => r("timer"), wait)),
      ]);
      clearTimeout(timer);
      if (received === "timer") continue;
      pending = undefined;
      if (received) {
        const [bytes, addr] = received;
        const { hostname, port } = addr as Deno.NetAddr;
        client.receive(hostname, port, bytes, clock());
      }
    }
  } finally {
    socket.close();
    await pending;
  }
}
