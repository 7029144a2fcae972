/**
 * A NIC on QEMU's `-netdev stream` (and legacy `-netdev socket`) protocol: each Ethernet frame
 * travels as a 4-byte big-endian length followed by the frame, over a TCP or unix stream
 * socket. passt speaks the same framing on its unix socket.
 *
 * usernet can be the client (QEMU or passt listening, `server=on`) or the server (QEMU
 * connecting, `server=off`; QEMU 7.2 connects once and does not retry, so listen first).
 *
 * @module
 */
import { FrameQueue } from "./_frame_queue.ts";
import {
  emptyNicStats,
  type Frame,
  type Nic,
  type NicFeatures,
  type NicStats,
  NO_OFFLOADS,
} from "./nic.ts";
import { randomMac } from "../net/wire/address.ts";

/** Where a stream socket lives: `unix:PATH` or `tcp:HOST:PORT`. */
export type StreamAddress = { path: string } | { hostname: string; port: number };

/** Options of the QEMU stream NIC. */
export interface QemuStreamOptions {
  /** Our MAC (default random). */
  mac?: Uint8Array;
  /** IP MTU (default 1500; passt offers 65520 by DHCP). */
  mtu?: number;
  /** Bytes waiting to be written before frames are dropped (default 8 MiB). */
  maxPendingBytes?: number;
  /** Frames waiting to be read by the stack before frames are dropped (default 8192). */
  receiveQueueLength?: number;
}

/** QEMU drops a stream whose frame length exceeds this (NET_BUFSIZE in QEMU 7.2). */
const MAX_FRAME = 4096 + 65536;

/**
 * Parses `unix:PATH` or `tcp:HOST:PORT` (the CLI's `--qemu` syntax).
 *
 * @example
 * ```ts
 * import { parseStreamAddress } from "./qemu_stream.ts";
 * console.log(parseStreamAddress("tcp:127.0.0.1:5555")); // { hostname: "127.0.0.1", port: 5555 }
 * ```
 */
