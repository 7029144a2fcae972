/**
 * usernet's benchmarks: each row puts a usernet figure next to a reference measured in the same
 * run on the same machine, and the table prints their ratio (usernet / reference).
 *
 *   deno task bench                      # every row (a few minutes; peers as root)
 *   deno task bench --quick              # only the fast rows that need no peers
 *   deno run -A bench/main.ts tap sftp   # only the named modules (any registered, in order)
 *
 * Rows come from modules, one per area, each exporting an async function that returns
 * {@linkcode BenchRow}s (see `bench/row.ts`, which also has `measureRate` and the table
 * formatting). To add an area (TCP throughput vs Linux, TLS vs OpenSSL, ...), write
 * `bench/<area>.ts` exporting `async function <area>Rows(): Promise<BenchRow[]>` and register it
 * in `MODULES` below; mark it `optIn` if it is slow or needs peers, so `--quick` leaves it out.
 *
 * Current modules:
 * - `checksum`: RFC 1071 checksum GB/s, 1500 B and 64 KiB, vs a JS byte loop and a C loop.
 * - `parse`: Ethernet+IPv4+UDP/TCP frames/s parsed and validated, vs bare field reads.
 * - `tap`: TAP frames/s read and written by `TapNic` vs the Linux side (root only).
 * - `tcp`: TCP bulk Gbit/s and CPU s/GB usernet↔Linux over TAP and usernet↔usernet over a memory
 *   link vs Linux↔Linux over veth; memory per idle connection.
 * - `sftp` (opt-in): SFTP get/put vs OpenSSH's sftp and node's ssh2 (root, sshd, node).
 * - `gateway` (opt-in): TCP MB/s both ways through usernet's gateway vs QEMU's user network
 *   (libslirp) and passt, same client stack and server (root, QEMU, passt).
 * - `tls` (opt-in): TLS 1.3 full/resumed handshake ms and bulk MB/s per cipher suite vs
 *   Deno.connectTls and openssl s_client/s_time against one local s_server (openssl).
 * - `ssh` (opt-in): SSH exec throughput and connection set-up vs OpenSSH's ssh against one
 *   local sshd (root, sshd).
 * - `http` (opt-in): createFetch keep-alive requests/s and http/https download MB/s through
 *   usernet (embedded gateway, TAP) and over Deno.connect, vs Deno's fetch, one nginx config
 *   (nginx; root for the TAP rows).
 * - `dhcp_dns` (opt-in): DHCP time to address and DNS query latency against one dnsmasq,
 *   usernet over TAP vs busybox udhcpc and dig over veth (root, dnsmasq, busybox, dig).
 *
 * @module
 */
import { type BenchRow, formatTable } from "./row.ts";
import { checksumRows } from "./checksum.ts";
import { parseRows } from "./parse.ts";
import { tapRows } from "./tap.ts";
import { tcpRows } from "./tcp.ts";

export type { BenchRow } from "./row.ts";

interface BenchModule {
  name: string;
  run: () => Promise<BenchRow[]>;
  /** Runs only when named on the command line. */
  optIn?: boolean;
}

const MODULES: BenchModule[] = [
  { name: "checksum", run: checksumRows },
  { name: "parse", run: parseRows },
  { name: "tap", run: tapRows },
  { name: "tcp", run: tcpRows },
  {
    name: "sftp",
    optIn: true,
    run: async () => (await import("./sftp.ts")).sftpBench(),
  },
  {
    name: "gateway",
    optIn: true,
    run: async () => (await import("./gateway.ts")).gatewayRows(),
  },
  {
    name: "tls",
    optIn: true,
    run: async () => (await import("./tls.ts")).tlsBench(),
  },
  {
    name: "ssh",
    optIn: true,
    run: async () => (await import("./ssh.ts")).sshBench(),
  },
  {
    name: "http",
    optIn: true,
    run: async () => (await import("./http.ts")).httpBench(),
  },
  {
    name: "dhcp_dns",
    optIn: true,
    run: async () => (await import("./dhcp_dns.ts")).dhcpDnsBench(),
  },
];

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const wanted = Deno.args.filter((a) => a !== "--quick");
  const unknown = wanted.filter((w) => !MODULES.some((m) => m.name === w));
  if (unknown.length) {
    console.error(
      `unknown bench modules: ${unknown.join(", ")}; known: ${
        MODULES.map((m) => m.name).join(", ")
      }`,
    );
    Deno.exit(2);
  }
  // Everything by default; --quick leaves out the slow modules that need peers.
  const selected = MODULES.filter((m) =>
    wanted.length ? wanted.includes(m.name) : !(quick && m.optIn)
  );
  const rows: BenchRow[] = [];
  const started = performance.now();
  for (const m of selected) {
    const t = performance.now();
    console.error(`bench: ${m.name} ...`);
    try {
      rows.push(...await m.run());
    } catch (error) {
      // One area without its peers must not cost the whole table.
      console.error(`bench: ${m.name} failed: ${(error as Error).message}`);
    }
    console.error(`bench: ${m.name} took ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  console.log(
    `usernet benchmarks, Deno ${Deno.version.deno}, ${cpu}, ${navigator.hardwareConcurrency} cores, ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  console.log(formatTable(rows));
}
