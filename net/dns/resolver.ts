/**
 * A sans-IO stub resolver: the decisions of DNS resolution without sockets or clocks.
 *
 * The stack's event loop owns I/O and time. It calls {@link Resolver.resolve} to start a lookup,
 * then {@link Resolver.poll} to learn what to send, what to close, which lookups finished and
 * when to call again; it feeds datagrams and TCP bytes back with {@link Resolver.receive} and
 * {@link Resolver.receiveTcp}.
 *
 * ```
 *  stack                          Resolver
 *  resolve(name, type, now) ----> { id }
 *  poll(now) <------------------- { datagrams, tcpQueries, closed, completions, deadline }
 *    for d of datagrams: open a fresh UDP socket (random source port) as d.transport,
 *                        send d.payload to d.server:d.port
 *    for q of tcpQueries: connect to q.server:q.port as q.transport, write q.payload
 *    for t of closed: close transport t
 *    arm one timer for deadline
 *  receive(transport, from, fromPort, payload, now)   when a datagram arrives on a transport
 *  receiveTcp(transport, bytes, now) / tcpClosed(transport, now)   for a TCP transport
 * ```
 *
 * Behaviour: hosts table first (localhost never leaves the machine), then the cache (TTL-bound,
 * LRU, negative entries per RFC 2308), then the servers in turn, each attempt with a new random
 * query id on a new transport, the timeout doubling each round over the server list (RFC 1536
 * §1, as the C library does). Answers must match the transport, server address and port, id and
 * question (name case-insensitively, type and class), otherwise they are dropped (RFC 5452 §9).
 * A truncated answer (TC) is asked again over TCP on the same server (RFC 7766 §5). CNAME chains
 * in answers are followed, and a dangling chain is chased with a new query, up to a bound.
 *
 * @module
 */

import { DnsCache } from "./cache.ts";
import { formatIpv4, parseIpv4 } from "./_ipv4.ts";
import {
  DnsBadQuery,
  type DnsFormatError,
  DnsNameNotFound,
  DnsNoData,
  DnsRefused,
  type DnsResolveError,
  DnsServerFailure,
  DnsTimeout,
} from "./errors.ts";
import { HostsTable } from "./hosts.ts";
import {
  createQuery,
  type DnsMessage,
  parseHeader,
  parseMessage,
  type ResourceRecord,
  serializeMessage,
} from "./message.ts";
import { canonicalName } from "./name.ts";
import { Rcode, rcodeToString, RecordClass, RecordType, typeToString } from "./types.ts";

/**
 * A DNS server: IPv4 address (number or "a.b.c.d") and port (53 unless given).
 *
 * @example
 * ```ts
 * import type { DnsServerAddress } from "./resolver.ts";
 * const s: DnsServerAddress = { address: "10.0.2.3", port: 53 };
 * ```
 */
export interface DnsServerAddress {
  /** IPv4 address. */
  address: number | string;
  /** UDP/TCP port, default 53. */
  port?: number;
}

/**
 * Settings of a {@link Resolver}.
 *
 * @example
 * ```ts
 * import { Resolver } from "./resolver.ts";
 * const r = new Resolver({ servers: ["10.0.2.3"], random: Math.random, timeoutMs: 2000 });
 * ```
 */
export interface ResolverOptions {
  /** Servers, asked in order, round after round. */
  servers: Array<number | string | DnsServerAddress>;
  /** Uniform random numbers in [0, 1) for query ids (inject a seeded one in tests). */
  random: () => number;
  /** Static names answered first; default: a table with only localhost. */
  hosts?: HostsTable;
  /** Answer cache; `false` disables caching. Default: a `DnsCache` with default bounds. */
  cache?: DnsCache | false;
  /** Timeout of the first round of attempts, ms. Default 1000. */
  timeoutMs?: number;
  /** Cap on the per-attempt timeout as it doubles, ms. Default 8000. */
  maxTimeoutMs?: number;
  /** Rounds over the server list before giving up. Default 3. */
  rounds?: number;
  /** Time allowed for a TCP retry (connect, send, answer), ms. Default 5000. */
  tcpTimeoutMs?: number;
  /** CNAME links followed at most. Default 8. */
  maxCnameChain?: number;
  /** Lookups in flight at most; more are refused with `DnsBadQuery`. Default 256. */
  maxInFlight?: number;
  /** Advertise this UDP payload size with an EDNS(0) OPT record (RFC 6891); default off. */
  ednsUdpSize?: number;
}

