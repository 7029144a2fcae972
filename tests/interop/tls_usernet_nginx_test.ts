/**
 * Interop: usernet's TLS 1.3 client over usernet's own TCP, on a TAP device, against nginx
 * (Debian nginx 1.22, OpenSSL 3.0, `ssl_protocols TLSv1.3`) running inside the test's namespace
 * and listening on the namespace's tap0 address.
 */

import { equal, ok } from "node:assert/strict";
import { interopTest, type Peer, tempDir } from "./_harness.ts";
import { startNginx } from "./_nginx.ts";
import {
  hex,
  TAP_NEEDS,
  usernetOnTap,
  type UsernetTap,
  waitForListener,
  writeRandomFile,
} from "./_usernet_peers.ts";
import { connectTls } from "../../tls/connect_tls.ts";
import type { TlsConnection } from "../../tls/tls_connection.ts";
import { TicketCache } from "../../tls/ticket_cache.ts";
import { generateCertificateAuthority, issueCertificate } from "../../tls/x509/generate.ts";

const needs = { ...TAP_NEEDS, programs: [...TAP_NEEDS.programs, "nginx"] };
const FILE_BYTES = 30 * 1024 * 1024 + 123;
const PORT = 8443;

async function withNginx(
  fn: (net: UsernetTap, caPem: string, fileSha256: string) => Promise<void>,
): Promise<void> {
  const { path: dir, cleanup } = await tempDir("tls-usernet-nginx");
  await Deno.chmod(dir, 0o755);
  const ca = await generateCertificateAuthority({ keyType: "P-256" });
  const server = await issueCertificate(ca, {
    dnsNames: ["nginx.test"],
    ipAddresses: ["10.92.0.1"],
    keyType: "P-256",
  });
  await Deno.writeTextFile(`${dir}/cert.pem`, server.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, server.keyPem);
  await Deno.mkdir(`${dir}/www`);
  await Deno.writeTextFile(`${dir}/www/index.html`, "hello from nginx over usernet\n");
  const sha = await writeRandomFile(`${dir}/www/big.bin`, FILE_BYTES);
  await Deno.chmod(`${dir}/www/big.bin`, 0o644);
  const net = await usernetOnTap("tls-nginx", { subnet: 92 });
  const http = `
  access_log off;
  types { application/octet-stream bin; text/html html; }
  server {
    listen ${net.linux}:${PORT} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ssl_protocols TLSv1.3;
    ssl_session_tickets on;
    root ${dir}/www;
    keepalive_requests 100;
  }
`;
  let peer: Peer | undefined;
  try {
    peer = startNginx(dir, http, { ns: net.ns, workerConnections: 64 });
    await waitForListener(net.ns, PORT);
    await fn(net, ca.certPem, sha);
  } catch (e) {
    console.error(
      `nginx log:\n${peer?.log}\n${await Deno.readTextFile(`${dir}/error.log`).catch(() => "")}`,
    );
    throw e;
  } finally {
    await peer?.stop();
    await net.cleanup();
    await cleanup();
  }
}

/** Reads one HTTP/1.1 response with Content-Length; returns the status line and body. */
async function readResponse(tls: TlsConnection): Promise<{ status: string; body: Uint8Array }> {
  let head = new Uint8Array(0);
  const buf = new Uint8Array(256 * 1024);
  let headerEnd = -1;
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
  const pending = head.subarray(headerEnd + 4);
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

const get = (path: string, close = false) =>
  new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: nginx.test\r\n${close ? "Connection: close\r\n" : ""}\r\n`,
  );

interopTest(
  "nginx over usernet TAP: TLS 1.3 keep-alive requests and a 30 MB download with SHA-256",
  needs,
  async () => {
    await withNginx(async (net, caPem, fileSha) => {
      const tls = await connectTls(net.stack, {
        hostname: net.linux,
        port: PORT,
        serverName: "nginx.test",
        caCerts: caPem,
        alpnProtocols: ["http/1.1"],
      });
      equal(tls.handshake.alpnProtocol, "http/1.1");
      equal(tls.handshake.protocol, "TLSv1.3");
      for (let i = 0; i < 5; i++) {
        await tls.write(get("/index.html"));
        const r = await readResponse(tls);
        equal(r.status, "HTTP/1.1 200 OK");
        equal(new TextDecoder().decode(r.body), "hello from nginx over usernet\n");
      }
      const start = performance.now();
      await tls.write(get("/big.bin", true));
      const big = await readResponse(tls);
      const seconds = (performance.now() - start) / 1000;
      equal(big.body.length, FILE_BYTES);
      equal(
        hex(
          new Uint8Array(
            await crypto.subtle.digest("SHA-256", big.body as Uint8Array<ArrayBuffer>),
          ),
        ),
        fileSha,
      );
      console.log(
        `  30 MB from nginx over usernet TAP: ${(FILE_BYTES / 1e6 / seconds).toFixed(0)} MB/s`,
      );
      tls.close();
    });
  },
);

interopTest(
  "nginx over usernet TAP: IP address server name, ticket resumption, a 404",
  needs,
  async () => {
    await withNginx(async (net, caPem) => {
      const cache = new TicketCache();
      for (const round of [1, 2]) {
        // No serverName: the IP is matched against the certificate's IP SAN, no SNI is sent.
        const tls = await connectTls(net.stack, {
          hostname: net.linux,
          port: PORT,
          caCerts: caPem,
          ticketCache: cache,
        });
        equal(tls.handshake.serverName, net.linux);
        equal(tls.handshake.resumed, round === 2, `round ${round}`);
        await tls.write(get("/missing"));
        const r = await readResponse(tls);
        ok(r.status.startsWith("HTTP/1.1 404"), r.status);
        tls.close();
      }
    });
  },
);
