/**
 * usernet and a real Linux guest (QEMU, software emulation) on the two ends of a `-netdev
 * stream` unix socket: usernet listens (QemuStreamServer), the guest connects. usernet is
 * 10.0.2.2 and serves DHCP (its DhcpServer core on the stack); the guest's busybox udhcpc takes
 * a lease from it. Then usernet pings the guest, the guest sends a file to usernet over TCP
 * (busybox nc), usernet connects to a busybox nc listening in the guest and sends one back;
 * both are compared by SHA-256 (the guest runs sha256sum).
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { interopTest, tempDir } from "./_harness.ts";
import { bootGuest, ensureGuest, GUEST_MAC } from "./_guest.ts";
import { QemuStreamServer } from "../../drivers/qemu_stream.ts";
import { Stack } from "../../net/stack.ts";
import { type DhcpServerReplyEvent, StackDhcpServer } from "../../net/dhcp/stack_server.ts";
import { ConnectionRefused } from "../../net/errors.ts";
import type { TcpConn } from "../../net/tcp/conn.ts";

const needs = { programs: ["qemu-system-x86_64", "busybox"], root: true };

/** Bytes each way. 10 MB take ~2-3 s each way under TCG here (see the printed timings). */
const SIZE = 10 * 1024 * 1024;

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** Reads `conn` to its end; returns the SHA-256 and the byte count. */
async function drain(conn: TcpConn): Promise<{ sha: string; bytes: number }> {
  const hash = sha256.create();
  const buffer = new Uint8Array(256 * 1024);
  let bytes = 0;
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    hash.update(buffer.subarray(0, n));
    bytes += n;
  }
  return { sha: hex(hash.digest()), bytes };
}

async function connectWhenListening(stack: Stack, hostname: string, port: number) {
  const end = performance.now() + 30_000;
  for (;;) {
    try {
      return await stack.connect({ hostname, port });
    } catch (error) {
      // The guest prints "listening" just before nc binds: retry a refused connection.
      if (!(error instanceof ConnectionRefused) || performance.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

interopTest(
  "qemu_guest (Linux): DHCP lease from usernet, ping, 10 MB each way over TCP with equal SHA-256",
  needs,
  async () => {
    const dir = await tempDir("guest-usernet");
    const path = `${dir.path}/net.sock`;
    const server = QemuStreamServer.listen({ path }); // up before QEMU starts
    const image = await ensureGuest();
    const mb = SIZE / (1024 * 1024);
    await using guest = bootGuest({
      image,
      netdev: { unixPath: path },
      net: { dhcp: true },
      ipv6: false,
      memoryMb: 320,
      script: [
        `dd if=/dev/urandom of=/tmp/up.bin bs=1048576 count=${mb} 2>/dev/null`,
        "result up.sha256 $(sha256sum /tmp/up.bin | cut -d' ' -f1)",
        "result up.start 1",
        "check up.nc nc 10.0.2.2 5001 < /tmp/up.bin",
        "result listening 1",
        "nc -l -p 5002 < /dev/null > /tmp/down.bin",
        "result down.sha256 $(sha256sum /tmp/down.bin | cut -d' ' -f1)",
        "result down.bytes $(wc -c < /tmp/down.bin)",
      ].join("\n"),
    });
    let stack: Stack | undefined;
    let dhcpd: StackDhcpServer | undefined;
    try {
      const nic = await server.accept();
      stack = new Stack({ nic, address: "10.0.2.2/24" });
      dhcpd = new StackDhcpServer(stack, {
        poolStart: "10.0.2.15",
        poolEnd: "10.0.2.30",
        routers: ["10.0.2.2"],
        dnsServers: ["10.0.2.3"],
        domainName: "usernet.test",
      });
      const acked = new Promise<string>((resolve) =>
        dhcpd!.addEventListener("reply", (e) => {
          const r = e as DhcpServerReplyEvent;
          if (r.messageType === 5) resolve(r.address);
        })
      );
      const uploads = stack.listen({ port: 5001 });
      const guestAddress = await acked;
      assert.equal(guestAddress, "10.0.2.15");
      await guest.waitForMarker(/^USERNET-READY /m, 60_000);
      const ping = await stack.ping(guestAddress, { timeout: 10_000 });
      assert.equal(ping.from, guestAddress);

      // Guest -> usernet.
      await guest.waitForMarker(/^USERNET-RESULT up\.start=1$/m, 60_000);
      const upStart = performance.now();
      const upConn = await uploads.accept();
      const up = await drain(upConn);
      const upMs = performance.now() - upStart;
      upConn.close();

      // usernet -> guest.
      await guest.waitForMarker(/^USERNET-RESULT listening=1$/m, 60_000);
      const data = randomBytes(SIZE);
      const downSha = hex(sha256(data));
      const downStart = performance.now();
      const downConn = await connectWhenListening(stack, guestAddress, 5002);
      let written = 0;
      while (written < data.length) written += await downConn.write(data.subarray(written));
      await downConn.closeWrite();
      await drain(downConn); // the guest's nc closes when it has read everything
      downConn.close();
      await guest.waitForMarker(/^USERNET-RESULT down\.bytes=/m, 60_000);
      const downMs = performance.now() - downStart;

      const exit = await guest.waitForExit(60_000);
      const r = guest.results;
      assert.equal(r["dhcp.event"], "bound");
      assert.equal(r["dhcp.ip"], "10.0.2.15/24");
      assert.equal(r["dhcp.router"], "10.0.2.2");
      assert.equal(r["dhcp.dns"], "10.0.2.3");
      assert.equal(r["dhcp.serverid"], "10.0.2.2");
      assert.equal(r["dhcp.domain"], "usernet.test");
      assert.equal(up.bytes, SIZE);
      assert.equal(up.sha, r["up.sha256"], "guest -> usernet SHA-256");
      assert.equal(r["up.nc"], "0");
      assert.equal(r["down.bytes"], String(SIZE));
      assert.equal(r["down.sha256"], downSha, "usernet -> guest SHA-256");
      assert.equal(exit.scriptStatus, 0);
      const lease = dhcpd.leases().find((l) => l.address === 0x0a00020f);
      assert.equal(lease?.state, "bound");
      assert.equal(
        [...lease!.mac].map((b) => b.toString(16).padStart(2, "0")).join(":"),
        GUEST_MAC,
      );
      const mbit = (ms: number) => ((SIZE * 8) / (ms / 1000) / 1e6).toFixed(1);
      console.log(
        `guest: ping ${ping.rtt.toFixed(2)} ms; guest->usernet ${mb} MB in ${upMs.toFixed(0)} ms ` +
          `(${mbit(upMs)} Mbit/s); usernet->guest ${mb} MB in ${downMs.toFixed(0)} ms ` +
          `(${mbit(downMs)} Mbit/s, incl. the guest's sha256sum); whole run ${
            (performance.now() - guest.startedAt).toFixed(0)
          } ms`,
      );
    } finally {
      dhcpd?.close();
      await stack?.close();
      server.close();
      await guest.kill();
      await dir.cleanup();
    }
  },
  { timeoutMs: 150_000 },
);
