/**
 * nginx (Debian 1.22) for the fetch interop tests: one instance with an HTTP and an HTTPS
 * (TLS 1.3 only, a certificate from a CA made by the test) port, a document root with the
 * files the tests compare against, and WebDAV PUT. It runs on 127.0.0.1 or inside a test's
 * network namespace; `fetchSuite` runs the same checks through any usernet stack.
 *
 * @module
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { freePort, type Peer, tempDir, waitFor } from "./_harness.ts";
import { nginxLogs, startNginx } from "./_nginx.ts";
import type { TestNamespace } from "./_netns.ts";
import { createFetch, type CreateFetchOptions } from "../../http/fetch.ts";
import type { HttpEvent, TlsDoneEvent } from "../../http/events.ts";
import type { FetchStack } from "../../http/stack_fetch.ts";
import { generateCertificateAuthority, issueCertificate } from "../../tls/x509/generate.ts";

export const MB = 1024 * 1024;
/** Size of `big.bin`, the download compared by SHA-256. */
export const BIG_BYTES = 100 * MB;

export const LOREM =
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. "
    .repeat(4000);

/** A running nginx and what the tests need to know about it. */
export interface FetchNginx {
  /** `http://ADDRESS:PORT`. */
  http: string;
  /** `https://ADDRESS:PORT` (TLS 1.3 only). */
  https: string;
  /** The CA that issued nginx's certificate (PEM). */
  caPem: string;
  /** The document root. */
  root: string;
  /** SHA-256 (hex) of `big.bin`. */
  bigSha256: string;
  /** nginx's output so far. */
  peer: Peer;
}

/** Random bytes in 64 KiB pieces (getRandomValues' limit), as a file is written. */
export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
  return data;
}

/** Options of {@linkcode withFetchNginx}. */
export interface FetchNginxOptions {
  /** More addresses for the certificate (the address a client behind a NAT uses). */
  alsoKnownAs?: string[];
  /** Size of big.bin (default {@linkcode BIG_BYTES}). */
  bigBytes?: number;
}

/**
 * Starts nginx listening on `address` (inside `ns` when given), runs `fn`, stops it; prints
 * nginx's logs when `fn` fails. The certificate names `address` and `nginx.test`.
 */
export async function withFetchNginx(
  address: string,
  ns: TestNamespace | undefined,
  fn: (nginx: FetchNginx) => Promise<void>,
  options: FetchNginxOptions = {},
): Promise<void> {
  const tmp = await tempDir("fetch-nginx");
  const dir = tmp.path;
  const root = `${dir}/www`;
  await Deno.mkdir(`${root}/dav`, { recursive: true });
  await Deno.mkdir(`${root}/gz`, { recursive: true });
  await Deno.writeTextFile(`${root}/target.txt`, "target\n");
  await Deno.writeTextFile(`${root}/gz/text.txt`, LOREM);
  const big = randomBytes(options.bigBytes ?? BIG_BYTES);
  await Deno.writeFile(`${root}/big.bin`, big);
  const bigSha256 = bytesToHex(sha256(big));
  const ca = await generateCertificateAuthority({ commonName: "fetch interop CA" });
  const cert = await issueCertificate(ca, {
    dnsNames: ["nginx.test"],
    ipAddresses: [address, ...options.alsoKnownAs ?? []],
  });
  await Deno.writeTextFile(`${dir}/cert.pem`, cert.certPem);
  await Deno.writeTextFile(`${dir}/key.pem`, cert.keyPem);
  // In a fresh namespace every port is free; on 127.0.0.1 ask the kernel.
  const port = ns ? 8080 : freePort();
  const tlsPort = ns ? 8443 : freePort();
  const peer = startNginx(
    dir,
    `
  log_format conn '$connection $connection_requests "$request" $status $body_bytes_sent';
  access_log ${dir}/access.log conn;
  default_type application/octet-stream;
  keepalive_timeout 60s;
  keepalive_requests 10000;
  sendfile on;
  server {
    listen ${address}:${port};
    listen ${address}:${tlsPort} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ssl_protocols TLSv1.3;
    root ${root};
    add_header X-Connection $connection always;
    add_header X-Connection-Requests $connection_requests always;
    location /gz/ {
      gzip on;
      gzip_min_length 1;
      gzip_types *;
      add_header X-Connection $connection always;
    }
    location = /r301 { return 301 /target.txt; }
    location = /r302 { return 302 /target.txt; }
    location = /r303 { return 303 /echo; }
    location = /r307 { return 307 /echo; }
    location = /echo { return 200 "$request_method $http_content_length\\n"; }
    location /dav/ {
      dav_methods PUT DELETE;
      create_full_put_path on;
      client_max_body_size 512m;
      client_body_buffer_size 1m;
    }
  }
`,
    { ns },
  );
  try {
    await waitFor("nginx to start", async () => {
      const log = await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
      if (/\[emerg\]/.test(log)) throw new Error(`nginx failed:\n${log}`);
      return /start worker process/.test(log) || /using the "epoll"/.test(log);
    }, 10_000);
    if (!ns) {
      await waitFor("nginx to listen", async () => {
        try {
          (await Deno.connect({ hostname: address, port })).close();
          return true;
        } catch {
          return false;
        }
      }, 10_000);
    }
    await fn({
      http: `http://${address}:${port}`,
      https: `https://${address}:${tlsPort}`,
      caPem: ca.certPem,
      root,
      bigSha256,
      peer,
    });
  } catch (e) {
    console.error(await nginxLogs(dir, peer));
    throw e;
  } finally {
    await peer.stop();
    await tmp.cleanup();
  }
}

