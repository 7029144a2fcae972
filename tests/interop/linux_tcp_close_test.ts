/**
 * Closing against the Linux kernel's TCP over TAP: Linux closes first, usernet closes first,
 * both at once (simultaneous close, RFC 9293 Figure 13), RSTs from closed ports both ways, and a
 * half-close from Linux. The end states on both sides are checked (`ss` on Linux's side).
 */
import assert from "node:assert/strict";
import { interopTest } from "./_harness.ts";
import { ConnectionRefused } from "../../net/errors.ts";
import {
  LINUX_TCP_NEEDS,
  linuxTap,
  receiveStream,
  sendStream,
  streamSha,
  until,
} from "../../net/tcp/_test_linux.ts";

const MB = 1024 * 1024;

interopTest(
  "linux_tap_tcp: Linux closes first; usernet reads EOF, closes, ends CLOSED",
  LINUX_TCP_NEEDS,
  async () => {
    const setup = await linuxTap("tcplclose");
    try {
      const peer = setup.peer("linux-server", ["serve-then-close", "5001", String(MB)]);
      await peer.waitForOutput("ready");
      const conn = await setup.stack.connect({ hostname: setup.linux, port: 5001 });
      const got = await receiveStream(conn);
      assert.equal(got.bytes, MB);
      assert.equal(got.sha, streamSha(MB, 1));
      assert.equal(conn.state, "CLOSE-WAIT");
      conn.close();
      await until("usernet CLOSED", () => setup.stack.tcpConnections().length === 0);
      await until("Linux TIME-WAIT", async () => (await setup.ss()).includes("TIME-WAIT"));
      await peer.status;
    } finally {
      await setup.cleanup();
    }
  },
);

interopTest(
  "linux_tap_tcp: usernet closes first; Linux reads all, closes; usernet ends TIME-WAIT",
  LINUX_TCP_NEEDS,
  async () => {
    const setup = await linuxTap("tcpuclose");
    try {
      const peer = setup.peer("linux-reader", ["read-then-close", "5002"]);
      await peer.waitForOutput("ready");
      const conn = await setup.stack.connect({ hostname: setup.linux, port: 5002 });
      const sha = await sendStream(conn, 2 * MB); // ends with our FIN: we close first
      const back = await receiveStream(conn); // Linux reads everything, then closes
      assert.equal(back.bytes, 0);
      await until("usernet TIME-WAIT", () => conn.state === "TIME-WAIT");
      conn.close();
      await peer.waitForOutput(/\d+ [0-9a-f]{64}/);
      const [bytes, linuxSha] = peer.log.replace("ready", "").trim().split(" ");
      assert.equal(Number(bytes), 2 * MB);
      assert.equal(linuxSha, sha);
      await until(
        "Linux has no connection left",
        async () => !(await setup.ss()).includes(":5002 "),
      );
      assert.equal(setup.stack.tcpConnections()[0]?.state, "TIME-WAIT");
    } finally {
      await setup.cleanup();
    }
  },
);

interopTest(
  "linux_tap_tcp: both close at once: FINs cross, both sides end in TIME-WAIT",
  LINUX_TCP_NEEDS,
  async () => {
    // 30 ms of delay each way at usernet's NIC makes sure the FINs are both in flight.
    const setup = await linuxTap("tcpsimclose", { faults: { delayMs: 30 } });
    try {
      const peer = setup.peer("linux-closer", ["close-at", "5003"]);
      await peer.waitForOutput("ready");
      const conn = await setup.stack.connect({ hostname: setup.linux, port: 5003 });
      const at = Date.now() + 300;
      await conn.write(new TextEncoder().encode(`${at}\n`));
      const states = new Set<string>();
      const watch = setInterval(() => states.add(conn.state), 1);
      await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
      await conn.closeWrite();
      const got = await receiveStream(conn);
      assert.equal(got.bytes, 0);
      await peer.waitForOutput("eof");
      await until("usernet TIME-WAIT", () => conn.state === "TIME-WAIT");
      clearInterval(watch);
      states.add(conn.state);
      // Both sides did an active close: Linux is in TIME-WAIT too, and we went through CLOSING.
      await until("Linux TIME-WAIT", async () => (await setup.ss()).includes("TIME-WAIT"));
      assert.ok(states.has("CLOSING"), `states seen: ${[...states].join(" ")}`);
      conn.close();
      await peer.status;
    } finally {
      await setup.cleanup();
    }
  },
);

interopTest("linux_tap_tcp: RST from closed ports, both ways", LINUX_TCP_NEEDS, async () => {
  const setup = await linuxTap("tcprstboth");
  try {
    await assert.rejects(
      setup.stack.connect({ hostname: setup.linux, port: 5999 }),
      ConnectionRefused,
    );
    const out = await setup.ns.exec("python3", [
      "-c",
      `
import socket
try:
    socket.create_connection(("${setup.usernet}", 6000), timeout=10)
    print("connected")
except ConnectionRefusedError:
    print("refused")
`,
    ]);
    assert.equal(out.trim(), "refused");
    assert.ok(setup.stack.stats().tcp.resetsOut >= 1);
  } finally {
    await setup.cleanup();
  }
});

interopTest(
  "linux_tap_tcp: half-close from Linux: usernet keeps sending 8 MB, Linux reads all",
  LINUX_TCP_NEEDS,
  async () => {
    const setup = await linuxTap("tcphalf");
    try {
      const listener = setup.stack.listen({ port: 5004 });
      const peer = setup.peer("linux-half", ["half-close", setup.usernet, "5004"]);
      const conn = await listener.accept();
      const request = await receiveStream(conn);
      assert.equal(request.bytes, 8, "Linux's request, then its FIN");
      assert.equal(conn.state, "CLOSE-WAIT");
      const sha = await sendStream(conn, 8 * MB);
      await peer.waitForOutput(/\d+ [0-9a-f]{64}/);
      const [bytes, linuxSha] = peer.log.trim().split(" ");
      assert.equal(Number(bytes), 8 * MB);
      assert.equal(linuxSha, sha);
      await until("usernet CLOSED", () => setup.stack.tcpConnections().length === 0);
      conn.close();
      listener.close();
    } finally {
      await setup.cleanup();
    }
  },
);
