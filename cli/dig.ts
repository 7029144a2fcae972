/**
 * `deno task dig NAME [TYPE] [--type A|AAAA|CNAME|MX|TXT|NS|...] [--server IP[:PORT]] [NIC flags]`:
 * DNS lookups printed like `dig +short`. With NIC flags the query goes through a usernet stack
 * (servers: `--server`, else `--dns`, else the DHCP lease's); without, through the host's sockets
 * (server: `--server`, else the first nameserver of /etc/resolv.conf).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { hasNicFlags } from "./_connect.ts";
import { NIC_FLAG_OPTIONS, NIC_FLAGS_HELP, openStack, runMain, UsageError } from "./_nic_flags.ts";
import { DenoDnsTransport } from "../net/dns/deno_transport.ts";
import { nameserverFromResolvConf } from "../net/dns/dig.ts";
import { DnsResolveError } from "../net/dns/errors.ts";
import { formatShort } from "../net/dns/format.ts";
import { type DnsAnswer, Resolver } from "../net/dns/resolver.ts";
import { typeFromString } from "../net/dns/types.ts";
import { formatIpv4, parseIpv4 } from "../net/dns/_ipv4.ts";

const HELP = `usage: deno task dig NAME [TYPE] [options] [NIC-FLAGS]
  -t, --type TYPE        record type: A (default), AAAA, CNAME, MX, TXT, NS, SOA, SRV, PTR, ...
  --server IP[:PORT]     DNS server (also @IP[:PORT]); default: --dns, the DHCP lease,
                         or the embedded gateway's forwarder (10.0.2.3)
  --timeout MS           first attempt's timeout (default 1000; doubles per round)
  --host                 skip usernet: ask from the host's own sockets (/etc/resolv.conf)
Without NIC flags the lookup goes through usernet behind the embedded gateway.
${NIC_FLAGS_HELP}`;

/** What the command line asks for. */
interface DigCommand {
  name: string;
  type: number;
  server?: { address: string; port: number };
  timeoutMs: number;
}

function parseServer(text: string): { address: string; port: number } {
  const [address, portText, extra] = text.split(":");
  const port = portText === undefined ? 53 : Number(portText);
  try {
    parseIpv4(address);
  } catch {
    throw new UsageError(`server "${text}" is not an IPv4 address`);
  }
  if (extra !== undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`server "${text}" is not IP or IP:PORT`);
  }
  return { address, port };
}

function recordType(text: string): number {
  const type = typeFromString(text);
  if (type === undefined) throw new UsageError(`unknown record type "${text}"`);
  return type;
}

/**
 * Runs one lookup as the command line says; returns the lines to print and the exit status
 * (0 answered, 1 DNS failure; usage errors throw `UsageError`).
 *
 * @example
 * ```ts ignore
 * const { lines, status } = await dig(["example.test", "--server", "127.0.0.1:5353"]);
 * ```
 */
export async function dig(
  args: string[],
  log: (line: string) => void = () => {},
): Promise<{ lines: string[]; status: number }> {
  const parse = () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...NIC_FLAG_OPTIONS,
        type: { type: "string", short: "t" },
        server: { type: "string" },
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
  let server = values.server === undefined ? undefined : parseServer(values.server);
  const words: string[] = [];
  for (const p of positionals) {
    if (p.startsWith("@")) server = parseServer(p.slice(1));
    else if (p !== "+short") words.push(p);
  }
  if (words.length === 0 || words.length > 2) throw new UsageError("give one NAME (see --help)");
  const timeoutMs = values.timeout === undefined ? 1000 : Number(values.timeout);
  if (!(timeoutMs > 0)) throw new UsageError("--timeout needs a positive number of ms");
  const command: DigCommand = {
    name: words[0],
    type: recordType(values.type ?? words[1] ?? "A"),
    server,
    timeoutMs,
  };
  let outcome: { ok: true; answer: DnsAnswer } | { ok: false; error: DnsResolveError };
  if (hasNicFlags(values) || !values.host) {
    const servers = command.server ? [command.server] : undefined;
    const stack = await openStack(values, log);
    try {
      // --server overrides --dns and the lease for this lookup.
      const { StackResolver } = await import("../net/dns/stack_resolver.ts");
      const resolver = servers
        ? new StackResolver(stack, { servers, timeoutMs: command.timeoutMs })
        : stack.resolver;
      try {
        outcome = {
          ok: true,
          answer: await resolver.resolve(command.name, { type: command.type }),
        };
      } catch (error) {
        if (!(error instanceof DnsResolveError)) throw error;
        outcome = { ok: false, error };
      } finally {
        if (resolver !== stack.resolver) await resolver.close();
      }
    } finally {
      await stack.close();
    }
  } else {
    let target = command.server;
    if (!target) {
      const text = await Deno.readTextFile("/etc/resolv.conf").catch(() => "");
      const address = nameserverFromResolvConf(text);
      if (address === undefined) {
        throw new UsageError("no --server and no IPv4 nameserver in /etc/resolv.conf");
      }
      target = { address: formatIpv4(address), port: 53 };
    }
    const transport = new DenoDnsTransport(
      new Resolver({
        servers: [target],
        random: () => crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32,
        timeoutMs: command.timeoutMs,
      }),
    );
    try {
      outcome = await transport.resolve(command.name, command.type);
    } finally {
      await transport.close();
    }
  }
  if (outcome.ok) return { lines: formatShort(outcome.answer), status: 0 };
  return { lines: [`;; ${outcome.error.name}: ${outcome.error.message}`], status: 1 };
}

if (import.meta.main) {
  runMain(async () => {
    if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
      console.log(HELP);
      return 0;
    }
    const { lines, status } = await dig(Deno.args, (l) => console.error(l));
    if (lines.length) (status === 0 ? console.log : console.error)(lines.join("\n"));
    return status;
  });
}
