import assert from "node:assert/strict";
import {
  AmbiguousFraming,
  ClientClosed,
  ConnectFailed,
  ConnectionClosed,
  HttpTimeout,
  InvalidRedirect,
  InvalidRequest,
  RedirectRefused,
  TlsFailed,
  TlsNotConfigured,
  TooManyRedirects,
  TruncatedResponse,
  UnexpectedUpgrade,
  UnsupportedScheme,
} from "./errors.ts";
import { formatEvent, type HttpEvent } from "./events.ts";
import { createFetch, type CreateFetchOptions } from "./fetch.ts";
import { concat, FakeServer, latin1Bytes, ok, type Reply, type SeenRequest } from "./_test_util.ts";
import type { Conn } from "../net/conn.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function client(server: FakeServer, options: Partial<CreateFetchOptions> = {}) {
  const events: HttpEvent[] = [];
  const fetch = createFetch({
    connect: server.connect,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { fetch, events, types: () => events.map((e) => e.type) };
}

async function compress(data: Uint8Array, format: CompressionFormat): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function streamOf(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  });
}

// --- Requests and responses ----------------------------------------------------------------------

Deno.test("GET: request head, response status, headers, body and url", async () => {
  const server = new FakeServer(() => ok("hello", "X-Reply: yes\r\n"));
  const { fetch, types } = client(server);
  const response = await fetch("http://example.test:8080/a/b?c=d#frag", {
    headers: { "x-custom": "1" },
  });
  assert.equal(response.status, 200);
  assert.equal(response.statusText, "OK");
  assert.equal(response.headers.get("x-reply"), "yes");
  assert.equal(response.url, "http://example.test:8080/a/b?c=d");
  assert.equal(response.redirected, false);
  assert.equal(await response.text(), "hello");
  const [request] = server.requests;
  assert.equal(request.method, "GET");
  assert.equal(request.target, "/a/b?c=d");
  assert.equal(request.headers.get("host"), "example.test:8080");
  assert.equal(request.headers.get("user-agent"), "usernet");
  assert.equal(request.headers.get("accept"), "*/*");
  assert.match(request.headers.get("accept-encoding")!, /gzip, deflate/);
  assert.equal(request.headers.get("x-custom"), "1");
  assert.ok(request.head.startsWith("GET /a/b?c=d HTTP/1.1\r\nHost: example.test:8080\r\n"));
  assert.ok(!request.headers.has("content-length"));
  assert.deepEqual(server.dials, ["example.test:8080"]);
  assert.deepEqual(types(), [
    "request-start",
    "connect-start",
    "connect-done",
    "request-sent",
    "response-headers",
    "body-done",
  ]);
  fetch.close();
});

Deno.test("default port, IPv6 literal host, and no user agent when disabled", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server, { userAgent: null });
  await (await fetch("http://[::1]/")).arrayBuffer();
  assert.deepEqual(server.dials, ["::1:80"]);
  assert.equal(server.requests[0].headers.get("host"), "[::1]");
  assert.ok(!server.requests[0].headers.has("user-agent"));
  fetch.close();
});

Deno.test("bodies: string and bytes get Content-Length, POST without body gets 0", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server);
  await (await fetch("http://a/", { method: "POST", body: "héllo" })).text();
  await (await fetch("http://a/", { method: "PUT", body: new Uint8Array([1, 2, 3]) })).text();
  await (await fetch("http://a/", { method: "POST" })).text();
  const [r1, r2, r3] = server.requests;
  assert.equal(r1.headers.get("content-length"), "6");
  assert.equal(r1.headers.get("content-type"), "text/plain;charset=UTF-8");
  assert.equal(text(r1.body), "héllo");
  assert.deepEqual([...r2.body], [1, 2, 3]);
  assert.equal(r3.headers.get("content-length"), "0");
  assert.equal(server.connections.length, 1);
  fetch.close();
});

Deno.test("bodies: a large byte body is sent in full", async () => {
  const server = new FakeServer((r) => ok(String(r.body.length)));
  const { fetch } = client(server);
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  assert.equal(await (await fetch("http://a/", { method: "POST", body: big })).text(), "300000");
  assert.deepEqual(server.requests[0].body, big);
  fetch.close();
});

