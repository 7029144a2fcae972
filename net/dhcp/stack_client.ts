/**
 * The DHCP client on a usernet {@linkcode Stack}: the {@linkcode DhcpClient} core driven by the
 * stack's event loop, over the stack's own UDP port 68, with the RFC 5227 ARP probe done on the
 * stack's interface. The lease is applied to the stack (address, prefix, default route) and
 * every change is dispatched on the stack as a {@linkcode DhcpLeaseEvent} (`"lease"`).
 *
 * Before a lease exists the client sends from 0.0.0.0 to 255.255.255.255 at the broadcast MAC
 * and sets the BROADCAST flag (RFC 2131 §4.1), so servers broadcast their replies, which the
 * interface always accepts.
 *
 * @module
 */
import type { Stack } from "../stack.ts";
import type { UdpSocket } from "../udp.ts";
import { formatIpv4Address, macEquals } from "../wire/address.ts";
import { ARP_REQUEST, type ArpPacket } from "../wire/arp.ts";
import {
  describeLease,
  DhcpClient,
  type DhcpClientEvent,
  type DhcpClientOutput,
  type DhcpClientState,
  type DhcpLease,
} from "./client.ts";
import { DHCP_CLIENT_PORT } from "./message.ts";

/**
 * How the offered address is checked with ARP before it is used (RFC 5227 §2.1.1). RFC 5227's
 * own timing (PROBE_WAIT 1 s, 3 probes 1–2 s apart, ANNOUNCE_WAIT 2 s) takes up to 7 s; the
 * defaults here take about 1 s, enough on the links usernet runs on (a TAP, a QEMU socket).
 *
 * @example
 * ```ts
 * import type { DhcpProbeOptions } from "./stack_client.ts";
 * const rfc5227: DhcpProbeOptions = { count: 3, intervalMs: 1500, waitMs: 2000 };
 * ```
 */
export interface DhcpProbeOptions {
  /** Probes sent. Default 2. */
  count?: number;
  /** Time between probes, ms. Default 300. */
  intervalMs?: number;
  /** Time after the last probe before the address counts as free, ms. Default 500. */
  waitMs?: number;
}

/**
 * Options of the stack's DHCP client (`new Stack({ nic, dhcp: {...} })` or `stack.dhcp({...})`).
 *
 * @example
 * ```ts
 * import type { StackDhcpOptions } from "./stack_client.ts";
 * const o: StackDhcpOptions = { hostname: "usernet", probe: { count: 1, waitMs: 200 } };
 * ```
 */
export interface StackDhcpOptions {
  /** Host name to send (option 12). */
  hostname?: string;
  /** Client identifier (option 61); default: type 1 and the MAC. */
  clientId?: Uint8Array;
  /** A lease remembered from an earlier run: asked for again through INIT-REBOOT. */
  previousLease?: DhcpLease;
  /** The ARP probe of the offered address; `false` skips it. */
  probe?: DhcpProbeOptions | false;
  /** Wait after a DECLINE before starting over, ms (RFC 2131 §3.1 step 5). Default 10000. */
  declineDelayMs?: number;
  /** Uniform random numbers in [0, 1) (xids, jitter); default: crypto.getRandomValues. */
  random?: () => number;
  /**
   * Ask servers to broadcast their replies (the BROADCAST flag, RFC 2131 §4.1). Default true.
   * Unicast replies to the offered address are taken either way: some servers (passt) send
   * them regardless of the flag.
   */
  broadcastFlag?: boolean;
}

/**
 * What changed: the DHCP client's event kinds.
 *
 * @example
 * ```ts
 * import type { DhcpLeaseChange } from "./stack_client.ts";
 * const c: DhcpLeaseChange = "acquired";
 * ```
 */
export type DhcpLeaseChange = "acquired" | "renewed" | "changed" | "lost" | "declined";

