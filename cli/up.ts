/**
 * `deno task up NIC-FLAGS [--echo PORT] [--discard PORT]`: brings a usernet stack up and keeps
 * answering ARP and ping until interrupted, then prints its counters. `--echo` and `--discard`
 * (each repeatable) serve RFC 862 echo and RFC 863 discard on TCP and UDP, so the stack can be
 * tried with nc or curl:
 *
 * ```sh
 * deno task up --tap tap0 --address 10.0.0.2/24 --echo 7 --discard 9
 * echo hello | nc -N 10.0.0.2 7        # TCP echo
 * echo hello | nc -u -w1 10.0.0.2 7    # UDP echo
 * head -c 100M /dev/zero | nc -N 10.0.0.2 9   # TCP discard: a throughput check
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NIC_FLAG_OPTIONS, NIC_FLAGS_HELP, openStack, runMain, UsageError } from "./_nic_flags.ts";
import type { StackStats } from "../net/stats.ts";
import type { Stack } from "../net/stack.ts";
import type { TcpConn } from "../net/tcp/conn.ts";

/**
 * Formats the stack's counters as aligned lines.
 *
 * @example
 * ```ts ignore
 * console.log(formatStats(stack.stats()));
 * ```
 */
export function formatStats(stats: StackStats): string {
  const lines: string[] = [];
  for (const layer of ["ethernet", "arp", "ipv4", "icmp", "udp", "tcp"] as const) {
    const s = stats[layer] as unknown as Record<string, number>;
    lines.push(`${layer.padEnd(9)} ${Object.entries(s).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }
  const drops = Object.entries(stats.drops);
  lines.push(`drops     ${drops.length ? drops.map(([k, v]) => `${k}=${v}`).join(" ") : "none"}`);
  return lines.join("\n");
}

/** A service `up` runs: echo (RFC 862) or discard (RFC 863). */
export type ServiceKind = "echo" | "discard";

/** A running service on TCP and UDP; `close()` stops both. */
export interface RunningService {
  /** Stops the listener and the UDP socket. */
  close(): void;
}

/**
 * Serves echo or discard on `port`, TCP and UDP, logging each TCP connection's end.
 *
 * @example
 * ```ts ignore
 * const service = serve(stack, "echo", 7, console.error);
 * ```
 */
export function serve(
  stack: Stack,
  kind: ServiceKind,
  port: number,
  log: (line: string) => void = () => {},
): RunningService {
  const listener = stack.listen({ port });
  const socket = stack.listenDatagram({ port });
  (async () => {
    for await (const conn of listener) serveConnection(conn, kind, log);
  })();
  (async () => {
    try {
      for (;;) {
        const [data, from] = await socket.receive();
        if (kind === "echo") await socket.send(data, from);
      }
    } catch { /* socket closed */ }
  })();
  return {
    close() {
      listener.close();
      socket.close();
    },
  };
}

async function serveConnection(
  conn: TcpConn,
  kind: ServiceKind,
  log: (line: string) => void,
): Promise<void> {
  const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
  const buffer = new Uint8Array(64 * 1024);
  let bytes = 0;
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      bytes += n;
      if (kind === "echo") await conn.write(buffer.subarray(0, n));
    }
    await conn.closeWrite();
    log(`${kind}: ${peer} done, ${bytes} bytes`);
  } catch (error) {
    log(`${kind}: ${peer} ended: ${(error as Error).message}`);
  } finally {
    conn.close();
  }
}

function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--${flag} needs a port 1–65535, got ${text}`);
  }
  return port;
}

if (import.meta.main) {
  runMain(async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        ...NIC_FLAG_OPTIONS,
        echo: { type: "string", multiple: true },
        discard: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(
        `usage: deno task up NIC-FLAGS [--echo PORT] [--discard PORT]\n${NIC_FLAGS_HELP}\n` +
          `Services (TCP and UDP, each flag repeatable):\n` +
          `  --echo PORT                    echo (RFC 862): sends back what it gets\n` +
          `  --discard PORT                 discard (RFC 863): reads and drops`,
      );
      return 0;
    }
    const echoPorts = (values.echo ?? []).map((p) => parsePort(p, "echo"));
    const discardPorts = (values.discard ?? []).map((p) => parsePort(p, "discard"));
    const stack = await openStack(values, (l) => console.error(l));
    const v4 = stack.ipv4!;
    console.log(
      `usernet up on ${stack.nic.name}: ${v4.address}/${v4.prefixLength}${
        v4.gateway ? ` via ${v4.gateway}` : ""
      }, MAC ${stack.mac}, MTU ${stack.mtu}`,
    );
    const services = [
      ...echoPorts.map((port) => serve(stack, "echo", port, (l) => console.error(l))),
      ...discardPorts.map((port) => serve(stack, "discard", port, (l) => console.error(l))),
    ];
    for (const port of echoPorts) console.log(`echo on tcp/${port} and udp/${port}`);
    for (const port of discardPorts) console.log(`discard on tcp/${port} and udp/${port}`);
    console.log("answering ARP and ping; Ctrl-C to stop");
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    });
    for (const service of services) service.close();
    const stats = stack.stats();
    await stack.close();
    console.log(formatStats(stats));
    return 0;
  });
}
