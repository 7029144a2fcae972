/**
 * Helpers for TCP interop tests against the Linux kernel over a TAP device in a namespace the
 * test creates (Linux at 10.79.x.1, usernet at 10.79.x.2), with a Python peer whose modes cover
 * bulk transfer, closing orders, half-close and many connections.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { createTapNamespace, type TestNamespace } from "../../tests/interop/_netns.ts";
import { TapNic } from "../../drivers/tap.ts";
import { FaultInjector, type FaultOptions } from "../../drivers/fault_injector.ts";
import { Stack } from "../stack.ts";
import type { TcpConn } from "./conn.ts";
import type { TcpConfig } from "./config.ts";

/** What the Linux TCP interop tests need from the machine. */
export const LINUX_TCP_NEEDS = {
  root: true,
  programs: ["ip", "python3", "ss"],
  files: ["/dev/net/tun"],
};

/**
 * The Linux side: one Python program, mode chosen by its first argument.
 *
 * - `duplex PORT N SEED`: accept one connection; send N bytes (the stream `SEED`) while reading
 *   to EOF; then print `received <bytes> <sha256> sent <sha256>`.
 * - `connect-duplex HOST PORT N SEED`: the same as a client.
 * - `serve-then-close PORT N`: accept, send N bytes of stream 1, close at once (Linux first).
 * - `read-then-close PORT`: accept, read to EOF, print `<bytes> <sha256>`, then close.
 * - `close-at PORT`: accept, read a line with a wall-clock time in ms, shut down the writing side
 *   at that time, read to EOF, print `eof`.
 * - `half-close HOST PORT`: connect, send `request\n`, shut down writing, read to EOF, print
 *   `<bytes> <sha256>`.
 * - `echo-many PORT`: an asyncio echo server (each connection echoed until EOF, then closed).
 * - `connect-many HOST PORT COUNT SIZE`: COUNT concurrent clients each send SIZE bytes, shut
 *   down writing, read the echo back and compare; print `ok <count>` or the first failure.
 */
export const LINUX_PEER = String.raw`
import asyncio, hashlib, socket, sys, threading, time

def stream(n, seed):
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 256
    return memoryview(bytes(out[:n]))

def listen(port, backlog=64):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(backlog)
    print("ready", flush=True)
    return s

def duplex(c, n, seed):
    data = stream(n, seed)
    sent = hashlib.sha256(data).hexdigest()
    def send():
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send)
    t.start()
    h, got = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        h.update(b); got += len(b)
    t.join()
    print(f"received {got} {h.hexdigest()} sent {sent}", flush=True)
    c.close()

def read_all(c):
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 20)
        if not b: break
        h.update(b); n += len(b)
    return n, h.hexdigest()

mode = sys.argv[1]
if mode == "duplex":
    s = listen(int(sys.argv[2]))
    c, _ = s.accept()
    duplex(c, int(sys.argv[3]), int(sys.argv[4]))
elif mode == "connect-duplex":
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=120)
    duplex(c, int(sys.argv[4]), int(sys.argv[5]))
elif mode == "serve-then-close":
    s = listen(int(sys.argv[2]))
    c, _ = s.accept()
    c.sendall(stream(int(sys.argv[3]), 1))
    c.close()
    print("closed", flush=True)
elif mode == "read-then-close":
    s = listen(int(sys.argv[2]))
    c, _ = s.accept()
    n, sha = read_all(c)
    print(n, sha, flush=True)
    c.close()
elif mode == "close-at":
    s = listen(int(sys.argv[2]))
    c, _ = s.accept()
    line = b""
    while not line.endswith(b"\n"):
        line += c.recv(1)
    at = int(line) / 1000
    time.sleep(max(0, at - time.time()))
    c.shutdown(socket.SHUT_WR)
    read_all(c)
    print("eof", flush=True)
    c.close()
elif mode == "half-close":
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=120)
    c.sendall(b"request\n")
    c.shutdown(socket.SHUT_WR)
    n, sha = read_all(c)
    print(n, sha, flush=True)
elif mode == "echo-many":
    async def handle(reader, writer):
        while True:
            b = await reader.read(65536)
            if not b: break
            writer.write(b)
            await writer.drain()
        writer.close()
    async def main():
        server = await asyncio.start_server(handle, "0.0.0.0", int(sys.argv[2]), backlog=4096)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()
    asyncio.run(main())
elif mode == "connect-many":
    host, port, count, size = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    async def client(i):
        payload = hashlib.sha256(str(i).encode()).digest() * (size // 32 + 1)
        payload = payload[:size]
        for attempt in range(5):
            try:
                reader, writer = await asyncio.open_connection(host, port)
                break
            except OSError:
                await asyncio.sleep(0.2)
        else:
            return f"client {i}: could not connect"
        writer.write(payload)
        await writer.drain()
        writer.write_eof()
        back = await reader.read(-1)
        writer.close()
        return None if back == payload else f"client {i}: echo of {len(back)} bytes differs"
    async def main():
        results = await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(count))), 120)
        bad = [r for r in results if r]
        print(f"ok {count}" if not bad else bad[0], flush=True)
    asyncio.run(main())
`;

