/**
 * DHCP and DNS against dnsmasq: usernet's clients next to Linux's own tools (busybox `udhcpc`,
 * `dig`) in the same run, against one dnsmasq in a network namespace made for the run:
 *
 *   usernet --TAP-- [srv: tap0 10.81.0.1/24, veth0 10.81.1.1/24, dnsmasq] --veth-- [cli: veth1]
 *
 * usernet (this process) opens tap0's other end; udhcpc and dig run in the `cli` namespace on
 * the far end of the veth pair. dnsmasq serves DHCP on both links (no ping check) and answers
 * `web.bench.test` from its own records (no upstream).
 *
 * - DHCP time to address, ms: usernet from opening the TAP and making a fresh stack to
 *   `stack.dhcp({ probe: false })` resolving with the lease applied (DISCOVER, OFFER, REQUEST,
 *   ACK). udhcpc (`-q -f -n`, no `-a`, so neither side ARP-probes): from its `deconfig` script
 *   call, made right before it opens its sockets and sends DISCOVER, to its `bound` script call
 *   having run `ip addr add`; both marks are lines read from the same pipe, so process start-up
 *   is left out. Most of udhcpc's time is not the exchange: under strace each AF_PACKET socket
 *   it binds or closes (one per message sent) takes the kernel 6–16 ms here, and dnsmasq
 *   answers within 0.3–1 ms on the wire.
 * - DNS query latency, ms: usernet `stack.resolve("web.bench.test")` with the cache off, N
 *   queries in a row, mean per query. dig: one `dig +tries=1` process asking the same name N
 *   times, minus one asking it once, divided by N − 1 (process start-up cancels out).
 *
 * Rounds are interleaved (usernet, then Linux's tool) after one unmeasured warm-up of each; the
 * median round counts. Needs root (namespaces, TAP), `ip`, dnsmasq, busybox with udhcpc and dig.
 *
 *   deno run -A bench/main.ts dhcp_dns
 *
 * @module
 */
import { TapNic } from "../drivers/tap.ts";
import { Stack } from "../net/stack.ts";
import { formatIpv4Address, parseMac } from "../net/wire/address.ts";
import { type Peer, run, tempDir } from "../tests/interop/_harness.ts";
import { createNamespace, createTapNamespace } from "../tests/interop/_netns.ts";
import { type BenchRow, median } from "./row.ts";

const DHCP_ROUNDS = 7;
const DNS_ROUNDS = 5;
const DNS_QUERIES = 1000;
const NAME = "web.bench.test";
const ANSWER = "10.81.9.9";

const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig) echo deconfig ;;
  bound|renew) ip addr add "$ip/\${mask:-24}" dev "$interface" && echo "bound $ip" ;;
esac
`;

const LABELS = { dhcp: "busybox udhcpc (Linux, veth)", dns: "dig +tries=1 (Linux, veth)" };
const NAMES = { dhcp: "DHCP time to address (dnsmasq)", dns: "DNS A query latency (dnsmasq)" };

function missing(why: string): BenchRow[] {
  return (["dhcp", "dns"] as const).map((k) => ({
    name: NAMES[k],
    usernet: NaN,
    reference: undefined,
    referenceLabel: LABELS[k],
    unit: "ms",
    note: why,
  }));
}

function range(values: number[]): string {
  const f = (v: number) => v >= 10 ? Math.round(v).toString() : v.toPrecision(2);
  return `${f(Math.min(...values))}–${f(Math.max(...values))}`;
}

async function has(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/**
 * An abort signal that fires after `ms` and `done()` to clear its timer (AbortSignal.timeout's
 * timer keeps the process alive for its whole span once something listens).
 */
function deadline(ms: number): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${ms} ms`)), ms);
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

/** Runs `args` to completion, timing when each line of its stdout arrived. */
async function timedLines(
  args: string[],
  timeoutMs: number,
): Promise<{ started: number; lines: Array<[number, string]>; ended: number }> {
  const limit = deadline(timeoutMs);
  const child = new Deno.Command(args[0], {
    args: args.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: limit.signal,
  });
  const started = performance.now();
  const process = child.spawn();
  const stderr = new Response(process.stderr).text();
  const lines: Array<[number, string]> = [];
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of process.stdout) {
    const now = performance.now();
    pending += decoder.decode(chunk, { stream: true });
    const parts = pending.split("\n");
    pending = parts.pop()!;
    for (const line of parts) lines.push([now, line]);
  }
  const status = await process.status;
  const ended = performance.now();
  limit.done();
  if (!status.success) {
    throw new Error(`${args.join(" ").slice(0, 200)} failed (${status.code}): ${await stderr}`);
  }
  return { started, lines, ended };
}