Deno.test("bodies: a ReadableStream is sent chunked; empty chunks are skipped", async () => {
  const server = new FakeServer(() => ok());
  const { fetch, events } = client(server);
  const parts = [latin1Bytes("abc"), new Uint8Array(0), new Uint8Array(40_000).fill(7)];
  await (await fetch("http://a/up", { method: "POST", body: streamOf(parts) })).text();
  const [request] = server.requests;
  assert.equal(request.headers.get("transfer-encoding"), "chunked");
  assert.ok(request.chunked);
  assert.deepEqual(request.body, concat(parts));
  const sent = events.find((e) => e.type === "request-sent");
  assert.equal(sent?.type === "request-sent" && sent.bodyBytes, 40_003);
  fetch.close();
});

Deno.test("bodies: a ReadableStream with a Content-Length header is sent with that length", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server);
  const body = streamOf([latin1Bytes("hello "), latin1Bytes("world")]);
  await (await fetch("http://a/", {
    method: "PUT",
    body,
    headers: { "content-length": "11" },
  })).text();
  assert.equal(server.requests[0].headers.get("content-length"), "11");
  assert.ok(!server.requests[0].headers.has("transfer-encoding"));
  assert.equal(text(server.requests[0].body), "hello world");
  fetch.close();
});

Deno.test("bodies: a stream that does not match its Content-Length fails with InvalidRequest", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server);
  await assert.rejects(
    fetch("http://a/", {
      method: "PUT",
      body: streamOf([latin1Bytes("short")]),
      headers: { "content-length": "10" },
    }),
    InvalidRequest,
  );
  await assert.rejects(
    fetch("http://a/", {
      method: "PUT",
      body: streamOf([latin1Bytes("much too long")]),
      headers: { "content-length": "3" },
    }),
    InvalidRequest,
  );
  fetch.close();
});

Deno.test("bodies: a failing request body stream rejects the fetch with its error", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server);
  const boom = new Error("source failed");
  const body = new ReadableStream({
    pull(c) {
      c.enqueue(latin1Bytes("x"));
      throw boom;
    },
  });
  await assert.rejects(fetch("http://a/", { method: "POST", body }), (e) => e === boom);
  fetch.close();
});

Deno.test("bodies: a Request object with a body is streamed", async () => {
  const server = new FakeServer((r) => ok(text(r.body)));
  const { fetch } = client(server);
  const request = new Request("http://a/x", { method: "POST", body: "from a Request" });
  assert.equal(await (await fetch(request)).text(), "from a Request");
  fetch.close();
});

Deno.test("response body streams from the connection before it is complete", async () => {
  const server = new FakeServer();
  const { fetch } = client(server);
  const pending = fetch("http://a/");
  const conn = await server.accept();
  await conn.readRequest();
  await conn.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
  const response = await pending;
  const reader = response.body!.getReader();
  assert.equal(text((await reader.read()).value!), "first");
  await conn.write("6\r\nsecond\r\n0\r\n\r\n");
  assert.equal(text((await reader.read()).value!), "second");
  assert.equal((await reader.read()).done, true);
  fetch.close();
});

Deno.test("trailers are reported in the body-done event", async () => {
  const server = new FakeServer(() =>
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n"
  );
  const { fetch, events } = client(server);
  assert.equal(await (await fetch("http://a/")).text(), "ok");
  const done = events.find((e) => e.type === "body-done");
  assert.ok(done?.type === "body-done");
  assert.deepEqual(done.trailers, [["X-Sum", "42"]]);
  assert.equal(done.keptAlive, true);
  fetch.close();
});

Deno.test("1xx responses are skipped and reported", async () => {
  const server = new FakeServer(() =>
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + ok("done")
  );
  const { fetch, events } = client(server);
  const response = await fetch("http://a/");
  assert.equal(response.status, 200);
  assert.equal(await response.text(), "done");
  const statuses = events.flatMap((e) => e.type === "response-headers" ? [e.status] : []);
  assert.deepEqual(statuses, [100, 103, 200]);
  fetch.close();
});

Deno.test("HEAD, 204 and 304 have null bodies and keep the connection", async () => {
  const replies = [
    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
    "HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
    ok("after"),
  ];
  const server = new FakeServer(() => replies.shift()!);
  const { fetch } = client(server);
  const head = await fetch("http://a/", { method: "HEAD" });
  assert.equal(head.body, null);
  assert.equal(head.headers.get("content-length"), "1000");
  assert.equal((await fetch("http://a/")).body, null);
  assert.equal((await fetch("http://a/")).status, 304);
  assert.equal(await (await fetch("http://a/")).text(), "after");
  assert.equal(server.connections.length, 1);
  fetch.close();
});

