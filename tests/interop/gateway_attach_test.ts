/**
 * The attach points of `deno task gateway` other than a unix stream socket: QEMU's
 * `-netdev stream` on TCP (`--listen tcp:127.0.0.1:PORT`) and `-netdev dgram`
 * (`--dgram LOCAL,REMOTE`, on unix datagram sockets and on UDP). cli/gateway.ts runs as a
 * subprocess with the gateway task's permissions; a usernet Stack in this process plays the VM,
 * with the NIC QEMU would use (QemuStreamNic connecting over TCP, QemuDgramNic). The "VM" takes a
 * DHCP lease, ARP-resolves and pings the gateway, and echoes 2 MiB through a TCP server on the
 * host's 127.0.0.1 (reached as 10.0.2.2) with SHA-256 equal on both ends; the gateway's own
 * counters, printed when it stops, agree. Only loopback and the test's own sockets are used.
 * On failure the gateway's log is printed and its pcap kept.
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { freePort, interopTest, Peer, taskRunArgs, tempDir } from "./_harness.ts";
import { QemuStreamNic } from "../../drivers/qemu_stream.ts";
import { type DgramAddress, QemuDgramNic } from "../../drivers/qemu_dgram.ts";
import type { Nic } from "../../drivers/nic.ts";
import { Stack } from "../../net/stack.ts";
import { receiveStream } from "../../net/tcp/_test_linux.ts";

const SIZE = 2 << 20;
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Starts cli/gateway.ts with `args` and waits for `ready` in its output. DNS goes to a closed
 * loopback port (nothing here asks), so the gateway never reaches past 127.0.0.1.
 */
async function startGateway(args: string[], ready: RegExp, pcap: string): Promise<Peer> {
  const cli = new Peer("gateway", Deno.execPath(), [
    ...await taskRunArgs("gateway"),
    ...args,
    "--dns-server",
    "127.0.0.1:9",
    "--pcap",
    pcap,
  ]);
  const exited = cli.status.then((s) => {
    throw new Error(`cli/gateway.ts exited (${s.code}) before it was ready:\n${cli.log}`);
  });
  await Promise.race([cli.waitForOutput(ready, 30_000), exited]);
  exited.catch(() => {});
  return cli;
}

/**
 * A TCP echo server on the host's 127.0.0.1 that also hashes what it received, per connection.
 */
function startEchoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: Promise<{ sha: string; bytes: number }>[] = [];
  (async () => {
    for await (const conn of listener) {
      received.push((async () => {
        const hash = sha256.create();
        const buffer = new Uint8Array(65536);
        let bytes = 0;
        try {
          for (;;) {
            const n = await conn.read(buffer);
            if (n === null) break;
            hash.update(buffer.subarray(0, n));
            bytes += n;
            let done = 0;
            while (done < n) done += await conn.write(buffer.subarray(done, n));
          }
        } finally {
          conn.close();
        }
        return { sha: hex(hash.digest()), bytes };
      })());
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received,
    close: () => listener.close(),
  };
}

/** What a VM does on a fresh network: DHCP, ARP and ping the gateway, TCP to the host. */
async function behaveLikeAVm(nic: Nic, echo: ReturnType<typeof startEchoServer>): Promise<void> {
  const stack = new Stack({ nic });
  try {
    const lease = await stack.dhcp({ probe: false }, AbortSignal.timeout(20_000)).catch((e) => {
      throw new Error(`no DHCP lease from the gateway within 20 s (${e})`, { cause: e });
    });
    assert.equal(stack.ipv4?.address, "10.0.2.15");
    assert.equal(stack.ipv4?.gateway, "10.0.2.2");
    assert.equal(lease.prefixLength, 24);
    assert.deepEqual(lease.dns, [0x0a000203]); // 10.0.2.3

    const mac = await stack.resolveNextHop("10.0.2.2");
    assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.notEqual(mac, stack.mac);
    const pong = await stack.ping("10.0.2.2", { sequence: 1 });
    assert.deepEqual([pong.from, pong.sequence, pong.bytes], ["10.0.2.2", 1, 64]);

    const data = new Uint8Array(SIZE);
    for (let i = 0; i < SIZE; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
    const conn = await stack.connect({ hostname: "10.0.2.2", port: echo.port });
    const writing = (async () => {
      let done = 0;
      while (done < SIZE) done += await conn.write(data.subarray(done, done + 256 * 1024));
      await conn.closeWrite();
    })();
    const back = await receiveStream(conn);
    await writing;
    conn.close();
    const sent = hex(sha256(data));
    assert.equal(echo.received.length, 1);
    assert.deepEqual(await echo.received[0], { sha: sent, bytes: SIZE }, "guest -> host");
    assert.deepEqual(back, { sha: sent, bytes: SIZE }, "host -> guest");
  } finally {
    await stack.close();
  }
}

/** Runs `body` against a gateway started with `args`; checks the counters it prints on exit. */
async function withGateway(
  label: string,
  args: (dir: string) => string[],
  ready: RegExp,
  body: (dir: string, echo: ReturnType<typeof startEchoServer>, cli: Peer) => Promise<void>,
): Promise<void> {
  const dir = await tempDir(`gateway-attach-${label}`);
  const pcap = `${dir.path}/gateway.pcap`;
  const echo = startEchoServer();
  let cli: Peer | undefined;
  let failed = true;
  try {
    cli = await startGateway(args(dir.path), ready, pcap);
    await body(dir.path, echo, cli);
    await cli.stop();
    // The gateway prints its counters when it stops: one flow accepted, one lease.
    assert.match(
      cli.log,
      /gateway stats: tcp accepted 1 refused 0, udp flows 0, dns 0, leases 1/,
      cli.log,
    );
    failed = false;
  } finally {
    await cli?.stop();
    echo.close();
    if (failed) {
      console.error(`--- cli/gateway.ts ---\n${cli?.log ?? "(not started)"}`);
      console.error(`gateway pcap kept: ${pcap}`);
    } else {
      await dir.cleanup();
    }
  }
}

interopTest(
  "usernet gateway (cli/gateway.ts --listen tcp:127.0.0.1:PORT): a stack on QemuStreamNic over TCP — DHCP, ARP and ping 10.0.2.2, 2 MiB echo through a host server by SHA-256",
  {},
  async () => {
    const port = freePort();
    await withGateway(
      "tcp",
      () => ["--listen", `tcp:127.0.0.1:${port}`],
      /listening for QEMU on tcp:127\.0\.0\.1:\d+/,
      async (_dir, echo, cli) => {
        const nic = await QemuStreamNic.connect({ hostname: "127.0.0.1", port });
        assert.equal(nic.name, `qemu-stream:tcp:127.0.0.1:${port}`);
        await behaveLikeAVm(nic, echo);
        await cli.waitForOutput(`VM attached on tcp:127.0.0.1:${port}`, 5_000);
      },
    );
  },
);

/** Runs the VM on a QEMU dgram netdev: `gateway` and `vm` are the two ends' addresses. */
function dgramTest(label: string, ends: (dir: string) => { gateway: string; vm: string }) {
  const parse = (text: string): DgramAddress => {
    if (text.startsWith("unix:")) return { path: text.slice(5) };
    const [hostname, port] = text.slice(4).split(":");
    return { hostname, port: Number(port) };
  };
  return withGateway(
    label,
    (dir) => ["--dgram", `${ends(dir).gateway},${ends(dir).vm}`],
    /QEMU dgram netdev on /,
    async (dir, echo) => {
      const { gateway, vm } = ends(dir);
      const nic = QemuDgramNic.open({ local: parse(vm), remote: parse(gateway) });
      await behaveLikeAVm(nic, echo);
      const stats = nic.stats();
      assert.ok(stats.rxFrames > 100 && stats.txFrames > 100, JSON.stringify(stats));
    },
  );
}

interopTest(
  "usernet gateway (cli/gateway.ts --dgram unix:GW,unix:VM): a stack on QemuDgramNic over unix datagram sockets — DHCP, ARP and ping 10.0.2.2, 2 MiB echo through a host server by SHA-256",
  {},
  () => dgramTest("unix", (dir) => ({ gateway: `unix:${dir}/gw.sock`, vm: `unix:${dir}/vm.sock` })),
);

/** A free UDP port on 127.0.0.1 (bound and released). */
function freeUdpPort(): number {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  return port;
}

interopTest(
  "usernet gateway (cli/gateway.ts --dgram udp:...,udp:...): a stack on QemuDgramNic over UDP on 127.0.0.1 — DHCP, ARP and ping 10.0.2.2, 2 MiB echo through a host server by SHA-256",
  {},
  () => {
    const gatewayPort = freeUdpPort();
    const vmPort = freeUdpPort();
    return dgramTest("udp", () => ({
      gateway: `udp:127.0.0.1:${gatewayPort}`,
      vm: `udp:127.0.0.1:${vmPort}`,
    }));
  },
);
