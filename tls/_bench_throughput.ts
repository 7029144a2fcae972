/**
 * Bulk download throughput: usernet TLS vs `openssl s_client` vs Deno's native TLS, all
 * fetching the same file from `openssl s_server -WWW` on 127.0.0.1 in one run.
 *
 *   deno run -A tls/_bench_throughput.ts [megabytes=100]
 *
 * @module
 */

import { startTls, type StartTlsOptions } from "./tls_connection.ts";
import type { CipherSuiteName } from "./cipher_suite.ts";
import { generateCertificateAuthority, issueCertificate } from "./x509/generate.ts";

const MB = Number(Deno.args[0] ?? 100);
const size = MB * 1024 * 1024;
const dir = await Deno.makeTempDir({ prefix: "usernet-tls-bench-" });
const ca = await generateCertificateAuthority();
const leaf = await issueCertificate(ca, { dnsNames: ["localhost"] });
await Deno.writeTextFile(`${dir}/cert.pem`, leaf.certPem);
await Deno.writeTextFile(`${dir}/key.pem`, leaf.keyPem);
await Deno.writeTextFile(`${dir}/ca.pem`, ca.certPem);
const file = await Deno.open(`${dir}/big.bin`, { write: true, create: true });
const chunk = new Uint8Array(1 << 20);
for (let i = 0; i < MB; i++) {
  crypto.getRandomValues(chunk.subarray(0, 65536));
  await file.write(chunk);
}
file.close();

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const port = (listener.addr as Deno.NetAddr).port;
listener.close();
const server = new Deno.Command("openssl", {
  args: [
    "s_server",
    "-accept",
    `127.0.0.1:${port}`,
    "-cert",
    "cert.pem",
    "-key",
    "key.pem",
    "-tls1_3",
    "-WWW",
    "-quiet",
  ],
  cwd: dir,
  stdout: "null",
  stderr: "null",
}).spawn();
for (let i = 0; i < 100; i++) {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 50));
  }
}

const request = new TextEncoder().encode("GET /big.bin HTTP/1.0\r\n\r\n");

async function usernet(suite: CipherSuiteName, readSize: number): Promise<number> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const options: StartTlsOptions = {
    serverName: "localhost",
    caCerts: ca.certPem,
    cipherSuites: [suite],
  };
  const tls = await startTls(tcp, options);
  const start = performance.now();
  await tls.write(request);
  let total = 0;
  const buf = new Uint8Array(readSize);
  while (true) {
    const n = await tls.read(buf);
    if (n === null) break;
    total += n;
  }
  const s = (performance.now() - start) / 1000;
  tls.close();
  if (total < size) throw new Error(`short read ${total}`);
  return size / 1e6 / s;
}

async function usernetStream(suite: CipherSuiteName): Promise<number> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const tls = await startTls(tcp, {
    serverName: "localhost",
    caCerts: ca.certPem,
    cipherSuites: [suite],
  });
  const start = performance.now();
  await tls.write(request);
  let total = 0;
  for await (const c of tls.readable) total += c.length;
  const s = (performance.now() - start) / 1000;
  tls.close();
  if (total < size) throw new Error(`short read ${total}`);
  return size / 1e6 / s;
}

async function denoNative(): Promise<number> {
  const tls = await Deno.connectTls({ hostname: "localhost", port, caCerts: [ca.certPem] });
  const start = performance.now();
  await tls.write(request);
  let total = 0;
  const buf = new Uint8Array(256 * 1024);
  while (true) {
    const n = await tls.read(buf).catch(() => null);
    if (n === null) break;
    total += n;
  }
  const s = (performance.now() - start) / 1000;
  tls.close();
  if (total < size) throw new Error(`short read ${total}`);
  return size / 1e6 / s;
}

async function opensslClient(suite: string): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      `printf 'GET /big.bin HTTP/1.0\\r\\n\\r\\n' | openssl s_client -connect 127.0.0.1:${port} -quiet -ciphersuites ${suite} -CAfile ca.pem -servername localhost 2>/dev/null | wc -c`,
    ],
    cwd: dir,
    stdout: "piped",
  }).output();
  const s = (performance.now() - start) / 1000;
  const total = Number(new TextDecoder().decode(out.stdout).trim());
  if (total < size) throw new Error(`short read ${total}`);
  return size / 1e6 / s;
}

