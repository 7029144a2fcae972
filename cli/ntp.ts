/**
 * `deno task ntp SERVER [--port N] [--timeout MS] [NIC flags]`: one SNTP measurement (RFC 4330)
 * of the local clock against SERVER, printed as offset and round-trip delay. With NIC flags it
 * goes through a usernet stack (SERVER may be a name, resolved through the stack); without,
 * through the host's sockets (SERVER must be an IPv4 address).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { hasNicFlags } from "./_connect.ts";
import { NIC_FLAG_OPTIONS, NIC_FLAGS_HELP, openStack, runMain, UsageError } from "./_nic_flags.ts";
import { sntpQuery } from "../net/ntp/deno_transport.ts";
import type { SntpResult } from "../net/ntp/sntp.ts";
import { parseIpv4Address } from "../net/wire/address.ts";

const HELP = `usage: deno task ntp SERVER [options] [NIC-FLAGS]
  --port N        server port (default 123)
  --timeout MS    wait for the first reply (default 2000; doubles per retry, 3 tries)
  --host          skip usernet: query from the host's own sockets
Without NIC flags the query goes through usernet behind the embedded gateway.
${NIC_FLAGS_HELP}`;

const signed = (ms: number) => `${ms >= 0 ? "+" : ""}${ms.toFixed(3)}`;

/**
 * One line about a measurement, like `10.0.2.2: offset +0.123 ms, delay 0.456 ms, stratum 2`.
 *
 * @example
 * ```ts
 * import { formatNtpResult } from "./ntp.ts";
 * console.log(formatNtpResult("10.0.2.2", {
 *   offsetMs: 0.5, delayMs: 1, stratum: 2, leap: 0, version: 4, precision: -20,
 *   rootDelayMs: 0, rootDispersionMs: 0, referenceId: "GPS", receivedAt: 0, transmittedAt: 0,
 * }));
 * ```
 */
export function formatNtpResult(server: string, r: SntpResult): string {
  return `${server}: offset ${signed(r.offsetMs)} ms, delay ${r.delayMs.toFixed(3)} ms, ` +
    `stratum ${r.stratum}, reference ${r.referenceId}`;
}

/**
 * Runs the command line; returns the line to print.
 *
 * @example
 * ```ts ignore
 * console.log(await ntp(["10.0.2.2", "--tap", "tap0", "--dhcp"]));
 * ```
 */
export async function ntp(args: string[], log: (line: string) => void = () => {}): Promise<string> {
  const parse = () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...NIC_FLAG_OPTIONS,
        port: { type: "string" },
        timeout: { type: "string" },
        host: { type: "boolean" },
      },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    throw new UsageError((error as Error).message); // parseArgs' complaint about the flags
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError("give one SERVER (see --help)");
  const server = positionals[0];
  const port = values.port === undefined ? 123 : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--port must be 1–65535, got ${values.port}`);
  }
  const timeoutMs = values.timeout === undefined ? 2000 : Number(values.timeout);
  if (!(timeoutMs > 0)) throw new UsageError("--timeout needs a positive number of ms");
  if (hasNicFlags(values) || !values.host) {
    const stack = await openStack(values, log);
    try {
      return formatNtpResult(server, await stack.ntpQuery(server, { port, timeoutMs }));
    } finally {
      await stack.close();
    }
  }
  if (parseIpv4Address(server) === undefined) {
    throw new UsageError(`with --host SERVER must be an IPv4 address, got "${server}"`);
  }
  const outcome = await sntpQuery({ server, port, timeoutMs });
  if (!outcome.ok) throw outcome.error;
  return formatNtpResult(server, outcome.result);
}

if (import.meta.main) {
  runMain(async () => {
    if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
      console.log(HELP);
      return 0;
    }
    console.log(await ntp(Deno.args, (l) => console.error(l)));
    return 0;
  });
}