/** The stream of `seed`: what the Python peer's `stream(n, seed)` makes, as SHA-256 hex. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let subnet = 0;

/** A namespace with a TAP device and a usernet stack on it, optionally behind a fault injector. */
export interface LinuxTapSetup {
  ns: TestNamespace;
  stack: Stack;
  /** Linux's address. */
  linux: string;
  /** usernet's address. */
  usernet: string;
  faults: FaultInjector | undefined;
  /** Runs the Python peer inside the namespace. */
  peer(name: string, args: string[]): ReturnType<TestNamespace["spawn"]>;
  /** Linux's TCP sockets as `ss -tanH` prints them. */
  ss(): Promise<string>;
  cleanup(): Promise<void>;
}

/** Options of {@linkcode linuxTap}. */
export interface LinuxTapOptions {
  /** Faults at usernet's NIC, both directions, seeded (the kernel here has no sch_netem). */
  faults?: FaultOptions & { seed?: number };
  /** usernet's TCP settings. */
  tcp?: Partial<TcpConfig>;
}

/** Creates the namespace, TAP and stack. */
export async function linuxTap(tag: string, options: LinuxTapOptions = {}): Promise<LinuxTapSetup> {
  const n = 10 + (subnet++ % 200);
  const linux = `10.79.${n}.1`;
  const usernet = `10.79.${n}.2`;
  const ns = await createTapNamespace(tag, `${linux}/24`);
  const tap = TapNic.open({ name: ns.tap, netns: ns.name });
  let faults: FaultInjector | undefined;
  if (options.faults) {
    const seed = options.faults.seed ?? Date.now() % 1_000_000;
    console.error(`${tag}: fault injection seed ${seed}`);
    faults = new FaultInjector(tap, { seed, transmit: options.faults, receive: options.faults });
  }
  const stack = new Stack({ nic: faults ?? tap, address: `${usernet}/24`, tcp: options.tcp });
  return {
    ns,
    stack,
    linux,
    usernet,
    faults,
    peer: (name, args) => ns.spawn(name, "python3", ["-c", LINUX_PEER, ...args]),
    ss: () => ns.exec("ss", ["-tanH"]),
    async cleanup() {
      await stack.close();
      await ns.cleanup();
    },
  };
}

/**
 * Writes `size` bytes to `conn` (1 MiB random blocks, each stamped with its index so a block
 * out of place changes the hash), then half-closes; resolves to the SHA-256 of what was written.
 */
export async function sendStream(conn: TcpConn, size: number, chunk = 256 * 1024): Promise<string> {
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i += 65536) {
    crypto.getRandomValues(block.subarray(i, i + 65536));
  }
  const hash = sha256.create();
  for (let sent = 0; sent < size;) {
    const offset = sent % block.length;
    if (offset === 0) new DataView(block.buffer).setUint32(0, sent / block.length);
    const n = Math.min(chunk, size - sent, block.length - offset);
    const part = block.subarray(offset, offset + n);
    hash.update(part);
    await conn.write(part);
    sent += n;
  }
  await conn.closeWrite();
  return hex(hash.digest());
}

/** Reads `conn` to EOF; resolves to the byte count and SHA-256. */
export async function receiveStream(
  conn: Pick<TcpConn, "read">,
): Promise<{ bytes: number; sha: string }> {
  const hash = sha256.create();
  const buffer = new Uint8Array(256 * 1024);
  let bytes = 0;
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
    bytes += n;
  }
  return { bytes, sha: hex(hash.digest()) };
}

/** SHA-256 of the Python peer's `stream(n, seed)`, computed here. */
export function streamSha(n: number, seed: number): string {
  const h = sha256.create();
  let block = sha256(new TextEncoder().encode(String(seed)));
  let left = n;
  while (left > 0) {
    block = sha256(block);
    const run = new Uint8Array(32 * 256);
    for (let i = 0; i < 256; i++) run.set(block, i * 32);
    const take = Math.min(left, run.length);
    h.update(run.subarray(0, take));
    left -= take;
  }
  return hex(h.digest());
}

/** Waits until `predicate` holds (polled), or throws after `timeoutMs`. */
export async function until(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
) {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
