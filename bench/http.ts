/**
 * HTTP/1.1: usernet's `createFetch` next to Deno's own `fetch`, against the same nginx
 * configuration (Debian nginx 1.22, sendfile, TLS 1.3 with an ECDSA P-256 certificate) in the
 * same run. usernet goes three ways:
 *
 * - through usernet behind the embedded gateway (`createFetch({ stack })`, the stack in this
 *   process, the gateway splicing to nginx on 127.0.0.1): what `deno task fetch` does;
 * - through usernet on a TAP device to an nginx in a namespace made for the run (root only);
 * - usernet's HTTP (and TLS) client over the kernel's TCP (`Deno.connect`): the client alone.
 *
 * The reference is Deno's `fetch` (hyper, rustls) to nginx on 127.0.0.1. Rows:
 *
 * - keep-alive GET of a 1 KiB file, one request at a time on one connection: requests/s over 2 s
 *   after a warm-up;
 * - download of a 100 MB file (http and https): MB/s (10^6 bytes/s), best of 3, rounds
 *   interleaved between contenders because the machine is shared. Bodies are counted, not
 *   hashed.
 *
 *   deno run -A bench/http.ts [megabytes=100]
 *
 * Needs nginx; the TAP rows need root, `ip` and /dev/net/tun (otherwise they say why not).
 *
 * @module
 */
import { createFetch } from "../http/fetch.ts";
import { hostNetwork } from "../net/gateway/host_network.ts";
import { Stack } from "../net/stack.ts";
import { TapNic } from "../drivers/tap.ts";
import { missingPeers } from "../tests/interop/_harness.ts";
import { createTapNamespace } from "../tests/interop/_netns.ts";
import { type FetchNginx, withFetchNginx } from "../tests/interop/_fetch_nginx.ts";
import { type BenchRow, formatTable } from "./row.ts";

export type { BenchRow } from "./row.ts";

type FetchFn = (url: string) => Promise<Response>;

/** One way of fetching: a function and the base URLs it reaches nginx at. */
interface Contender {
  name: string;
  fetch: FetchFn;
  http: string;
  https: string;
}

const ROUNDS = 3;
const REQUEST_SECONDS = 2;

async function drain(response: Response): Promise<number> {
  let bytes = 0;
  for await (const chunk of response.body!) bytes += chunk.length;
  return bytes;
}

async function requestsPerSecond(fetch: FetchFn, url: string): Promise<number> {
  for (let i = 0; i < 100; i++) await drain(await fetch(url));
  let requests = 0;
  const started = performance.now();
  while (performance.now() - started < REQUEST_SECONDS * 1000) {
    await drain(await fetch(url));
    requests++;
  }
  return requests / ((performance.now() - started) / 1000);
}

async function downloadMBps(fetch: FetchFn, url: string, size: number): Promise<number> {
  const started = performance.now();
  const bytes = await drain(await fetch(url));
  const seconds = (performance.now() - started) / 1000;
  if (bytes !== size) throw new Error(`${url}: ${bytes} bytes, expected ${size}`);
  return size / 1e6 / seconds;
}

/** Measures every contender; returns name → metric → value. */
async function measure(
  contenders: Contender[],
  size: number,
): Promise<Map<string, Record<string, number>>> {
  const results = new Map<string, Record<string, number>>();
  for (const c of contenders) {
    results.set(c.name, { rps: await requestsPerSecond(c.fetch, `${c.http}/1k.bin`) });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of contenders) {
      const r = results.get(c.name)!;
      for (const scheme of ["http", "https"] as const) {
        const mbps = await downloadMBps(c.fetch, `${c[scheme]}/big.bin`, size);
        r[scheme] = Math.max(r[scheme] ?? 0, mbps);
      }
    }
  }
  return results;
}

