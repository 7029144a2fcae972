// The HTTP/1.1 client against nginx (Debian 1.22) on 127.0.0.1, over Deno.connect.
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { createFetch, type CreateFetchOptions } from "../../http/fetch.ts";
import type { HttpEvent } from "../../http/events.ts";
import { freePort, interopTest, type Peer, tempDir, waitFor } from "./_harness.ts";
import { nginxLogs, startNginx } from "./_nginx.ts";

const NEEDS = { programs: ["nginx"] };
const MB = 1024 * 1024;

interface Nginx {
  port: number;
  root: string;
  dir: string;
  peer: Peer;
  origin: string;
}

/** Starts nginx in a temp prefix, runs `fn`, stops it; prints nginx's logs if `fn` fails. */
async function withNginx(fn: (n: Nginx) => Promise<void>): Promise<void> {
  const tmp = await tempDir("http-nginx");
  const dir = tmp.path;
  const root = `${dir}/www`;
  await Deno.mkdir(`${root}/dav`, { recursive: true });
  await Deno.mkdir(`${root}/limited`, { recursive: true });
  await Deno.writeTextFile(`${root}/target.txt`, "target\n");
  await Deno.writeTextFile(`${root}/limited/x.txt`, "x\n");
  await Deno.mkdir(`${root}/gz`, { recursive: true });
  await Deno.writeTextFile(`${root}/gz/text.txt`, LOREM);
  const port = freePort();
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
    listen 127.0.0.1:${port};
    root ${root};
    add_header X-Connection $connection always;
    add_header X-Connection-Requests $connection_requests always;
    location /gz/ {
      gzip on;
      gzip_min_length 1;
      gzip_types *;
      chunked_transfer_encoding on;
      add_header X-Connection $connection always;
    }
    location /limited/ { keepalive_requests 2; }
    location = /r301 { return 301 /target.txt; }
    location = /r302 { return 302 /target.txt; }
    location = /r303 { return 303 /echo; }
    location = /r307 { return 307 /echo; }
    location = /loop { return 302 /loop; }
    location = /echo { return 200 "$request_method $http_content_length\\n"; }
    location /small/ {
      dav_methods PUT;
      client_max_body_size 1k;
    }
    location /dav/ {
      dav_methods PUT DELETE;
      create_full_put_path on;
      client_max_body_size 512m;
      client_body_buffer_size 1m;
    }
  }
`,
    { workerConnections: 128 },
  );
  try {
    await waitFor("nginx to listen", async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return true;
      } catch {
        return false;
      }
    }, 10_000);
    await fn({ port, root, dir, peer, origin: `http://127.0.0.1:${port}` });
  } catch (e) {
    console.error(await nginxLogs(dir, peer));
    throw e;
  } finally {
    await peer.stop();
    await tmp.cleanup();
  }
}

