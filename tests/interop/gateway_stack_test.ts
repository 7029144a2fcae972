/**
 * usernet stacks behind usernet's gateway, against real servers on the host: a Deno TCP server
 * and a UDP echo on 127.0.0.1 (reached as 10.0.2.2), and dnsmasq on 127.0.0.1 serving names
 * from a hosts file (the gateway's DNS forwarder on 10.0.2.3 asks it). The stack sits in the same
 * process (hostNetwork), or in the same process but on the far side of a unix stream socket
 * (QemuStreamNic to the gateway's QemuStreamServer, as a VM would be). A gateway in a network
 * namespace with a route that swallows SYNs shows an unreachable host becoming RST after the
 * connect timeout.
 *
 * Run as a script (`deno run -A gateway_stack_test.ts gateway-child PATH`), this file is that
 * namespaced gateway.
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import v8 from "node:v8";
import vm from "node:vm";
import { interopTest, Peer, tempDir, waitFor } from "./_harness.ts";
import { createNamespace } from "./_netns.ts";
import { Gateway } from "../../net/gateway/gateway.ts";
import { hostNetwork } from "../../net/gateway/host_network.ts";
import { QemuStreamNic, QemuStreamServer } from "../../drivers/qemu_stream.ts";
import { Stack } from "../../net/stack.ts";
import { ConnectionRefused } from "../../net/errors.ts";
import { DnsNameNotFound, DnsNoData, formatShort } from "../../net/dns/mod.ts";
import type { TcpConn } from "../../net/tcp/conn.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function pattern(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + seed * 7 + (i >> 11)) & 255;
  return data;
}

/** dnsmasq on 127.0.0.1:port answering from a temporary hosts file, nothing else. */
async function startDnsmasq() {
  const dir = await tempDir("gateway-dnsmasq");
  const hosts = ["10.1.2.3 web.gateway.test", "10.1.2.4 db.gateway.test"];
  await Deno.writeTextFile(`${dir.path}/hosts`, hosts.join("\n") + "\n");
  await Deno.chmod(dir.path, 0o755); // dnsmasq reads it as user nobody
  await Deno.chmod(`${dir.path}/hosts`, 0o644);
  for (let attempt = 0;; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const peer = new Peer("dnsmasq", "dnsmasq", [
      "-k",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${dir.path}/hosts`,
      "--listen-address=127.0.0.1",
      `--port=${port}`,
      "--bind-interfaces",
      "--local=/gateway.test/",
      `--pid-file=${dir.path}/pid`,
      "--log-facility=-",
    ]);
    await peer.waitForOutput(/read .*hosts - 2 names|failed|FAILED|Address already in use/, 10_000);
    if (/2 names/.test(peer.log)) {
      return {
        port,
        log: () => peer.log,
        stop: async () => {
          await peer.stop();
          await dir.cleanup();
        },
      };
    }
    await peer.stop();
    if (attempt === 3) throw new Error(`dnsmasq could not start:\n${peer.log}`);
  }
}

/**
 * Host servers on 127.0.0.1: TCP that answers "sha256 length" of what it read once the client
 * half-closes (then closes), TCP that speaks first and half-closes, and a UDP echo.
 */
function startHostServers() {
  const sink = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of sink) {
      (async () => {
        const hash = sha256.create();
        const buffer = new Uint8Array(65536);
        let bytes = 0;
        try {
          for (;;) {
            const n = await conn.read(buffer);
            if (n === null) break;
            hash.update(buffer.subarray(0, n));
            bytes += n;
          }
          // The client's FIN arrived; this side still writes (half-close carried through).
          await conn.write(new TextEncoder().encode(`${hex(hash.digest())} ${bytes}`));
        } catch { /* reset */ }
        conn.close();
      })();
    }
  })().catch(() => {});

  // Speaks first: sends 1 MB and half-closes, then hashes what the client sends until its FIN.
  const talker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heard: Promise<{ sha: string; bytes: number }>[] = [];
  (async () => {
    for await (const conn of talker) {
      heard.push((async () => {
        const data = pattern(1 << 20, 5);
        let done = 0;
        while (done < data.length) done += await conn.write(data.subarray(done));
        await conn.closeWrite();
        const hash = sha256.create();
        const buffer = new Uint8Array(65536);
        let bytes = 0;
        for (;;) {
          const n = await conn.read(buffer);
          if (n === null) break;
          hash.update(buffer.subarray(0, n));
          bytes += n;
        }
        conn.close();
        return { sha: hex(hash.digest()), bytes };
      })());
    }
  })().catch(() => {});

  const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const [data, from] of udp) {
      await udp.send(new Uint8Array([...new TextEncoder().encode("echo:"), ...data]), from);
    }
  })().catch(() => {});

  const port = (l: Deno.Listener) => (l.addr as Deno.NetAddr).port;
  return {
    sinkPort: port(sink),
    talkerPort: port(talker),
    udpPort: (udp.addr as Deno.NetAddr).port,
    heard,
    close: () => {
      sink.close();
      talker.close();
      udp.close();
    },
  };
}

async function readAll(conn: TcpConn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** TCP both ways with half-close in both orders, UDP, DNS and a refused port, from `stack`. */
async function exercise(
  stack: Stack,
  gateway: Gateway,
  servers: ReturnType<typeof startHostServers>,
): Promise<void> {
  // Names from dnsmasq's hosts file, through the gateway's forwarder.
  const web = await stack.resolve("web.gateway.test");
  assert.deepEqual(formatShort(web), ["10.1.2.3"]);
  assert.equal(web.server, 0x0a000203); // 10.0.2.3, the gateway's forwarder
  const db = await stack.resolve("db.gateway.test");
  assert.deepEqual(formatShort(db), ["10.1.2.4"]);
  // dnsmasq's own answers come through: NXDOMAIN stays NXDOMAIN, NODATA stays NODATA.
  await assert.rejects(stack.resolve("nobody.gateway.test"), DnsNameNotFound);
  await assert.rejects(stack.resolve("web.gateway.test", { type: "AAAA" }), DnsNoData);

  // The guest half-closes first; the host answers after the FIN, then closes.
  const data = pattern(3 << 20, 1);
  const up = await stack.connect({ hostname: "10.0.2.2", port: servers.sinkPort });
  const writing = (async () => {
    let done = 0;
    while (done < data.length) done += await up.write(data.subarray(done));
    await up.closeWrite();
  })();
  const answer = new TextDecoder().decode(await readAll(up));
  await writing;
  up.close();
  assert.equal(answer, `${hex(sha256(data))} ${data.length}`);

  // The host half-closes first; the guest reads to the end, then sends and half-closes.
  const heardBefore = servers.heard.length;
  const down = await stack.connect({ hostname: "10.0.2.2", port: servers.talkerPort });
  const got = await readAll(down);
  assert.equal(got.length, 1 << 20);
  assert.equal(hex(sha256(got)), hex(sha256(pattern(1 << 20, 5))));
  const reply = pattern(512 * 1024, 9);
  let done = 0;
  while (done < reply.length) done += await down.write(reply.subarray(done));
  await down.closeWrite();
  await waitFor("the talker to accept", () => servers.heard.length > heardBefore, 10_000);
  const heard = await servers.heard[heardBefore];
  assert.deepEqual(heard, { sha: hex(sha256(reply)), bytes: reply.length });
  assert.equal(await down.read(new Uint8Array(1)), null);
  down.close();

  // UDP through the NAT.
  const socket = stack.listenDatagram({});
  await socket.send(new TextEncoder().encode("ping"), {
    hostname: "10.0.2.2",
    port: servers.udpPort,
  });
  const [echoed, from] = await socket.receive();
  assert.equal(new TextDecoder().decode(echoed), "echo:ping");
  assert.deepEqual(from, { transport: "udp", hostname: "10.0.2.2", port: servers.udpPort });
  socket.close();

  // A refused host port is a refused connection for the guest.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (closed.addr as Deno.NetAddr).port;
  closed.close();
  await assert.rejects(
    stack.connect({ hostname: "10.0.2.2", port: closedPort }),
    ConnectionRefused,
  );

  await waitFor("the flows to end", () => gateway.stats().tcpFlows === 0, 10_000);
  const stats = gateway.stats();
  assert.ok(stats.tcpAccepted >= 2 && stats.tcpRefused >= 1 && stats.dnsQueries >= 2);
  assert.equal(stats.tcpPending, 0);
}

const needs = { programs: ["dnsmasq"], root: true };

interopTest(
  "dnsmasq + host servers: a stack behind the in-process gateway (DHCP) — DNS, TCP half-close both ways, UDP, refused",
  needs,
  async () => {
    const dnsmasq = await startDnsmasq();
    const servers = startHostServers();
    const net = await hostNetwork({
      dhcp: true,
      gateway: { dnsUpstream: { ipAddr: "127.0.0.1", port: dnsmasq.port } },
    });
    try {
      assert.equal(net.stack.ipv4?.address, "10.0.2.15");
      assert.equal(net.stack.ipv4?.gateway, "10.0.2.2");
      await exercise(net.stack, net.gateway, servers);
    } catch (error) {
      console.error(dnsmasq.log());
      throw error;
    } finally {
      await net.close();
      servers.close();
      await dnsmasq.stop();
    }
  },
);

interopTest(
  "dnsmasq + host servers: a stack on a unix stream socket to the gateway (QemuStreamNic) — DNS, TCP half-close both ways, UDP, refused",
  needs,
  async () => {
    const dnsmasq = await startDnsmasq();
    const servers = startHostServers();
    const dir = await tempDir("gateway-unix");
    const path = `${dir.path}/gw.sock`;
    const gateway = new Gateway({ dnsUpstream: { ipAddr: "127.0.0.1", port: dnsmasq.port } });
    const server = QemuStreamServer.listen({ path });
    let stack: Stack | undefined;
    try {
      const accepted = server.accept();
      const nic = await QemuStreamNic.connect({ path });
      gateway.attach(await accepted);
      stack = new Stack({ nic });
      const lease = await stack.dhcp({ probe: false });
      assert.equal(stack.ipv4?.address, "10.0.2.15");
      assert.deepEqual(lease.dns, [0x0a000203]); // 10.0.2.3
      await exercise(stack, gateway, servers);
    } catch (error) {
      console.error(dnsmasq.log());
      throw error;
    } finally {
      await stack?.close();
      server.close();
      await gateway.close();
      servers.close();
      await dnsmasq.stop();
      await dir.cleanup();
    }
  },
);

/** `Deno.memoryUsage().heapUsed` after a full garbage collection. */
function heapAfterGc(): number {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  gc();
  gc();
  return Deno.memoryUsage().heapUsed;
}

interopTest(
  "host server: 200 concurrent connections through the gateway, then empty tables and the heap back where it was",
  {},
  async () => {
    // Echoes what it reads. On the first port it closes at the client's FIN (the guest closes
    // first); on the second, after echoing `size` bytes (the host closes first, so the gateway's
    // side is the one that lingers in TIME-WAIT).
    const size = 16 * 1024;
    let open = 0;
    const serve = (closeAfter: number) => {
      const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      (async () => {
        for await (const conn of server) {
          open++;
          (async () => {
            const buffer = new Uint8Array(65536);
            let echoed = 0;
            try {
              while (echoed < closeAfter) {
                const n = await conn.read(buffer);
                if (n === null) break;
                let done = 0;
                while (done < n) done += await conn.write(buffer.subarray(done, n));
                echoed += n;
              }
            } catch { /* reset */ }
            conn.close();
            open--;
          })();
        }
      })().catch(() => {});
      return server;
    };
    const servers = [serve(Infinity), serve(size)];
    const ports = servers.map((s) => (s.addr as Deno.NetAddr).port);
    // The "guest" stack lingers only briefly in TIME-WAIT itself, so the heap settles quickly.
    const net = await hostNetwork({ stack: { tcp: { timeWaitTimeout: 500 } } });
    const one = async (i: number) => {
      const conn = await net.stack.connect({ hostname: "10.0.2.2", port: ports[i % 2] });
      const data = pattern(size, i);
      await conn.write(data);
      const got = new Uint8Array(size);
      let have = 0;
      while (have < size) {
        const n = await conn.read(got.subarray(have));
        if (n === null) break;
        have += n;
      }
      if (i % 2 === 0) await conn.closeWrite();
      assert.equal(await conn.read(new Uint8Array(1)), null);
      conn.close();
      assert.equal(have, size);
      assert.deepEqual(got, data);
    };
    const drained = () =>
      waitFor("the gateway's tables to empty", () => {
        const s = net.gateway.stats();
        return s.tcpFlows === 0 && s.tcpPending === 0 && s.tcpConnecting === 0 &&
          net.gateway.stack.tcpConnections().length === 0 &&
          net.stack.tcpConnections().length === 0 && open === 0;
      }, 20_000);
    try {
      // Warm up (JIT, first allocations of every kind), then take the baseline.
      await Promise.all(Array.from({ length: 20 }, (_, i) => one(i)));
      await drained();
      const before = heapAfterGc();
      let most = 0;
      const watch = setInterval(() => most = Math.max(most, net.gateway.stats().tcpFlows), 5);
      await Promise.all(Array.from({ length: 200 }, (_, i) => one(100 + i)));
      clearInterval(watch);
      const stats = net.gateway.stats();
      assert.equal(stats.tcpAccepted, 220);
      assert.equal(stats.tcpRefused, 0);
      assert.ok(most > 50, `connections were concurrent (${most} at once)`);
      // Right after: flows are gone; the gateway's side lingers only in TIME-WAIT (2 s) if at all.
      await waitFor("the flows to end", () => net.gateway.stats().tcpFlows === 0, 10_000);
      assert.ok(
        net.gateway.stack.tcpConnections().every((c) =>
          c.state === "TIME-WAIT" || c.state === "LAST-ACK" || c.state === "CLOSED"
        ),
        JSON.stringify(net.gateway.stack.tcpConnections().slice(0, 5)),
      );
      await drained();
      const after = heapAfterGc();
      const grownKiB = (after - before) / 1024;
      console.log(
        `200 concurrent: at most ${most} flows at once; heap ${(before / 1048576).toFixed(1)} → ${
          (after / 1048576).toFixed(1)
        } MiB`,
      );
      assert.ok(grownKiB < 2048, `the heap grew by ${grownKiB.toFixed(0)} KiB`);
    } finally {
      await net.close();
      for (const server of servers) server.close();
    }
  },
);

interopTest(
  "linux (netns, a route that swallows SYNs): an unreachable host becomes RST for the guest after the gateway's connect timeout",
  { root: true, programs: ["ip"] },
  async () => {
    const ns = await createNamespace("gw-blackhole");
    const dir = await tempDir("gateway-blackhole");
    const path = `${dir.path}/gw.sock`;
    let child: Peer | undefined;
    let stack: Stack | undefined;
    try {
      // 10.255.0.0/16 goes out of a veth whose far end drops everything: SYNs vanish.
      await ns.exec("ip", ["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
      await ns.exec("ip", ["addr", "add", "10.255.0.2/16", "dev", "v0"]);
      await ns.exec("ip", ["link", "set", "v0", "up"]);
      await ns.exec("ip", ["link", "set", "v1", "up"]);
      await ns.exec("ip", [
        "neigh",
        "add",
        "10.255.255.1",
        "lladdr",
        "02:00:00:00:00:01",
        "dev",
        "v0",
        "nud",
        "permanent",
      ]);
      child = ns.spawn("gateway", Deno.execPath(), [
        "run",
        "-A",
        `--config=${new URL("../../deno.json", import.meta.url).pathname}`,
        new URL(import.meta.url).pathname,
        "gateway-child",
        path,
      ]);
      await child.waitForOutput("gateway-child ready", 30_000);
      const nic = await QemuStreamNic.connect({ path });
      stack = new Stack({ nic, address: "10.0.2.15/24", gateway: "10.0.2.2" });
      const started = performance.now();
      await assert.rejects(
        stack.connect({ hostname: "10.255.255.1", port: 80 }),
        ConnectionRefused,
      );
      const waited = performance.now() - started;
      assert.ok(waited >= 1400 && waited < 10_000, `RST came after ${waited.toFixed(0)} ms`);
      // A refused one in the namespace is quick (its loopback has no listener on port 1).
      const quick = performance.now();
      await assert.rejects(stack.connect({ hostname: "10.0.2.2", port: 1 }), ConnectionRefused);
      assert.ok(performance.now() - quick < 1000);
    } catch (error) {
      console.error(child?.log);
      throw error;
    } finally {
      await stack?.close();
      await child?.stop();
      await ns.cleanup();
      await dir.cleanup();
    }
  },
);

/** The namespaced gateway: connect timeout 1.5 s, one VM-style client on a unix socket. */
async function gatewayChild(path: string): Promise<void> {
  const gateway = new Gateway({ connectTimeout: 1500 });
  const server = QemuStreamServer.listen({ path });
  console.log("gateway-child ready");
  const nic = await server.accept();
  await gateway.attach(nic);
  server.close();
  await gateway.close();
}

if (import.meta.main && Deno.args[0] === "gateway-child") await gatewayChild(Deno.args[1]);
