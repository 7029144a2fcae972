/**
 * Runs a {@link Resolver} over real sockets: a new UDP socket per attempt (so a fresh random
 * source port), a TCP connection for the fallback. By default the host's (Deno.listenDatagram,
 * Deno.connect); any provider of the same shape works, such as the usernet stack.
 *
 * Needs `--allow-net` and `--unstable-net` (or `"unstable": ["net"]` in deno.json).
 *
 * @module
 */

import type { DnsCompletion, Resolver } from "./resolver.ts";
import { NetError } from "../errors.ts";

const dotted = (a: number) => `${a >>> 24}.${(a >> 16) & 255}.${(a >> 8) & 255}.${a & 255}`;

/**
 * The socket calls this layer makes, shaped like `Deno`'s; the usernet stack has the same shape,
 * so `{ net: stack }` runs the resolver over usernet instead of the host.
 *
 * @example
 * ```ts
 * import type { DnsSocketProvider } from "./deno_transport.ts";
 * const host: DnsSocketProvider = Deno;
 * ```
 */
export interface DnsSocketProvider {
  /** Binds a UDP socket (port 0: an ephemeral port). */
  listenDatagram(options: { hostname: string; port: number; transport: "udp" }): {
    receive(): Promise<[Uint8Array, unknown]>;
    send(
      data: Uint8Array,
      to: { hostname: string; port: number; transport: "udp" },
    ): Promise<number>;
    close(): void;
  };
  /** Opens a TCP connection. */
  connect(options: { hostname: string; port: number }): Promise<{
    read(p: Uint8Array): Promise<number | null>;
    write(p: Uint8Array): Promise<number>;
    close(): void;
  }>;
}

type Datagram = ReturnType<DnsSocketProvider["listenDatagram"]>;
type Stream = Awaited<ReturnType<DnsSocketProvider["connect"]>>;

/**
 * A transport event, for logs and tests.
 *
 * @example
 * ```ts
 * import type { DenoTransportEvent } from "./deno_transport.ts";
 * const e: DenoTransportEvent = { kind: "udp", transport: 1, server: "127.0.0.1", port: 53 };
 * ```
 */
export interface DenoTransportEvent {
  /** Which socket kind carried a query. */
  kind: "udp" | "tcp";
  /** The core's transport id. */
  transport: number;
  /** Server address. */
  server: string;
  /** Server port. */
  port: number;
}

/**
 * Drives a resolver core with Deno sockets, one lookup or many at a time.
 *
 * @example
 * ```ts ignore
 * import { DenoDnsTransport, formatShort, Resolver } from "./mod.ts";
 * const dns = new DenoDnsTransport(new Resolver({ servers: ["127.0.0.1"], random: Math.random }));
 * const done = await dns.resolve("example.com", 1);
 * if (done.ok) console.log(formatShort(done.answer).join("\n"));
 * await dns.close();
 * ```
 */
export class DenoDnsTransport {
  readonly #udp = new Map<number, Datagram>();
  readonly #tcp = new Map<number, Stream>();
  readonly #waiters = new Map<number, (c: DnsCompletion) => void>();
  readonly #tasks = new Set<Promise<void>>();
  #wake: () => void = () => {};
  #driving = false;
  /** Every query sent, in order. */
  readonly sent: DenoTransportEvent[] = [];

  /** The core's clock (ms). */
  readonly clock: () => number;
  readonly #net: DnsSocketProvider;

  /**
   * `clock` gives the core its `now` (default `performance.now`); `net` provides the sockets
   * (default `Deno`, the host network).
   */
  constructor(
    readonly resolver: Resolver,
    options: { clock?: () => number; net?: DnsSocketProvider } = {},
  ) {
    this.clock = options.clock ?? (() => performance.now());
    this.#net = options.net ?? Deno;
  }

