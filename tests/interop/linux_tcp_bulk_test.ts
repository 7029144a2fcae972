/**
 * Bulk transfer against the Linux kernel's TCP over TAP, both directions at once on one
 * connection, checked by SHA-256 on both sides: clean, and with loss, reordering, duplication or
 * delay injected at usernet's NIC (seeded; the kernel here has no sch_netem).
 */
import assert from "node:assert/strict";
import { interopTest } from "./_harness.ts";
import {
  LINUX_TCP_NEEDS,
  linuxTap,
  type LinuxTapOptions,
  receiveStream,
  sendStream,
  streamSha,
} from "../../net/tcp/_test_linux.ts";

const MB = 1024 * 1024;

/** usernet connects to Linux; both send `size` bytes at once; both sides check. */
async function duplex(tag: string, size: number, options: LinuxTapOptions = {}) {
  const setup = await linuxTap(tag, options);
  const { stack, linux } = setup;
  try {
    const peer = setup.peer("linux-duplex", ["duplex", "5001", String(size), "3"]);
    await peer.waitForOutput("ready");
    const started = performance.now();
    const conn = await stack.connect({ hostname: linux, port: 5001 });
    const [sentSha, received] = await Promise.all([sendStream(conn, size), receiveStream(conn)]);
    conn.close();
    // The exit can be seen before the last output is read: wait for the line itself.
    await peer.waitForOutput(/received \d+ \w+ sent \w+/);
    const seconds = (performance.now() - started) / 1000;
    const m = /received (\d+) (\w+) sent (\w+)/.exec(peer.log);
    assert.ok(m, `Linux printed: ${peer.log}`);
    assert.equal(Number(m[1]), size, "bytes Linux received");
    assert.equal(m[2], sentSha, "SHA-256 of what Linux received");
    assert.equal(received.bytes, size, "bytes usernet received");
    assert.equal(received.sha, m[3], "SHA-256 of what usernet received");
    assert.equal(received.sha, streamSha(size, 3));
    const stats = stack.stats();
    console.error(
      `${tag}: ${size / MB} MB each way in ${seconds.toFixed(1)} s ` +
        `(${((2 * size * 8) / seconds / 1e6).toFixed(0)} Mbit/s total), ` +
        `retransmits ${stats.tcp.retransmits}, faults ${
          JSON.stringify(setup.faults?.faultStats())
        }`,
    );
    assert.equal(stats.drops["stack/internal-error"], undefined);
    return stats;
  } finally {
    await setup.cleanup();
  }
}

interopTest(
  "linux_tap_tcp: 100 MB each way at once, SHA-256 equal",
  LINUX_TCP_NEEDS,
  async () => {
    await duplex("tcp100", 100 * MB);
  },
  { timeoutMs: 120_000 },
);

interopTest(
  "linux_tap_tcp: 100 MB each way with 2% loss",
  LINUX_TCP_NEEDS,
  async () => {
    const stats = await duplex("tcploss2", 100 * MB, { faults: { drop: 0.02 } });
    assert.ok(stats.tcp.retransmits > 0, "losses were repaired by retransmission");
  },
  { timeoutMs: 180_000 },
);

interopTest(
  "linux_tap_tcp: 100 MB each way with 5% reordering",
  LINUX_TCP_NEEDS,
  async () => {
    await duplex("tcpreorder", 100 * MB, { faults: { reorder: 0.05 } });
  },
  { timeoutMs: 180_000 },
);

interopTest(
  "linux_tap_tcp: 100 MB each way with 5% duplication",
  LINUX_TCP_NEEDS,
  async () => {
    await duplex("tcpdup", 100 * MB, { faults: { duplicate: 0.05 } });
  },
  { timeoutMs: 180_000 },
);

interopTest(
  "linux_tap_tcp: 100 MB each way with 40 ms delay each way",
  LINUX_TCP_NEEDS,
  async () => {
    await duplex("tcpdelay", 100 * MB, { faults: { delayMs: 40, queueLimit: 20_000 } });
  },
  { timeoutMs: 180_000 },
);
