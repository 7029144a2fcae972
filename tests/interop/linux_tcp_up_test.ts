/**
 * `deno task up --echo/--discard` as a user runs it: cli/up.ts as a subprocess on a TAP device in
 * a namespace, and Linux talking to it with nc and python (TCP and UDP echo, TCP discard).
 */
import assert from "node:assert/strict";
import { interopTest, Peer, waitFor } from "./_harness.ts";
import { createTapNamespace } from "./_netns.ts";

const root = new URL("../../", import.meta.url).pathname;
const needs = {
  root: true,
  programs: ["ip", "python3", "nc"],
  files: ["/dev/net/tun"],
};

interopTest(
  "linux_tap_tcp: deno task up --echo 7 --discard 9, used from Linux with nc and python",
  needs,
  async () => {
    const ns = await createTapNamespace("tcpup", "10.79.250.1/24");
    const up = new Peer("usernet-up", Deno.execPath(), [
      "run",
      "-A",
      "--config",
      `${root}deno.json`,
      `${root}cli/up.ts`,
      "--tap",
      ns.tap,
      "--netns",
      ns.name,
      "--address",
      "10.79.250.2/24",
      "--echo",
      "7",
      "--discard",
      "9",
    ], { NO_COLOR: "1" });
    try {
      await up.waitForOutput("Ctrl-C to stop");
      assert.match(up.log, /echo on tcp\/7 and udp\/7/);
      assert.match(up.log, /discard on tcp\/9 and udp\/9/);

      // nc: TCP echo of a line (-N: shut down writing at EOF, so the echo ends).
      const line = await ns.exec("sh", ["-c", "echo hello usernet | nc -N -w 10 10.79.250.2 7"]);
      assert.equal(line, "hello usernet\n");
      // nc: UDP echo.
      const datagram = await ns.exec("sh", ["-c", "echo ping | nc -u -w 1 10.79.250.2 7"]);
      assert.equal(datagram, "ping\n");
      // python: 2 MB through TCP echo, checked; 20 MB into discard.
      const out = await ns.exec("python3", [
        "-c",
        `
import hashlib, os, socket, threading
data = os.urandom(2 * 1024 * 1024)
c = socket.create_connection(("10.79.250.2", 7), timeout=30)
def send():
    c.sendall(data); c.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
back = bytearray()
while True:
    b = c.recv(1 << 20)
    if not b: break
    back += b
t.join()
print("echo", "ok" if bytes(back) == data else f"bad {len(back)}")
d = socket.create_connection(("10.79.250.2", 9), timeout=30)
d.sendall(b"\\0" * (20 * 1024 * 1024)); d.shutdown(socket.SHUT_WR)
print("discard", "eof" if d.recv(10) == b"" else "data?")
`,
      ]);
      assert.equal(out, "echo ok\ndiscard eof\n");
      await waitFor(
        "the discard connection's log line",
        () => /discard: .* 20971520 bytes/.test(up.log),
      );
      assert.match(up.log, /echo: .* done, 2097152 bytes/);
    } catch (error) {
      console.error(`cli/up.ts log:\n${up.log}`);
      throw error;
    } finally {
      await up.stop();
      await ns.cleanup();
    }
    // SIGTERM ends it cleanly with its counters.
    await up.waitForOutput(/^tcp .*packetsIn=\d+/m);
    const status = await up.status;
    assert.equal(status.code, 0, up.log);
    assert.match(up.log, /^tcp .*packetsIn=\d+/m);
  },
);