/**
 * A UDP query to send: open a new socket (fresh random source port) for `transport`.
 *
 * @example
 * ```ts
 * import type { DnsDatagram } from "./resolver.ts";
 * function send(d: DnsDatagram) { console.log(d.transport, d.server, d.port, d.payload.length); }
 * ```
 */
export interface DnsDatagram {
  /** Identifies the socket for this attempt; answers come back with it. */
  transport: number;
  /** Server IPv4 address. */
  server: number;
  /** Server port. */
  port: number;
  /** The DNS message. */
  payload: Uint8Array;
}

/**
 * A TCP query to send: connect to `server:port`, write `payload` (already carrying its 2-byte
 * length prefix, RFC 1035 §4.2.2), pass every byte read to `receiveTcp`.
 *
 * @example
 * ```ts
 * import type { DnsTcpQuery } from "./resolver.ts";
 * const q: DnsTcpQuery = { transport: 9, server: 0x7f000001, port: 53, payload: new Uint8Array(2) };
 * ```
 */
export interface DnsTcpQuery extends DnsDatagram {}

/**
 * A successful lookup.
 *
 * @example
 * ```ts
 * import type { DnsAnswer } from "./resolver.ts";
 * function show(a: DnsAnswer) { console.log(a.canonicalName, a.records.length, a.source); }
 * ```
 */
export interface DnsAnswer {
  /** The name asked, canonical ("www.example."). */
  name: string;
  /** Record type asked. */
  type: number;
  /** Name at the end of the CNAME chain (equals `name` without CNAMEs). */
  canonicalName: string;
  /** CNAME records followed, in order. */
  chain: ResourceRecord[];
  /** Records of the asked type owned by `canonicalName` (for CNAME queries: the CNAME). */
  records: ResourceRecord[];
  /** Smallest TTL of the chain and records, seconds. */
  ttl: number;
  /** Where it came from. */
  source: "hosts" | "cache" | "network";
  /** The server that answered, when from the network. */
  server?: number;
}

/**
 * A finished lookup: `ok` with an answer, or a typed error.
 *
 * @example
 * ```ts
 * import type { DnsCompletion } from "./resolver.ts";
 * function done(c: DnsCompletion) { console.log(c.id, c.ok ? c.answer.records : c.error.name); }
 * ```
 */
export type DnsCompletion =
  | { id: number; name: string; type: number; ok: true; answer: DnsAnswer }
  | { id: number; name: string; type: number; ok: false; error: DnsResolveError };

/**
 * What the stack has to do after a `poll`.
 *
 * @example
 * ```ts
 * import type { ResolverOutput } from "./resolver.ts";
 * function idle(o: ResolverOutput) { return o.deadline === undefined; }
 * ```
 */
export interface ResolverOutput {
  /** UDP queries to send, each on the new transport it names. */
  datagrams: DnsDatagram[];
  /** TCP queries to open and send. */
  tcpQueries: DnsTcpQuery[];
  /** Transports (UDP sockets or TCP connections) no longer needed: close them. */
  closed: number[];
  /** Lookups that finished. */
  completions: DnsCompletion[];
  /** When to call `poll` again (ms of the caller's clock), or `undefined` when idle. */
  deadline: number | undefined;
}

/**
 * Counters for diagnostics.
 *
 * @example
 * ```ts
 * import { Resolver } from "./resolver.ts";
 * const r = new Resolver({ servers: ["10.0.2.3"], random: Math.random });
 * console.assert(r.stats.dropped === 0);
 * ```
 */
export interface ResolverStats {
  /** Queries sent (UDP and TCP). */
  sent: number;
  /** Answers dropped: unknown transport, wrong source, wrong id or question, malformed. */
  dropped: number;
  /** Lookups answered from the cache. */
  cacheHits: number;
}

