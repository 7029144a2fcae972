// The HTTP/1.1 client against Deno.serve (hyper) on 127.0.0.1, over Deno.connect.
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { createFetch } from "../../http/fetch.ts";
import { TruncatedResponse } from "../../http/errors.ts";
import type { HttpEvent } from "../../http/events.ts";
import { interopTest } from "./_harness.ts";

async function withServer(
  handler: (request: Request) => Response | Promise<Response>,
  fn: (origin: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

function tcpFetch() {
  const events: HttpEvent[] = [];
  const fetch = createFetch({
    connect: (hostname, port) => Deno.connect({ hostname, port }),
    onEvent: (e) => events.push(e),
  });
  return { fetch, count: (type: string) => events.filter((e) => e.type === type).length };
}

interopTest(
  "deno_serve: full-duplex echo of a 20 MB chunked upload",
  {},
  () =>
    withServer((request) => new Response(request.body), async (origin) => {
      const { fetch } = tcpFetch();
      const size = 20 * 1024 * 1024;
      const data = new Uint8Array(size);
      for (let at = 0; at < size; at += 65536) {
        crypto.getRandomValues(data.subarray(at, at + 65536));
      }
      let offset = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (offset >= size) return c.close();
          c.enqueue(data.subarray(offset, offset + 50_000));
          offset += 50_000;
        },
      });
      const response = await fetch(`${origin}/echo`, { method: "POST", body });
      const hash = sha256.create();
      let received = 0;
      for await (const chunk of response.body!) {
        hash.update(chunk);
        received += chunk.length;
      }
      assert.equal(received, size);
      assert.equal(bytesToHex(hash.digest()), bytesToHex(sha256(data)));
      fetch.close();
    }),
);

interopTest(
  "deno_serve: keep-alive across 50 requests on one connection",
  {},
  () =>
    withServer((request) => new Response(new URL(request.url).pathname), async (origin) => {
      const { fetch, count } = tcpFetch();
      for (let i = 0; i < 50; i++) {
        assert.equal(await (await fetch(`${origin}/${i}`)).text(), `/${i}`);
      }
      assert.equal(count("connect-start"), 1);
      assert.equal(count("reuse"), 49);
      fetch.close();
    }),
);

interopTest(
  "deno_serve: a response stream that fails mid-body gives TruncatedResponse",
  {},
  () =>
    withServer(() => {
      let sent = 0;
      return new Response(
        new ReadableStream({
          pull(c) {
            if (sent++ < 3) c.enqueue(new Uint8Array(1000));
            else c.error(new Error("handler failed"));
          },
        }),
      );
    }, async (origin) => {
      const { fetch } = tcpFetch();
      const response = await fetch(`${origin}/`);
      await assert.rejects(response.arrayBuffer(), TruncatedResponse);
      fetch.close();
    }),
);
