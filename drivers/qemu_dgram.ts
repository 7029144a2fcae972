/**
 * A NIC on QEMU's `-netdev dgram`: one Ethernet frame per datagram, no prefix, over UDP or unix
 * datagram sockets. Needs `--unstable-net` (deno.json enables it) for `Deno.listenDatagram`.
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

/** A datagram endpoint: a unix socket path or a UDP address. */
export type DgramAddress = { path: string } | { hostname: string; port: number };

/** Options of {@linkcode QemuDgramNic.open}. */
export interface QemuDgramOptions {
  /** Where we receive. */
  local: DgramAddress;
  /** Where QEMU receives. */
  remote: DgramAddress;
  /** Our MAC (default random). */
  mac?: Uint8Array;
  /** IP MTU (default 1500). */
  mtu?: number;
}

/**
 * A NIC on a QEMU dgram netdev.
 *
 * @example With `-netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=7001,remote.type=inet,remote.host=127.0.0.1,remote.port=7000`
 * ```ts ignore
 * import { QemuDgramNic } from "./qemu_dgram.ts";
 * const nic = QemuDgramNic.open({
 *   local: { hostname: "127.0.0.1", port: 7000 },
 *   remote: { hostname: "127.0.0.1", port: 7001 },
 * });
 * ```
 */
export class QemuDgramNic implements Nic {
  readonly features: NicFeatures = NO_OFFLOADS;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly #socket: Deno.DatagramConn;
  /** Sends go out on their own socket: Deno refuses a send on a unix datagram socket while a receive waits ("Busy"). */
  readonly #sendSocket: Deno.DatagramConn;
  readonly #sendPath: string | undefined;
  readonly #remote: Deno.Addr;
  readonly #queue = new FrameQueue(8192);
  readonly #stats = emptyNicStats();
  readonly #localPath: string | undefined;
  #closed = false;
  #sending: Promise<void> = Promise.resolve();

  private constructor(
    readonly name: string,
    socket: Deno.DatagramConn,
    remote: Deno.Addr,
    options: QemuDgramOptions,
  ) {
    this.#socket = socket;
    this.#remote = remote;
    if ("path" in options.local) {
      this.#sendPath = `${options.local.path}.tx`;
      try {
        if (Deno.lstatSync(this.#sendPath).isSocket) Deno.removeSync(this.#sendPath);
      } catch { /* absent */ }
      this.#sendSocket = Deno.listenDatagram({ transport: "unixpacket", path: this.#sendPath });
    } else {
      this.#sendSocket = socket;
    }
    this.mac = options.mac ?? randomMac();
    this.mtu = options.mtu ?? 1500;
    this.#localPath = "path" in options.local ? options.local.path : undefined;
    this.#readLoop();
  }

  /** Binds the local socket. */
  static open(options: QemuDgramOptions): QemuDgramNic {
    // Check before binding, so a bad pair leaves no socket open behind the error.
    if (("path" in options.local) !== ("path" in options.remote)) {
      throw new TypeError(
        "path" in options.local
          ? "a unix local socket needs a unix remote"
          : "a UDP local socket needs a UDP remote",
      );
    }
    let socket: Deno.DatagramConn;
    let remote: Deno.Addr;
    if ("path" in options.local) {
      try {
        if (Deno.lstatSync(options.local.path).isSocket) Deno.removeSync(options.local.path);
      } catch { /* absent */ }
      socket = Deno.listenDatagram({ transport: "unixpacket", path: options.local.path });
      if (!("path" in options.remote)) {
        throw new TypeError("a unix local socket needs a unix remote");
      }
      remote = { transport: "unixpacket", path: options.remote.path };
    } else {
      socket = Deno.listenDatagram({
        transport: "udp",
        hostname: options.local.hostname,
        port: options.local.port,
      });
      if ("path" in options.remote) throw new TypeError("a UDP local socket needs a UDP remote");
      remote = { transport: "udp", hostname: options.remote.hostname, port: options.remote.port };
    }
    const name = "path" in options.remote
      ? `qemu-dgram:unix:${options.remote.path}`
      : `qemu-dgram:udp:${options.remote.hostname}:${options.remote.port}`;
    return new QemuDgramNic(name, socket, remote, options);
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(65536 + 4096);
    try {
      for (;;) {
        const [data] = await this.#socket.receive(buffer);
        if (data.length < 14) {
          this.#stats.rxDropped++;
          continue;
        }
        if (this.#queue.push({ data: data.slice() })) {
          this.#stats.rxFrames++;
          this.#stats.rxBytes += data.length;
        } else {
          this.#stats.rxDropped++;
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
    for (const f of frames) {
      this.#stats.txFrames++;
      this.#stats.txBytes += f.data.length;
      this.#sending = this.#sending.then(() =>
        this.#sendSocket.send(f.data, this.#remote).then(() => {}, () => {
          this.#stats.txDropped++;
        })
      );
    }
  }

  stats(): NicStats {
    return { ...this.#stats };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.close();
    for (const socket of new Set([this.#socket, this.#sendSocket])) {
      try {
        socket.close();
      } catch { /* closed */ }
    }
    for (const path of [this.#localPath, this.#sendPath]) {
      if (!path) continue;
      try {
        Deno.removeSync(path);
      } catch { /* gone */ }
    }
  }
}
