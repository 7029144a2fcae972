/**
 * `deno task up NIC-FLAGS`: brings a usernet stack up and keeps answering ARP and ping until
 * interrupted, then prints its counters.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NIC_FLAG_OPTIONS, NIC_FLAGS_HELP, openStack, runMain } from "./_nic_flags.ts";
import type { StackStats } from "../net/stats.ts";

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

if (import.meta.main) {
  runMain(async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: { ...NIC_FLAG_OPTIONS, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      console.log(`usage: deno task up NIC-FLAGS\n${NIC_FLAGS_HELP}`);
      return 0;
    }
    const stack = await openStack(values, (l) => console.error(l));
    const v4 = stack.ipv4!;
    console.log(
      `usernet up on ${stack.nic.name}: ${v4.address}/${v4.prefixLength}${
        v4.gateway ? ` via ${v4.gateway}` : ""
      }, MAC ${stack.mac}, MTU ${stack.mtu}`,
    );
    console.log("answering ARP and ping; Ctrl-C to stop");
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    });
    const stats = stack.stats();
    await stack.close();
    console.log(formatStats(stats));
    return 0;
  });
}
