/**
 * Interop with the Linux kernel's TCP over a TAP device in a namespace the test creates:
 * Linux at 10.78.0.1, usernet at 10.78.0.2. Transfers are checked by SHA-256 on both sides.
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { interopTest } from "./_harness.ts";
import { createTapNamespace, type TestNamespace } from "./_netns.ts";
import { TapNic } from "../../drivers/tap.ts";
import { FaultInjector, type FaultOptions } from "../../drivers/fault_injector.ts";
import { Stack } from "../../net/stack.ts";
import { ConnectionRefused, ConnectionReset } from "../../net/errors.ts";
import type { TcpConn } from "../../net/tcp/conn.ts";
import type { TcpConfig } from "../../net/tcp/config.ts";

const PEER = new URL("./_linux_tcp_peer.py", import.meta.url).pathname;
const needs = { root: true, programs: ["ip", "python3"], files: ["/dev/net/tun"] };
const MB = 1024 * 1024;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface SetupOptions {
  /**
   * Loss, reordering and delay applied at usernet's NIC in both directions, from a seeded PRNG.
   * (tc netem would do it on the Linux side, but this machine's kernel has no sch_netem; damage
   * at our NIC is seen by both TCPs just the same.)
   */
  faults?: FaultOptions & { seed: number };
  tcp?: Partial<TcpConfig>;
}

async function setup(tag: string, options: SetupOptions = {}) {
  const ns = await createTapNamespace(tag, "10.78.0.1/24");
  const tap = TapNic.open({ name: ns.tap, netns: ns.name });
  const faults = options.faults;
  const nic = faults
    ? new FaultInjector(tap, { seed: faults.seed, transmit: faults, receive: faults })
    : tap;
  if (faults) console.error(`fault injection seed: ${faults.seed}`);
  const stack = new Stack({ nic, address: "10.78.0.2/24", gateway: "10.78.0.1", tcp: options.tcp });
  return {
    ns,
    stack,
    async cleanup() {
      await stack.close();
      await ns.cleanup();
    },
  };
}

async function sendAll(conn: TcpConn, size: number): Promise<string> {
  const hash = sha256.create();
  const chunk = new Uint8Array(256 * 1024);
  for (let sent = 0; sent < size;) {
    const n = Math.min(chunk.length, size - sent);
    crypto.getRandomValues(chunk.subarray(0, Math.min(n, 65536)));
    const part = chunk.subarray(0, n);
    hash.update(part);
    await conn.write(part);
    sent += n;
  }
  return hex(hash.digest());
}

async function receiveAll(conn: TcpConn): Promise<{ bytes: number; sha: string }> {
  const hash = sha256.create();
  const buffer = new Uint8Array(256 * 1024);
  let bytes = 0;
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
    bytes += n;
  }
  return { bytes, sha: hex(hash.digest()) };
}

async function expectedSha(ns: TestNamespace, size: number): Promise<string> {
  return (await ns.exec("python3", [PEER, "data-sha", String(size)])).trim();
}

async function bothWays(
  tag: string,
  size: number,
  options: SetupOptions = {},
) {
  const { ns, stack, cleanup } = await setup(tag, options);
  try {
    // usernet → Linux.
    const sink = ns.spawn("linux-sink", "python3", [PEER, "sink", "5001"]);
    await sink.waitForOutput("ready");
    const up = await stack.connect({ hostname: "10.78.0.1", port: 5001 });
    const sentSha = await sendAll(up, size);
    await up.closeWrite();
    const replyBuffer = new Uint8Array(200);
    let replyLength = 0;
    for (;;) {
      const n = await up.read(replyBuffer.subarray(replyLength));
      if (n === null) break;
      replyLength += n;
    }
    up.close();
    await sink.status;
    const [count, sinkSha] = new TextDecoder().decode(replyBuffer.subarray(0, replyLength)).trim()
      .split(" ");
    assert.equal(Number(count), size, `Linux received ${count} of ${size} bytes`);
    assert.equal(sinkSha, sentSha, "SHA-256 of what Linux received");

    // Linux → usernet.
    const listener = stack.listen({ port: 5002 });
    const sender = ns.spawn("linux-sender", "python3", [
      PEER,
      "connect-send",
      "10.78.0.2",
      "5002",
      String(size),
    ]);
    const conn = await listener.accept();
    const got = await receiveAll(conn);
    await conn.write(new TextEncoder().encode(`${got.bytes} ${got.sha}\n`));
    conn.close();
    await sender.status;
    listener.close();
    assert.equal(got.bytes, size);
    assert.equal(got.sha, await expectedSha(ns, size), "SHA-256 of what usernet received");
    return stack.stats();
  } finally {
    await cleanup();
  }
}