/**
 * Dispatched on the stack as `"lease"` whenever the DHCP lease changes: `acquired` (the address
 * is now configured), `renewed` (same settings, later expiry), `changed` (renewed with new
 * settings, applied), `lost` (expired, NAKed or released: the address was removed) and
 * `declined` (an ARP probe found the offered address in use; no lease).
 *
 * @example
 * ```ts ignore
 * stack.addEventListener("lease", (e) => {
 *   const { change, lease } = e as DhcpLeaseEvent;
 *   console.log(change, lease && describeLease(lease));
 * });
 * ```
 */
export class DhcpLeaseEvent extends Event {
  /**
   * Made by the stack's DHCP client.
   *
   * @example
   * ```ts
   * import { DhcpLeaseEvent } from "./stack_client.ts";
   * const e = new DhcpLeaseEvent("declined", undefined, 0x0a00020f);
   * console.assert(e.type === "lease" && e.address === "10.0.2.15");
   * ```
   */
  constructor(
    /** What happened. */
    readonly change: DhcpLeaseChange,
    /** The lease (for `declined`: none). For `lost`, the lease that was lost. */
    readonly lease: DhcpLease | undefined,
    address: number,
    /** For `changed`: the lease before. */
    readonly previous?: DhcpLease,
    /** For `lost`: why. */
    readonly reason?: "expired" | "nak" | "released",
  ) {
    super("lease");
    this.address = formatIpv4Address(address);
  }
  /** The address concerned, as text. */
  readonly address: string;
}

/** An ARP probe in progress. */
interface Probe {
  address: number;
  sent: number;
  nextAt: number;
}

/**
 * The DHCP client of one stack. Made by `stack.dhcp()` or `new Stack({ dhcp })`; reach it as
 * `stack.dhcpClient`.
 *
 * @example
 * ```ts ignore
 * const stack = new Stack({ nic, dhcp: { hostname: "usernet" } });
 * const lease = await stack.dhcpClient!.bound();
 * console.log(describeLease(lease));
 * ```
 */
export class StackDhcpClient {
  readonly #stack: Stack;
  readonly #core: DhcpClient;
  readonly #probeCount: number;
  readonly #probeIntervalMs: number;
  readonly #probeWaitMs: number;
  readonly #probeEnabled: boolean;
  #socket: UdpSocket | undefined;
  #deadline = Infinity;
  #probe: Probe | undefined;
  #waiters: Array<{ resolve: (l: DhcpLease) => void; reject: (e: Error) => void }> = [];
  #closed = false;
  readonly #timed = {
    poll: (now: number) => this.#pump(now),
    nextDeadline: () => Math.min(this.#deadline, this.#probe?.nextAt ?? Infinity),
  };

