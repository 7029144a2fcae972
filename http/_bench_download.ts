/**
 * Download throughput: usernet's `createFetch` over `Deno.connect` against Deno's native
 * `fetch`, same servers, same run. Servers: a local `Deno.serve` (body streamed from memory)
 * and, when installed, nginx serving a file (sendfile).
 *
 *   deno run -A http/_bench_download.ts [sizeMB=100] [rounds=5]
 *
 * Rounds are interleaved (native, ours, ours, ...) because the machine is shared; the table
 * shows the median and best throughput and the process CPU time per MB. Bodies are only
 * counted, not hashed.
 *
 * @module
 */

import process from "node:process";
import { createFetch } from "./fetch.ts";

const MB = 1024 * 1024;
const sizeMB = Number(Deno.args[0] ?? 100);
const rounds = Number(Deno.args[1] ?? 5);
const size = sizeMB * MB;

const block = new Uint8Array(MB);
crypto.getRandomValues(block.subarray(0, 65536));
for (let i = 65536; i < MB; i++) block[i] = block[i % 65536] ^ (i >>> 16);

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= size) return c.close();
      c.enqueue(block);
      sent += block.length;
    },
  }, { highWaterMark: 0 });
  // Without a length, hyper sends the body chunked.
  const chunked = new URL(request.url).pathname === "/chunked";
  return new Response(body, { headers: chunked ? {} : { "content-length": String(size) } });
});
const servePort = server.addr.port;

async function startNginx(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  try {
    await new Deno.Command("nginx", { args: ["-v"], stderr: "null" }).output();
  } catch {
    return undefined;
  }
  const dir = await Deno.makeTempDir({ prefix: "usernet-bench-nginx-" });
  const file = await Deno.open(`${dir}/big.bin`, { write: true, create: true });
  for (let i = 0; i < sizeMB; i++) await file.write(block);
  file.close();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `${Deno.uid() === 0 ? "user root;" : ""}
daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events {}
http { access_log off; sendfile on; client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/p;
  fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server { listen 127.0.0.1:${port}; root ${dir}; } }`,
  );
  const child = new Deno.Command("nginx", {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-e", `${dir}/error.log`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    url: `http://127.0.0.1:${port}/big.bin`,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function drain(response: Response): Promise<number> {
  let n = 0;
  for await (const chunk of response.body!) n += chunk.length;
  return n;
}

interface Sample {
  mbps: number;
  cpuMsPerMB: number;
}

async function measure(run: () => Promise<number>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const n = await run();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (n !== size) throw new Error(`got ${n} bytes, expected ${size}`);
  return { mbps: sizeMB / seconds, cpuMsPerMB: (cpu.user + cpu.system) / 1000 / sizeMB };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

const ours = (readBufferSize: number) =>
  createFetch({
    connect: (hostname, port) => Deno.connect({ hostname, port }),
    readBufferSize,
  });

const nginx = await startNginx();
const targets: Array<[string, string]> = [
  ["Deno.serve", `http://127.0.0.1:${servePort}/`],
  ["Deno.serve chunked", `http://127.0.0.1:${servePort}/chunked`],
];
if (nginx) targets.push(["nginx", nginx.url]);

console.log(
  `${sizeMB} MB downloads on loopback, ${rounds} interleaved rounds (MB = 2^20 bytes); ` +
    "MB/s median (best), process CPU ms per MB median",
);
for (const [name, url] of targets) {
  const f64 = ours(64 * 1024);
  const f256 = ours(256 * 1024);
  const clients: Array<[string, (u: string) => Promise<Response>]> = [
    ["native fetch", fetch],
    ["usernet 64 KiB reads", f64],
    ["usernet 256 KiB reads", f256],
  ];
  const samples = new Map<string, Sample[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [label, f] of clients) {
      const s = await measure(async () => drain(await f(url)));
      samples.set(label, [...(samples.get(label) ?? []), s]);
    }
  }
  for (const [label, list] of samples) {
    const mbps = list.map((s) => s.mbps);
    console.log(
      `${name.padEnd(18)} ${label.padEnd(22)} ${median(mbps).toFixed(0).padStart(5)} MB/s (${
        Math.max(...mbps).toFixed(0)
      })  ${median(list.map((s) => s.cpuMsPerMB)).toFixed(2)} CPU ms/MB`,
    );
  }
  f64.close();
  f256.close();
}
await nginx?.stop();
await server.shutdown();