interface Attempt {
  transport: number;
  queryId: number;
  server: number;
  port: number;
  tcp: boolean;
  /** TCP receive buffer (bounded by the 2-byte length prefix). */
  buffer?: Uint8Array;
  received?: number;
}

interface Lookup {
  id: number;
  /** Name asked by the caller (canonical). */
  name: string;
  type: number;
  /** Name currently being asked (moves along a CNAME chain). */
  current: string;
  chain: ResourceRecord[];
  /** Attempt number in the schedule for `current`. */
  attempt: number;
  open: Attempt[];
  /** When the current attempt gives up. */
  deadline: number;
  lastError?: DnsResolveError;
}

/**
 * The resolver core. See the module documentation for the call protocol.
 *
 * @example
 * ```ts
 * import { Resolver } from "./resolver.ts";
 * const r = new Resolver({ servers: ["127.0.0.1"], random: () => 0.5 });
 * const { id } = r.resolve("localhost", 1, 0);
 * const out = r.poll(0);
 * console.assert(out.completions[0].id === id && out.completions[0].ok);
 * console.assert(out.datagrams.length === 0 && out.deadline === undefined);
 * ```
 */
export class Resolver {
  readonly #servers: Array<{ address: number; port: number }>;
  readonly #random: () => number;
  readonly #hosts: HostsTable;
  readonly #cache: DnsCache | undefined;
  readonly #timeoutMs: number;
  readonly #maxTimeoutMs: number;
  readonly #rounds: number;
  readonly #tcpTimeoutMs: number;
  readonly #maxCnameChain: number;
  readonly #maxInFlight: number;
  readonly #ednsUdpSize: number | undefined;

  readonly #lookups = new Map<number, Lookup>();
  readonly #byTransport = new Map<number, { lookup: Lookup; attempt: Attempt }>();
  #nextLookupId = 1;
  #nextTransport = 1;
  #datagrams: DnsDatagram[] = [];
  #tcpQueries: DnsTcpQuery[] = [];
  #closed: number[] = [];
  #completions: DnsCompletion[] = [];

  /** Diagnostic counters. */
  readonly stats: ResolverStats = { sent: 0, dropped: 0, cacheHits: 0 };

