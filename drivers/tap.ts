/**
 * A Linux TAP device through Deno FFI on libc (`/dev/net/tun`, TUNSETIFF with
 * IFF_TAP | IFF_NO_PI). Needs `--allow-ffi` and CAP_NET_ADMIN (or a TAP device made persistent
 * for the user beforehand).
 *
 * Receiving never blocks Deno's event loop: the driver reads synchronously from the
 * non-blocking descriptor until EAGAIN (cheap: no thread hop per frame), then waits for more in
 * a `poll()` that runs on a worker thread.
 *
 * @module
 */
import {
  CLONE_NEWNET,
  cString,
  describeErrno,
  EAGAIN,
  EINTR,
  errno,
  loadLibc,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  POLLIN,
} from "./_libc.ts";
import {
  emptyNicStats,
  type Frame,
  type Nic,
  type NicFeatures,
  type NicStats,
  NO_OFFLOADS,
} from "./nic.ts";
import { randomMac } from "../net/wire/address.ts";

const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const ETHERNET_HEADER = 14;

/** Options of {@linkcode TapNic.open}. */
export interface TapOptions {
  /** Interface name, e.g. `tap0`. Created if it does not exist (needs CAP_NET_ADMIN). */
  name: string;
  /** Open the device inside this network namespace (`ip netns` name); needs root. */
  netns?: string;
  /** Our MAC on the TAP's link (default random); the kernel's side has its own. */
  mac?: Uint8Array;
  /** IP MTU (default 1500); must not exceed the TAP device's MTU. */
  mtu?: number;
  /** Frames read per batch before yielding to the event loop (default 256). */
  batchSize?: number;
}

/** Thrown when the TAP device cannot be opened; the message says why and what to do. */
export class TapError extends Error {
  /** Creates the error with a message that says what to do. */
  constructor(message: string) {
    super(message);
    this.name = "TapError";
  }
}

/**
 * A NIC on a Linux TAP device.
 *
 * @example
 * ```ts ignore
 * import { TapNic } from "./tap.ts";
 * import { Stack } from "../net/stack.ts";
 * const nic = TapNic.open({ name: "tap0" });
 * const stack = new Stack({ nic, address: "10.0.0.2/24", gateway: "10.0.0.1" });
 * console.log(await stack.ping("10.0.0.1"));
 * await stack.close();
 * ```
 */
export class TapNic implements Nic {
  readonly features: NicFeatures = NO_OFFLOADS;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly #fd: number;
  readonly #batchSize: number;
  readonly #stats = emptyNicStats();
  readonly #pollfd = new Uint8Array(8);
  /** Received frames are read straight into a slab, one view per frame (no per-frame buffer). */
  #slab = new Uint8Array(0);
  #slabUsed = 0;
  #closed = false;
  #polling: Promise<number> | undefined;

