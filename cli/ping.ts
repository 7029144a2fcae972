/**
 * `deno task ping HOST [NIC flags] [--count N] [--interval S] [--size N] [--timeout S]`:
 * ping(8) through a usernet stack.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NIC_FLAG_OPTIONS, NIC_FLAGS_HELP, openStack, runMain, UsageError } from "./_nic_flags.ts";
import type { Stack } from "../net/stack.ts";
import type { PingReply } from "../net/icmp.ts";

const HELP = `usage: deno task ping HOST [options] NIC-FLAGS
  -c, --count N      stop after N replies (default: until interrupted)
  -i, --interval S   seconds between requests (default 1)
  -s, --size N       bytes of echo data (default 56)
  -W, --timeout S    seconds to wait for each reply (default 1)
${NIC_FLAGS_HELP}`;

/** Prints ping(8)-style lines for `count` echoes to `host` and returns the exit status. */
export async function pingLoop(
  stack: Stack,
  host: string,
  options: {
    count?: number;
    intervalMs?: number;
    size?: number;
    timeoutMs?: number;
    signal?: AbortSignal;
  },
  print: (line: string) => void = console.log,
): Promise<number> {
  const size = options.size ?? 56;
  const interval = options.intervalMs ?? 1000;
  print(`PING ${host} (${host}) ${size}(${size + 28}) bytes of data.`);
  const rtts: number[] = [];
  let sent = 0;
  const started = performance.now();
  for (let seq = 1; options.count === undefined || seq <= options.count; seq++) {
    if (options.signal?.aborted) break;
    const tick = performance.now();
    sent++;
    try {
      const r: PingReply = await stack.ping(host, {
        size,
        timeout: options.timeoutMs ?? 1000,
        sequence: seq & 0xffff,
        signal: options.signal,
      });
      rtts.push(r.rtt);
      print(
        `${r.bytes} bytes from ${r.from}: icmp_seq=${r.sequence} ttl=${r.ttl} time=${
          formatRtt(r.rtt)
        } ms`,
      );
    } catch (error) {
      const e = error as Error;
      if (e.name === "Aborted") {
        sent--;
        break;
      }
      print(
        e.name === "TimedOut"
          ? `no reply for icmp_seq=${seq}`
          : `From ${host} icmp_seq=${seq} ${e.message}`,
      );
    }
    if (options.count !== undefined && seq >= options.count) break;
    const wait = interval - (performance.now() - tick);
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        // One listener per wait, removed after it: an endless ping must not pile them up.
        const onAbort = () => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          options.signal?.removeEventListener("abort", onAbort);
          resolve();
        }, wait);
        options.signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
  }
  const received = rtts.length;
  const loss = sent === 0 ? 0 : Math.round(((sent - received) / sent) * 100);
  print("");
  print(`--- ${host} ping statistics ---`);
  print(
    `${sent} packets transmitted, ${received} received, ${loss}% packet loss, time ${
      Math.round(performance.now() - started)
    }ms`,
  );
  if (received) {
    const min = Math.min(...rtts);
    const max = Math.max(...rtts);
    const avg = rtts.reduce((a, b) => a + b, 0) / received;
    const mdev = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / received);
    print(`rtt min/avg/max/mdev = ${[min, avg, max, mdev].map((v) => v.toFixed(3)).join("/")} ms`);
  }
  return received > 0 ? (received === sent ? 0 : 1) : 1;
}

function formatRtt(ms: number): string {
  return ms < 1
    ? ms.toFixed(3)
    : ms < 10
    ? ms.toFixed(2)
    : ms < 100
    ? ms.toFixed(1)
    : ms.toFixed(0);
}

if (import.meta.main) {
  runMain(async () => {
    const { values, positionals } = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: {
        ...NIC_FLAG_OPTIONS,
        count: { type: "string", short: "c" },
        interval: { type: "string", short: "i" },
        size: { type: "string", short: "s" },
        timeout: { type: "string", short: "W" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const host = positionals[0];
    if (!host || positionals.length > 1) throw new UsageError("give one HOST to ping (see --help)");
    const number = (text: string | undefined, name: string) => {
      if (text === undefined) return undefined;
      const n = Number(text);
      if (!Number.isFinite(n) || n < 0) {
        throw new UsageError(`${name} must be a non-negative number, got ${text}`);
      }
      return n;
    };
    const stack = await openStack(values, (l) => console.error(l));
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    Deno.addSignalListener("SIGINT", onSignal);
    try {
      return await pingLoop(stack, host, {
        count: number(values.count, "--count"),
        intervalMs: (number(values.interval, "--interval") ?? 1) * 1000,
        size: number(values.size, "--size"),
        timeoutMs: (number(values.timeout, "--timeout") ?? 1) * 1000,
        signal: abort.signal,
      });
    } finally {
      Deno.removeSignalListener("SIGINT", onSignal);
      await stack.close();
    }
  });
}
