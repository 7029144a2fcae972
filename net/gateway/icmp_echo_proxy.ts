/**
 * ICMP echo (ping) from guests to outside addresses, through Linux "ping sockets"
 * (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`), as libslirp and passt do it. Deno has no ICMP
 * sockets, so the sockets come from libc through FFI: the proxy is used only when the program
 * already holds the FFI permission (it never prompts), and the kernel allows ping sockets only
 * to processes whose group is within `net.ipv4.ping_group_range`. Without either, echo requests
 * to outside addresses stay unanswered and the proxy says why once.
 *
 * Each flow — guest address, guest echo identifier, destination — has its own ping socket. The
 * kernel gives every ping socket its own identifier and rewrites requests to it; replies get the
 * guest's identifier back, with the sequence number and data the destination echoed. The table
 * is bounded (new flows beyond the limit are dropped and counted) and idle flows expire.
 *
 * Replies are read from non-blocking sockets synchronously until EAGAIN, then awaited with a
 * `poll()` that runs on a worker thread (`nonblocking: true`), as the TAP driver does, so the
 * event loop never waits on the host. An eventfd in the poll set wakes it when sockets come or go.
 *
 * @module
 */
import {
  describeErrno,
  EINTR,
  errno,
  ffiPermitted,
  type Libc,
  loadLibc,
  O_CLOEXEC,
  POLLIN,
} from "../../drivers/_libc.ts";
import { formatIpv4Address } from "../wire/address.ts";
import { WireError } from "../wire/errors.ts";
import {
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LENGTH,
  parseIcmpv4,
} from "../wire/icmpv4.ts";

/** A host socket that sends echo requests for one flow. */
export interface EchoSocket {
  /**
   * Sends an echo request to `destination`: `message` is the whole ICMP message; the kernel
   * replaces its identifier and checksum. Returns false when the host dropped it.
   */
  send(destination: number, message: Uint8Array): boolean;
  /** Closes the socket; no more replies are delivered. */
  close(): void;
}

/** Where echo sockets come from: ping sockets, or a fake in tests. */
export interface EchoTransport {
  /**
   * Opens a socket whose echo replies (whole ICMP messages, with the host's identifier) go to
   * `onReply` with the address they came from. Throws {@linkcode EchoUnavailable}.
   */
  open(onReply: (source: number, message: Uint8Array) => void): EchoSocket;
  /** Closes every socket; resolves once no host call is in flight. */
  close(): Promise<void>;
}

/** A socket could not be opened; `permanent` when no later attempt can succeed either. */
export class EchoUnavailable extends Error {
  /** Creates the error; `permanent` errors turn the proxy off. */
  constructor(message: string, readonly permanent: boolean) {
    super(message);
    this.name = "EchoUnavailable";
  }
}

/** The one-time notice when echo to outside addresses cannot be forwarded. */
export const ICMP_ECHO_UNAVAILABLE =
  "ICMP echo to outside addresses needs --allow-ffi and net.ipv4.ping_group_range";

/** Options of {@linkcode IcmpEchoProxy}. */
export interface IcmpEchoProxyOptions {
  /** Sends an echo reply into the LAN from `source` to `destination` (the gateway's stack). */
  sendInside(
    source: number,
    destination: number,
    identifier: number,
    sequence: number,
    data: Uint8Array,
  ): void;
  /** The host address to ping for a LAN destination, or undefined when it is not forwarded. */
  mapDestination(destination: number): number | undefined;
  /** Flows at most (default 256); echo requests that would need more are dropped. */
  maxFlows?: number;
  /** Idle time before a flow's socket is closed, ms (default 30 000, as Linux conntrack). */
  idleTimeout?: number;
  /** Makes the transport on first use (default: {@linkcode pingSocketTransport}). */
  transport?: () => EchoTransport;
  /** Where the one-time notice goes (default `console.error`). */
  log?: (line: string) => void;
}

interface Flow {
  key: string;
  socket: EchoSocket;
  guest: number;
  identifier: number;
  destination: number;
  hostDestination: number;
  lastUsed: number;
}

/**
 * The echo flow table.
 *
 * @example
 * ```ts ignore
 * const proxy = new IcmpEchoProxy({
 *   sendInside: (s, d, id, seq, data) => sendEchoReply(s, d, id, seq, data),
 *   mapDestination: (d) => d,
 * });
 * proxy.outbound(source, destination, icmpBytes); // true: taken (forwarded or dropped)
 * ```
 */