/** Runs the HTTP benchmark and returns its rows. */
export async function httpBench(megabytes = 100): Promise<BenchRow[]> {
  const size = megabytes * 1024 * 1024;
  const nginxMissing = missingPeers({ programs: ["nginx"] });
  if (nginxMissing) {
    return [{
      name: "HTTP (all rows)",
      usernet: NaN,
      reference: undefined,
      referenceLabel: "Deno fetch",
      unit: "",
      note: nginxMissing,
    }];
  }
  const tapMissing = missingPeers({ root: true, programs: ["ip"], files: ["/dev/net/tun"] });
  const results = new Map<string, Record<string, number>>();
  await withFetchNginx("127.0.0.1", undefined, async (local) => {
    await Deno.writeFile(`${local.root}/1k.bin`, new Uint8Array(1024));
    const net = await hostNetwork({ dhcp: true });
    const client = Deno.createHttpClient({ caCerts: [local.caPem], http2: false });
    const viaGateway = createFetch({ stack: net.stack, caCerts: local.caPem });
    const overKernel = createFetch({
      connect: async (hostname, port) => {
        const conn = await Deno.connect({ hostname, port });
        conn.setNoDelay(true);
        return conn;
      },
      caCerts: local.caPem,
    });
    const gatewayUrl = (u: string) => u.replace("127.0.0.1", "10.0.2.2");
    const contenders: Contender[] = [
      {
        name: "deno",
        fetch: (url) => fetch(url, { client }),
        http: local.http,
        https: local.https,
      },
      { name: "kernel", fetch: overKernel, http: local.http, https: local.https },
      {
        name: "gateway",
        fetch: viaGateway,
        http: gatewayUrl(local.http),
        https: gatewayUrl(local.https),
      },
    ];
    const runTap = async (ns?: FetchNginx, stack?: Stack) => {
      if (ns && stack) {
        const tapFetch = createFetch({ stack, caCerts: ns.caPem });
        contenders.push({ name: "tap", fetch: tapFetch, http: ns.http, https: ns.https });
      }
      for (const [k, v] of await measure(contenders, size)) results.set(k, v);
    };
    try {
      if (tapMissing) {
        await runTap();
      } else {
        const ns = await createTapNamespace("bench-http", "10.83.0.1/24");
        const stack = new Stack({
          nic: TapNic.open({ name: ns.tap, netns: ns.name }),
          address: "10.83.0.2/24",
        });
        try {
          await withFetchNginx("10.83.0.1", ns, async (remote) => {
            await Deno.writeFile(`${remote.root}/1k.bin`, new Uint8Array(1024));
            await runTap(remote, stack);
          }, { bigBytes: size });
        } finally {
          await stack.close();
          await ns.cleanup();
        }
      }
    } finally {
      viaGateway.close();
      overKernel.close();
      client.close();
      await net.close();
    }
  }, { alsoKnownAs: ["10.0.2.2"], bigBytes: size });

  const deno = results.get("deno")!;
  const label = "Deno fetch, nginx on 127.0.0.1";
  const ways: Array<[string, string, string | undefined]> = [
    ["gateway", "usernet via the embedded gateway", undefined],
    ["tap", "usernet over TAP", tapMissing],
    ["kernel", "usernet's client over Deno.connect", undefined],
  ];
  const rows: BenchRow[] = [];
  const metrics: Array<[string, string, string, string]> = [
    ["rps", "keep-alive GET 1 KiB", "req/s", "sequential, one connection"],
    ["http", `download ${megabytes} MiB`, "MB/s", `best of ${ROUNDS}`],
    ["https", `HTTPS download ${megabytes} MiB`, "MB/s", `TLS 1.3, best of ${ROUNDS}`],
  ];
  for (const [metric, what, unit, note] of metrics) {
    for (const [key, way, missing] of ways) {
      rows.push({
        name: `${what}, ${way}`,
        usernet: results.get(key)?.[metric] ?? NaN,
        reference: deno[metric],
        referenceLabel: label,
        unit,
        note: missing ?? note,
      });
    }
  }
  return rows;
}

if (import.meta.main) {
  console.log(formatTable(await httpBench(Number(Deno.args[0] ?? 100))));
  Deno.exit(0);
}
