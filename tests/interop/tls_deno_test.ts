/**
 * Interop: usernet's TLS 1.3 client against Deno's native TLS server (rustls), with
 * certificates from usernet's own generator. Shows that `Deno.listenTls` / `Deno.serve`
 * accept what `tls/x509/generate.ts` produces and that our client verifies it.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { interopTest } from "./_harness.ts";
import { connect, type TlsConnection } from "../../tls/tls_connection.ts";
import { TicketCache } from "../../tls/ticket_cache.ts";
import { generateCertificateAuthority, issueCertificate } from "../../tls/x509/generate.ts";

const needs = {};

async function readAll(tls: TlsConnection): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    const n = await tls.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
  }
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

for (const keyType of ["P-256", "P-384", "RSA"] as const) {
  interopTest(
    `deno_listentls: rustls accepts a generated ${keyType} certificate, echo of 10 MB`,
    needs,
    async () => {
      const ca = await generateCertificateAuthority({
        keyType: keyType === "RSA" ? "RSA" : "P-256",
      });
      const server = await issueCertificate(ca, {
        dnsNames: ["localhost"],
        ipAddresses: ["127.0.0.1"],
        keyType,
      });
      const listener = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: server.certPem,
        key: server.keyPem,
      });
      const port = (listener.addr as Deno.NetAddr).port;
      const served = (async () => {
        const conn = await listener.accept();
        // Echo until EOF (our close_notify), then close.
        const buf = new Uint8Array(64 * 1024);
        while (true) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) break;
          let off = 0;
          while (off < n) off += await conn.write(buf.subarray(off, n));
        }
        conn.close();
      })();
      try {
        const tls = await connect(await Deno.connect({ hostname: "127.0.0.1", port }), {
          serverName: "localhost",
          caCerts: ca.certPem,
        });
        equal(tls.handshake.verified, true);
        equal(tls.handshake.peerCertificate?.pathLength, 2);
        // rustls takes our hybrid post-quantum share: no HelloRetryRequest, no fallback.
        equal(tls.handshake.group, "X25519MLKEM768");
        equal(tls.handshake.helloRetryRequest, false);
        const data = new Uint8Array(10 * 1024 * 1024);
        for (let i = 0; i < data.length; i += 65536) {
          crypto.getRandomValues(data.subarray(i, i + 65536));
        }
        const [, echoed] = await Promise.all([
          tls.write(data).then(() => tls.closeWrite()),
          readAll(tls),
        ]);
        equal(echoed.length, data.length);
        deepEqual(sha256(echoed), sha256(data));
        tls.close();
        await served;
      } finally {
        listener.close();
      }
    },
  );
}

interopTest(
  "deno_serve: HTTPS with a CA generated on the spot, fetched through usernet TLS",
  needs,
  async () => {
    const ca = await generateCertificateAuthority({ commonName: "usernet demo CA" });
    const server = await issueCertificate(ca, {
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
    });
    const ac = new AbortController();
    let port = 0;
    const ready = Promise.withResolvers<void>();
    const httpd = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: server.certPem,
      key: server.keyPem,
      signal: ac.signal,
      onListen: (addr) => {
        port = addr.port;
        ready.resolve();
      },
    }, () => new Response("hello over usernet TLS\n"));
    await ready.promise;
    try {
      const cache = new TicketCache();
      for (const round of [1, 2]) {
        const tls = await connect(await Deno.connect({ hostname: "127.0.0.1", port }), {
          serverName: "127.0.0.1",
          caCerts: ca.certPem,
          alpnProtocols: ["http/1.1"],
          sessionCache: cache,
        });
        equal(tls.handshake.alpnProtocol, "http/1.1");
        equal(tls.handshake.resumed, round === 2);
        equal(tls.handshake.group, "X25519MLKEM768");
        // A resumed session reports the certificate of the session it resumed.
        deepEqual(tls.handshake.peerCertificates?.map((c) => c.der), [server.der]);
        await tls.write(
          new TextEncoder().encode(
            "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
          ),
        );
        const response = new TextDecoder().decode(await readAll(tls));
        ok(response.startsWith("HTTP/1.1 200 OK"), response);
        ok(response.endsWith("hello over usernet TLS\n"), response);
        tls.close();
      }
    } finally {
      ac.abort();
      await httpd.finished;
    }
  },
);

interopTest(
  "deno_listentls: peerCertificates is the leaf and intermediate rustls sent, in order, with DER",
  needs,
  async () => {
    const root = await generateCertificateAuthority({ commonName: "deno interop root" });
    const intermediate = await issueCertificate(root, {
      isCa: true,
      commonName: "deno interop intermediate",
    });
    const server = await issueCertificate(intermediate, {
      dnsNames: ["localhost"],
      keyType: "P-384",
    });
    const listener = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: server.certPem + intermediate.certPem, // the chain rustls sends, leaf first
      key: server.keyPem,
    });
    const port = (listener.addr as Deno.NetAddr).port;
    const served = (async () => {
      const conn = await listener.accept();
      await conn.write(new TextEncoder().encode("hi"));
      conn.close();
    })();
    try {
      const tls = await connect(await Deno.connect({ hostname: "127.0.0.1", port }), {
        serverName: "localhost",
        caCerts: root.certPem,
      });
      const h = tls.handshake;
      equal(h.verified, true);
      equal(h.group, "X25519MLKEM768");
      const sent = h.peerCertificates;
      deepEqual(sent.map((c) => c.der), [server.der, intermediate.der]);
      deepEqual(sent.map((c) => c.subject.text), [
        "CN=localhost,O=usernet",
        "CN=deno interop intermediate,O=usernet",
      ]);
      deepEqual(sent.map((c) => c.issuer.text), [
        "CN=deno interop intermediate,O=usernet",
        "CN=deno interop root,O=usernet",
      ]);
      equal(sent[0].publicKey.kind, "ec");
      equal(h.peerCertificate?.publicKey, "ECDSA P-384");
      equal(h.peerCertificate?.pathLength, 3); // leaf, intermediate, root from caCerts
      equal(new TextDecoder().decode(await readAll(tls)), "hi");
      tls.close();
      await served;
    } finally {
      listener.close();
    }
  },
);