/** A Deno.listenTls sink in another process: reads and discards, prints the byte count. */
async function uploadSink(): Promise<{ port: number; child: Deno.ChildProcess }> {
  const code = `
    const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: Deno.readTextFileSync("cert.pem"), key: Deno.readTextFileSync("key.pem") });
    console.log(l.addr.port);
    for await (const c of l) {
      const b = new Uint8Array(1 << 18);
      let n = 0;
      try { while (true) { const r = await c.read(b); if (r === null) break; n += r; } } catch {}
      await c.write(new TextEncoder().encode(String(n))).catch(() => {});
      c.close();
    }`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: dir,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  return { port: Number(value!.trim()), child };
}

async function upload(sinkPort: number, native: boolean, suite?: CipherSuiteName): Promise<number> {
  const payload = new Uint8Array(1 << 20);
  const conn = native
    ? await Deno.connectTls({ hostname: "localhost", port: sinkPort, caCerts: [ca.certPem] })
    : await startTls(await Deno.connect({ hostname: "127.0.0.1", port: sinkPort }), {
      serverName: "localhost",
      caCerts: ca.certPem,
      cipherSuites: suite ? [suite] : undefined,
    });
  const start = performance.now();
  for (let i = 0; i < MB; i++) {
    let off = 0;
    while (off < payload.length) off += await conn.write(payload.subarray(off));
  }
  await conn.closeWrite();
  const buf = new Uint8Array(64);
  const n = await conn.read(buf);
  const s = (performance.now() - start) / 1000;
  conn.close();
  if (Number(new TextDecoder().decode(buf.subarray(0, n ?? 0))) !== size) {
    throw new Error("short upload");
  }
  return size / 1e6 / s;
}

const rows: Array<[string, number]> = [];
const best = async (name: string, f: () => Promise<number>) => {
  let top = 0;
  for (let i = 0; i < 3; i++) top = Math.max(top, await f());
  rows.push([name, top]);
  console.log(`${name.padEnd(52)} ${top.toFixed(0).padStart(5)} MB/s`);
};
try {
  console.log(`downloading ${MB} MiB from openssl s_server -WWW on 127.0.0.1 (best of 3)`);
  await best(
    "usernet TLS_AES_128_GCM_SHA256 (read 256 KiB)",
    () => usernet("TLS_AES_128_GCM_SHA256", 256 * 1024),
  );
  await best(
    "usernet TLS_AES_128_GCM_SHA256 (readable stream)",
    () => usernetStream("TLS_AES_128_GCM_SHA256"),
  );
  await best(
    "usernet TLS_AES_256_GCM_SHA384 (read 256 KiB)",
    () => usernet("TLS_AES_256_GCM_SHA384", 256 * 1024),
  );
  await best(
    "usernet TLS_CHACHA20_POLY1305_SHA256 (read 256 KiB)",
    () => usernet("TLS_CHACHA20_POLY1305_SHA256", 256 * 1024),
  );
  await best("Deno.connectTls (rustls, AES-128-GCM)", denoNative);
  await best(
    "openssl s_client TLS_AES_128_GCM_SHA256",
    () => opensslClient("TLS_AES_128_GCM_SHA256"),
  );
  await best(
    "openssl s_client TLS_CHACHA20_POLY1305_SHA256",
    () => opensslClient("TLS_CHACHA20_POLY1305_SHA256"),
  );
  const sink = await uploadSink();
  console.log(`uploading ${MB} MiB to a Deno.listenTls sink in another process (best of 3)`);
  try {
    await best(
      "usernet TLS_AES_128_GCM_SHA256 upload (1 MiB writes)",
      () => upload(sink.port, false, "TLS_AES_128_GCM_SHA256"),
    );
    await best(
      "usernet TLS_CHACHA20_POLY1305_SHA256 upload",
      () => upload(sink.port, false, "TLS_CHACHA20_POLY1305_SHA256"),
    );
    await best("Deno.connectTls upload (rustls)", () => upload(sink.port, true));
  } finally {
    sink.child.kill();
    await sink.child.status;
  }
} finally {
  server.kill();
  await server.status;
  await Deno.remove(dir, { recursive: true });
}