  private constructor(readonly name: string, fd: number, options: TapOptions) {
    this.#fd = fd;
    this.mac = options.mac ?? randomMac();
    this.mtu = options.mtu ?? 1500;
    this.#batchSize = options.batchSize ?? 256;
    new DataView(this.#pollfd.buffer).setInt32(0, fd, true);
    new DataView(this.#pollfd.buffer).setInt16(4, POLLIN, true);
  }

  /** Opens (or creates) the TAP device `options.name`. */
  static open(options: TapOptions): TapNic {
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(options.name)) {
      throw new TapError(
        `"${options.name}" is not a valid interface name (1–15 letters, digits, _ . -)`,
      );
    }
    const libc = loadLibc();
    const fd = options.netns === undefined
      ? openTun(options.name)
      : inNetns(options.netns, () => openTun(options.name));
    void libc;
    return new TapNic(options.name, fd, options);
  }

  async receive(): Promise<Frame[] | null> {
    const libc = loadLibc();
    const frames: Frame[] = [];
    const size = this.mtu + ETHERNET_HEADER;
    while (!this.#closed) {
      if (this.#slabUsed + size > this.#slab.length) {
        this.#slab = new Uint8Array(Math.max(size, 256 * 1024));
        this.#slabUsed = 0;
      }
      const buffer = this.#slab.subarray(this.#slabUsed, this.#slabUsed + size);
      const n = Number(libc.read(this.#fd, buffer, BigInt(size)));
      if (n > 0) {
        this.#stats.rxFrames++;
        this.#stats.rxBytes += n;
        frames.push({ data: buffer.subarray(0, n) });
        this.#slabUsed += (n + 7) & ~7;
        if (frames.length >= this.#batchSize) return frames;
        continue;
      }
      const code = n < 0 ? errno() : 0;
      if (n < 0 && code !== EAGAIN && code !== EINTR) {
        if (this.#closed) break;
        throw new TapError(`read from ${this.name} failed: ${describeErrno(code)}`);
      }
      if (frames.length) return frames;
      // Nothing left: wait on a worker thread. A bounded timeout lets close() finish promptly.
      this.#polling = libc.poll(this.#pollfd, 1n, 200);
      await this.#polling;
      this.#polling = undefined;
    }
    return null;
  }

  transmit(frames: Frame[]): void {
    if (this.#closed) {
      this.#stats.txDropped += frames.length;
      return;
    }
    const libc = loadLibc();
    for (const frame of frames) {
      let data = frame.data;
      if (data.length < 60) {
        // Pad to the Ethernet minimum, as a NIC would.
        const padded = new Uint8Array(60);
        padded.set(data);
        data = padded;
      }
      const n = Number(libc.write(this.#fd, data as Uint8Array<ArrayBuffer>, BigInt(data.length)));
      if (n === data.length) {
        this.#stats.txFrames++;
        this.#stats.txBytes += n;
      } else {
        this.#stats.txDropped++;
      }
    }
  }

  stats(): NicStats {
    return { ...this.#stats };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const fd = this.#fd;
    // Close after any poll in flight returns, so the descriptor is not reused under it.
    const polling = this.#polling;
    if (polling) polling.then(() => loadLibc().close(fd));
    else loadLibc().close(fd);
  }
}

function openTun(name: string): number {
  const libc = loadLibc();
  const fd = libc.open(cString("/dev/net/tun"), O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) {
    const code = errno();
    throw new TapError(
      `cannot open /dev/net/tun: ${describeErrno(code)}${
        code === 13 || code === 1 ? " (run as root, or with CAP_NET_ADMIN)" : ""
      }`,
    );
  }
  const ifreq = new Uint8Array(40);
  ifreq.set(new TextEncoder().encode(name));
  new DataView(ifreq.buffer).setInt16(16, IFF_TAP | IFF_NO_PI, true);
  if (libc.ioctl(fd, BigInt(TUNSETIFF), ifreq) < 0) {
    const code = errno();
    libc.close(fd);
    const hint = code === 1
      ? " (needs CAP_NET_ADMIN, or create it first: ip tuntap add dev NAME mode tap user $USER)"
      : code === 16
      ? " (another process has it open)"
      : code === 22
      ? " (an interface of that name exists and is not a TAP device)"
      : "";
    throw new TapError(`cannot attach to TAP device ${name}: ${describeErrno(code)}${hint}`);
  }
  return fd;
}

/**
 * Runs `fn` with this thread inside network namespace `netns` (from `ip netns add`), then
 * switches back. Namespaces are per thread in Linux, and Deno runs synchronous FFI calls on the
 * JavaScript thread, so only descriptors opened inside `fn` belong to the namespace.
 */
export function inNetns<T>(netns: string, fn: () => T): T {
  if (!/^[A-Za-z0-9_.-]+$/.test(netns)) {
    throw new TapError(`"${netns}" is not a valid namespace name`);
  }
  const libc = loadLibc();
  const original = libc.open(cString("/proc/thread-self/ns/net"), O_RDONLY | O_CLOEXEC, 0);
  if (original < 0) {
    throw new TapError(`cannot open /proc/thread-self/ns/net: ${describeErrno(errno())}`);
  }
  const target = libc.open(cString(`/run/netns/${netns}`), O_RDONLY | O_CLOEXEC, 0);
  if (target < 0) {
    const code = errno();
    libc.close(original);
    throw new TapError(
      `cannot open network namespace ${netns}: ${
        describeErrno(code)
      } (create it with: ip netns add ${netns})`,
    );
  }
  try {
    if (libc.setns(target, CLONE_NEWNET) < 0) {
      throw new TapError(
        `cannot enter network namespace ${netns}: ${describeErrno(errno())} (needs root)`,
      );
    }
    let result: T;
    try {
      result = fn();
    } finally {
      // Always switch back, even when fn threw; failing to is fatal for this thread.
      if (libc.setns(original, CLONE_NEWNET) < 0) {
        console.error(
          `usernet: cannot return from network namespace ${netns}: ${describeErrno(errno())}`,
        );
        Deno.exit(70);
      }
    }
    return result;
  } finally {
    libc.close(target);
    libc.close(original);
  }
}
