/**
 * TCP bulk throughput and cost, usernet next to Linux's own TCP measured in the same run:
 *
 * - usernet → Linux and Linux → usernet over a TAP device in a namespace made for the run
 *   (Linux 10.76.0.1, usernet 10.76.0.2): one connection, 200 MB, a Python peer on the Linux
 *   side that reads with `recv_into` / sends with `sendall`.
 * - usernet ↔ usernet: two stacks in this process on a memory link.
 * - The reference for all three: Linux ↔ Linux over a veth pair between two namespaces, the same
 *   Python peer at both ends (2 GB): the machine's ceiling.
 * - CPU seconds per GB moved: usernet's process time (`Deno.cpuUsage`; over TAP it includes the
 *   kernel's work done in usernet's `write`/`read` calls) next to the veth run's two Python
 *   processes' user + system time.
 * - Memory per idle connection: N established connections between two stacks on a memory link,
 *   heap + external memory growth per connection end (`Deno.memoryUsage` after a full GC).
 *
 * Throughput counts payload bytes, from the receiver's first byte to its last.
 *
 * @module
 */
import {
  createNamespace,
  createTapNamespace,
  type TestNamespace,
} from "../tests/interop/_netns.ts";
import { TapNic } from "../drivers/tap.ts";
import { MemoryLink } from "../drivers/memory.ts";
import { Stack } from "../net/stack.ts";
import type { TcpConn } from "../net/tcp/conn.ts";
import type { BenchRow } from "./row.ts";
import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";

const MB = 1e6;
const TAP_BYTES = 200 * MB;
const MEMORY_BYTES = 200 * MB;
const VETH_BYTES = 2000 * MB;
const IDLE_CONNECTIONS = 1000;
const TARGET_TAP = 1;
const TARGET_STACK = 2;

/** The Python side: `sink PORT`, `connect-source HOST PORT N`; each prints bytes, seconds, CPU. */
const PEER = String.raw`
import resource, socket, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
mode = sys.argv[1]
if mode == "sink":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(1)
    print("ready", flush=True)
    c, _ = s.accept()
    buf = bytearray(4 << 20); view = memoryview(buf)
    n = c.recv_into(view); start = time.perf_counter(); cpu0 = cpu()
    while True:
        k = c.recv_into(view)
        if not k: break
        n += k
    print(n, time.perf_counter() - start, cpu() - cpu0, flush=True)
    c.close()
elif mode == "connect-source":
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=60)
    total = int(sys.argv[4]); buf = memoryview(bytes(4 << 20)); cpu0 = cpu(); start = time.perf_counter()
    sent = 0
    while sent < total:
        k = min(len(buf), total - sent)
        c.sendall(buf[:k]); sent += k
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    print(sent, time.perf_counter() - start, cpu() - cpu0, flush=True)
`;

interface Measured {
  bytes: number;
  seconds: number;
  /** CPU seconds spent by the side we account for. */
  cpu: number;
}

const gbps = (m: Measured) => (m.bytes * 8) / m.seconds / 1e9;
const cpuPerGb = (m: Measured) => m.cpu / (m.bytes / 1e9);

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function spawn(ns: TestNamespace, args: string[]) {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns.name, "python3", "-c", PEER, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let log = "";
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  (async () => {
    for await (const chunk of child.stdout) {
      log += decoder.decode(chunk, { stream: true });
      const parts = log.split("\n");
      log = parts.pop()!;
      lines.push(...parts);
      for (const w of waiters.splice(0)) w();
    }
  })();
  const stderr = new Response(child.stderr).text();
  return {
    async line(): Promise<string> {
      while (!lines.length) {
        const status = await Promise.race([
          new Promise<void>((r) => waiters.push(r)).then(() => undefined),
          child.status,
        ]);
        if (status && !lines.length) throw new Error(`python peer exited: ${await stderr}`);
      }
      return lines.shift()!;
    },
    status: child.status,
  };
}

function parseMeasured(line: string): Measured {
  const [bytes, seconds, cpu] = line.trim().split(/\s+/).map(Number);
  return { bytes, seconds, cpu };
}

async function sendBytes(conn: TcpConn, total: number): Promise<void> {
  const chunk = new Uint8Array(1 << 20);
  for (let sent = 0; sent < total;) {
    const n = Math.min(chunk.length, total - sent);
    await conn.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    sent += n;
  }
  await conn.closeWrite();
}

