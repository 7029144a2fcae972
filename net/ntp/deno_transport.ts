/**
 * Runs an {@link SntpClient} over a UDP socket, with `Date.now()` as the local clock. By default
 * the host's socket (Deno.listenDatagram); any provider of the same shape works, such as the
 * usernet stack.
 *
 * Needs `--allow-net` and `--unstable-net` (or `"unstable": ["net"]` in deno.json).
 *
 * @module
 */

import { SntpClient, type SntpClientOptions, type SntpOutcome } from "./client.ts";

/**
 * The socket call this layer makes, shaped like `Deno`'s (the usernet stack has the same shape).
 *
 * @example
 * ```ts
 * import type { SntpSocketProvider } from "./deno_transport.ts";
 * const host: SntpSocketProvider = Deno;
 * ```
 */
export interface SntpSocketProvider {
  /** Binds a UDP socket (port 0: an ephemeral port). */
  listenDatagram(options: { hostname: string; port: number; transport: "udp" }): {
    receive(): Promise<[Uint8Array, unknown]>;
    send(
      data: Uint8Array,
      to: { hostname: string; port: number; transport: "udp" },
    ): Promise<number>;
    close(): void;
  };
}

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
  io: { clock?: () => number; net?: SntpSocketProvider } = {},
): Promise<SntpOutcome> {
  const clock = io.clock ?? Date.now;
  const client = new SntpClient({
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    ...options,
  });
  const socket = (io.net ?? Deno).listenDatagram({
    hostname: "0.0.0.0",
    port: 0,
    transport: "udp",
  });
  // One receive in flight at a time, kept across timer wake-ups.
  let pending: Promise<[Uint8Array, unknown] | null> | undefined;
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
        const { hostname, port } = addr as { hostname: string; port: number };
        client.receive(hostname, port, bytes, clock());
      }
    }
  } finally {
    socket.close();
    await pending;
  }
}