Deno.test("101 without an upgrade request fails with UnexpectedUpgrade", async () => {
  const server = new FakeServer(() => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n");
  const { fetch } = client(server);
  await assert.rejects(fetch("http://a/"), UnexpectedUpgrade);
  fetch.close();
});

Deno.test("malformed responses reject with their class and close the connection", async () => {
  const server = new FakeServer(() =>
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
  );
  const { fetch } = client(server);
  await assert.rejects(fetch("http://a/"), AmbiguousFraming);
  assert.ok(server.connections[0].conn.peer.closed);
  fetch.close();
});

Deno.test("a body cut short errors the stream with TruncatedResponse", async () => {
  const server = new FakeServer(() => ({
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",
    close: true,
  }));
  const { fetch, types } = client(server);
  const response = await fetch("http://a/");
  await assert.rejects(response.text(), TruncatedResponse);
  assert.ok(types().includes("error"));
  fetch.close();
});

Deno.test("close-delimited bodies end at end of stream and close the connection", async () => {
  const server = new FakeServer(() => ({ raw: "HTTP/1.1 200 OK\r\n\r\nuntil close", close: true }));
  const { fetch } = client(server);
  assert.equal(await (await fetch("http://a/")).text(), "until close");
  assert.equal(await (await fetch("http://a/")).text(), "until close");
  assert.equal(server.connections.length, 2);
  fetch.close();
});

Deno.test("credentials in the URL become Basic authorization and leave the URL", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server);
  const response = await fetch("http://us%20er:p%40ss@a/");
  await response.text();
  assert.equal(server.requests[0].headers.get("authorization"), `Basic ${btoa("us er:p@ss")}`);
  assert.equal(response.url, "http://a/");
  fetch.close();
});

// --- Pool ----------------------------------------------------------------------------------------

Deno.test("pool: sequential requests reuse one connection", async () => {
  const server = new FakeServer(() => ok("x"));
  const { fetch, events } = client(server);
  for (let i = 0; i < 3; i++) assert.equal(await (await fetch("http://a/")).text(), "x");
  assert.equal(server.connections.length, 1);
  const reuses = events.filter((e) => e.type === "reuse");
  assert.equal(reuses.length, 2);
  assert.ok(reuses[1].type === "reuse" && reuses[1].previousRequests === 2);
  fetch.close();
});

Deno.test("pool: origins are separate (host, port and scheme)", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server);
  for (const url of ["http://a/", "http://b/", "http://a:81/", "http://a/", "http://b/"]) {
    await (await fetch(url)).text();
  }
  assert.deepEqual(server.dials, ["a:80", "b:80", "a:81"]);
  fetch.close();
});

Deno.test("pool: a body that came with the head frees the connection at once; a cancelled one closes it", async () => {
  const server = new FakeServer(() =>
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
  );
  const { fetch } = client(server);
  // The whole body arrives with the head, so the connection goes back at once.
  const first = await fetch("http://a/");
  await (await fetch("http://a/")).text();
  assert.equal(server.connections.length, 1);
  await first.text();

  const slow = new FakeServer();
  const c2 = client(slow);
  const pending = c2.fetch("http://a/");
  const conn = await slow.accept();
  await conn.readRequest();
  await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
  const response = await pending;
  await response.body!.cancel();
  assert.ok(conn.conn.peer.closed, "cancel closes the connection");
  const done = c2.events.find((e) => e.type === "body-done");
  assert.equal(done, undefined);
  c2.fetch.close();
  fetch.close();
});

Deno.test("pool: a response whose body has not ended keeps its connection busy", async () => {
  const server = new FakeServer();
  const { fetch } = client(server);
  const first = fetch("http://a/");
  const c1 = await server.accept();
  await c1.readRequest();
  await c1.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc");
  const r1 = await first;
  const second = fetch("http://a/");
  const c2 = await server.accept();
  await c2.readRequest();
  await c2.write(ok("two"));
  assert.equal(await (await second).text(), "two");
  await c1.write("def");
  assert.equal(await r1.text(), "abcdef");
  assert.equal(server.connections.length, 2);
  fetch.close();
});

Deno.test("chunks handed out are never overwritten by later reads (zero-copy safety)", async () => {
  const server = new FakeServer();
  const { fetch } = client(server, { readBufferSize: 1024 });
  const pending = fetch("http://a/");
  const conn = await server.accept();
  await conn.readRequest();
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) pieces.push(new Uint8Array(700).fill(i % 256));
  const expected = concat(pieces);
  await conn.write(`HTTP/1.1 200 OK\r\nContent-Length: ${expected.length}\r\n\r\n`);
  const response = await pending;
  const reader = response.body!.getReader();
  const held: Uint8Array[] = [];
  let sent = 0;
  for (;;) {
    if (sent < pieces.length) await conn.write(pieces[sent++]);
    const r = await reader.read();
    if (r.done) break;
    held.push(r.value);
  }
  assert.deepEqual(concat(held), expected);
  fetch.close();
});