async function receiveBytes(conn: TcpConn): Promise<Measured> {
  const buffer = new Uint8Array(1 << 20);
  let first = await conn.read(buffer);
  const start = performance.now();
  const cpu0 = cpuNow();
  let bytes = first ?? 0;
  while (first !== null) {
    first = await conn.read(buffer);
    if (first !== null) bytes += first;
  }
  return { bytes, seconds: (performance.now() - start) / 1000, cpu: cpuNow() - cpu0 };
}

/** usernet ↔ Linux over TAP, both directions. */
async function tapRuns(): Promise<{ toLinux: Measured; fromLinux: Measured }> {
  const ns = await createTapNamespace("bench-tcp", "10.76.0.1/24");
  await ns.exec("ip", ["link", "set", "tap0", "txqueuelen", "10000"]);
  const stack = new Stack({
    nic: TapNic.open({ name: ns.tap, netns: ns.name }),
    address: "10.76.0.2/24",
  });
  try {
    // usernet → Linux: Linux's sink times its reception; we count our own CPU.
    const sink = spawn(ns, ["sink", "5001"]);
    await sink.line();
    const conn = await stack.connect({ hostname: "10.76.0.1", port: 5001 });
    const cpu0 = cpuNow();
    await sendBytes(conn, TAP_BYTES);
    const reported = parseMeasured(await sink.line());
    const toLinux = { ...reported, cpu: cpuNow() - cpu0 };
    conn.close();

    // Linux → usernet.
    const listener = stack.listen({ port: 5002 });
    const source = spawn(ns, ["connect-source", "10.76.0.2", "5002", String(TAP_BYTES)]);
    const inbound = await listener.accept();
    const fromLinux = await receiveBytes(inbound);
    await inbound.write(new Uint8Array(1));
    inbound.close();
    await source.line();
    listener.close();
    return { toLinux, fromLinux };
  } finally {
    await stack.close();
    await ns.cleanup();
  }
}

/** Linux ↔ Linux over veth between two namespaces. */
async function vethRun(): Promise<Measured> {
  const a = await createNamespace("bench-va");
  const b = await createNamespace("bench-vb");
  try {
    await new Deno.Command("ip", {
      args: [
        "link",
        "add",
        "vb0",
        "netns",
        a.name,
        "type",
        "veth",
        "peer",
        "name",
        "vb1",
        "netns",
        b.name,
      ],
    }).output();
    await a.exec("ip", ["addr", "add", "10.75.0.1/24", "dev", "vb0"]);
    await b.exec("ip", ["addr", "add", "10.75.0.2/24", "dev", "vb1"]);
    await a.exec("ip", ["link", "set", "vb0", "up"]);
    await b.exec("ip", ["link", "set", "vb1", "up"]);
    const sink = spawn(a, ["sink", "5001"]);
    await sink.line();
    const source = spawn(b, ["connect-source", "10.75.0.1", "5001", String(VETH_BYTES)]);
    const received = parseMeasured(await sink.line());
    const sent = parseMeasured(await source.line());
    return { bytes: received.bytes, seconds: received.seconds, cpu: received.cpu + sent.cpu };
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
}

/** Two usernet stacks on a memory link; CPU is the whole process (both stacks). */
async function memoryRun(): Promise<Measured> {
  const [x, y] = MemoryLink.pair({ queueLimit: 65536 });
  const left = new Stack({ nic: x, address: "10.0.0.1/24" });
  const right = new Stack({ nic: y, address: "10.0.0.2/24" });
  try {
    const listener = right.listen({ port: 9000 });
    const accepted = listener.accept();
    const conn = await left.connect({ hostname: "10.0.0.2", port: 9000 });
    const server = await accepted;
    const cpu0 = cpuNow();
    const [, measured] = await Promise.all([sendBytes(conn, MEMORY_BYTES), receiveBytes(server)]);
    const cpu = cpuNow() - cpu0;
    conn.close();
    server.close();
    listener.close();
    return { ...measured, cpu };
  } finally {
    await left.close();
    await right.close();
  }
}

/** V8's garbage collector, made callable without a command-line flag. */
function collector(): () => void {
  v8.setFlagsFromString("--expose_gc");
  return vm.runInNewContext("gc");
}

function memoryInUse(): number {
  const gc = collector();
  gc();
  gc();
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

/** Bytes per established idle connection (both ends counted once each: per connection end). */
async function idleMemoryPerConnection(): Promise<number> {
  const [x, y] = MemoryLink.pair({ queueLimit: 65536 });
  const left = new Stack({ nic: x, address: "10.0.0.1/24" });
  const right = new Stack({ nic: y, address: "10.0.0.2/24" });
  const listener = right.listen({
    port: 9000,
    backlog: IDLE_CONNECTIONS,
    synQueueLength: IDLE_CONNECTIONS,
  });
  const kept: TcpConn[] = [];
  try {
    await left.ping("10.0.0.2"); // ARP resolved before measuring
    const before = memoryInUse();
    for (let i = 0; i < IDLE_CONNECTIONS; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, () => left.connect({ hostname: "10.0.0.2", port: 9000 })),
      );
      kept.push(...batch);
      for (let k = 0; k < batch.length; k++) kept.push(await listener.accept());
    }
    const after = memoryInUse();
    return (after - before) / kept.length;
  } finally {
    for (const c of kept) c.close();
    listener.close();
    await left.close();
    await right.close();
  }
}