  /** Binds UDP port 68 on `stack`; call {@linkcode start} to begin. */
  constructor(stack: Stack, options: StackDhcpOptions = {}) {
    this.#stack = stack;
    const probe = options.probe;
    this.#probeEnabled = probe !== false;
    this.#probeCount = Math.max(1, (probe || {}).count ?? 2);
    this.#probeIntervalMs = (probe || {}).intervalMs ?? 300;
    this.#probeWaitMs = (probe || {}).waitMs ?? 500;
    const iface = stack._iface;
    this.#core = new DhcpClient({
      mac: iface.mac,
      random: options.random ?? cryptoRandom,
      hostname: options.hostname,
      clientId: options.clientId,
      previousLease: options.previousLease,
      probe: this.#probeEnabled,
      // The glue answers every probe itself; the core's own timeout is only a backstop.
      probeTimeoutMs: this.#probeCount * this.#probeIntervalMs + this.#probeWaitMs + 5000,
      declineDelayMs: options.declineDelayMs,
      broadcastFlag: options.broadcastFlag,
      maxMessageSize: Math.min(iface.mtu, 65535) - 28,
    });
  }

  /** The core's state (`"BOUND"`, `"SELECTING"`, ...). */
  get state(): DhcpClientState {
    return this.#core.state;
  }

  /** The lease in use, if any. */
  get lease(): DhcpLease | undefined {
    return this.#core.lease;
  }

  /** Starts acquisition (INIT-REBOOT with a remembered lease, else DISCOVER). */
  start(): void {
    if (this.#closed) return;
    if (!this.#socket) {
      this.#socket = this.#stack.listenDatagram({ port: DHCP_CLIENT_PORT });
      this.#stack._iface.unconfiguredUdpPorts.add(DHCP_CLIENT_PORT);
      this.#receiveLoop(this.#socket);
      this.#stack._iface.onArp = (arp, now) => this.#onArp(arp, now);
      this.#stack._addTimed(this.#timed);
    }
    const now = this.#stack._internals.now();
    this.#core.start(now);
    this.#pump(now);
  }

  /**
   * Resolves with the lease once the client is bound (at once if it is). Rejects with the
   * `signal`'s reason when aborted, or when the client is closed first.
   */
  bound(signal?: AbortSignal): Promise<DhcpLease> {
    const lease = this.#core.lease;
    if (lease) return Promise.resolve(lease);
    if (this.#closed) return Promise.reject(new DhcpStopped("the DHCP client is closed"));
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      // The abort listener goes when the wait ends either way: a listener left on a
      // long-lived signal (AbortSignal.timeout) would keep Deno's process alive until it fires.
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      const waiter = {
        resolve: (lease: DhcpLease) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(lease);
        },
        reject: (e: Error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      this.#waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Releases the lease (DHCPRELEASE unicast to the server, RFC 2131 §4.4.6), removes the address
   * and stops the client. Resolves once the RELEASE left (the server's MAC may need ARP first,
   * which needs the address: it is removed after that, or after 1 s).
   */
  async release(): Promise<void> {
    if (this.#closed) return;
    const lease = this.#core.lease;
    const now = this.#stack._internals.now();
    this.#releasing = true;
    this.#core.release(now);
    this.#pump(now);
    this.close();
    if (!lease) return;
    const server = formatIpv4Address(lease.serverId);
    const waiting = () =>
      this.#stack.neighbors().some((n) => n.address === server && n.pending > 0);
    for (let i = 0; i < 100 && waiting() && !this.#stack.closed; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!this.#stack.closed && this.#stack.ipv4?.address === formatIpv4Address(lease.address)) {
      this.#stack.setIpv4(undefined);
    }
  }

  #releasing = false;

  /** Stops the client without telling the server; the address stays configured. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#core.stop();
    this.#stack._removeTimed(this.#timed);
    if (this.#stack._iface.onArp) this.#stack._iface.onArp = undefined;
    this.#stack._iface.unconfiguredUdpPorts.delete(DHCP_CLIENT_PORT);
    this.#socket?.close();
    for (const w of this.#waiters.splice(0)) w.reject(new DhcpStopped("the DHCP client is closed"));
  }

  async #receiveLoop(socket: UdpSocket): Promise<void> {
    for (;;) {
      let data: Uint8Array;
      try {
        [data] = await socket.receive();
      } catch {
        if (socket.closed) return;
        continue; // an ICMP error about something we sent: the core retransmits
      }
      if (this.#closed) return;
      const now = this.#stack._internals.now();
      this.#core.receive(data, now);
      this.#pump(now);
    }
  }

  /** Runs the core and carries out what it asks. */
  #pump(now: number): void {
    if (this.#closed) return;
    this.#stepProbe(now);
    const out = this.#core.poll(now);
    this.#act(out, now);
    this.#deadline = out.deadline ?? Infinity;
    this.#stack._internals.kick();
  }

  #act(out: DhcpClientOutput, now: number): void {
    for (const m of out.send) {
      this.#socket?.send(
        m.payload,
        { hostname: formatIpv4Address(m.destination), port: m.destinationPort },
        { source: m.source },
      ).catch(() => {/* no route yet: the core retransmits */});
    }
    for (const address of out.probes) {
      // RFC 5227 §2.1.1: probes go out from now on; the first at once (PROBE_WAIT is the
      // DHCP exchange itself here).
      this.#probe = { address, sent: 0, nextAt: now };
      this.#stepProbe(now);
    }
    for (const e of out.events) this.#apply(e);
  }

  #stepProbe(now: number): void {
    const p = this.#probe;
    if (!p || now < p.nextAt) return;
    if (p.sent < this.#probeCount) {
      this.#stack._iface.sendArpProbe(p.address);
      p.sent++;
      p.nextAt = now + (p.sent < this.#probeCount ? this.#probeIntervalMs : this.#probeWaitMs);
      return;
    }
    this.#probe = undefined;
    this.#core.probeResult(p.address, false, now);
  }

  #onArp(arp: ArpPacket, now: number): void {
    const p = this.#probe;
    if (!p) return;
    const ours = macEquals(arp.senderHardwareAddress, 0, this.#stack._iface.mac, 0);
    // RFC 5227 §2.1.1: a conflict is any ARP from the address, or another host's probe for it.
    const conflict = !ours && (arp.senderProtocolAddress === p.address ||
      (arp.operation === ARP_REQUEST && arp.senderProtocolAddress === 0 &&
        arp.targetProtocolAddress === p.address));
    if (!conflict) return;
    this.#probe = undefined;
    this.#core.probeResult(p.address, true, now);
    this.#pump(now);
  }

  #apply(e: DhcpClientEvent): void {
    const stack = this.#stack;
    switch (e.type) {
      case "acquired":
      case "changed": {
        const l = e.lease;
        stack.setIpv4({
          address: formatIpv4Address(l.address),
          prefixLength: l.prefixLength,
          gateway: l.router === undefined ? undefined : formatIpv4Address(l.router),
          mtu: l.mtu,
        });
        stack.dispatchEvent(
          new DhcpLeaseEvent(e.type, l, l.address, e.type === "changed" ? e.previous : undefined),
        );
        for (const w of this.#waiters.splice(0)) w.resolve(l);
        return;
      }
      case "renewed":
        stack.dispatchEvent(new DhcpLeaseEvent("renewed", e.lease, e.lease.address));
        return;
      case "lost":
        // The address goes down with the lease (RFC 2131 §4.4.5); on release, once the
        // RELEASE has left (see release()).
        if (!this.#releasing && stack.ipv4?.address === formatIpv4Address(e.lease.address)) {
          stack.setIpv4(undefined);
        }
        stack.dispatchEvent(
          new DhcpLeaseEvent("lost", e.lease, e.lease.address, undefined, e.reason),
        );
        return;
      case "declined":
        stack.dispatchEvent(new DhcpLeaseEvent("declined", undefined, e.address));
        return;
    }
  }
}

/**
 * The DHCP client was closed (or the stack with it) before it got a lease.
 *
 * @example
 * ```ts
 * import { DhcpStopped } from "./stack_client.ts";
 * console.assert(new DhcpStopped("closed").name === "DhcpStopped");
 * ```
 */
export class DhcpStopped extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "DhcpStopped";
  }
}

function cryptoRandom(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
}

/**
 * Configures `stack` by DHCP for a command-line tool: starts the client, logs the lease, and
 * rejects with {@linkcode DhcpStopped} (the stack closed) if no lease came within `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * await dhcpUp(stack, (line) => console.error(line)); // "dhcp: 10.0.2.15/24 via 10.0.2.2 ..."
 * ```
 */
export async function dhcpUp(
  stack: Stack,
  log: (line: string) => void = () => {},
  timeoutMs = 30_000,
): Promise<DhcpLease> {
  log("dhcp: asking for a lease ...");
  try {
    const lease = await stack.dhcp({}, AbortSignal.timeout(timeoutMs));
    log(`dhcp: ${describeLease(lease)}`);
    return lease;
  } catch (error) {
    await stack.close();
    if ((error as Error).name === "TimeoutError") {
      throw new DhcpStopped(`no DHCP lease within ${timeoutMs / 1000} s`);
    }
    throw error;
  }
}