Deno.test("pool: Connection: close in the response or the request prevents reuse", async () => {
  const server = new FakeServer((r) =>
    r.target === "/close" ? { raw: ok("", "Connection: close\r\n"), close: true } : ok()
  );
  const { fetch } = client(server);
  await (await fetch("http://a/close")).text();
  await (await fetch("http://a/")).text();
  await (await fetch("http://a/", { headers: { connection: "close" } })).text();
  await (await fetch("http://a/")).text();
  assert.equal(server.connections.length, 3);
  assert.equal(server.requests[2].headers.get("connection"), "close");
  fetch.close();
});

Deno.test("pool: a connection the server closes while idle is dropped without a retry", async () => {
  const server = new FakeServer(() => ({ raw: ok("once"), close: true }));
  const { fetch, types } = client(server);
  assert.equal(await (await fetch("http://a/")).text(), "once");
  // The server closed right after answering; the idle watch sees the end of stream.
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(await (await fetch("http://a/")).text(), "once");
  assert.equal(server.connections.length, 2);
  assert.ok(!types().includes("retry"));
  assert.ok(!types().includes("reuse"));
  fetch.close();
});

Deno.test("pool: idle connections close after idleTimeoutMs", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server, { idleTimeoutMs: 30 });
  await (await fetch("http://a/")).text();
  const conn = server.connections[0].conn;
  const deadline = Date.now() + 5000;
  while (!conn.peer.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(conn.peer.closed, "idle connection closed");
  await (await fetch("http://a/")).text();
  assert.equal(server.connections.length, 2);
  fetch.close();
});

Deno.test("pool: maxIdlePerOrigin closes surplus connections", async () => {
  const server = new FakeServer();
  const { fetch } = client(server, { maxIdlePerOrigin: 1 });
  const pending = [fetch("http://a/"), fetch("http://a/"), fetch("http://a/")];
  for (let i = 0; i < 3; i++) {
    const conn = await server.accept();
    await conn.readRequest();
    await conn.write(ok("x"));
  }
  for (const p of pending) await (await p).text();
  const open = server.connections.filter((c) => !c.conn.peer.closed);
  assert.equal(open.length, 1);
  fetch.close();
});

Deno.test("pool: maxIdlePerOrigin 0 disables keep-alive", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server, { maxIdlePerOrigin: 0 });
  await (await fetch("http://a/")).text();
  await (await fetch("http://a/")).text();
  assert.equal(server.connections.length, 2);
  fetch.close();
});

Deno.test("pool: maxConnectionsPerOrigin queues requests until a connection frees", async () => {
  const server = new FakeServer(() => ok("q"));
  const { fetch } = client(server, { maxConnectionsPerOrigin: 1 });
  const responses = await Promise.all(
    [1, 2, 3].map(() => fetch("http://a/").then((r) => r.text())),
  );
  assert.deepEqual(responses, ["q", "q", "q"]);
  assert.equal(server.connections.length, 1);
  fetch.close();
});

Deno.test("pool: a request waiting for a connection can be aborted", async () => {
  const server = new FakeServer();
  const { fetch } = client(server, { maxConnectionsPerOrigin: 1 });
  const first = fetch("http://a/");
  const controller = new AbortController();
  const second = fetch("http://a/", { signal: controller.signal });
  const conn = await server.accept();
  controller.abort();
  await assert.rejects(second, (e) => e instanceof DOMException && e.name === "AbortError");
  await conn.readRequest();
  await conn.write(ok("first"));
  assert.equal(await (await first).text(), "first");
  fetch.close();
});

Deno.test("pool: a stale pooled connection is retried for idempotent requests", async () => {
  // The server answers the first request, then closes as the second arrives (a race the idle
  // watch cannot see in time).
  let served = 0;
  const server = new FakeServer((_r, conn) => {
    served++;
    if (conn.id === 1 && served > 1) return { close: true };
    return ok(`#${served}`);
  });
  const { fetch, events } = client(server);
  assert.equal(await (await fetch("http://a/")).text(), "#1");
  assert.equal(await (await fetch("http://a/", { method: "PUT", body: "again" })).text(), "#3");
  assert.equal(server.connections.length, 2);
  const retry = events.find((e) => e.type === "retry");
  assert.ok(retry?.type === "retry" && retry.connectionId === 1);
  assert.equal(text(server.requests[2].body), "again");
  fetch.close();
});

