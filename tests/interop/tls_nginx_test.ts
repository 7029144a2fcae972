/**
 * Interop: usernet's TLS 1.3 client against nginx (Debian nginx 1.22, OpenSSL 3.0) on
 * 127.0.0.1, with a certificate from usernet's generator.
 */

import { deepEqual, equal } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { freePort, interopTest, tempDir, waitFor } from "./_harness.ts";
import { startNginx } from "./_nginx.ts";
import { startTls, type TlsConnection } from "../../tls/tls_connection.ts";
import { TicketCache } from "../../tls/ticket_cache.ts";
import { generateCertificateAuthority, issueCertificate } from "../../tls/x509/generate.ts";

const needs = { programs: ["nginx"] };
const FILE_BYTES = 10 * 1024 * 1024 + 123;

async function withNginx(
  fn: (port: number, caPem: string, fileSha256: Uint8Array) => Promise<void>,
  keyType: "P-256" | "RSA" = "P-256",
): Promise<void> {
  const { path: dir, cleanup } = await tempDir("tls-nginx");
  const ca = await generateCertificateAuthority({ keyType });
  const server = await issueCertificate(ca, {
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    keyType,
  });
  await Deno.writeTextFile(`${dir}/cert.pem`, server.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, server.keyPem);
  await Deno.mkdir(`${dir}/www`);
  await Deno.writeTextFile(`${dir}/www/index.html`, "hello from nginx\n");
  const file = new Uint8Array(FILE_BYTES);
  for (let i = 0; i < file.length; i += 65536) crypto.getRandomValues(file.subarray(i, i + 65536));
  await Deno.writeFile(`${dir}/www/big.bin`, file);
  const port = freePort();
  const peer = startNginx(
    dir,
    `
  access_log off;
  types { application/octet-stream bin; text/html html; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ssl_protocols TLSv1.3;
    ssl_session_tickets on;
    root ${dir}/www;
    keepalive_requests 100;
  }
`,
    { workerConnections: 64 },
  );
  try {
    await waitFor("nginx to listen", async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return true;
      } catch {
        return false;
      }
    }, 15_000);
    await fn(port, ca.certPem, sha256(file));
  } catch (e) {
    console.error(
      `nginx log:\n${peer.log}\n${await Deno.readTextFile(`${dir}/error.log`).catch(() => "")}`,
    );
    throw e;
  } finally {
    await peer.stop();
    await cleanup();
  }
}

/** Reads one HTTP/1.1 response with Content-Length; returns the body. */
async function readResponse(tls: TlsConnection): Promise<{ status: string; body: Uint8Array }> {
  let head = new Uint8Array(0);
  const buf = new Uint8Array(256 * 1024);
  let headerEnd = -1;
  let pending = new Uint8Array(0);
  while (headerEnd < 0) {
    const n = await tls.read(buf);
    if (n === null) throw new Error("EOF in headers");
    const joined = new Uint8Array(head.length + n);
    joined.set(head);
    joined.set(buf.subarray(0, n), head.length);
    head = joined;
    headerEnd = new TextDecoder().decode(head).indexOf("\r\n\r\n");
  }
  const headerText = new TextDecoder().decode(head.subarray(0, headerEnd));
  pending = head.subarray(headerEnd + 4);
  const length = Number(/content-length:\s*(\d+)/i.exec(headerText)![1]);
  const body = new Uint8Array(length);
  body.set(pending);
  let got = pending.length;
  while (got < length) {
    const n = await tls.read(body.subarray(got));
    if (n === null) throw new Error("EOF in body");
    got += n;
  }
  return { status: headerText.split("\r\n")[0], body };
}

interopTest("nginx: keep-alive requests and a 10 MB download with SHA-256", needs, async () => {
  await withNginx(async (port, caPem, fileSha256) => {
    const tls = await startTls(await Deno.connect({ hostname: "127.0.0.1", port }), {
      serverName: "localhost",
      caCerts: caPem,
      alpnProtocols: ["http/1.1"],
    });
    equal(tls.handshake.alpnProtocol, "http/1.1");
    await tls.write(
      new TextEncoder().encode("GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    );
    const first = await readResponse(tls);
    equal(first.status, "HTTP/1.1 200 OK");
    equal(new TextDecoder().decode(first.body), "hello from nginx\n");
    const start = performance.now();
    await tls.write(
      new TextEncoder().encode(
        "GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
      ),
    );
    const big = await readResponse(tls);
    const seconds = (performance.now() - start) / 1000;
    equal(big.body.length, FILE_BYTES);
    deepEqual(sha256(big.body), fileSha256);
    console.log(`  10 MB from nginx: ${(FILE_BYTES / 1e6 / seconds).toFixed(0)} MB/s`);
    tls.close();
  });
});

interopTest("nginx: session resumption with nginx's tickets", needs, async () => {
  await withNginx(async (port, caPem) => {
    const cache = new TicketCache();
    for (const round of [1, 2]) {
      const tls = await startTls(await Deno.connect({ hostname: "127.0.0.1", port }), {
        serverName: "localhost",
        caCerts: caPem,
        ticketCache: cache,
      });
      equal(tls.handshake.resumed, round === 2);
      await tls.write(
        new TextEncoder().encode("GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"),
      );
      deepEqual(new TextDecoder().decode((await readResponse(tls)).body), "hello from nginx\n");
      tls.close();
    }
  }, "RSA");
});
