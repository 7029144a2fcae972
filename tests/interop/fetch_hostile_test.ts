/**
 * `createFetch({ stack })` through usernet behind the embedded gateway against hostile HTTP
 * servers this test scripts on 127.0.0.1 (plain Deno TCP sockets): endless heads and chunks,
 * bad framing, stalls and drips. Every case ends in a typed error or a bounded, cancellable
 * stream; none hangs, and the server sees the connection go away.
 */
import assert from "node:assert/strict";
import { hostNetwork } from "../../net/gateway/host_network.ts";
import { createFetch, type CreateFetchOptions } from "../../http/fetch.ts";
import {
  AmbiguousFraming,
  ConnectionClosed,
  HeadTooLarge,
  HttpTimeout,
  InvalidChunk,
  InvalidHeader,
  InvalidStatusLine,
  ObsoleteLineFolding,
  TruncatedResponse,
} from "../../http/errors.ts";
import { waitFor } from "./_harness.ts";

const encoder = new TextEncoder();
const MB = 1024 * 1024;

/** One scripted server: what it wrote, and whether its script has ended. */
interface Script {
  /** Bytes the script wrote. */
  written: number;
  /** Set when the script returns or throws (the client went away). */
  ended: boolean;
  /** Writes all of `text`, counting. */
  send(text: string | Uint8Array): Promise<void>;
}

/** A TCP server on 127.0.0.1 that reads the request head, then runs `script`. */
function hostileServer(script: (conn: Deno.Conn, s: Script) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const scripts: Script[] = [];
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) {
        conns.push(conn);
        const s: Script = {
          written: 0,
          ended: false,
          async send(data) {
            const bytes = typeof data === "string" ? encoder.encode(data) : data;
            let off = 0;
            while (off < bytes.length) off += await conn.write(bytes.subarray(off));
            s.written += bytes.length;
          },
        };
        scripts.push(s);
        (async () => {
          try {
            await readHead(conn);
            await script(conn, s);
          } catch { /* the client went away */ }
          s.ended = true;
          try {
            conn.close();
          } catch { /* already closed */ }
        })();
      }
    } catch { /* listener closed */ }
  })();
  return {
    port: listener.addr.port,
    scripts,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

async function readHead(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16384);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("client closed");
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
}

const never = () => new Promise<void>(() => {});

/** Reads until the client closes (EOF or reset). */
async function untilClosed(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(4096);
  while ((await conn.read(buf)) !== null) { /* discard */ }
}

type Net = Awaited<ReturnType<typeof hostNetwork>>;
let shared: Net | undefined;
async function gateway(): Promise<Net> {
  shared ??= await hostNetwork({ dhcp: true });
  return shared;
}

/** Runs `fn` with a fetch through usernet to a hostile server (at `url`), then cleans up. */
async function against(
  script: (conn: Deno.Conn, s: Script) => Promise<void>,
  fn: (
    fetch: ReturnType<typeof createFetch>,
    url: string,
    server: ReturnType<typeof hostileServer>,
  ) => Promise<void>,
  options: Partial<CreateFetchOptions> = {},
): Promise<void> {
  const net = await gateway();
  const server = hostileServer(script);
  const fetch = createFetch({ stack: net.stack, ...options });
  try {
    await fn(fetch, `http://10.0.2.2:${server.port}/`, server);
  } finally {
    fetch.close();
    server.close();
  }
}

function hostileTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `hostile server via the gateway: ${name}`, sanitizeOps: false, fn });
}

// ---- endless input ----------------------------------------------------------------------------

hostileTest(
  "endless header fields are HeadTooLarge after 64 KiB; the server is cut off",
  () =>
    against(async (_conn, s) => {
      await s.send("HTTP/1.1 200 OK\r\n");
      for (;;) await s.send(`X-Filler: ${"a".repeat(1000)}\r\n`);
    }, async (fetch, url, server) => {
      await assert.rejects(
        fetch(url),
        (e) => e instanceof HeadTooLarge && e.limit === "head-bytes",
      );
      await waitFor("the server's writes to fail", () => server.scripts[0]?.ended === true, 10_000);
      assert.ok(server.scripts[0].written < 16 * MB, `${server.scripts[0].written} bytes sent`);
    }),
);

hostileTest(
  "one endless field line is HeadTooLarge (line-bytes)",
  () =>
    against(async (_conn, s) => {
      await s.send("HTTP/1.1 200 OK\r\nX-Long: ");
      for (;;) await s.send("b".repeat(4096));
    }, async (fetch, url, server) => {
      await assert.rejects(
        fetch(url),
        (e) => e instanceof HeadTooLarge && e.limit === "line-bytes",
      );
      await waitFor("the server's writes to fail", () => server.scripts[0]?.ended === true, 10_000);
    }),
);

hostileTest(
  "endless chunks stream with backpressure: an unread body stops the server; cancel ends it",
  () =>
    against(async (_conn, s) => {
      await s.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      const chunk = new Uint8Array(65536 + 12);
      const head = encoder.encode("10000\r\n");
      chunk.set(head);
      chunk.set(encoder.encode("\r\n"), head.length + 65536);
      for (;;) await s.send(chunk.subarray(0, head.length + 65536 + 2));
    }, async (fetch, url, server) => {
      const response = await fetch(url);
      const script = server.scripts[0];
      // Not reading: the server must soon be unable to write more (windows and buffers full).
      let last = -1;
      await waitFor(
        "the server to be held back",
        async () => {
          const now = script.written;
          const still = now === last;
          last = now;
          await new Promise((r) => setTimeout(r, 100));
          return still && script.written === now;
        },
        10_000,
        0,
      );
      assert.ok(script.written < 32 * MB, `held back after ${script.written} bytes`);
      const reader = response.body!.getReader();
      let read = 0;
      while (read < 20 * MB) read += (await reader.read()).value!.length;
      await reader.cancel();
      await waitFor("the server's writes to fail after cancel", () => script.ended, 10_000);
    }),
);