function why(): string | undefined {
  if (Deno.uid() !== 0) return "needs root (namespaces, TAP, veth)";
  try {
    Deno.statSync("/dev/net/tun");
  } catch {
    return "no /dev/net/tun";
  }
  return undefined;
}

/** The TCP rows. */
export async function tcpRows(): Promise<BenchRow[]> {
  const missing = why();
  const idle = await idleMemoryPerConnection(); // first, before the bulk runs leave garbage
  const veth = missing ? undefined : await vethRun();
  const tap = missing ? undefined : await tapRuns();
  const memory = await memoryRun();
  const vethLabel = "Linux ↔ Linux, veth (machine ceiling)";
  const tapNote = (m: Measured | undefined) =>
    m
      ? `${(m.bytes / MB).toFixed(0)} MB in ${
        m.seconds.toFixed(2)
      } s; target ≥ ${TARGET_TAP} Gbit/s`
      : missing;
  return [
    {
      name: "TCP bulk, usernet → Linux over TAP",
      usernet: tap ? gbps(tap.toLinux) : NaN,
      reference: veth && gbps(veth),
      referenceLabel: vethLabel,
      unit: "Gbit/s",
      note: tapNote(tap?.toLinux),
    },
    {
      name: "TCP bulk, Linux → usernet over TAP",
      usernet: tap ? gbps(tap.fromLinux) : NaN,
      reference: veth && gbps(veth),
      referenceLabel: vethLabel,
      unit: "Gbit/s",
      note: tapNote(tap?.fromLinux),
    },
    {
      name: "TCP bulk, usernet ↔ usernet over a memory link",
      usernet: gbps(memory),
      reference: veth && gbps(veth),
      referenceLabel: vethLabel,
      unit: "Gbit/s",
      note: `${
        (memory.bytes / MB).toFixed(0)
      } MB, both stacks in one process; target ≥ ${TARGET_STACK} Gbit/s`,
    },
    {
      name: "CPU per GB, usernet → Linux over TAP",
      usernet: tap ? cpuPerGb(tap.toLinux) : NaN,
      reference: veth && cpuPerGb(veth),
      referenceLabel: "Linux veth: sender + receiver process time",
      unit: "CPU s/GB",
      note: tap ? "usernet's process; includes the kernel's TAP/TCP work in its syscalls" : missing,
    },
    {
      name: "CPU per GB, Linux → usernet over TAP",
      usernet: tap ? cpuPerGb(tap.fromLinux) : NaN,
      reference: veth && cpuPerGb(veth),
      referenceLabel: "Linux veth: sender + receiver process time",
      unit: "CPU s/GB",
      note: tap ? "usernet's process while receiving" : missing,
    },
    {
      name: "CPU per GB, usernet ↔ usernet over a memory link",
      usernet: cpuPerGb(memory),
      reference: veth && cpuPerGb(veth),
      referenceLabel: "Linux veth: sender + receiver process time",
      unit: "CPU s/GB",
      note: "both stacks (sender and receiver) in one process",
    },
    {
      name: "memory per idle connection end",
      usernet: idle / 1024,
      reference: undefined,
      referenceLabel: "Linux (not measured)",
      unit: "KiB",
      note: `${IDLE_CONNECTIONS} established connections, heap + external growth / connection ends`,
    },
  ];
}

if (import.meta.main) {
  const { formatTable } = await import("./row.ts");
  console.log(formatTable(await tcpRows()));
}
