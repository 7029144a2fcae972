/**
 * `dig +short` for usernet: `deno run -A net/dns/dig.ts [@SERVER[:PORT]] NAME [TYPE]
 * [--type TYPE] [--timeout MS]`. Prints one answer per line; failures go to stderr as the
 * typed error and exit with status 1.
 *
 * Without `@SERVER` the first `nameserver` of /etc/resolv.conf is used. This entry point runs
 * on the host's sockets ({@link DenoDnsTransport}); the same {@link Resolver} core runs inside
 * the usernet stack.
 *
 * @module
 */

import { parseIpv4 } from "./_ipv4.ts";
import { DenoDnsTransport } from "./deno_transport.ts";
import { formatShort } from "./format.ts";
import { Resolver } from "./resolver.ts";
import { RecordType, typeFromString } from "./types.ts";

/**
 * The command line was not understood.
 *
 * @example
 * ```ts
 * import { DigUsageError, parseDigArgs } from "./dig.ts";
 * try {
 *   parseDigArgs([]);
 * } catch (e) {
 *   console.assert(e instanceof DigUsageError);
 * }
 * ```
 */
export class DigUsageError extends Error {
  override name = "DigUsageError";
}

/**
 * What `dig` was asked to do.
 *
 * @example
 * ```ts
 * import type { DigRequest } from "./dig.ts";
 * const r: DigRequest = { name: "example.com", type: 1, timeoutMs: 1000 };
 * ```
 */
export interface DigRequest {
  /** Server, when given as `@ADDRESS[:PORT]`. */
  server?: { address: number; port: number };
  /** Name to look up. */
  name: string;
  /** Record type number. */
  type: number;
  /** First attempt timeout, ms. */
  timeoutMs: number;
}

/**
 * Parses dig-style arguments: `[@SERVER[:PORT]] NAME [TYPE] [--type TYPE] [--timeout MS]`.
 *
 * @example
 * ```ts
 * import { parseDigArgs } from "./dig.ts";
 * const r = parseDigArgs(["@127.0.0.1:5353", "example.com", "--type", "MX"]);
 * console.assert(r.type === 15 && r.server?.port === 5353);
 * ```
 */
export function parseDigArgs(args: string[]): DigRequest {
  let server: DigRequest["server"];
  let name: string | undefined;
  let type: number | undefined;
  let timeoutMs = 1000;
  const typeOf = (t: string) => {
    const n = typeFromString(t);
    if (n === undefined) throw new DigUsageError(`unknown record type "${t}"`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--type" || a === "-t") {
      if (i + 1 >= args.length) throw new DigUsageError(`${a} needs a record type`);
      type = typeOf(args[++i]);
    } else if (a.startsWith("--type=")) {
      type = typeOf(a.slice(7));
    } else if (a === "--timeout") {
      timeoutMs = Number(args[++i]);
      if (!(timeoutMs > 0)) throw new DigUsageError("--timeout needs a positive number of ms");
    } else if (a === "+short") {
      // The only output form: accepted for muscle memory.
    } else if (a.startsWith("@")) {
      const [host, port] = a.slice(1).split(":");
      try {
        server = { address: parseIpv4(host), port: port ? Number(port) : 53 };
      } catch {
        throw new DigUsageError(`server "${a.slice(1)}" is not an IPv4 address`);
      }
      if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535) {
        throw new DigUsageError(`bad port in "${a}"`);
      }
    } else if (a.startsWith("-")) {
      throw new DigUsageError(`unknown option "${a}"`);
    } else if (name === undefined) {
      name = a;
    } else if (type === undefined && typeFromString(a) !== undefined) {
      type = typeOf(a);
    } else {
      throw new DigUsageError(`unexpected argument "${a}"`);
    }
  }
  if (name === undefined) {
    throw new DigUsageError(
      "usage: dig [@SERVER[:PORT]] NAME [TYPE] [--type A|AAAA|CNAME|MX|TXT|NS|...] [--timeout MS]",
    );
  }
  return { server, name, type: type ?? RecordType.A, timeoutMs };
}

/**
 * The first IPv4 `nameserver` in resolv.conf text, if any.
 *
 * @example
 * ```ts
 * import { nameserverFromResolvConf } from "./dig.ts";
 * console.assert(nameserverFromResolvConf("# x\nnameserver 10.0.2.3\n") === 0x0a000203);
 * ```
 */
export function nameserverFromResolvConf(text: string): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+([0-9.]+)\s*$/.exec(line);
    if (m) {
      try {
        return parseIpv4(m[1]);
      } catch { /* not IPv4: keep looking */ }
    }
  }
  return undefined;
}

/**
 * Runs dig over the host's sockets; returns the lines and the exit status.
 *
 * @example
 * ```ts ignore
 * import { dig } from "./dig.ts";
 * const { lines, status } = await dig(["@127.0.0.1", "localhost"]);
 * ```
 */
export async function dig(args: string[]): Promise<{ lines: string[]; status: number }> {
  const request = parseDigArgs(args);
  let server = request.server;
  if (!server) {
    const text = await Deno.readTextFile("/etc/resolv.conf").catch(() => "");
    const address = nameserverFromResolvConf(text);
    if (address === undefined) {
      throw new DigUsageError("no @SERVER and no IPv4 nameserver in /etc/resolv.conf");
    }
    server = { address, port: 53 };
  }
  const transport = new DenoDnsTransport(
    new Resolver({
      servers: [server],
      random: () => crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32,
      timeoutMs: request.timeoutMs,
    }),
  );
  try {
    const done = await transport.resolve(request.name, request.type);
    if (done.ok) return { lines: formatShort(done.answer), status: 0 };
    return { lines: [`;; ${done.error.name}: ${done.error.message}`], status: 1 };
  } finally {
    await transport.close();
  }
}

if (import.meta.main) {
  try {
    const { lines, status } = await dig(Deno.args);
    (status === 0 ? console.log : console.error)(lines.join("\n"));
    Deno.exit(status);
  } catch (e) {
    console.error(e instanceof DigUsageError ? e.message : e);
    Deno.exit(2);
  }
}
