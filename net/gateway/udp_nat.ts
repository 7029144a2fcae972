/**
 * UDP NAT for a gateway: each guest flow (source address and port, destination address and port)
 * gets its own host socket from `Deno.listenDatagram`; replies from the flow's destination come
 * back to the guest from that destination's address. Flows expire when idle; the table is
 * bounded. Needs `--allow-net` and `--unstable-net`.
 *
 * @module
 */
import { formatIpv4Address } from "../wire/address.ts";
import type { InterceptedDatagram } from "../udp.ts";

/** Options of {@linkcode UdpNat}. */
export interface UdpNatOptions {
  /** Sends a datagram into the LAN from any address (the gateway stack's UDP layer). */
  sendInside(
    source: number,
    sourcePort: number,
    destination: number,
    destinationPort: number,
    payload: Uint8Array,
  ): void;
  /** Maps a LAN destination to the host address to use (e.g. the gateway address → 127.0.0.1), or undefined to drop. */
  mapDestination(destination: number): string | undefined;
  /** Flows at most (default 1024); the least recently used goes first. */
  maxFlows?: number;
  /** Idle time before a flow is closed, ms (default 60 000). */
  idleTimeout?: number;
}

interface Flow {
  key: string;
  socket: Deno.DatagramConn;
  guest: number;
  guestPort: number;
  destination: number;
  destinationPort: number;
  hostAddress: string;
  lastUsed: number;
}

/**
 * The UDP flow table.
 *
 * @example
 * ```ts ignore
 * const nat = new UdpNat({ sendInside: (...a) => stack._udp.sendFrom(...a), mapDestination: (d) => formatIpv4Address(d) });
 * stack._udp.intercept = (d) => nat.outbound(d);
 * ```
 */
export class UdpNat {
  readonly #flows = new Map<string, Flow>();
  readonly #options: UdpNatOptions;
  readonly #maxFlows: number;
  readonly #idleTimeout: number;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  /** Datagrams dropped (no mapping, host socket errors). */
  dropped = 0;

  constructor(options: UdpNatOptions) {
    this.#options = options;
    this.#maxFlows = options.maxFlows ?? 1024;
    this.#idleTimeout = options.idleTimeout ?? 60_000;
    this.#sweeper = setInterval(() => this.sweep(Date.now()), Math.min(this.#idleTimeout, 5000));
    Deno.unrefTimer(this.#sweeper);
  }

  /** Number of live flows. */
  get size(): number {
    return this.#flows.size;
  }

  /** A guest datagram no gateway socket took. Returns true (taken) or false (not mapped). */
  outbound(datagram: InterceptedDatagram): boolean {
    const hostAddress = this.#options.mapDestination(datagram.destination);
    if (hostAddress === undefined) return false;
    const key =
      `${datagram.source}:${datagram.sourcePort}>${datagram.destination}:${datagram.destinationPort}`;
    let flow = this.#flows.get(key);
    if (!flow) {
      if (this.#flows.size >= this.#maxFlows) this.#evictOldest();
      let socket: Deno.DatagramConn;
      try {
        socket = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
      } catch {
        this.dropped++;
        return true;
      }
      flow = {
        key,
        socket,
        guest: datagram.source,
        guestPort: datagram.sourcePort,
        destination: datagram.destination,
        destinationPort: datagram.destinationPort,
        hostAddress,
        lastUsed: Date.now(),
      };
      this.#flows.set(key, flow);
      this.#receiveLoop(flow);
    }
    flow.lastUsed = Date.now();
    // The payload views the received frame; the send is asynchronous, so copy it.
    flow.socket.send(datagram.payload.slice(), {
      transport: "udp",
      hostname: hostAddress,
      port: datagram.destinationPort,
    }).catch(() => this.dropped++);
    return true;
  }

  async #receiveLoop(flow: Flow): Promise<void> {
    try {
      for await (const [data, from] of flow.socket) {
        const addr = from as Deno.NetAddr;
        // Only the flow's destination may answer through it (endpoint-dependent filtering).
        if (addr.port !== flow.destinationPort || !sameHost(addr.hostname, flow.hostAddress)) {
          this.dropped++;
          continue;
        }
        flow.lastUsed = Date.now();
        try {
          this.#options.sendInside(
            flow.destination,
            flow.destinationPort,
            flow.guest,
            flow.guestPort,
            data,
          );
        } catch {
          this.dropped++;
        }
      }
    } catch { /* socket closed */ }
  }

  #evictOldest(): void {
    let oldest: Flow | undefined;
    for (const f of this.#flows.values()) if (!oldest || f.lastUsed < oldest.lastUsed) oldest = f;
    if (oldest) this.#close(oldest);
  }

  #close(flow: Flow): void {
    this.#flows.delete(flow.key);
    try {
      flow.socket.close();
    } catch { /* closed */ }
  }

  /** Closes flows idle since before `now − idleTimeout`. */
  sweep(now: number): void {
    for (const f of [...this.#flows.values()]) {
      if (now - f.lastUsed >= this.#idleTimeout) this.#close(f);
    }
  }

  /** Closes every flow. */
  close(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    for (const f of [...this.#flows.values()]) this.#close(f);
  }

  /** Flows for display. */
  flows(): { guest: string; destination: string; idleMs: number }[] {
    const now = Date.now();
    return [...this.#flows.values()].map((f) => ({
      guest: `${formatIpv4Address(f.guest)}:${f.guestPort}`,
      destination: `${formatIpv4Address(f.destination)}:${f.destinationPort}`,
      idleMs: now - f.lastUsed,
    }));
  }
}

function sameHost(a: string, b: string): boolean {
  return a === b || a === `::ffff:${b}`;
}