function tcpFetch(options: Partial<CreateFetchOptions> = {}) {
  const events: HttpEvent[] = [];
  const fetch = createFetch({
    connect: (hostname, port) => Deno.connect({ hostname, port }),
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { fetch, events, count: (type: string) => events.filter((e) => e.type === type).length };
}

const LOREM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. "
  .repeat(4000);

interopTest(
  "nginx: keep-alive reuses one connection ($connection stays the same)",
  NEEDS,
  () =>
    withNginx(async ({ origin }) => {
      const { fetch, count } = tcpFetch();
      const seen = [];
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${origin}/target.txt`);
        assert.equal(await response.text(), "target\n");
        seen.push([
          response.headers.get("x-connection"),
          response.headers.get("x-connection-requests"),
        ]);
      }
      assert.equal(new Set(seen.map((s) => s[0])).size, 1, `one nginx connection: ${seen}`);
      assert.deepEqual(seen.map((s) => s[1]), ["1", "2", "3", "4", "5"]);
      assert.equal(count("connect-start"), 1);
      assert.equal(count("reuse"), 4);
      fetch.close();
    }),
);

interopTest(
  "nginx: keepalive_requests 2 closes the connection; the client reconnects",
  NEEDS,
  () =>
    withNginx(async ({ origin }) => {
      const { fetch, count } = tcpFetch();
      for (let i = 0; i < 5; i++) {
        assert.equal(await (await fetch(`${origin}/limited/x.txt`)).text(), "x\n");
      }
      assert.equal(count("connect-start"), 3);
      assert.equal(count("retry"), 0);
      fetch.close();
    }),
);

interopTest(
  "nginx: gzip with chunked transfer encoding",
  NEEDS,
  () =>
    withNginx(async ({ origin }) => {
      const { fetch, events } = tcpFetch();
      const response = await fetch(`${origin}/gz/text.txt`);
      assert.equal(response.headers.get("content-encoding"), "gzip");
      assert.equal(response.headers.get("content-length"), null);
      assert.equal(await response.text(), LOREM);
      const head = events.find((e) => e.type === "response-headers");
      assert.ok(head?.type === "response-headers");
      assert.ok(head.headers.some(([n, v]) => n === "Transfer-Encoding" && v === "chunked"));
      const done = events.find((e) => e.type === "body-done");
      assert.ok(done?.type === "body-done" && done.keptAlive);
      assert.ok(done.bodyBytes < LOREM.length / 10, `compressed: ${done.bodyBytes} bytes`);

      // Again without decoding: the raw bytes gunzip to the file.
      const raw = tcpFetch({ decompress: false });
      const gz = await raw.fetch(`${origin}/gz/text.txt`, {
        headers: { "accept-encoding": "gzip" },
      });
      const plain = await new Response(gz.body!.pipeThrough(new DecompressionStream("gzip")))
        .text();
      assert.equal(plain, LOREM);
      raw.fetch.close();
      fetch.close();
    }),
);

interopTest("nginx: redirects 301, 302, 303 and 307", NEEDS, () =>
  withNginx(async ({ origin }) => {
    const { fetch, count } = tcpFetch();
    const r301 = await fetch(`${origin}/r301`);
    assert.equal(await r301.text(), "target\n");
    assert.equal(r301.url, `${origin}/target.txt`);
    assert.equal(r301.redirected, true);

    const r302 = await fetch(`${origin}/r302`, { method: "POST", body: "x" });
    assert.equal(await r302.text(), "target\n");

    const r303 = await fetch(`${origin}/r303`, { method: "POST", body: "abc" });
    assert.equal(await r303.text(), "GET \n");

    const r307 = await fetch(`${origin}/r307`, { method: "POST", body: "abcd" });
    assert.equal(await r307.text(), "POST 4\n");

    const manual = await fetch(`${origin}/r302`, { redirect: "manual" });
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.get("location"), `${origin}/target.txt`);
    await manual.arrayBuffer();

    await assert.rejects(fetch(`${origin}/loop`), (e: Error) => e.name === "TooManyRedirects");
    assert.equal(count("connect-start"), 1, "redirect bodies drained; one connection");
    fetch.close();
  }));

interopTest(
  "nginx: HEAD and 304 keep the connection",
  NEEDS,
  () =>
    withNginx(async ({ origin }) => {
      const { fetch, count } = tcpFetch();
      const head = await fetch(`${origin}/target.txt`, { method: "HEAD" });
      assert.equal(head.body, null);
      assert.equal(head.headers.get("content-length"), "7");
      const etag = head.headers.get("etag")!;
      const notModified = await fetch(`${origin}/target.txt`, {
        headers: { "if-none-match": etag },
      });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.body, null);
      assert.equal(await (await fetch(`${origin}/target.txt`)).text(), "target\n");
      assert.equal(count("connect-start"), 1);
      fetch.close();
    }),
);

interopTest(
  "nginx: 100 MB download with equal SHA-256",
  NEEDS,
  () =>
    withNginx(async ({ origin, root }) => {
      const size = 100 * MB;
      const file = new Uint8Array(size);
      for (let at = 0; at < size; at += 65536) {
        crypto.getRandomValues(file.subarray(at, at + 65536));
      }
      await Deno.writeFile(`${root}/big.bin`, file);
      const expected = bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", file)));

      const { fetch } = tcpFetch();
      const started = performance.now();
      const response = await fetch(`${origin}/big.bin`);
      assert.equal(response.headers.get("content-length"), String(size));
      const hash = sha256.create();
      let received = 0;
      for await (const chunk of response.body!) {
        hash.update(chunk);
        received += chunk.length;
      }
      const seconds = (performance.now() - started) / 1000;
      assert.equal(received, size);
      assert.equal(bytesToHex(hash.digest()), expected);
      console.error(`nginx 100 MB download with SHA-256: ${(100 / seconds).toFixed(0)} MB/s`);
      fetch.close();
    }),
  { timeoutMs: 120_000 },
);

interopTest(
  "nginx: PUT uploads (Content-Length and chunked stream) stored with equal SHA-256",
  NEEDS,
  () =>
    withNginx(async ({ origin, root }) => {
      const { fetch } = tcpFetch();
      const size = 20 * MB;
      const data = new Uint8Array(size);
      for (let at = 0; at < size; at += 65536) {
        crypto.getRandomValues(data.subarray(at, at + 65536));
      }
      const expected = bytesToHex(sha256(data));

      const put = await fetch(`${origin}/dav/fixed.bin`, { method: "PUT", body: data });
      assert.equal(put.status, 201);
      await put.arrayBuffer();
      assert.equal(bytesToHex(sha256(await Deno.readFile(`${root}/dav/fixed.bin`))), expected);

      let offset = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (offset >= size) return c.close();
          const n = Math.min(100_000, size - offset);
          c.enqueue(data.slice(offset, offset + n));
          offset += n;
        },
      });
      const chunked = await fetch(`${origin}/dav/sub/streamed.bin`, {
        method: "PUT",
        body: stream,
      });
      assert.equal(chunked.status, 201);
      await chunked.arrayBuffer();
      assert.equal(
        bytesToHex(sha256(await Deno.readFile(`${root}/dav/sub/streamed.bin`))),
        expected,
      );

      const overwrite = await fetch(`${origin}/dav/fixed.bin`, { method: "PUT", body: "small" });
      assert.equal(overwrite.status, 204);
      assert.equal(await Deno.readTextFile(`${root}/dav/fixed.bin`), "small");
      fetch.close();
    }),
  { timeoutMs: 120_000 },
);

interopTest(
  "nginx: 413 while uploading is returned as a response, not an error",
  NEEDS,
  () =>
    withNginx(async ({ origin }) => {
      const { fetch, events } = tcpFetch();
      const data = new Uint8Array(8 * MB);
      const fixed = await fetch(`${origin}/small/x.bin`, { method: "PUT", body: data });
      assert.equal(fixed.status, 413);
      await fixed.arrayBuffer();

      let offset = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (offset >= data.length) return c.close();
          c.enqueue(data.subarray(offset, offset + 65536));
          offset += 65536;
        },
      });
      const streamed = await fetch(`${origin}/small/y.bin`, { method: "PUT", body: stream });
      assert.equal(streamed.status, 413);
      await streamed.arrayBuffer();
      const done = events.filter((e) => e.type === "body-done");
      assert.ok(done.every((e) => e.type === "body-done" && !e.keptAlive));
      fetch.close();
    }),
);