  /** Creates an idle resolver; nothing is sent before `resolve`. */
  constructor(options: ResolverOptions) {
    this.#servers = options.servers.map((s) => {
      const spec = typeof s === "object" ? s : { address: s };
      const address = typeof spec.address === "string" ? parseIpv4(spec.address) : spec.address;
      return { address: address >>> 0, port: spec.port ?? 53 };
    });
    this.#random = options.random;
    this.#hosts = options.hosts ?? new HostsTable();
    this.#cache = options.cache === false ? undefined : options.cache ?? new DnsCache();
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#maxTimeoutMs = options.maxTimeoutMs ?? 8000;
    this.#rounds = Math.max(1, options.rounds ?? 3);
    this.#tcpTimeoutMs = options.tcpTimeoutMs ?? 5000;
    this.#maxCnameChain = options.maxCnameChain ?? 8;
    this.#maxInFlight = options.maxInFlight ?? 256;
    this.#ednsUdpSize = options.ednsUdpSize;
  }

  /** Lookups still waiting for the network. */
  get inFlight(): number {
    return this.#lookups.size;
  }

  /** The attempt timeout schedule in ms: one entry per attempt, server order within rounds. */
  get schedule(): number[] {
    const out: number[] = [];
    for (let round = 0; round < this.#rounds; round++) {
      for (let i = 0; i < this.#servers.length; i++) {
        out.push(Math.min(this.#timeoutMs * 2 ** round, this.#maxTimeoutMs));
      }
    }
    return out;
  }

  /**
   * Starts a lookup of `name` (absolute or not; no search list is applied) for `type`
   * (class IN). Its completion comes out of a later `poll`, possibly the very next one when
   * the hosts table or the cache answers.
   */
  resolve(name: string, type: number, now: number): { id: number } {
    const id = this.#nextLookupId++;
    let canonical: string;
    try {
      canonical = canonicalName(name);
    } catch (e) {
      this.#fail(
        { id, name, type },
        new DnsBadQuery(name, typeToString(type), (e as DnsFormatError).message),
      );
      return { id };
    }
    const hosts = this.#hosts.lookup(canonical, type);
    if (hosts === "nodata") {
      this.#fail({ id, name: canonical, type }, new DnsNoData(canonical, typeToString(type)));
      return { id };
    }
    if (hosts) {
      this.#completions.push({
        id,
        name: canonical,
        type,
        ok: true,
        answer: {
          name: canonical,
          type,
          canonicalName: canonical,
          chain: [],
          records: hosts,
          ttl: 0,
          source: "hosts",
        },
      });
      return { id };
    }
    if (this.#lookups.size >= this.#maxInFlight) {
      this.#fail(
        { id, name: canonical, type },
        new DnsBadQuery(canonical, typeToString(type), `${this.#maxInFlight} lookups in flight`),
      );
      return { id };
    }
    const lookup: Lookup = {
      id,
      name: canonical,
      type,
      current: canonical,
      chain: [],
      attempt: 0,
      open: [],
      deadline: now,
    };
    if (this.#answerFromCache(lookup, now)) return { id };
    if (this.#servers.length === 0) {
      this.#fail(
        lookup,
        new DnsTimeout(canonical, typeToString(type), "no DNS servers configured"),
      );
      return { id };
    }
    this.#lookups.set(id, lookup);
    this.#sendAttempt(lookup, now);
    return { id };
  }

  /** Abandons a lookup: no completion will be reported; its transports are closed. */
  cancel(id: number): void {
    const lookup = this.#lookups.get(id);
    if (lookup) this.#finish(lookup);
  }

  /** Runs due timers and returns everything the stack must do now. */
  poll(now: number): ResolverOutput {
    for (const lookup of [...this.#lookups.values()]) {
      if (lookup.deadline <= now) this.#nextAttempt(lookup, now);
    }
    let deadline: number | undefined;
    for (const lookup of this.#lookups.values()) {
      if (deadline === undefined || lookup.deadline < deadline) deadline = lookup.deadline;
    }
    const out: ResolverOutput = {
      datagrams: this.#datagrams,
      tcpQueries: this.#tcpQueries,
      closed: this.#closed,
      completions: this.#completions,
      deadline,
    };
    this.#datagrams = [];
    this.#tcpQueries = [];
    this.#closed = [];
    this.#completions = [];
    return out;
  }

  /**
   * A datagram arrived on UDP `transport` from `from:fromPort`. Anything that does not match
   * an open attempt exactly is dropped (and counted in `stats.dropped`).
   */
  receive(
    transport: number,
    from: number | string,
    fromPort: number,
    payload: Uint8Array,
    now: number,
  ): void {
    const found = this.#byTransport.get(transport);
    const address = typeof from === "string" ? parseIpv4(from) : from >>> 0;
    if (
      !found || found.attempt.tcp || found.attempt.server !== address ||
      found.attempt.port !== fromPort
    ) {
      this.stats.dropped++;
      return;
    }
    this.#handleAnswer(found.lookup, found.attempt, payload, now);
  }

  /** Bytes arrived on TCP `transport` (any split: they are reassembled here). */
  receiveTcp(transport: number, bytes: Uint8Array, now: number): void {
    const found = this.#byTransport.get(transport);
    if (!found || !found.attempt.tcp) {
      this.stats.dropped++;
      return;
    }
    const attempt = found.attempt;
    let buffer = attempt.buffer ?? new Uint8Array(2);
    let received = attempt.received ?? 0;
    let offset = 0;
    while (offset < bytes.length) {
      const n = Math.min(buffer.length - received, bytes.length - offset);
      buffer.set(bytes.subarray(offset, offset + n), received);
      received += n;
      offset += n;
      if (received < buffer.length) break;
      if (buffer.length === 2) {
        // The 2-byte length prefix is in: size the buffer for exactly one message (<= 64 KiB).
        const grown = new Uint8Array(2 + ((buffer[0] << 8) | buffer[1]));
        grown.set(buffer);
        buffer = grown;
        if (buffer.length > 2) continue;
      }
      attempt.buffer = buffer;
      attempt.received = received;
      if (!this.#handleAnswer(found.lookup, attempt, buffer.subarray(2), now)) {
        this.tcpClosed(transport, now, "unusable answer");
      }
      return;
    }
    attempt.buffer = buffer;
    attempt.received = received;
  }

  /**
   * TCP `transport` closed or failed before a full answer: that attempt failed, the lookup
   * moves on to its next attempt.
   */
  tcpClosed(transport: number, now: number, reason = "connection closed"): void {
    const found = this.#byTransport.get(transport);
    if (!found || !found.attempt.tcp) return;
    this.#failAttempt(found.lookup, found.attempt, now, this.#transportFailure(found, reason));
  }

  /**
   * An ICMP error (port or host unreachable) came back for UDP `transport`'s query: that attempt
   * failed now, rather than at its timeout, and the lookup moves on (as glibc's resolver does
   * on ECONNREFUSED).
   */
  udpUnreachable(transport: number, now: number, reason: string): void {
    const found = this.#byTransport.get(transport);
    if (!found || found.attempt.tcp) return;
    this.#failAttempt(found.lookup, found.attempt, now, this.#transportFailure(found, reason));
  }

  // --- internals ---

  /** Why an attempt failed below DNS: "UDP/TCP to server:port: reason". */
  #transportFailure(
    { lookup, attempt }: { lookup: Lookup; attempt: Attempt },
    reason: string,
  ): DnsServerFailure {
    const to = `${attempt.tcp ? "TCP" : "UDP"} to ${formatIpv4(attempt.server)}:${attempt.port}`;
    return new DnsServerFailure(lookup.current, typeToString(lookup.type), `${to}: ${reason}`);
  }

  /**
   * `attempt` failed (an error answer, an ICMP error, a closed TCP connection): note why, and
   * when it is the attempt in flight move on at once. An older UDP attempt, kept open for a
   * late answer, is only closed: the current one keeps its own time.
   */
  #failAttempt(lookup: Lookup, attempt: Attempt, now: number, error: DnsResolveError): void {
    const current = lookup.open[lookup.open.length - 1] === attempt;
    lookup.lastError = error;
    this.#closeAttempt(lookup, attempt);
    if (current) this.#nextAttempt(lookup, now);
  }

  #fail(lookup: { id: number; name: string; type: number }, error: DnsResolveError): void {
    this.#completions.push({
      id: lookup.id,
      name: lookup.name,
      type: lookup.type,
      ok: false,
      error,
    });
  }

  #finish(lookup: Lookup): void {
    for (const attempt of lookup.open) {
      this.#byTransport.delete(attempt.transport);
      this.#closed.push(attempt.transport);
    }
    lookup.open = [];
    this.#lookups.delete(lookup.id);
  }

  #closeAttempt(lookup: Lookup, attempt: Attempt): void {
    lookup.open = lookup.open.filter((a) => a !== attempt);
    this.#byTransport.delete(attempt.transport);
    this.#closed.push(attempt.transport);
  }

  #succeed(
    lookup: Lookup,
    records: ResourceRecord[],
    source: DnsAnswer["source"],
    server?: number,
  ): void {
    const ttl = Math.min(...[...lookup.chain, ...records].map((r) => r.ttl));
    this.#completions.push({
      id: lookup.id,
      name: lookup.name,
      type: lookup.type,
      ok: true,
      answer: {
        name: lookup.name,
        type: lookup.type,
        canonicalName: lookup.current,
        chain: lookup.chain,
        records,
        ttl,
        source,
        server,
      },
    });
  }

  /** Answers `lookup.current` from the cache when it can; true when the lookup is done. */
  #answerFromCache(lookup: Lookup, now: number): boolean {
    if (!this.#cache) return false;
    // Follow cached answers along the chain: each entry may end in a CNAME of its own.
    const entry = this.#cache.get(lookup.current, lookup.type, now);
    if (!entry) return false;
    this.stats.cacheHits++;
    if (entry.kind === "records") {
      lookup.chain = [...lookup.chain, ...entry.chain];
      lookup.current = entry.canonicalName;
      this.#succeed(lookup, entry.records, "cache");
    } else {
      if (entry.canonicalName) lookup.current = entry.canonicalName;
      const Err = entry.kind === "nxdomain" ? DnsNameNotFound : DnsNoData;
      this.#fail(lookup, new Err(lookup.current, typeToString(lookup.type)));
    }
    this.#finish(lookup);
    return true;
  }

  #randomId(): number {
    return Math.floor(this.#random() * 65536) & 0xffff;
  }

  #queryBytes(lookup: Lookup, queryId: number): Uint8Array {
    const query: DnsMessage = createQuery(queryId, lookup.current, lookup.type);
    if (this.#ednsUdpSize) {
      query.additionals.push({
        name: ".",
        type: RecordType.OPT,
        class: this.#ednsUdpSize,
        ttl: 0,
        data: { kind: "raw", bytes: new Uint8Array(0) },
      });
    }
    return serializeMessage(query);
  }

  #sendAttempt(lookup: Lookup, now: number): void {
    const schedule = this.schedule;
    const server = this.#servers[lookup.attempt % this.#servers.length];
    const attempt: Attempt = {
      transport: this.#nextTransport++,
      queryId: this.#randomId(),
      server: server.address,
      port: server.port,
      tcp: false,
    };
    lookup.open.push(attempt);
    this.#byTransport.set(attempt.transport, { lookup, attempt });
    this.#datagrams.push({
      transport: attempt.transport,
      server: attempt.server,
      port: attempt.port,
      payload: this.#queryBytes(lookup, attempt.queryId),
    });
    this.stats.sent++;
    lookup.deadline = now + schedule[lookup.attempt];
  }

  #sendTcp(lookup: Lookup, server: number, port: number, now: number): void {
    const attempt: Attempt = {
      transport: this.#nextTransport++,
      queryId: this.#randomId(),
      server,
      port,
      tcp: true,
    };
    const message = this.#queryBytes(lookup, attempt.queryId);
    const payload = new Uint8Array(2 + message.length);
    payload[0] = message.length >> 8;
    payload[1] = message.length & 255;
    payload.set(message, 2);
    lookup.open.push(attempt);
    this.#byTransport.set(attempt.transport, { lookup, attempt });
    this.#tcpQueries.push({ transport: attempt.transport, server, port, payload });
    this.stats.sent++;
    lookup.deadline = now + this.#tcpTimeoutMs;
  }

  /** The current attempt failed or timed out: try the next one, or give up. */
  #nextAttempt(lookup: Lookup, now: number): void {
    // A TCP attempt that timed out is closed; UDP attempts stay open so a late answer to an
    // earlier attempt is still accepted (they are closed when the lookup ends).
    for (const a of lookup.open.filter((a) => a.tcp)) this.#closeAttempt(lookup, a);
    lookup.attempt++;
    if (lookup.attempt >= this.schedule.length) {
      const type = typeToString(lookup.type);
      this.#fail(
        lookup,
        lookup.lastError ??
          new DnsTimeout(lookup.current, type, `no answer after ${lookup.attempt} attempts`),
      );
      this.#finish(lookup);
      return;
    }
    this.#sendAttempt(lookup, now);
  }

  #handleAnswer(lookup: Lookup, attempt: Attempt, payload: Uint8Array, now: number): boolean {
    let message: DnsMessage;
    try {
      const header = parseHeader(payload);
      // A truncated answer's later sections may be cut anywhere: read only its question.
      message = parseMessage(payload, { questionsOnly: header.tc && !attempt.tcp });
    } catch {
      this.stats.dropped++;
      return false;
    }
    const q = message.questions[0];
    if (
      !message.qr || message.id !== attempt.queryId || message.opcode !== 0 ||
      message.questions.length !== 1 || q.type !== lookup.type || q.class !== RecordClass.IN ||
      canonicalName(q.name) !== lookup.current
    ) {
      this.stats.dropped++;
      return false;
    }
    const type = typeToString(lookup.type);
    const from = `${formatIpv4(attempt.server)}:${attempt.port}`;
    if (message.tc && !attempt.tcp) {
      // RFC 7766 §5: retry the same server over TCP; the UDP attempts are done.
      for (const a of [...lookup.open]) this.#closeAttempt(lookup, a);
      this.#sendTcp(lookup, attempt.server, attempt.port, now);
      return true;
    }
    switch (message.rcode) {
      case Rcode.NOERROR:
      case Rcode.NXDOMAIN:
        break;
      case Rcode.REFUSED:
        this.#failAttempt(
          lookup,
          attempt,
          now,
          new DnsRefused(lookup.current, type, `REFUSED by ${from}`),
        );
        return true;
      default:
        this.#failAttempt(
          lookup,
          attempt,
          now,
          new DnsServerFailure(
            lookup.current,
            type,
            `${rcodeToString(message.rcode)} from ${from}`,
          ),
        );
        return true;
    }
    this.#useAnswer(lookup, message, attempt.server, now);
    return true;
  }

  #useAnswer(lookup: Lookup, message: DnsMessage, server: number, now: number): void {
    const type = typeToString(lookup.type);
    const asked = lookup.current;
    // Follow the CNAME chain inside the answer section (RFC 1034 §5.2.2).
    const newChain: ResourceRecord[] = [];
    let current = asked;
    const seen = new Set([current]);
    let records: ResourceRecord[] = [];
    for (;;) {
      const owned = message.answers.filter(
        (r) => r.class === RecordClass.IN && canonicalName(r.name) === current,
      );
      records = owned.filter((r) => r.type === lookup.type);
      if (records.length || lookup.type === RecordType.CNAME) break;
      const cname = owned.find((r) => r.data.kind === "CNAME");
      if (!cname || cname.data.kind !== "CNAME") break;
      if (lookup.chain.length + newChain.length >= this.#maxCnameChain) {
        this.#fail(
          lookup,
          new DnsBadQuery(lookup.name, type, `CNAME chain longer than ${this.#maxCnameChain}`),
        );
        this.#finish(lookup);
        return;
      }
      newChain.push(cname);
      current = canonicalName(cname.data.target);
      if (seen.has(current)) {
        this.#fail(lookup, new DnsBadQuery(lookup.name, type, `CNAME loop at ${current}`));
        this.#finish(lookup);
        return;
      }
      seen.add(current);
    }
    lookup.chain = [...lookup.chain, ...newChain];
    lookup.current = current;
    const soa = message.authorities.find((r) => r.data.kind === "SOA");
    // RFC 2308 §5: negative answers live for min(SOA TTL, SOA MINIMUM); without SOA, not at all.
    const negativeTtl = soa && soa.data.kind === "SOA" ? Math.min(soa.ttl, soa.data.minimum) : 0;
    if (records.length) {
      const ttl = Math.min(...[...lookup.chain, ...records].map((r) => r.ttl));
      this.#cache?.putRecords(
        lookup.name,
        lookup.type,
        { canonicalName: current, chain: lookup.chain, records },
        ttl,
        now,
      );
      this.#succeed(lookup, records, "network", server);
      this.#finish(lookup);
      return;
    }
    if (message.rcode === Rcode.NXDOMAIN) {
      // The NXDOMAIN is about the end of the chain (RFC 2308 §2.1).
      // Only the missing target is cached: the alias itself exists, so an NXDOMAIN entry
      // (which covers every type of its owner) would be wrong for it.
      this.#cache?.putNegative(current, lookup.type, "nxdomain", negativeTtl, now);
      this.#fail(lookup, new DnsNameNotFound(current, type));
      this.#finish(lookup);
      return;
    }
    if (newChain.length && !soa) {
      // A dangling chain without a negative answer: the server did not follow it; ask for
      // the target ourselves (the chain bound above keeps this finite).
      for (const a of [...lookup.open]) this.#closeAttempt(lookup, a);
      lookup.attempt = 0;
      lookup.lastError = undefined;
      lookup.deadline = now;
      if (this.#answerFromCache(lookup, now)) return;
      this.#sendAttempt(lookup, now);
      return;
    }
    this.#cache?.putNegative(lookup.name, lookup.type, "nodata", negativeTtl, now, current);
    this.#fail(lookup, new DnsNoData(current, type));
    this.#finish(lookup);
  }
}
