/**
 * TCP throughput through usernet's gateway next to QEMU's user network (libslirp) and passt,
 * measured in the same run with the same client and the same server:
 *
 * - the client is a usernet stack in this process (10.0.2.15/24), its NIC a `QemuStreamNic` on
 *   the unix stream socket each backend offers, the way a VM would be plugged in;
 * - the server is a Deno TCP server on 127.0.0.1 (a child process: `deno run -A
 *   bench/gateway.ts serve`), reached as 10.0.2.2:PORT through each backend;
 * - the backends: usernet's gateway (`cli/gateway.ts --listen unix:PATH`, its own process),
 *   `qemu-system-x86_64 -machine none -netdev user` joined to a `-netdev stream` server by a hub,
 *   and `passt -s PATH`.
 *
 * Each backend and its server run in a network namespace made for the run (passt gets a veth
 * pair with a default route, which it needs), so nothing can reach a real address. Guest to
 * host: the client announces a length and writes that much, the server answers with the count
 * it read. Host to guest: the client asks for a length and the server sends that much. Each figure is the better of two
 * runs of 64 MB after an 8 MB warm-up. Needs root, `ip`, QEMU and passt; otherwise the rows
 * say what is missing.
 *
 * @module
 */
import { QemuStreamNic } from "../drivers/qemu_stream.ts";
import { Stack } from "../net/stack.ts";
import { createNamespace, type TestNamespace } from "../tests/interop/_netns.ts";
import type { Peer } from "../tests/interop/_harness.ts";
import type { BenchRow } from "./row.ts";

const MB = 1 << 20;
const BYTES = 64 * MB;
const WARM_UP = 8 * MB;
const CHUNK = 256 * 1024;
const ROOT = new URL("../", import.meta.url).pathname;

/** One backend: a process in `ns` offering a QEMU stream socket at `socket`. */
interface Backend {
  name: string;
  label: string;
  /** Part of the backend process's command line. */
  marker: string;
  programs: string[];
  start(ns: TestNamespace, socket: string): Promise<Peer>;
}

const BACKENDS: Backend[] = [
  {
    name: "usernet",
    label: "usernet gateway",
    marker: "cli/gateway.ts",
    programs: [],
    start: async (ns, socket) => {
      const peer = ns.spawn("usernet gateway", Deno.execPath(), [
        "run",
        ...(Deno.env.get("GATEWAY_BENCH_PROFILE")
          ? ["--cpu-prof", `--cpu-prof-dir=${Deno.env.get("GATEWAY_BENCH_PROFILE")}`]
          : []),
        "--allow-net",
        "--allow-read",
        "--allow-write",
        `--config=${ROOT}deno.json`,
        `${ROOT}cli/gateway.ts`,
        "--listen",
        `unix:${socket}`,
      ]);
      await peer.waitForOutput("listening for QEMU", 30_000);
      return peer;
    },
  },
  {
    name: "slirp",
    label: "QEMU user network (libslirp)",
    marker: "qemu-system-x86_64",
    programs: ["qemu-system-x86_64"],
    start: async (ns, socket) => {
      const peer = ns.spawn("qemu", "qemu-system-x86_64", [
        "-machine",
        "none",
        "-nodefaults",
        "-display",
        "none",
        "-netdev",
        "user,id=u0",
        "-netdev",
        `stream,id=s0,server=on,addr.type=unix,addr.path=${socket}`,
        "-netdev",
        "hubport,id=p0,hubid=0,netdev=u0",
        "-netdev",
        "hubport,id=p1,hubid=0,netdev=s0",
      ]);
      await waitForSocket(socket, peer);
      return peer;
    },
  },
  {
    name: "passt",
    label: "passt",
    marker: "passt",
    programs: ["passt"],
    start: async (ns, socket) => {
      // passt needs an interface with a default route: a veth pair, both ends inside.
      await ns.exec("ip", ["link", "add", "ext0", "type", "veth", "peer", "name", "ext1"]);
      await ns.exec("ip", ["addr", "add", "192.168.77.1/24", "dev", "ext0"]);
      await ns.exec("ip", ["link", "set", "ext0", "up"]);
      await ns.exec("ip", ["link", "set", "ext1", "up"]);
      await ns.exec("ip", ["route", "add", "default", "via", "192.168.77.2", "dev", "ext0"]);
      const peer = ns.spawn("passt", "passt", [
        "-f",
        "-e",
        "-1",
        "--runas",
        "0",
        "-s",
        socket,
        "-4",
        "-a",
        "10.0.2.15",
        "-n",
        "24",
        "-g",
        "10.0.2.2",
        "-m",
        "1500",
        "-D",
        "none",
        "-S",
        "none",
      ]);
      await waitForSocket(socket, peer);
      return peer;
    },
  },
];