Deno.test("pool: a stale pooled connection fails a POST with ConnectionClosed", async () => {
  let served = 0;
  const server = new FakeServer(() => (served++ === 0 ? ok() : { close: true }));
  const { fetch, types } = client(server);
  await (await fetch("http://a/")).text();
  await assert.rejects(fetch("http://a/", { method: "POST", body: "x" }), ConnectionClosed);
  assert.ok(!types().includes("retry"));
  fetch.close();
});

Deno.test("pool: an Idempotency-Key makes a POST retryable", async () => {
  let served = 0;
  const server = new FakeServer(() => (served++ === 1 ? { close: true } : ok("done")));
  const { fetch } = client(server);
  await (await fetch("http://a/")).text();
  const response = await fetch("http://a/", {
    method: "POST",
    body: "x",
    headers: { "idempotency-key": "k1" },
  });
  assert.equal(await response.text(), "done");
  fetch.close();
});

Deno.test("pool: a fresh connection that closes is not retried", async () => {
  const server = new FakeServer(() => ({ close: true }));
  const { fetch } = client(server);
  await assert.rejects(fetch("http://a/"), ConnectionClosed);
  assert.equal(server.connections.length, 1);
  fetch.close();
});

Deno.test("close(): idle connections close and later requests fail with ClientClosed", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server);
  await (await fetch("http://a/")).text();
  fetch.close();
  assert.ok(server.connections[0].conn.peer.closed);
  await assert.rejects(fetch("http://a/"), ClientClosed);
});

// --- Redirects -----------------------------------------------------------------------------------

function redirectServer(routes: Record<string, (r: SeenRequest) => Reply>): FakeServer {
  return new FakeServer((r) => {
    const route = routes[r.target];
    return route ? route(r) : ok(`${r.method} ${r.target} ${text(r.body)}`);
  });
}

const redirect = (status: number, location: string) =>
  `HTTP/1.1 ${status} Moved\r\nLocation: ${location}\r\nContent-Length: 4\r\n\r\nmove`;

Deno.test("redirects: 301 and 302 turn POST into GET without body or body headers", async () => {
  for (const status of [301, 302]) {
    const server = redirectServer({ "/from": () => redirect(status, "/to") });
    const { fetch, events } = client(server);
    const response = await fetch("http://a/from", { method: "POST", body: "data" });
    assert.equal(await response.text(), "GET /to ");
    assert.equal(response.redirected, true);
    assert.equal(response.url, "http://a/to");
    const second = server.requests[1];
    assert.ok(!second.headers.has("content-type"));
    assert.ok(!second.headers.has("content-length"));
    assert.equal(server.connections.length, 1, "redirect body drained, connection reused");
    const r = events.find((e) => e.type === "redirect");
    assert.ok(r?.type === "redirect" && r.status === status && r.method === "GET");
    fetch.close();
  }
});