/** DHCP and DNS rows in ms (lower is better), or rows that say why they could not run. */
export async function dhcpDnsBench(): Promise<BenchRow[]> {
  if (Deno.uid() !== 0) return missing("needs root (network namespaces and a TAP device)");
  const applets = await run("busybox", ["--list"], { allowFail: true }).catch(() => "");
  const lacking = [
    ...(await has("dnsmasq", ["-v"]) ? [] : ["dnsmasq"]),
    ...(await has("dig", ["-v"]) ? [] : ["dig"]),
    ...(applets.split("\n").includes("udhcpc") ? [] : ["busybox udhcpc"]),
  ];
  if (lacking.length) return missing(`needs ${lacking.join(", ")}`);

  const srv = await createTapNamespace("bench-dd", "10.81.0.1/24");
  const cli = await createNamespace("bench-ddc");
  const dir = await tempDir("bench-dhcp-dns");
  let dnsmasq: Peer | undefined;
  const stacks: Stack[] = [];
  try {
    await srv.exec("ip", [
      "link",
      "add",
      "veth0",
      "type",
      "veth",
      "peer",
      "name",
      "veth1",
      "netns",
      cli.name,
    ]);
    await srv.exec("ip", ["addr", "add", "10.81.1.1/24", "dev", "veth0"]);
    await srv.exec("ip", ["link", "set", "veth0", "up"]);
    await cli.exec("ip", ["link", "set", "veth1", "up"]);
    await Deno.chmod(dir.path, 0o777); // dnsmasq writes its lease file as nobody
    const script = `${dir.path}/udhcpc.sh`;
    await Deno.writeTextFile(script, UDHCPC_SCRIPT);
    await Deno.chmod(script, 0o755);

    dnsmasq = srv.spawn("dnsmasq", "dnsmasq", [
      "-k",
      "--no-resolv",
      "--no-hosts",
      "--interface=tap0",
      "--interface=veth0",
      "--bind-interfaces",
      "--dhcp-authoritative",
      "--no-ping",
      "--dhcp-range=10.81.0.50,10.81.0.60,255.255.255.0,2m",
      "--dhcp-range=10.81.1.50,10.81.1.60,255.255.255.0,2m",
      "--local=/bench.test/",
      `--host-record=${NAME},${ANSWER}`,
      `--dhcp-leasefile=${dir.path}/leases`,
      `--pid-file=${dir.path}/pid`,
      "--log-facility=-",
    ]);
    await dnsmasq.waitForOutput(/DHCP, IP range 10\.81\.1\./, 10_000);

    // DHCP: a fresh usernet stack per round, then udhcpc from an unconfigured veth1.
    const usernetDhcp = async (): Promise<number> => {
      const t0 = performance.now();
      const mac = parseMac("52:54:00:81:00:02");
      const stack = new Stack({ nic: TapNic.open({ name: srv.tap, netns: srv.name, mac }) });
      stacks.push(stack);
      const limit = deadline(10_000);
      try {
        const lease = await stack.dhcp({ probe: false }, limit.signal);
        const ms = performance.now() - t0;
        if (!formatIpv4Address(lease.address).startsWith("10.81.0.")) {
          throw new Error(`usernet leased ${formatIpv4Address(lease.address)}`);
        }
        return ms;
      } finally {
        limit.done();
        await stack.close();
        stacks.pop();
      }
    };
    const udhcpcTotals: number[] = [];
    const udhcpc = async (): Promise<number> => {
      await cli.exec("ip", ["addr", "flush", "dev", "veth1"]);
      const out = await timedLines(
        [
          ...cli.prefix,
          "busybox",
          "udhcpc",
          "-q",
          "-f",
          "-n",
          "-t",
          "3",
          "-T",
          "1",
          "-i",
          "veth1",
          "-s",
          script,
        ],
        10_000,
      );
      const start = out.lines.find(([, l]) => l === "deconfig");
      const bound = out.lines.find(([, l]) => l.startsWith("bound 10.81.1."));
      if (!start || !bound) throw new Error(`udhcpc printed ${JSON.stringify(out.lines)}`);
      udhcpcTotals.push(bound[0] - out.started);
      return bound[0] - start[0];
    };
    await usernetDhcp(); // warm-up: JIT, ARP, dnsmasq's lease for this MAC
    await udhcpc();
    udhcpcTotals.length = 0;
    const dhcp = { usernet: [] as number[], linux: [] as number[] };
    for (let i = 0; i < DHCP_ROUNDS; i++) {
      dhcp.usernet.push(await usernetDhcp());
      dhcp.linux.push(await udhcpc());
    }

    // DNS: one usernet stack with a static address and the cache off; dig from veth1.
    await cli.exec("ip", ["addr", "flush", "dev", "veth1"]);
    await cli.exec("ip", ["addr", "add", "10.81.1.2/24", "dev", "veth1"]);
    const stack = new Stack({
      nic: TapNic.open({ name: srv.tap, netns: srv.name }),
      address: "10.81.0.2/24",
      dns: { servers: ["10.81.0.1"], cache: false },
    });
    stacks.push(stack);
    const usernetDns = async (n: number): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const answer = await stack.resolve(NAME);
        if (answer.source !== "network") throw new Error(`answer from ${answer.source}`);
      }
      return (performance.now() - t0) / n;
    };
    const digRun = async (n: number): Promise<number> => {
      const out = await timedLines(
        [
          ...cli.prefix,
          "dig",
          "@10.81.1.1",
          "+short",
          "+tries=1",
          "+time=1",
          ...Array(n).fill(NAME),
        ],
        20_000,
      );
      const answers = out.lines.filter(([, l]) => l === ANSWER).length;
      if (answers !== n) throw new Error(`dig answered ${answers} of ${n}`);
      return out.ended - out.started;
    };
    const digOnes: number[] = [];
    const digDns = async (): Promise<number> => {
      // The baseline varies by a few ms between runs: take the middle of three.
      const one = median([await digRun(1), await digRun(1), await digRun(1)]);
      digOnes.push(one);
      return (await digRun(DNS_QUERIES) - one) / (DNS_QUERIES - 1);
    };
    await usernetDns(DNS_QUERIES); // warm-up
    await digDns();
    digOnes.length = 0;
    const dns = { usernet: [] as number[], linux: [] as number[] };
    for (let i = 0; i < DNS_ROUNDS; i++) {
      dns.usernet.push(await usernetDns(DNS_QUERIES));
      dns.linux.push(await digDns());
    }

    return [
      {
        name: NAMES.dhcp,
        usernet: median(dhcp.usernet),
        reference: median(dhcp.linux),
        referenceLabel: LABELS.dhcp,
        unit: "ms",
        note: `lower is better; DISCOVER to address configured, no ARP probe on either side, ` +
          `median of ${DHCP_ROUNDS} interleaved rounds (usernet ${range(dhcp.usernet)}, ` +
          `udhcpc ${range(dhcp.linux)} ms); usernet includes opening the TAP and a new stack; ` +
          `udhcpc from its deconfig to its bound script call (ip addr add done), process ` +
          `start left out (spawn to bound: ${median(udhcpcTotals).toPrecision(2)} ms); udhcpc ` +
          `waits mostly on the kernel binding and closing its AF_PACKET sockets (module doc)`,
      },
      {
        name: NAMES.dns,
        usernet: median(dns.usernet),
        reference: median(dns.linux),
        referenceLabel: LABELS.dns,
        unit: "ms",
        note: `lower is better; dnsmasq's own A record, usernet cache off, ${DNS_QUERIES} ` +
          `sequential queries per round, mean per query, median of ${DNS_ROUNDS} interleaved ` +
          `rounds (usernet ${range(dns.usernet)}, dig ${range(dns.linux)} ms); dig: one ` +
          `process asking ${DNS_QUERIES} times minus one asking once (median of 3, ` +
          `${median(digOnes).toPrecision(2)} ms), / ${DNS_QUERIES - 1}; usernet over TAP`,
      },
    ];
  } catch (error) {
    if (dnsmasq) console.error(`dnsmasq log:\n${dnsmasq.log}`);
    throw error;
  } finally {
    for (const s of stacks) await s.close();
    await dnsmasq?.stop();
    await cli.cleanup();
    await srv.cleanup();
    await dir.cleanup();
  }
}

if (import.meta.main) {
  const { formatTable } = await import("./row.ts");
  console.log(formatTable(await dhcpDnsBench()));
}