async function waitForSocket(path: string, peer: Peer): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await Deno.lstat(path)).isSocket) return;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`${peer.name}: no socket at ${path}\n${peer.log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function which(program: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      Deno.statSync(`${dir}/${program}`);
      return true;
    } catch { /* keep looking */ }
  }
  return false;
}

/** MB/s both ways through one backend and its CPU s/GB, or why it could not be measured. */
interface Throughput {
  up?: number;
  down?: number;
  upCpu?: number;
  downCpu?: number;
  error?: string;
}

/** The backend's process in `ns` (not the bench server), found by its command line. */
async function backendPid(ns: TestNamespace, marker: string): Promise<number | undefined> {
  const pids = (await ns.exec("ip", ["netns", "pids", ns.name], { allowFail: true }))
    .split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
    if (cmdline.includes(marker) && !cmdline.includes("bench/gateway.ts")) return pid;
  }
  return undefined;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat(5); clock ticks are 100 per second on Linux.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(backend: Backend): Promise<Throughput> {
  const ns = await createNamespace(`bench-gw-${backend.name}`);
  const dir = await Deno.makeTempDir({ prefix: "usernet-bench-gateway-" });
  await Deno.chmod(dir, 0o777);
  const socket = `${dir}/net.sock`;
  let peer: Peer | undefined;
  let server: Deno.ChildProcess | undefined;
  let stack: Stack | undefined;
  try {
    const spawned = spawnServer(ns);
    server = spawned.child;
    const port = await spawned.port;
    peer = await backend.start(ns, socket);
    const nic = await QemuStreamNic.connect({ path: socket });
    stack = new Stack({ nic, address: "10.0.2.15/24", gateway: "10.0.2.2" });
    const s = stack;
    const log = (what: string) => console.error(`bench gateway: ${backend.name} ${what}`);
    log("warming up");
    await upload(s, port, WARM_UP);
    await download(s, port, WARM_UP);
    log("measuring");
    const pid = await backendPid(ns, backend.marker);
    const cpu = () => pid === undefined ? NaN : cpuSeconds(pid);
    let up = 0;
    let down = 0;
    let upCpu = 0;
    let downCpu = 0;
    for (let run = 0; run < 2; run++) {
      let before = cpu();
      up = Math.max(up, await upload(s, port, BYTES));
      upCpu += cpu() - before;
      before = cpu();
      down = Math.max(down, await download(s, port, BYTES));
      downCpu += cpu() - before;
    }
    const gb = (2 * BYTES) / 1e9;
    return { up, down, upCpu: upCpu / gb, downCpu: downCpu / gb };
  } catch (error) {
    return { error: `${(error as Error).message}${peer ? `\n${peer.log}` : ""}` };
  } finally {
    await stack?.close();
    await peer?.stop();
    try {
      server?.kill("SIGKILL");
      await server?.status;
    } catch { /* gone */ }
    await ns.cleanup();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Starts this file as the server inside `ns`; resolves its port. */
function spawnServer(ns: TestNamespace): { child: Deno.ChildProcess; port: Promise<number> } {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns.name,
      Deno.execPath(),
      "run",
      "-A",
      `--config=${ROOT}deno.json`,
      new URL(import.meta.url).pathname,
      "serve",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const port = (async () => {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the bench server exited before listening");
      text += value;
      const m = /^port (\d+)$/m.exec(text);
      if (m) {
        reader.releaseLock();
        child.stdout.cancel().catch(() => {});
        return Number(m[1]);
      }
    }
  })();
  return { child, port };
}

/**
 * Guest to host: MB/s of `bytes` written, counted once the server confirms it read them all.
 * Requests and replies are length-delimited rather than ended by FIN: passt 2023-03-09 does not
 * carry the host's FIN to a guest that has half-closed.
 */
async function upload(stack: Stack, port: number, bytes: number): Promise<number> {
  const conn = await stack.connect({ hostname: "10.0.2.2", port });
  const chunk = new Uint8Array(CHUNK).fill(0x55);
  const start = performance.now();
  await conn.write(new TextEncoder().encode(`U${bytes}\n`));
  for (let sent = 0; sent < bytes; sent += CHUNK) {
    await conn.write(sent + CHUNK <= bytes ? chunk : chunk.subarray(0, bytes - sent));
  }
  const reply = await readLine(conn);
  const elapsed = performance.now() - start;
  conn.close();
  if (Number(reply) !== bytes) throw new Error(`the server counted ${reply} of ${bytes} bytes`);
  return bytes / MB / (elapsed / 1000);
}

/** Host to guest: MB/s of `bytes` the server sends. */
async function download(stack: Stack, port: number, bytes: number): Promise<number> {
  const conn = await stack.connect({ hostname: "10.0.2.2", port });
  const buffer = new Uint8Array(CHUNK);
  const start = performance.now();
  await conn.write(new TextEncoder().encode(`D${bytes}\n`));
  let got = 0;
  while (got < bytes) {
    const n = await conn.read(buffer);
    if (n === null) break;
    got += n;
  }
  const elapsed = performance.now() - start;
  conn.close();
  if (got !== bytes) throw new Error(`received ${got} of ${bytes} bytes`);
  return bytes / MB / (elapsed / 1000);
}

/** Reads up to a newline (replies are short). */
async function readLine(conn: { read(p: Uint8Array): Promise<number | null> }): Promise<string> {
  const buffer = new Uint8Array(64);
  let have = 0;
  while (!buffer.subarray(0, have).includes(10)) {
    const n = await conn.read(buffer.subarray(have));
    if (n === null || have + n >= buffer.length) break;
    have += n;
  }
  return new TextDecoder().decode(buffer.subarray(0, have)).trim();
}

/** The server: `U<n>\n` then n bytes → `n\n`; `D<n>\n` → n bytes. Then it waits for EOF. */
async function serve(): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(`port ${(listener.addr as Deno.NetAddr).port}`);
  for await (const conn of listener) {
    (async () => {
      conn.setNoDelay(true);
      const buffer = new Uint8Array(CHUNK);
      let head = "";
      let extra = 0;
      while (!head.includes("\n")) {
        const n = await conn.read(buffer);
        if (n === null) return conn.close();
        const text = new TextDecoder("latin1").decode(buffer.subarray(0, n));
        const end = text.indexOf("\n");
        head += end < 0 ? text : text.slice(0, end + 1);
        if (end >= 0) extra = n - (end + 1);
      }
      const total = Number(head.slice(1, head.indexOf("\n")));
      if (head[0] === "U") {
        let count = extra;
        while (count < total) {
          const n = await conn.read(buffer);
          if (n === null) break;
          count += n;
        }
        await conn.write(new TextEncoder().encode(`${count}\n`));
      } else {
        const chunk = new Uint8Array(CHUNK).fill(0x44);
        for (let sent = 0; sent < total;) {
          const piece = Math.min(CHUNK, total - sent);
          sent += await conn.write(piece === CHUNK ? chunk : chunk.subarray(0, piece));
        }
      }
      while (await conn.read(buffer) !== null) { /* until the client closes */ }
      conn.close();
    })().catch(() => {
      try {
        conn.close();
      } catch { /* closed */ }
    });
  }
}

/**
 * The gateway rows: usernet's gateway next to libslirp and passt, each direction.
 *
 * @example
 * ```ts ignore
 * import { gatewayRows } from "./gateway.ts";
 * console.log(await gatewayRows());
 * ```
 */
export async function gatewayRows(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const why = Deno.uid() !== 0
    ? "needs root (network namespaces)"
    : !which("ip")
    ? "needs ip (iproute2)"
    : undefined;
  const results = new Map<string, Throughput>();
  const only = Deno.env.get("GATEWAY_BENCH_ONLY");
  for (const backend of BACKENDS) {
    if (only && backend.name !== only) {
      results.set(backend.name, { error: "skipped (GATEWAY_BENCH_ONLY)" });
      continue;
    }
    const missing = why ?? backend.programs.filter((p) => !which(p)).map((p) => `needs ${p}`)[0];
    results.set(backend.name, missing ? { error: missing } : await measure(backend));
  }
  const ours = results.get("usernet")!;
  for (const [direction, key] of [["guest→host", "up"], ["host→guest", "down"]] as const) {
    for (const reference of BACKENDS.slice(1)) {
      const theirs = results.get(reference.name)!;
      const notes = [
        ours.error ? `usernet: ${ours.error.split("\n")[0]}` : "",
        theirs.error ? `${reference.name}: ${theirs.error.split("\n")[0]}` : "",
        ours[key] === undefined && theirs[key] !== undefined
          ? `${reference.name}: ${theirs[key]!.toFixed(0)} MB/s`
          : "",
      ].filter(Boolean);
      rows.push({
        name: `gateway TCP ${direction}, stack on a unix stream socket`,
        usernet: ours[key] ?? NaN,
        // Without usernet's figure a ratio means nothing: the reference then goes in the note.
        reference: ours[key] === undefined ? undefined : theirs[key],
        referenceLabel: reference.label,
        unit: "MB/s",
        note: notes.join("; ") || "same client stack and Deno server, MTU 1500",
      });
    }
  }
  // CPU per GB of the backend process alone (lower is better): steadier than MB/s on a busy
  // machine, and what a VM host pays for its network.
  for (const [direction, key] of [["guest→host", "upCpu"], ["host→guest", "downCpu"]] as const) {
    for (const reference of BACKENDS.slice(1)) {
      const theirs = results.get(reference.name)!;
      if (ours[key] === undefined) continue;
      rows.push({
        name: `gateway CPU ${direction}, backend process`,
        usernet: ours[key]!,
        reference: theirs[key],
        referenceLabel: reference.label,
        unit: "CPU s/GB",
        note: theirs.error
          ? `${reference.name}: ${theirs.error.split("\n")[0]}`
          : "lower is better",
      });
    }
  }
  return rows;
}

if (import.meta.main) {
  if (Deno.args[0] === "serve") await serve();
  else {
    const { formatTable } = await import("./row.ts");
    console.log(formatTable(await gatewayRows()));
  }
}