Deno.test("redirects: 301/302 keep PUT; 303 turns PUT into GET but keeps HEAD", async () => {
  const server = redirectServer({
    "/p301": () => redirect(301, "/to"),
    "/s303": () => redirect(303, "/to"),
  });
  const { fetch } = client(server);
  assert.equal(
    await (await fetch("http://a/p301", { method: "PUT", body: "b" })).text(),
    "PUT /to b",
  );
  assert.equal(
    await (await fetch("http://a/s303", { method: "PUT", body: "b" })).text(),
    "GET /to ",
  );
  const head = await fetch("http://a/s303", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(server.requests.at(-1)!.method, "HEAD");
  fetch.close();
});

Deno.test("redirects: 307 and 308 keep method and body", async () => {
  for (const status of [307, 308]) {
    const server = redirectServer({ "/from": () => redirect(status, "http://a/to") });
    const { fetch } = client(server);
    const response = await fetch("http://a/from", { method: "POST", body: "data" });
    assert.equal(await response.text(), "POST /to data");
    assert.equal(server.requests[1].headers.get("content-type"), "text/plain;charset=UTF-8");
    fetch.close();
  }
});

Deno.test("redirects: 307 cannot replay a streamed body", async () => {
  const server = redirectServer({ "/from": () => redirect(307, "/to") });
  const { fetch } = client(server);
  await assert.rejects(
    fetch("http://a/from", { method: "POST", body: streamOf([latin1Bytes("s")]) }),
    InvalidRedirect,
  );
  fetch.close();
});

Deno.test("redirects: 303 after a streamed POST becomes a GET", async () => {
  const server = redirectServer({ "/from": () => redirect(303, "/to") });
  const { fetch } = client(server);
  const response = await fetch("http://a/from", {
    method: "POST",
    body: streamOf([latin1Bytes("s")]),
  });
  assert.equal(await response.text(), "GET /to ");
  fetch.close();
});

Deno.test("redirects: Authorization and Cookie are dropped across origins only", async () => {
  const server = redirectServer({
    "/same": () => redirect(302, "/next"),
    "/cross": () => redirect(302, "http://other:8080/next"),
  });
  const { fetch } = client(server);
  const headers = { authorization: "Bearer t", cookie: "s=1", "x-keep": "k" };
  await (await fetch("http://a/same", { headers })).text();
  assert.equal(server.requests[1].headers.get("authorization"), "Bearer t");
  assert.equal(server.requests[1].headers.get("cookie"), "s=1");
  await (await fetch("http://a/cross", { headers })).text();
  const crossed = server.requests[3];
  assert.equal(crossed.headers.get("host"), "other:8080");
  assert.ok(!crossed.headers.has("authorization"));
  assert.ok(!crossed.headers.has("cookie"));
  assert.equal(crossed.headers.get("x-keep"), "k");
  assert.deepEqual(server.dials, ["a:80", "other:8080"]);
  fetch.close();
});

Deno.test("redirects: at most 20 are followed", async () => {
  const server = new FakeServer((r) => {
    const n = Number(r.target.slice(1));
    return n < 25 ? redirect(302, `/${n + 1}`) : ok("end");
  });
  const { fetch } = client(server);
  const twenty = await fetch("http://a/5");
  assert.equal(await twenty.text(), "end");
  await assert.rejects(fetch("http://a/4"), TooManyRedirects);
  fetch.close();
});

Deno.test("redirects: manual returns the redirect; error refuses it", async () => {
  const server = redirectServer({ "/from": () => redirect(302, "/to") });
  const { fetch } = client(server);
  const manual = await fetch("http://a/from", { redirect: "manual" });
  assert.equal(manual.status, 302);
  assert.equal(manual.headers.get("location"), "/to");
  assert.equal(await manual.text(), "move");
  await assert.rejects(
    fetch("http://a/from", { redirect: "error" }),
    (e) => e instanceof RedirectRefused && e.status === 302 && e.location === "http://a/to",
  );
  assert.equal(server.requests.length, 2);
  fetch.close();
});

Deno.test("redirects: bad Location values", async () => {
  const server = redirectServer({
    "/ftp": () => redirect(302, "ftp://a/x"),
    "/bad": () => redirect(302, "http://[bad"),
    "/none": () => "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n",
  });
  const { fetch } = client(server);
  await assert.rejects(fetch("http://a/ftp"), InvalidRedirect);
  await assert.rejects(fetch("http://a/bad"), InvalidRedirect);
  assert.equal((await fetch("http://a/none")).status, 302);
  fetch.close();
});

// --- Decoding ------------------------------------------------------------------------------------

Deno.test("decoding: gzip, zlib deflate, raw deflate and TE gzip", async () => {
  const plain = latin1Bytes("compressible ".repeat(1000));
  const gzip = await compress(plain, "gzip");
  const zlib = await compress(plain, "deflate");
  const raw = await compress(plain, "deflate-raw");
  const chunked = (b: Uint8Array) =>
    concat([latin1Bytes(`${b.length.toString(16)}\r\n`), b, latin1Bytes("\r\n0\r\n\r\n")]);
  const replies: Record<string, Uint8Array> = {
    "/gzip": concat([
      latin1Bytes(
        `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gzip.length}\r\n\r\n`,
      ),
      gzip,
    ]),
    "/deflate": concat([
      latin1Bytes(
        "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n",
      ),
      chunked(zlib),
    ]),
    "/raw": concat([
      latin1Bytes(
        `HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: ${raw.length}\r\n\r\n`,
      ),
      raw,
    ]),
    "/te": concat([
      latin1Bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
      chunked(gzip),
    ]),
    "/empty": latin1Bytes("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n"),
    "/unknown": latin1Bytes(
      "HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nContent-Length: 3\r\n\r\nabc",
    ),
  };
  const server = new FakeServer((r) => replies[r.target]);
  const { fetch } = client(server);
  for (const path of ["/gzip", "/deflate", "/raw", "/te"]) {
    const body = new Uint8Array(await (await fetch(`http://a${path}`)).arrayBuffer());
    assert.deepEqual(body, plain, path);
  }
  assert.equal(await (await fetch("http://a/empty")).text(), "");
  assert.equal(await (await fetch("http://a/unknown")).text(), "abc");
  assert.equal(server.connections.length, 1);
  fetch.close();

  const { fetch: raw2 } = client(server, { decompress: false });
  const undecoded = new Uint8Array(await (await raw2("http://a/gzip")).arrayBuffer());
  assert.deepEqual(undecoded, gzip);
  assert.ok(!server.requests.at(-1)!.headers.has("accept-encoding"));
  raw2.close();
});

Deno.test("decoding: a corrupt gzip body errors the stream", async () => {
  const server = new FakeServer(() =>
    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\nnot gzip!!!!"
  );
  const { fetch } = client(server);
  await assert.rejects((await fetch("http://a/")).arrayBuffer(), TypeError);
  fetch.close();
});

// --- Aborts and timeouts -------------------------------------------------------------------------

Deno.test("abort: an aborted signal rejects before connecting", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server);
  const reason = new Error("stop");
  await assert.rejects(
    fetch("http://a/", { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
  assert.equal(server.connections.length, 0);
  fetch.close();
});

Deno.test("abort: while waiting for the response head", async () => {
  const server = new FakeServer();
  const { fetch } = client(server);
  const controller = new AbortController();
  const pending = fetch("http://a/", { signal: controller.signal });
  const conn = await server.accept();
  await conn.readRequest();
  controller.abort();
  await assert.rejects(pending, (e) => e instanceof DOMException && e.name === "AbortError");
  assert.ok(conn.conn.peer.closed);
  fetch.close();
});

Deno.test("abort: while reading the body errors the stream and closes the connection", async () => {
  const server = new FakeServer();
  const { fetch } = client(server);
  const controller = new AbortController();
  const pending = fetch("http://a/", { signal: controller.signal });
  const conn = await server.accept();
  await conn.readRequest();
  await conn.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart");
  const response = await pending;
  const reader = response.body!.getReader();
  assert.equal(text((await reader.read()).value!), "part");
  const next = reader.read();
  controller.abort();
  await assert.rejects(next, (e) => e instanceof DOMException && e.name === "AbortError");
  assert.ok(conn.conn.peer.closed);
  fetch.close();
});

Deno.test("abort: after the body is complete it changes nothing", async () => {
  const server = new FakeServer(() => ok("all"));
  const { fetch } = client(server);
  const controller = new AbortController();
  const response = await fetch("http://a/", { signal: controller.signal });
  controller.abort();
  assert.equal(await response.text(), "all");
  await (await fetch("http://a/")).text();
  assert.equal(server.connections.length, 1);
  fetch.close();
});

Deno.test("abort: AbortSignal.timeout rejects with TimeoutError", async () => {
  const server = new FakeServer(() => new Promise<Reply>(() => {}));
  const { fetch } = client(server);
  await assert.rejects(
    fetch("http://a/", { signal: AbortSignal.timeout(20) }),
    (e) => e instanceof DOMException && e.name === "TimeoutError",
  );
  fetch.close();
});

Deno.test("timeouts: headersTimeoutMs and bodyTimeoutMs", async () => {
  const server = new FakeServer((r) =>
    r.target === "/stall-head"
      ? new Promise<Reply>(() => {})
      : "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
  );
  const { fetch } = client(server, { headersTimeoutMs: 30, bodyTimeoutMs: 30 });
  await assert.rejects(
    fetch("http://a/stall-head"),
    (e) => e instanceof HttpTimeout && e.phase === "headers" && e.timeoutMs === 30,
  );
  const response = await fetch("http://a/stall-body");
  await assert.rejects(response.text(), (e) => e instanceof HttpTimeout && e.phase === "body");
  fetch.close();
});

Deno.test("timeouts: connectTimeoutMs; a late connection is closed", async () => {
  let late: ((c: Conn) => void) | undefined;
  const [clientSide] = (await import("./_test_util.ts")).memoryConnPair();
  const fetch = createFetch({
    connect: () => new Promise<Conn>((resolve) => late = resolve),
    connectTimeoutMs: 20,
  });
  await assert.rejects(
    fetch("http://a/"),
    (e) => e instanceof HttpTimeout && e.phase === "connect",
  );
  late!(clientSide);
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(clientSide.closed);
  fetch.close();
});

// --- Connect and TLS -----------------------------------------------------------------------------

Deno.test("connect errors become ConnectFailed with the cause", async () => {
  const cause = new Deno.errors.ConnectionRefused("refused");
  const fetch = createFetch({ connect: () => Promise.reject(cause) });
  await assert.rejects(
    fetch("http://a:1/"),
    (e) => e instanceof ConnectFailed && e.cause === cause,
  );
  fetch.close();
});

Deno.test("https without a tls option fails with TlsNotConfigured before connecting", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server);
  await assert.rejects(fetch("https://a/"), TlsNotConfigured);
  assert.equal(server.connections.length, 0);
  await assert.rejects(fetch("ftp://a/"), UnsupportedScheme);
  fetch.close();
});