hostileTest(
  "a chunk size beyond 2^53 is InvalidChunk; an endless chunk-size line is HeadTooLarge",
  async () => {
    await against(async (_conn, s) => {
      await s.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n");
      await never();
    }, async (fetch, url) => {
      // Body bytes that arrive with the head are parsed at once: fetch() itself may reject.
      await assert.rejects(fetch(url).then((r) => r.arrayBuffer()), InvalidChunk);
    });
    await against(async (_conn, s) => {
      await s.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=");
      for (;;) await s.send("x".repeat(1024));
    }, async (fetch, url) => {
      await assert.rejects(
        fetch(url).then((r) => r.arrayBuffer()),
        (e) => e instanceof HeadTooLarge && e.limit === "chunk-line-bytes",
      );
    });
  },
);

// ---- bad framing ------------------------------------------------------------------------------

const framing: Array<[string, string, (e: unknown) => boolean]> = [
  [
    "Content-Length with Transfer-Encoding",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    (e) => e instanceof AmbiguousFraming,
  ],
  [
    "two different Content-Length values",
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    (e) => e instanceof AmbiguousFraming,
  ],
  ["a garbage status line", "HTTTP/9 okay\r\n\r\n", (e) => e instanceof InvalidStatusLine],
  [
    "obsolete line folding",
    "HTTP/1.1 200 OK\r\nX-A: b\r\n  folded\r\nContent-Length: 0\r\n\r\n",
    (e) => e instanceof ObsoleteLineFolding,
  ],
  [
    "a NUL in a header value",
    "HTTP/1.1 200 OK\r\nX-A: b\0c\r\nContent-Length: 0\r\n\r\n",
    (e) => e instanceof InvalidHeader,
  ],
];

hostileTest(
  "bad framing is refused with typed errors (smuggling, status, folding, NUL)",
  async () => {
    for (const [what, reply, check] of framing) {
      await against(async (_conn, s) => {
        await s.send(reply);
        await never();
      }, async (fetch, url) => {
        await assert.rejects(fetch(url), check, what);
      });
    }
  },
);

hostileTest(
  "a bad chunk is InvalidChunk mid-body; a short body is TruncatedResponse; silence then close is ConnectionClosed",
  async () => {
    await against(async (_conn, s) => {
      await s.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
      await never();
    }, async (fetch, url) => {
      await assert.rejects(fetch(url).then((r) => r.text()), InvalidChunk);
    });
    await against(async (_conn, s) => {
      await s.send(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${"x".repeat(50)}`);
    }, async (fetch, url) => {
      const response = await fetch(url);
      await assert.rejects(response.arrayBuffer(), TruncatedResponse);
    });
    await against(async () => {}, async (fetch, url) => {
      await assert.rejects(fetch(url), ConnectionClosed);
    });
  },
);

// ---- stalls -----------------------------------------------------------------------------------

hostileTest(
  "a server that never answers: the headers timeout fires",
  () =>
    against(untilClosed, async (fetch, url, server) => {
      const started = performance.now();
      await assert.rejects(fetch(url), (e) => e instanceof HttpTimeout && e.phase === "headers");
      assert.ok(performance.now() - started < 5_000);
      await waitFor("the connection to close", () => server.scripts[0]?.ended === true, 10_000);
    }, { headersTimeoutMs: 300 }),
);

hostileTest(
  "a head dripped one byte at a time: the headers timeout bounds the whole head",
  () =>
    against(async (_conn, s) => {
      for (const byte of "HTTP/1.1 200 OK\r\nX-Slow: " + "z".repeat(10_000)) {
        await s.send(byte);
        await new Promise((r) => setTimeout(r, 20));
      }
    }, async (fetch, url) => {
      const started = performance.now();
      await assert.rejects(fetch(url), (e) => e instanceof HttpTimeout && e.phase === "headers");
      assert.ok(performance.now() - started < 5_000);
    }, { headersTimeoutMs: 500 }),
);

hostileTest(
  "a body that stops: the body timeout fires on the read",
  () =>
    against(async (_conn, s) => {
      await s.send(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${"y".repeat(10)}`);
      await never();
    }, async (fetch, url) => {
      const response = await fetch(url);
      await assert.rejects(response.text(), (e) => e instanceof HttpTimeout && e.phase === "body");
    }, { bodyTimeoutMs: 300 }),
);

hostileTest(
  "a body dripped under the body timeout: the caller's AbortSignal bounds the total",
  () =>
    against(async (_conn, s) => {
      await s.send("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
      for (;;) {
        await s.send("d");
        await new Promise((r) => setTimeout(r, 20));
      }
    }, async (fetch, url, server) => {
      const started = performance.now();
      const response = await fetch(url, { signal: AbortSignal.timeout(600) });
      await assert.rejects(response.text(), (e: Error) => e.name === "TimeoutError");
      assert.ok(performance.now() - started < 5_000);
      assert.ok(server.scripts[0].written < 200, "the drip was cut short");
    }, { bodyTimeoutMs: 300 }),
);

Deno.test({
  name: "hostile server via the gateway: (close the shared gateway)",
  sanitizeOps: false,
  fn: async () => {
    await shared?.close();
    shared = undefined;
  },
});