export class IcmpEchoProxy {
  readonly #flows = new Map<string, Flow>();
  readonly #options: IcmpEchoProxyOptions;
  readonly #maxFlows: number;
  readonly #idleTimeout: number;
  #transport: EchoTransport | undefined;
  /** Why echo is not forwarded, once known; then requests are dropped. */
  #unavailable: string | undefined;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Echo requests sent to the host. */
  forwarded = 0;
  /** Echo replies delivered to guests. */
  replies = 0;
  /** Echo requests and replies dropped (table full, no socket, host errors, stray replies). */
  dropped = 0;

  constructor(options: IcmpEchoProxyOptions) {
    this.#options = options;
    this.#maxFlows = options.maxFlows ?? 256;
    this.#idleTimeout = options.idleTimeout ?? 30_000;
  }

  /** Live flows. */
  get size(): number {
    return this.#flows.size;
  }

  /** Why echo to outside addresses is not forwarded, or undefined (not known to fail). */
  get unavailable(): string | undefined {
    return this.#unavailable;
  }

  /**
   * An ICMP message from `source` to `destination`, which is not the gateway's. Returns true
   * when the proxy took it (forwarded or dropped), false when it is not an echo request to a
   * forwarded address.
   */
  outbound(source: number, destination: number, bytes: Uint8Array): boolean {
    if (this.#closed || bytes.length < ICMP_HEADER_LENGTH || bytes[0] !== ICMP_ECHO_REQUEST) {
      return false;
    }
    const hostDestination = this.#options.mapDestination(destination);
    if (hostDestination === undefined) return false;
    const message = parseIcmpv4(bytes);
    if (message instanceof WireError || message.code !== 0) {
      this.dropped++;
      return true;
    }
    const identifier = message.identifier;
    const key = `${source}/${identifier}>${destination}`;
    let flow = this.#flows.get(key);
    if (!flow) {
      const transport = this.#getTransport();
      if (!transport || this.#flows.size >= this.#maxFlows) {
        this.dropped++;
        return true;
      }
      const created: Flow = {
        key,
        socket: undefined as unknown as EchoSocket,
        guest: source,
        identifier,
        destination,
        hostDestination,
        lastUsed: Date.now(),
      };
      try {
        created.socket = transport.open((from, reply) => this.#inbound(created, from, reply));
      } catch (error) {
        this.dropped++;
        if (error instanceof EchoUnavailable && error.permanent) this.#disable(error.message);
        return true;
      }
      flow = created;
      this.#flows.set(key, flow);
      this.#startSweeper();
    }
    flow.lastUsed = Date.now();
    if (flow.socket.send(hostDestination, bytes)) this.forwarded++;
    else this.dropped++;
    return true;
  }

  #inbound(flow: Flow, from: number, reply: Uint8Array): void {
    // A ping socket gets only echo replies carrying its identifier; from anyone, though, so
    // only the flow's destination may answer through it.
    if (
      this.#flows.get(flow.key) !== flow || from !== flow.hostDestination ||
      reply.length < ICMP_HEADER_LENGTH || reply[0] !== ICMP_ECHO_REPLY || reply[1] !== 0
    ) {
      this.dropped++;
      return;
    }
    flow.lastUsed = Date.now();
    try {
      this.#options.sendInside(
        flow.destination,
        flow.guest,
        flow.identifier,
        (reply[6] << 8) | reply[7],
        reply.subarray(ICMP_HEADER_LENGTH),
      );
      this.replies++;
    } catch {
      this.dropped++;
    }
  }

  #getTransport(): EchoTransport | undefined {
    if (this.#unavailable !== undefined) return undefined; // turned off for good
    if (this.#transport) return this.#transport;
    try {
      this.#transport = (this.#options.transport ?? pingSocketTransport)();
    } catch (error) {
      this.#disable(error instanceof Error ? error.message : String(error));
    }
    return this.#transport;
  }

  #disable(reason: string): void {
    if (this.#unavailable !== undefined) return;
    this.#unavailable = reason;
    (this.#options.log ?? console.error)(
      `usernet gateway: ${ICMP_ECHO_UNAVAILABLE}; not forwarding it (${reason})`,
    );
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(
      () => this.sweep(Date.now()),
      Math.max(100, Math.min(this.#idleTimeout / 2, 5000)),
    );
    Deno.unrefTimer(this.#sweeper);
  }

  #close(flow: Flow): void {
    this.#flows.delete(flow.key);
    try {
      flow.socket.close();
    } catch { /* closed */ }
  }

  /** Closes flows idle since before `now − idleTimeout`. */
  sweep(now: number): void {
    for (const flow of [...this.#flows.values()]) {
      if (now - flow.lastUsed >= this.#idleTimeout) this.#close(flow);
    }
    if (this.#flows.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** Closes every flow and the transport. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const flow of [...this.#flows.values()]) this.#close(flow);
    await this.#transport?.close();
  }

  /** Flows for display. */
  flows(): { guest: string; identifier: number; destination: string; idleMs: number }[] {
    const now = Date.now();
    return [...this.#flows.values()].map((f) => ({
      guest: formatIpv4Address(f.guest),
      identifier: f.identifier,
      destination: formatIpv4Address(f.destination),
      idleMs: now - f.lastUsed,
    }));
  }
}

// ---- Linux ping sockets through FFI ----

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const IPPROTO_ICMP = 1;
const EFD_NONBLOCK = 0x800;
const EFD_CLOEXEC = 0x80000;
const EPERM = 1;
const EACCES = 13;
const EPROTONOSUPPORT = 93;
const ESOCKTNOSUPPORT = 94;
const EAFNOSUPPORT = 97;
/** Replies read from one socket before the others get their turn. */
const RECEIVE_BATCH = 64;

/**
 * Why ping sockets were refused: the range and this process's group. The range is read through
 * libc: Deno wants --allow-all for /proc/sys, and FFI is granted here anyway.
 */
function rangeHint(lib: Libc): string {
  let range = "";
  const fd = lib.open(
    new TextEncoder().encode("/proc/sys/net/ipv4/ping_group_range\0"),
    O_CLOEXEC,
    0,
  );
  if (fd >= 0) {
    const buffer = new Uint8Array(64);
    const n = Number(lib.read(fd, buffer, BigInt(buffer.length)));
    lib.close(fd);
    if (n > 0) range = new TextDecoder().decode(buffer.subarray(0, n)).trim().replace(/\s+/, " ");
  }
  const gid = lib.getegid();
  const now = range ? `net.ipv4.ping_group_range is "${range}", ` : "";
  return `${now}this process's group is ${gid}; ` +
    `allow it with: sysctl -w net.ipv4.ping_group_range="${gid} ${gid}"`;
}

/**
 * Ping sockets from libc. Throws {@linkcode EchoUnavailable} (permanent) when the program has
 * no FFI permission, is not on Linux, or libc does not load.
 */
export function pingSocketTransport(): EchoTransport {
  if (Deno.build.os !== "linux") {
    throw new EchoUnavailable(`ping sockets are Linux only, not ${Deno.build.os}`, true);
  }
  if (!ffiPermitted()) throw new EchoUnavailable("no FFI permission: run with --allow-ffi", true);
  let lib: Libc;
  try {
    lib = loadLibc();
  } catch (error) {
    throw new EchoUnavailable(`cannot load libc: ${(error as Error).message}`, true);
  }
  return new PingSockets(lib);
}

interface PingSocketEntry {
  fd: number;
  onReply: (source: number, message: Uint8Array) => void;
}

/** Ping sockets with one poll loop over all of them. */
class PingSockets implements EchoTransport {
  readonly #lib: Libc;
  readonly #sockets = new Map<number, PingSocketEntry>();
  /** Descriptors closed while a poll was in flight: closed once it returns (no reuse under it). */
  readonly #closeLater: number[] = [];
  readonly #address = new Uint8Array(16);
  readonly #fromAddress = new Uint8Array(16);
  readonly #fromLength = new Uint8Array(4);
  readonly #buffer = new Uint8Array(65536);
  readonly #wakeValue = new Uint8Array(8);
  #wakeFd = -1;
  #loop: Promise<void> | undefined;
  #running = false;
  #polling = false;
  #changed = true;
  #closed = false;

  constructor(lib: Libc) {
    this.#lib = lib;
    new DataView(this.#address.buffer).setUint16(0, AF_INET, true);
    new DataView(this.#wakeValue.buffer).setBigUint64(0, 1n, true);
  }

  open(onReply: (source: number, message: Uint8Array) => void): EchoSocket {
    const lib = this.#lib;
    if (this.#closed) throw new EchoUnavailable("closed", false);
    if (this.#wakeFd < 0) {
      this.#wakeFd = lib.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (this.#wakeFd < 0) {
        throw new EchoUnavailable(`eventfd failed: ${describeErrno(errno())}`, false);
      }
    }
    const fd = lib.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) {
      const code = errno();
      const reason = `ping socket: ${describeErrno(code)}`;
      if (code === EACCES || code === EPERM) {
        throw new EchoUnavailable(`${reason}; ${rangeHint(lib)}`, true);
      }
      const unsupported = code === EAFNOSUPPORT || code === EPROTONOSUPPORT ||
        code === ESOCKTNOSUPPORT;
      throw new EchoUnavailable(reason, unsupported);
    }
    const entry: PingSocketEntry = { fd, onReply };
    this.#sockets.set(fd, entry);
    this.#changed = true;
    this.#wake();
    if (!this.#running) this.#loop = this.#run();
    let open = true;
    return {
      send: (destination, message) => open && this.#send(fd, destination, message),
      close: () => {
        if (!open) return;
        open = false;
        this.#release(fd);
      },
    };
  }

  #send(fd: number, destination: number, message: Uint8Array): boolean {
    new DataView(this.#address.buffer).setUint32(4, destination);
    const n = Number(
      this.#lib.sendto(
        fd,
        message as Uint8Array<ArrayBuffer>,
        BigInt(message.length),
        0,
        this.#address,
        16,
      ),
    );
    return n === message.length;
  }

  #release(fd: number): void {
    if (this.#sockets.get(fd) === undefined) return;
    this.#sockets.delete(fd);
    this.#changed = true;
    if (this.#polling) {
      this.#closeLater.push(fd);
      this.#wake();
    } else {
      this.#lib.close(fd);
    }
  }

  #wake(): void {
    if (this.#polling && this.#wakeFd >= 0) this.#lib.write(this.#wakeFd, this.#wakeValue, 8n);
  }

  async #run(): Promise<void> {
    // Set and cleared synchronously, so open() knows whether this loop will see a new socket.
    this.#running = true;
    try {
      await this.#pollLoop();
    } finally {
      this.#running = false;
    }
  }

  async #pollLoop(): Promise<void> {
    const lib = this.#lib;
    let pollfds = new Uint8Array(0);
    let fds: number[] = [];
    while (!this.#closed && this.#sockets.size > 0) {
      if (this.#changed) {
        this.#changed = false;
        fds = [this.#wakeFd, ...this.#sockets.keys()];
        pollfds = new Uint8Array(8 * fds.length);
        const view = new DataView(pollfds.buffer);
        fds.forEach((fd, i) => {
          view.setInt32(8 * i, fd, true);
          view.setInt16(8 * i + 4, POLLIN, true);
        });
      } else {
        for (let i = 0; i < fds.length; i++) pollfds[8 * i + 6] = pollfds[8 * i + 7] = 0;
      }
      this.#polling = true;
      let ready: number;
      try {
        // A bounded timeout in case a wake-up is missed; sockets coming or going wake it.
        ready = await lib.poll(pollfds, BigInt(fds.length), 5000);
      } finally {
        this.#polling = false;
        for (const fd of this.#closeLater.splice(0)) lib.close(fd);
      }
      if (ready <= 0 || this.#closed) continue;
      const view = new DataView(pollfds.buffer);
      for (let i = 0; i < fds.length; i++) {
        if (view.getInt16(8 * i + 6, true) === 0) continue;
        if (i === 0) lib.read(this.#wakeFd, new Uint8Array(8), 8n);
        else this.#receive(fds[i]);
      }
    }
  }

  /** Reads the replies waiting on `fd` (a batch at most), synchronously: no thread hop. */
  #receive(fd: number): void {
    const lib = this.#lib;
    const lengthView = new DataView(this.#fromLength.buffer);
    for (let i = 0; i < RECEIVE_BATCH; i++) {
      const entry = this.#sockets.get(fd);
      if (!entry) return; // closed by a reply handler
      lengthView.setUint32(0, 16, true);
      const n = Number(
        lib.recvfrom(
          fd,
          this.#buffer,
          BigInt(this.#buffer.length),
          0,
          this.#fromAddress,
          this.#fromLength,
        ),
      );
      if (n < 0) {
        const code = errno();
        if (code === EINTR) continue;
        return; // EAGAIN: drained (or a pending socket error, which this read cleared)
      }
      const source = new DataView(this.#fromAddress.buffer).getUint32(4);
      entry.onReply(source, this.#buffer.subarray(0, n));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    await this.#loop;
    for (const fd of this.#sockets.keys()) this.#lib.close(fd);
    this.#sockets.clear();
    if (this.#wakeFd >= 0) this.#lib.close(this.#wakeFd);
    this.#wakeFd = -1;
  }
}