Deno.test("https goes through the tls option with the server name and ALPN", async () => {
  const server = new FakeServer(() => ok("secure"));
  const calls: Array<[string, string[]]> = [];
  const { fetch, types } = client(server, {
    tls: (conn, serverName, alpn) => {
      calls.push([serverName, alpn]);
      return Promise.resolve(conn);
    },
  });
  assert.equal(await (await fetch("https://secure.test/")).text(), "secure");
  await (await fetch("https://secure.test/")).text();
  assert.deepEqual(server.dials, ["secure.test:443"]);
  assert.deepEqual(calls, [["secure.test", ["http/1.1"]]]);
  assert.ok(types().includes("tls-done"));
  fetch.close();
});

Deno.test("tls errors become TlsFailed and the connection is closed", async () => {
  const server = new FakeServer(() => ok());
  const cause = new Error("certificate expired");
  const { fetch } = client(server, { tls: () => Promise.reject(cause) });
  await assert.rejects(fetch("https://a/"), (e) => e instanceof TlsFailed && e.cause === cause);
  assert.ok(server.connections[0].conn.peer.closed);
  fetch.close();
});

// --- Early responses -----------------------------------------------------------------------------

Deno.test("an early response during an upload is returned and the upload stopped", async () => {
  const server = new FakeServer();
  const { fetch } = client(server);
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(latin1Bytes("first part"));
    },
    cancel() {
      cancelled = true;
    },
  });
  const pending = fetch("http://a/upload", { method: "POST", body });
  const conn = await server.accept();
  await conn.write("HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nbig");
  const response = await pending;
  assert.equal(response.status, 413);
  assert.equal(await response.text(), "big");
  assert.ok(cancelled, "request body stream cancelled");
  assert.ok(conn.conn.peer.closed, "connection with an unfinished upload is not reused");
  fetch.close();
});