/** A fetch through `stack` that records its events. */
export function stackFetch(stack: FetchStack, options: Partial<CreateFetchOptions> = {}) {
  const events: HttpEvent[] = [];
  const fetch = createFetch({ stack, onEvent: (e) => events.push(e), ...options });
  return {
    fetch,
    events,
    count: (type: HttpEvent["type"]) => events.filter((e) => e.type === type).length,
  };
}

/** Reads a body to its end, hashing as it goes; returns the byte count and SHA-256 (hex). */
export async function hashBody(body: ReadableStream<Uint8Array>): Promise<[number, string]> {
  const hash = sha256.create();
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return [bytes, bytesToHex(hash.digest())];
}

/**
 * The checks every transport passes against nginx, as steps named after the peer and the
 * path (`label`, e.g. "nginx over TAP").
 */
export async function fetchSuite(
  t: Deno.TestContext,
  label: string,
  stack: FetchStack,
  nginx: FetchNginx,
  options: { bigDownload?: boolean } = {},
): Promise<void> {
  const { http, https } = nginx;

  await t.step(
    `${label}: keep-alive reuses one connection ($connection stays the same)`,
    async () => {
      const { fetch, count } = stackFetch(stack);
      const seen: string[][] = [];
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${http}/target.txt`);
        assert.equal(await response.text(), "target\n");
        seen.push([
          response.headers.get("x-connection")!,
          response.headers.get("x-connection-requests")!,
        ]);
      }
      assert.equal(new Set(seen.map((s) => s[0])).size, 1, `one nginx connection: ${seen}`);
      assert.deepEqual(seen.map((s) => s[1]), ["1", "2", "3", "4", "5"]);
      assert.equal(count("connect-start"), 1);
      assert.equal(count("reuse"), 4);
      fetch.close();
    },
  );

  await t.step(`${label}: gzip with chunked transfer encoding is decoded`, async () => {
    const { fetch, events } = stackFetch(stack);
    const response = await fetch(`${http}/gz/text.txt`);
    assert.equal(response.headers.get("content-encoding"), "gzip");
    assert.equal(response.headers.get("transfer-encoding"), "chunked");
    assert.equal(await response.text(), LOREM);
    const done = events.find((e) => e.type === "body-done");
    assert.ok(done?.type === "body-done" && done.keptAlive);
    assert.ok(done.bodyBytes < LOREM.length / 10, `compressed on the wire: ${done.bodyBytes}`);
    fetch.close();
  });

  await t.step(`${label}: redirects 301, 302, 303 and 307 on one connection`, async () => {
    const { fetch, count } = stackFetch(stack);
    const r301 = await fetch(`${http}/r301`);
    assert.equal(await r301.text(), "target\n");
    assert.equal(r301.url, `${http}/target.txt`);
    assert.equal(r301.redirected, true);
    assert.equal(
      await (await fetch(`${http}/r302`, { method: "POST", body: "x" })).text(),
      "target\n",
    );
    assert.equal(
      await (await fetch(`${http}/r303`, { method: "POST", body: "abc" })).text(),
      "GET \n",
    );
    assert.equal(
      await (await fetch(`${http}/r307`, { method: "POST", body: "abcd" })).text(),
      "POST 4\n",
    );
    assert.equal(count("connect-start"), 1);
    fetch.close();
  });

  if (options.bigDownload !== false) {
    await t.step(`${label}: 100 MB download with equal SHA-256`, async () => {
      const { fetch } = stackFetch(stack);
      const started = performance.now();
      const response = await fetch(`${http}/big.bin`);
      assert.equal(response.headers.get("content-length"), String(BIG_BYTES));
      const [bytes, digest] = await hashBody(response.body!);
      const seconds = (performance.now() - started) / 1000;
      assert.equal(bytes, BIG_BYTES);
      assert.equal(digest, nginx.bigSha256);
      console.error(`${label}: 100 MB with SHA-256 in ${seconds.toFixed(2)} s`);
      fetch.close();
    });
  }

  await t.step(
    `${label}: PUT uploads (Content-Length and chunked) stored with equal SHA-256`,
    async () => {
      const { fetch } = stackFetch(stack);
      const data = randomBytes(20 * MB);
      const expected = bytesToHex(sha256(data));
      const put = await fetch(`${http}/dav/fixed.bin`, { method: "PUT", body: data });
      assert.equal(put.status, 201);
      await put.arrayBuffer();
      assert.equal(
        bytesToHex(sha256(await Deno.readFile(`${nginx.root}/dav/fixed.bin`))),
        expected,
      );
      let offset = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (offset >= data.length) return c.close();
          const n = Math.min(100_000, data.length - offset);
          c.enqueue(data.slice(offset, offset + n));
          offset += n;
        },
      });
      const chunked = await fetch(`${http}/dav/sub/streamed.bin`, { method: "PUT", body: stream });
      assert.equal(chunked.status, 201);
      await chunked.arrayBuffer();
      assert.equal(
        bytesToHex(sha256(await Deno.readFile(`${nginx.root}/dav/sub/streamed.bin`))),
        expected,
      );
      fetch.close();
    },
  );

  await t.step(
    `${label}: HTTPS, TLS 1.3 verified against the test's CA; 100 MB with equal SHA-256`,
    async () => {
      const { fetch, events } = stackFetch(stack, { caCerts: nginx.caPem });
      assert.equal(await (await fetch(`${https}/target.txt`)).text(), "target\n");
      const started = performance.now();
      const response = await fetch(`${https}/big.bin`);
      const [bytes, digest] = await hashBody(response.body!);
      const seconds = (performance.now() - started) / 1000;
      assert.equal(bytes, BIG_BYTES);
      assert.equal(digest, nginx.bigSha256);
      console.error(`${label}: 100 MB over TLS with SHA-256 in ${seconds.toFixed(2)} s`);
      const tls = events.filter((e): e is TlsDoneEvent => e.type === "tls-done");
      assert.equal(tls.length, 1, "the download reused the TLS connection");
      const h = tls[0].handshake!;
      assert.equal(h.protocol, "TLSv1.3");
      assert.equal(h.alpnProtocol, "http/1.1");
      assert.equal(h.verified, true);
      assert.match(h.peerCertificate!.issuer, /^CN=fetch interop CA/);
      fetch.close();
    },
  );

  await t.step(
    `${label}: HTTPS with a CA that did not issue nginx's certificate fails typed`,
    async () => {
      const other = await generateCertificateAuthority({ commonName: "unrelated CA" });
      const { fetch } = stackFetch(stack, { caCerts: other.certPem });
      await assert.rejects(fetch(`${https}/target.txt`), (e: Error) => {
        assert.equal(e.name, "TlsFailed");
        assert.equal((e.cause as Error).name, "UnknownIssuer");
        return true;
      });
      fetch.close();
    },
  );
}
