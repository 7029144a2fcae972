/**
 * TLS 1.3: usernet's client next to Deno.connectTls (rustls) and `openssl s_client` /
 * `openssl s_time`, all against the same local `openssl s_server` (ECDSA P-256 certificate) on
 * 127.0.0.1 in the same run, over the kernel's TCP (`Deno.connect`) so that only TLS differs.
 *
 * - full handshake: ms per connection (TCP connect + handshake), mean over a batch; usernet
 *   once with its default key shares (X25519MLKEM768 + x25519: the ML-KEM key generation is
 *   part of the cost) and once with x25519 only. References: Deno.connectTls + handshake(),
 *   `openssl s_time -new` (wall time / connections).
 * - resumed handshake: ms per connection with a session ticket (psk_dhe_ke); references:
 *   `openssl s_time -reuse`. Deno.connectTls offers no resumption control: not measured.
 * - bulk: MB/s (10^6 bytes/s) downloading a file from `s_server -WWW`, per cipher suite, best of
 *   3. References: Deno.connectTls (rustls picks its suite: AES-128-GCM here) and
 *   `openssl s_client -ciphersuites <suite>` piped to `wc -c` (the process start is included).
 *
 *   deno run -A bench/tls.ts [megabytes=100]
 *
 * @module
 */

import { startTls } from "../tls/tls_connection.ts";
import { TicketCache } from "../tls/ticket_cache.ts";
import type { CipherSuiteName } from "../tls/cipher_suite.ts";
import type { NamedGroupName } from "../tls/key_exchange.ts";
import { generateCertificateAuthority, issueCertificate } from "../tls/x509/generate.ts";
import { type BenchRow, formatTable } from "./row.ts";

export type { BenchRow } from "./row.ts";