interopTest("linux_tap_tcp: 10 MB each way, checked by SHA-256", needs, async () => {
  const stats = await bothWays("tcp", 10 * MB);
  assert.equal(stats.drops["stack/internal-error"], undefined);
});

interopTest(
  "linux_tap_tcp: 10 MB each way with 2% loss and 5% reordering",
  needs,
  async () => {
    const stats = await bothWays("tcploss", 10 * MB, {
      faults: { seed: Date.now() % 100000, drop: 0.02, reorder: 0.05, delayMs: 1, jitterMs: 1 },
    });
    assert.ok(stats.tcp.retransmits > 0, "losses were repaired by retransmission");
  },
  { timeoutMs: 180_000 },
);

interopTest("linux_tap_tcp: 5 MB each way with CUBIC and 1% loss", needs, async () => {
  await bothWays("tcpcubic", 5 * MB, {
    faults: { seed: Date.now() % 100000, drop: 0.01, delayMs: 1 },
    tcp: { congestionControl: "cubic" },
  });
}, { timeoutMs: 180_000 });

interopTest("linux_tap_tcp: refused, reset, and echo with half-close", needs, async () => {
  const { ns, stack, cleanup } = await setup("tcperr");
  try {
    await assert.rejects(stack.connect({ hostname: "10.78.0.1", port: 5999 }), ConnectionRefused);
    const resetter = ns.spawn("linux-reset", "python3", [PEER, "reset", "5003"]);
    await resetter.waitForOutput("ready");
    const conn = await stack.connect({ hostname: "10.78.0.1", port: 5003 });
    await conn.write(new TextEncoder().encode("hello\n"));
    await assert.rejects(conn.read(new Uint8Array(10)), ConnectionReset);
    conn.close();

    const echo = ns.spawn("linux-echo", "python3", [PEER, "echo", "5004"]);
    await echo.waitForOutput("ready");
    const e = await stack.connect({ hostname: "10.78.0.1", port: 5004 });
    const message = new Uint8Array(300_000);
    for (let i = 0; i < message.length; i += 65536) {
      crypto.getRandomValues(message.subarray(i, i + 65536));
    }
    const sent = (async () => {
      await e.write(message);
      await e.closeWrite(); // half-close: we keep reading until Linux closes its side
    })();
    const back = await receiveAll(e);
    await sent;
    assert.equal(back.bytes, message.length);
    assert.equal(back.sha, hex(sha256(message)));
    e.close();
    await echo.stop();
  } finally {
    await cleanup();
  }
});

interopTest(
  "linux_tap_tcp: Linux connects to a closed usernet port and gets RST",
  needs,
  async () => {
    const { ns, cleanup } = await setup("tcprst");
    try {
      const out = await ns.exec("python3", [
        "-c",
        `
import socket
try:
    socket.create_connection(("10.78.0.2", 6000), timeout=10)
    print("connected")
except ConnectionRefusedError:
    print("refused")
`,
      ]);
      assert.equal(out.trim(), "refused");
    } finally {
      await cleanup();
    }
  },
);