  #track(task: Promise<void>) {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  async #readUdp(transport: number, socket: Datagram) {
    try {
      for (;;) {
        const [bytes, addr] = await socket.receive();
        const { hostname, port } = addr as { hostname: string; port: number };
        this.resolver.receive(transport, hostname, port, bytes, this.clock());
        this.#wake();
      }
    } catch (e) {
      // A usernet socket reports an ICMP error about our query (port or host unreachable):
      // the attempt failed now. Anything else means the socket was closed.
      if (e instanceof NetError) {
        this.resolver.udpUnreachable(transport, this.clock(), e.message);
        this.#wake();
      }
    }
  }

  async #runTcp(transport: number, server: number, port: number, payload: Uint8Array) {
    try {
      const conn = await this.#net.connect({ hostname: dotted(server), port });
      this.#tcp.set(transport, conn);
      let written = 0;
      while (written < payload.length) written += await conn.write(payload.subarray(written));
      const buffer = new Uint8Array(16384);
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        this.resolver.receiveTcp(transport, buffer.slice(0, n), this.clock());
        this.#wake();
      }
      this.resolver.tcpClosed(transport, this.clock());
    } catch (e) {
      // Closed by us after the answer (ignored by the core), or a real failure.
      this.resolver.tcpClosed(transport, this.clock(), e instanceof Error ? e.message : String(e));
    }
    this.#wake();
  }

  #close(transport: number) {
    this.#udp.get(transport)?.close();
    this.#udp.delete(transport);
    const conn = this.#tcp.get(transport);
    this.#tcp.delete(transport);
    try {
      conn?.close();
    } catch { /* already closed */ }
  }

  /** Resolves `name`/`type` and returns the core's completion (never throws for DNS errors). */
  resolve(name: string, type: number): Promise<DnsCompletion> {
    const { id } = this.resolver.resolve(name, type, this.clock());
    const done = new Promise<DnsCompletion>((resolve) => this.#waiters.set(id, resolve));
    this.#wake();
    if (!this.#driving) this.#track(this.#drive());
    return done;
  }

  /** One loop serves every pending lookup until none is left. */
  async #drive(): Promise<void> {
    // The flag is cleared in the same turn as the last check, so a lookup started later
    // always finds either a running loop that will see it, or no loop and starts one.
    this.#driving = true;
    try {
      while (this.#waiters.size) await this.#step();
    } finally {
      this.#driving = false;
    }
  }

  async #step(): Promise<void> {
    const out = this.resolver.poll(this.clock());
    for (const c of out.completions) {
      this.#waiters.get(c.id)?.(c);
      this.#waiters.delete(c.id);
    }
    for (const t of out.closed) this.#close(t);
    for (const d of out.datagrams) {
      const socket = this.#net.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
      this.#udp.set(d.transport, socket);
      this.#track(this.#readUdp(d.transport, socket));
      this.sent.push({
        kind: "udp",
        transport: d.transport,
        server: dotted(d.server),
        port: d.port,
      });
      try {
        await socket.send(d.payload, {
          hostname: dotted(d.server),
          port: d.port,
          transport: "udp",
        });
      } catch { /* unreachable: the core's timer retries elsewhere */ }
    }
    for (const q of out.tcpQueries) {
      this.sent.push({
        kind: "tcp",
        transport: q.transport,
        server: dotted(q.server),
        port: q.port,
      });
      this.#track(this.#runTcp(q.transport, q.server, q.port, q.payload));
    }
    if (out.completions.length || out.datagrams.length || out.tcpQueries.length) return;
    const wait = out.deadline === undefined ? 1000 : Math.max(0, out.deadline - this.clock());
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, wait);
    });
    clearTimeout(timer);
    this.#wake = () => {};
  }

  /** Closes every socket and waits for the readers to finish. */
  async close(): Promise<void> {
    for (const t of [...this.#udp.keys(), ...this.#tcp.keys()]) this.#close(t);
    await Promise.all([...this.#tasks]);
  }
}
