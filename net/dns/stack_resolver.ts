/**
 * Name resolution for a usernet {@linkcode Stack}: the {@linkcode Resolver} core over the stack's
 * own UDP (a new socket, so a new random source port, per attempt) and TCP (when an answer is
 * truncated), with one TTL cache of bounded size and a static hosts table shared by every
 * lookup. The servers are the stack's `dns` option, else those of its DHCP lease, read at each
 * lookup.
 *
 * @module
 */
import type { Stack } from "../stack.ts";
import { parseIpv4Address } from "../wire/address.ts";
import { DnsCache, type DnsCacheOptions } from "./cache.ts";
import { DenoDnsTransport } from "./deno_transport.ts";
import { DnsBadQuery, DnsNoData } from "./errors.ts";
import { HostsTable } from "./hosts.ts";
import { type DnsAnswer, type DnsServerAddress, Resolver } from "./resolver.ts";
import { RecordType, typeFromString } from "./types.ts";
import { parseIpv4 } from "./_ipv4.ts";

/**
 * DNS settings of a stack (`new Stack({ nic, dns: {...} })`).
 *
 * @example
 * ```ts
 * import type { StackDnsOptions } from "./stack_resolver.ts";
 * const o: StackDnsOptions = { servers: ["10.0.2.3"], hosts: { "gateway.lan": "10.0.2.2" } };
 * ```
 */
export interface StackDnsOptions {
  /** Servers to ask, in order; default: the DHCP lease's. */
  servers?: Array<string | DnsServerAddress>;
  /** Static names answered first: a table, or name -> address(es). `localhost` is built in. */
  hosts?: HostsTable | Record<string, string | string[]>;
  /** Cache bounds; `false` disables the cache. */
  cache?: DnsCacheOptions | false;
  /** First attempt's timeout, ms (doubles per round). Default 1000. */
  timeoutMs?: number;
  /** Rounds over the server list. Default 3. */
  rounds?: number;
}

/**
 * Options of one lookup.
 *
 * @example
 * ```ts
 * import type { ResolveOptions } from "./stack_resolver.ts";
 * const o: ResolveOptions = { type: "AAAA" };
 * ```
 */
export interface ResolveOptions {
  /** Record type: a mnemonic (`"A"`, `"MX"`, ...) or its number. Default `"A"`. */
  type?: string | number;
}

/**
 * The stack's resolver. Made on first use by `stack.resolve()`; reach it as `stack.resolver`.
 *
 * @example
 * ```ts ignore
 * const answer = await stack.resolve("example.com", { type: "AAAA" });
 * console.log(formatShort(answer).join("\n"));
 * ```
 */
export class StackResolver {
  /** The static hosts table. */
  readonly hosts: HostsTable;
  /** The answer cache (shared by every server set), if enabled. */
  readonly cache: DnsCache | undefined;
  readonly #stack: Stack;
  readonly #options: StackDnsOptions;
  readonly #leaseServers: () => number[];
  #transport: DenoDnsTransport | undefined;
  #transportKey = "";
  readonly #transports = new Set<DenoDnsTransport>();

  /** `leaseServers` gives the DHCP lease's servers (read at each lookup). */
  constructor(
    stack: Stack,
    options: StackDnsOptions = {},
    leaseServers: () => number[] = () => [],
  ) {
    this.#stack = stack;
    this.#options = options;
    this.#leaseServers = leaseServers;
    const hosts = options.hosts;
    if (hosts instanceof HostsTable) {
      this.hosts = hosts;
    } else {
      this.hosts = new HostsTable();
      for (const [name, value] of Object.entries(hosts ?? {})) {
        for (const address of Array.isArray(value) ? value : [value]) this.hosts.add(name, address);
      }
    }
    this.cache = options.cache === false ? undefined : new DnsCache(options.cache ?? {});
  }

  /** The servers the next lookup asks, as `address:port` text. */
  get servers(): string[] {
    return this.#servers().map((s) => `${dotted(s.address)}:${s.port}`);
  }

  #servers(): Array<{ address: number; port: number }> {
    const configured = this.#options.servers;
    if (configured?.length) {
      return configured.map((s) => {
        const spec = typeof s === "string" ? { address: s } : s;
        const address = typeof spec.address === "string"
          ? parseIpv4(spec.address)
          : spec.address >>> 0;
        return { address, port: spec.port ?? 53 };
      });
    }
    return this.#leaseServers().map((address) => ({ address, port: 53 }));
  }

  /** The transport for the current server set (a new core when the servers changed). */
  #current(): DenoDnsTransport {
    const servers = this.#servers();
    const key = servers.map((s) => `${s.address}:${s.port}`).join(",");
    if (!this.#transport || key !== this.#transportKey) {
      const resolver = new Resolver({
        servers,
        random: cryptoRandom,
        hosts: this.hosts,
        cache: this.cache ?? false,
        timeoutMs: this.#options.timeoutMs,
        rounds: this.#options.rounds,
      });
      this.#transport = new DenoDnsTransport(resolver, {
        clock: () => this.#stack._internals.now(),
        net: this.#stack,
      });
      this.#transports.add(this.#transport);
      this.#transportKey = key;
      // Bounded: a lease that keeps changing servers cannot pile up transports.
      for (const old of this.#transports) {
        if (this.#transports.size <= 4) break;
        this.#transports.delete(old);
        old.close();
      }
    }
    return this.#transport;
  }

  /**
   * Looks `name` up. Resolves with the answer (its `records` are of the type asked, after any
   * CNAME chain); rejects with a `DnsResolveError` subclass: `DnsNameNotFound`, `DnsNoData`,
   * `DnsTimeout` (also when no server is configured), `DnsServerFailure`, `DnsRefused`,
   * `DnsBadQuery`.
   */
  async resolve(name: string, options: ResolveOptions = {}): Promise<DnsAnswer> {
    const type = typeof options.type === "number"
      ? options.type
      : options.type === undefined
      ? RecordType.A
      : typeFromString(options.type);
    if (type === undefined) {
      throw new DnsBadQuery(name, String(options.type), "unknown record type");
    }
    const done = await this.#current().resolve(name, type);
    if (!done.ok) throw done.error;
    return done.answer;
  }

  /**
   * The first IPv4 address of `name`: the name itself when it is an IPv4 literal, else its A
   * records (in the server's order). Rejects like {@linkcode resolve}.
   */
  async lookupIpv4(name: string): Promise<string> {
    if (parseIpv4Address(name) !== undefined) return name;
    const answer = await this.resolve(name, { type: RecordType.A });
    const first = answer.records.find((r) => r.data.kind === "A");
    if (!first || first.data.kind !== "A") throw new DnsNoData(answer.canonicalName, "A");
    return dotted(first.data.address);
  }

  /** Closes every socket of lookups in flight (they then time out). */
  async close(): Promise<void> {
    await Promise.all([...this.#transports].map((t) => t.close()));
  }
}

const dotted = (a: number) => `${a >>> 24}.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}`;

function cryptoRandom(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
}