export function parseStreamAddress(text: string): StreamAddress {
  if (text.startsWith("unix:")) return { path: text.slice(5) };
  const m = /^tcp:(.+):(\d+)$/.exec(text);
  if (m) return { hostname: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  throw new TypeError(`"${text}" is not unix:PATH or tcp:HOST:PORT`);
}

/**
 * A NIC over one QEMU stream connection.
 *
 * @example Connect to QEMU listening with `-netdev stream,...,server=on,addr.type=unix,addr.path=/tmp/q.sock`
 * ```ts ignore
 * import { QemuStreamNic } from "./qemu_stream.ts";
 * const nic = await QemuStreamNic.connect({ path: "/tmp/q.sock" });
 * ```
 */
export class QemuStreamNic implements Nic {
  readonly features: NicFeatures = NO_OFFLOADS;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly #conn: Deno.Conn;
  readonly #queue: FrameQueue;
  readonly #stats = emptyNicStats();
  readonly #maxPending: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #writing = false;
  #closed = false;

  /** Wraps an established stream connection. */
  constructor(readonly name: string, conn: Deno.Conn, options: QemuStreamOptions = {}) {
    this.#conn = conn;
    this.mac = options.mac ?? randomMac();
    this.mtu = options.mtu ?? 1500;
    this.#maxPending = options.maxPendingBytes ?? 8 << 20;
    this.#queue = new FrameQueue(options.receiveQueueLength ?? 8192);
    this.#readLoop();
  }

  /** Connects to a QEMU or passt stream socket. */
  static async connect(
    address: StreamAddress,
    options: QemuStreamOptions = {},
  ): Promise<QemuStreamNic> {
    const conn = "path" in address
      ? await Deno.connect({ transport: "unix", path: address.path })
      : await Deno.connect({ hostname: address.hostname, port: address.port });
    if (!("path" in address)) (conn as Deno.TcpConn).setNoDelay(true);
    return new QemuStreamNic(describe(address), conn, options);
  }

  async #readLoop(): Promise<void> {
    // Reads arrive split and merged arbitrarily. Frames are handed out as views of the read
    // buffer (no copy per frame), so a buffer is never rewritten: when little room is left, the
    // unfinished tail moves to a fresh buffer and the old one lives as long as its frames do.
    const size = 256 * 1024;
    let buffer = new Uint8Array(size);
    let start = 0;
    let end = 0;
    try {
      for (;;) {
        if (buffer.length - end < 16 * 1024) {
          const rest = end - start;
          const next = new Uint8Array(Math.max(size, 2 * rest));
          next.set(buffer.subarray(start, end));
          buffer = next;
          start = 0;
          end = rest;
        }
        const n = await this.#conn.read(buffer.subarray(end));
        if (n === null) break;
        end += n;
        while (end - start >= 4) {
          const length =
            ((buffer[start] << 24) | (buffer[start + 1] << 16) | (buffer[start + 2] << 8) |
              buffer[start + 3]) >>> 0;
          if (length > MAX_FRAME) {
            throw new RangeError(`frame length ${length} exceeds ${MAX_FRAME}: not a QEMU stream`);
          }
          if (end - start < 4 + length) break;
          const data = buffer.subarray(start + 4, start + 4 + length);
          start += 4 + length;
          if (length < 14) {
            this.#stats.rxDropped++;
            continue;
          }
          if (this.#queue.push({ data })) {
            this.#stats.rxFrames++;
            this.#stats.rxBytes += length;
          } else {
            this.#stats.rxDropped++;
          }
        }
      }
    } catch (error) {
      if (!this.#closed) console.error(`usernet: ${this.name}: ${(error as Error).message}`);
    }
    this.close();
  }

  receive(): Promise<Frame[] | null> {
    return this.#queue.take();
  }

  transmit(frames: Frame[]): void {
    if (this.#closed) {
      this.#stats.txDropped += frames.length;
      return;
    }
    // One write for the whole batch: per-frame writes are ~20× slower.
    let total = 0;
    for (const f of frames) total += 4 + f.data.length;
    if (this.#pendingBytes + total > this.#maxPending) {
      this.#stats.txDropped += frames.length;
      return;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const f of frames) {
      const n = f.data.length;
      out[o] = n >>> 24;
      out[o + 1] = (n >>> 16) & 0xff;
      out[o + 2] = (n >>> 8) & 0xff;
      out[o + 3] = n & 0xff;
      out.set(f.data, o + 4);
      o += 4 + n;
      this.#stats.txFrames++;
      this.#stats.txBytes += n;
    }
    this.#pending.push(out);
    this.#pendingBytes += total;
    if (!this.#writing) this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.length && !this.#closed) {
        const chunks = this.#pending;
        this.#pending = [];
        let buffer: Uint8Array;
        if (chunks.length === 1) buffer = chunks[0];
        else {
          let size = 0;
          for (const c of chunks) size += c.length;
          buffer = new Uint8Array(size);
          let o = 0;
          for (const c of chunks) {
            buffer.set(c, o);
            o += c.length;
          }
        }
        let done = 0;
        while (done < buffer.length) done += await this.#conn.write(buffer.subarray(done));
        this.#pendingBytes -= buffer.length;
      }
    } catch (error) {
      if (!this.#closed) {
        console.error(`usernet: ${this.name}: write failed: ${(error as Error).message}`);
      }
      this.close();
    } finally {
      this.#writing = false;
    }
  }

  stats(): NicStats {
    return { ...this.#stats };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.close();
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

function describe(address: StreamAddress): string {
  return "path" in address
    ? `qemu-stream:unix:${address.path}`
    : `qemu-stream:tcp:${address.hostname}:${address.port}`;
}

/**
 * Listens for QEMU to connect (`-netdev stream,server=off,...`); each accepted connection is one
 * NIC (one VM).
 *
 * @example
 * ```ts ignore
 * import { QemuStreamServer } from "./qemu_stream.ts";
 * const server = QemuStreamServer.listen({ path: "/tmp/vm.sock" });
 * // start qemu-system-x86_64 ... -netdev stream,id=n0,server=off,addr.type=unix,addr.path=/tmp/vm.sock
 * const nic = await server.accept();
 * ```
 */
export class QemuStreamServer {
  readonly #listener: Deno.Listener;
  readonly #path: string | undefined;

  private constructor(
    listener: Deno.Listener,
    readonly address: StreamAddress,
    readonly options: QemuStreamOptions,
  ) {
    this.#listener = listener;
    this.#path = "path" in address ? address.path : undefined;
  }

  /** Starts listening; a stale unix socket file at the path is replaced. */
  static listen(address: StreamAddress, options: QemuStreamOptions = {}): QemuStreamServer {
    if ("path" in address) {
      try {
        if (Deno.lstatSync(address.path).isSocket) Deno.removeSync(address.path);
      } catch { /* does not exist */ }
      return new QemuStreamServer(
        Deno.listen({ transport: "unix", path: address.path }),
        address,
        options,
      );
    }
    const listener = Deno.listen({ hostname: address.hostname, port: address.port });
    const port = (listener.addr as Deno.NetAddr).port;
    return new QemuStreamServer(listener, { hostname: address.hostname, port }, options);
  }

  /** Waits for the next VM to connect. */
  async accept(options: QemuStreamOptions = {}): Promise<QemuStreamNic> {
    const conn = await this.#listener.accept();
    if (!("path" in this.address)) (conn as Deno.TcpConn).setNoDelay(true);
    return new QemuStreamNic(describe(this.address), conn, { ...this.options, ...options });
  }

  /** Stops listening (and removes the unix socket file). */
  close(): void {
    try {
      this.#listener.close();
    } catch { /* closed */ }
    if (this.#path) {
      try {
        Deno.removeSync(this.#path);
      } catch { /* gone */ }
    }
  }
}