Deno.test("a throwing onEvent does not break requests", async () => {
  const server = new FakeServer(() => ok("fine"));
  const fetch = createFetch({
    connect: server.connect,
    onEvent: () => {
      throw new Error("observer bug");
    },
  });
  assert.equal(await (await fetch("http://a/")).text(), "fine");
  fetch.close();
});

Deno.test("every error class extends HttpError and TypeError", async () => {
  const errors = await import("./errors.ts");
  for (const [name, cls] of Object.entries(errors)) {
    // deno-lint-ignore no-explicit-any
    const instance = new (cls as any)("m", "head-bytes", 1);
    assert.ok(instance instanceof errors.HttpError, name);
    assert.ok(instance instanceof TypeError, name);
    assert.equal(instance.name, name);
  }
});

Deno.test("pool: maxIdleTotal closes the oldest idle connection across origins", async () => {
  const server = new FakeServer(() => ok());
  const { fetch } = client(server, { maxIdleTotal: 1 });
  await (await fetch("http://a/")).text();
  await (await fetch("http://b/")).text();
  assert.ok(server.connections[0].conn.peer.closed, "a's idle connection closed");
  assert.ok(!server.connections[1].conn.peer.closed, "b's idle connection kept");
  fetch.close();
});

Deno.test("formatEvent renders a -v timeline", async () => {
  const server = new FakeServer(() => ok("hi", "X-A: b\r\n"));
  const { fetch, events } = client(server);
  await (await fetch("http://a/p")).text();
  await (await fetch("http://a/p")).text();
  const timeline = events.map((e) => formatEvent(e, events[0].time)).join("\n");
  assert.match(timeline, /^ +0\.0 ms #1 GET http:\/\/a\/p$/m);
  assert.match(timeline, /#1 c1 connecting to a:80/);
  assert.match(timeline, /^> GET \/p HTTP\/1\.1$/m);
  assert.match(timeline, /^< HTTP\/1\.1 200 OK$/m);
  assert.match(timeline, /^< X-A: b$/m);
  assert.match(timeline, /#1 c1 body done: 2 bytes; connection kept alive/);
  assert.match(timeline, /#2 c1 reusing connection/);
  const error = formatEvent({ type: "error", time: 5, requestId: 3, error: new TypeError("x") });
  assert.equal(error, "    5.0 ms #3 error: TypeError: x");
  fetch.close();
});