const SUITES: CipherSuiteName[] = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
];
const HANDSHAKES = 60;

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Runs the TLS benchmark and returns its rows. */
export async function tlsBench(megabytes = 100): Promise<BenchRow[]> {
  const size = megabytes * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "usernet-bench-tls-" });
  const ca = await generateCertificateAuthority({ commonName: "usernet bench CA" });
  const leaf = await issueCertificate(ca, { dnsNames: ["localhost"] });
  await Deno.writeTextFile(`${dir}/cert.pem`, leaf.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, leaf.keyPem);
  await Deno.writeTextFile(`${dir}/ca.pem`, ca.certPem);
  const caPem = ca.certPem;
  const file = await Deno.open(`${dir}/big.bin`, { write: true, create: true });
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < megabytes; i++) {
    crypto.getRandomValues(chunk.subarray(0, 65536));
    await file.write(chunk);
  }
  file.close();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
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
      "-num_tickets",
      "1",
    ],
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const rows: BenchRow[] = [];
  try {
    await waitForPort(port);
    const connectUsernet = async (
      options: { keyShareGroups?: NamedGroupName[]; tickets?: TicketCache; suite?: string },
    ) => {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
      tcp.setNoDelay(true);
      return await startTls(tcp, {
        serverName: "localhost",
        caCerts: caPem,
        keyShareGroups: options.keyShareGroups,
        ticketCache: options.tickets,
        cipherSuites: options.suite ? [options.suite as CipherSuiteName] : undefined,
      });
    };
    /** Mean ms per call of `f` over HANDSHAKES calls, after a few warm-up calls. */
    const perCall = async (f: () => Promise<void>) => {
      for (let i = 0; i < 5; i++) await f();
      const t0 = performance.now();
      for (let i = 0; i < HANDSHAKES; i++) await f();
      return (performance.now() - t0) / HANDSHAKES;
    };
    const sTime = async (mode: "-new" | "-reuse") => {
      const t0 = performance.now();
      const out = await run("openssl", [
        "s_time",
        "-connect",
        `127.0.0.1:${port}`,
        mode,
        "-time",
        "2",
      ], dir);
      const seconds = (performance.now() - t0) / 1000;
      const count = Number(/(\d+) connections in [\d.]+ real seconds/.exec(out)?.[1]);
      if (!count) throw new Error(`s_time printed no count: ${out.slice(-300)}`);
      return (seconds * 1000) / count;
    };
    const denoFull = await perCall(async () => {
      const c = await Deno.connectTls({ hostname: "localhost", port, caCerts: [caPem] });
      await c.handshake();
      c.close();
    });
    const opensslFull = await sTime("-new");
    const opensslReuse = await sTime("-reuse");
    const usernetDefault = await perCall(async () => (await connectUsernet({})).close());
    const usernetX25519 = await perCall(async () =>
      (await connectUsernet({ keyShareGroups: ["x25519"] })).close()
    );
    const tickets = new TicketCache();
    /** A connection that reads until close, so s_server's tickets are in the cache after it. */
    const fetchTickets = async () => {
      const tls = await connectUsernet({ keyShareGroups: ["x25519"], tickets });
      await tls.write(new TextEncoder().encode("GET /cert.pem HTTP/1.0\r\n\r\n"));
      const buf = new Uint8Array(16384);
      while ((await tls.read(buf)) !== null) { /* drain */ }
      tls.close();
    };
    // Only the resumed handshakes are timed: tickets are fetched (untimed) whenever the cache
    // runs dry, and each timed connection must have resumed.
    let resumedMs = 0;
    for (let i = 0; i < HANDSHAKES + 5; i++) {
      if (tickets.size === 0) await fetchTickets();
      const t0 = performance.now();
      const tls = await connectUsernet({ keyShareGroups: ["x25519"], tickets });
      const elapsed = performance.now() - t0;
      if (!tls.handshake.resumed) throw new Error("a handshake with a ticket did not resume");
      tls.close();
      if (i >= 5) resumedMs += elapsed; // the first five warm up
    }
    const usernetResumed = resumedMs / HANDSHAKES;
    const note = `s_server on 127.0.0.1, ECDSA P-256, mean of ${HANDSHAKES}; lower is better`;
    rows.push(
      {
        name: "TLS full handshake (default shares X25519MLKEM768+x25519)",
        usernet: usernetDefault,
        reference: denoFull,
        referenceLabel: "Deno.connectTls (rustls)",
        unit: "ms",
        note,
      },
      {
        name: "TLS full handshake (x25519 share)",
        usernet: usernetX25519,
        reference: denoFull,
        referenceLabel: "Deno.connectTls (rustls)",
        unit: "ms",
        note,
      },
      {
        name: "TLS full handshake (x25519 share)",
        usernet: usernetX25519,
        reference: opensslFull,
        referenceLabel: "openssl s_time -new",
        unit: "ms",
        note,
      },
      {
        name: "TLS resumed handshake (ticket, psk_dhe_ke)",
        usernet: usernetResumed,
        reference: opensslReuse,
        referenceLabel: "openssl s_time -reuse",
        unit: "ms",
        note,
      },
    );

    const request = new TextEncoder().encode("GET /big.bin HTTP/1.0\r\n\r\n");
    const download = async (conn: Deno.Conn | Awaited<ReturnType<typeof connectUsernet>>) => {
      const t0 = performance.now();
      await conn.write(request);
      let total = 0;
      const buf = new Uint8Array(256 * 1024);
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) break;
        total += n;
      }
      const seconds = (performance.now() - t0) / 1000;
      conn.close();
      if (total < size) throw new Error(`short download: ${total} of ${size}`);
      return size / 1e6 / seconds;
    };
    const best = async (f: () => Promise<number>) => {
      let top = 0;
      for (let i = 0; i < 3; i++) top = Math.max(top, await f());
      return top;
    };
    const deno = await best(async () =>
      await download(await Deno.connectTls({ hostname: "localhost", port, caCerts: [caPem] }))
    );
    const bulkNote = `${megabytes} MiB from s_server -WWW on 127.0.0.1, best of 3`;
    for (const suite of SUITES) {
      const usernet = await best(async () => await download(await connectUsernet({ suite })));
      const openssl = await best(async () => {
        const t0 = performance.now();
        const out = await run("sh", [
          "-c",
          `printf 'GET /big.bin HTTP/1.0\\r\\n\\r\\n' | openssl s_client -connect 127.0.0.1:${port} ` +
          `-quiet -ciphersuites ${suite} -CAfile ca.pem -servername localhost 2>/dev/null | wc -c`,
        ], dir);
        const seconds = (performance.now() - t0) / 1000;
        if (Number(out.trim()) < size) throw new Error(`s_client read ${out.trim()} bytes`);
        return size / 1e6 / seconds;
      });
      if (suite !== "TLS_CHACHA20_POLY1305_SHA256") {
        rows.push({
          name: `TLS bulk download ${suite}`,
          usernet,
          reference: deno,
          referenceLabel: "Deno.connectTls (rustls, its AES-128-GCM)",
          unit: "MB/s",
          note: bulkNote,
        });
      }
      rows.push({
        name: `TLS bulk download ${suite}`,
        usernet,
        reference: openssl,
        referenceLabel: "openssl s_client",
        unit: "MB/s",
        note: bulkNote,
      });
    }
    return rows;
  } finally {
    try {
      server.kill("SIGTERM");
    } catch { /* gone */ }
    await server.status;
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  console.log(formatTable(await tlsBench(Number(Deno.args[0] ?? 100))));
}
