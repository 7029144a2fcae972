/**
 * Many connections at once against the Linux kernel's TCP over TAP: 1,000 usernet clients to a
 * Linux echo server, and 1,000 Linux clients to a usernet echo listener, each moving 10 KB
 * each way, every echo checked byte for byte.
 */
import assert from "node:assert/strict";
import { interopTest } from "./_harness.ts";
import { LINUX_TCP_NEEDS, linuxTap, until } from "../../net/tcp/_test_linux.ts";
import type { TcpConn } from "../../net/tcp/conn.ts";

const COUNT = 1000;
const SIZE = 10 * 1024;
/** Small buffers: a thousand connections need no megabyte each. */
const TCP = { sendBufferSize: 64 * 1024, receiveBufferSize: 64 * 1024 };

async function readAll(conn: TcpConn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(16 * 1024);
  let total = 0;
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

interopTest(
  `linux_tap_tcp: ${COUNT} concurrent usernet clients, Linux echo server, ${SIZE / 1024} KB each`,
  LINUX_TCP_NEEDS,
  async () => {
    const setup = await linuxTap("tcpmany", { tcp: TCP });
    try {
      const server = setup.peer("linux-echo", ["echo-many", "5005"]);
      await server.waitForOutput("ready");
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: COUNT }, async (_, i) => {
          const payload = new Uint8Array(SIZE);
          crypto.getRandomValues(payload);
          payload[0] = i & 0xff;
          const conn = await setup.stack.connect({ hostname: setup.linux, port: 5005 });
          const [, back] = await Promise.all([
            conn.write(payload).then(() => conn.closeWrite()),
            readAll(conn),
          ]);
          conn.close();
          return back.length === SIZE && back.every((b, k) => b === payload[k]);
        }),
      );
      const bad = results.filter((ok) => !ok).length;
      assert.equal(bad, 0, `${bad} of ${COUNT} echoes differ`);
      console.error(
        `${COUNT} connections × ${SIZE} B each way in ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s`,
      );
      await server.stop();
    } finally {
      await setup.cleanup();
    }
  },
  { timeoutMs: 120_000 },
);

interopTest(
  `linux_tap_tcp: ${COUNT} concurrent Linux clients to a usernet echo listener, ${
    SIZE / 1024
  } KB each`,
  LINUX_TCP_NEEDS,
  async () => {
    const setup = await linuxTap("tcpmanyin", { tcp: TCP });
    try {
      const listener = setup.stack.listen({ port: 5006, backlog: 1024, synQueueLength: 1024 });
      let served = 0;
      const serving = (async () => {
        for await (const conn of listener) {
          (async () => {
            const buffer = new Uint8Array(16 * 1024);
            try {
              for (;;) {
                const n = await conn.read(buffer);
                if (n === null) break;
                await conn.write(buffer.subarray(0, n));
              }
              await conn.closeWrite();
              served++;
            } finally {
              conn.close();
            }
          })();
        }
      })();
      const started = performance.now();
      const clients = setup.peer("linux-clients", [
        "connect-many",
        setup.usernet,
        "5006",
        String(COUNT),
        String(SIZE),
      ]);
      await clients.waitForOutput(/ok \d+|client \d+/, 120_000);
      assert.equal(clients.log.trim(), `ok ${COUNT}`, clients.log);
      console.error(
        `${COUNT} Linux clients × ${SIZE} B each way in ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s`,
      );
      await until("every connection served", () => served === COUNT);
      listener.close();
      await serving;
    } finally {
      await setup.cleanup();
    }
  },
  { timeoutMs: 120_000 },
);
