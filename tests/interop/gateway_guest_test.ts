/**
 * A real Linux guest (QEMU, software emulation, busybox userland) whose only network is
 * usernet's gateway on a `-netdev stream` unix socket: once through `cli/gateway.ts` run as a
 * subprocess (what `deno task gateway` runs), once with the Gateway in this process. The guest
 * takes a DHCP lease from the gateway, resolves a name that dnsmasq on the host's 127.0.0.1
 * serves from a hosts file (the gateway forwards DNS there), downloads 10 MB with busybox wget
 * from a Deno HTTP server on the host's 127.0.0.1 (as 10.0.2.2) with equal SHA-256, uploads
 * 10 MB with busybox nc, opens 200 connections at once, and is reached from the host through
 * port forwards to busybox httpd and nc.
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { interopTest, Peer, tempDir, waitFor } from "./_harness.ts";
import { bootGuest, ensureGuest } from "./_guest.ts";
import { Gateway } from "../../net/gateway/gateway.ts";
import { QemuStreamServer } from "../../drivers/qemu_stream.ts";

const needs = { programs: ["qemu-system-x86_64", "busybox", "dnsmasq"], root: true };
const SIZE = 10 * 1024 * 1024;
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

/** dnsmasq on 127.0.0.1:port answering from a temporary hosts file, nothing else. */
async function startDnsmasq() {
  const dir = await tempDir("gateway-guest-dnsmasq");
  await Deno.writeTextFile(`${dir.path}/hosts`, "10.1.2.3 web.gateway.test\n");
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
      "--log-queries",
      "--log-facility=-",
    ]);
    await peer.waitForOutput(/read .*hosts - 1 names|failed|FAILED|Address already in use/, 10_000);
    if (/1 names/.test(peer.log)) {
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

/** A Deno HTTP server on 127.0.0.1: `/big` is `big`, `/small` is `small-ok\n`. */
function startHttp(big: Uint8Array<ArrayBuffer>) {
  let served = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    served++;
    const path = new URL(request.url).pathname;
    if (path === "/big") return new Response(big);
    if (path === "/small") return new Response("small-ok\n");
    return new Response("not found", { status: 404 });
  });
  return { port: server.addr.port, served: () => served, stop: () => server.shutdown() };
}

/** Reads a host TCP connection to its end. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(decoder.decode(buffer.subarray(0, n), { stream: true }));
  }
  return chunks.join("");
}

interopTest(
  "qemu_guest (Linux) on `deno task gateway` (cli/gateway.ts): DHCP, DNS from dnsmasq, 10 MB wget from a host HTTP server, port forwards to httpd and nc",
  needs,
  async () => {
    const dnsmasq = await startDnsmasq();
    const big = randomBytes(SIZE);
    const http = startHttp(big);
    const dir = await tempDir("gateway-guest-cli");
    const path = `${dir.path}/gw.sock`;
    const root = new URL("../../", import.meta.url).pathname;
    const cli = new Peer("gateway", Deno.execPath(), [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      `--config=${root}deno.json`,
      `${root}cli/gateway.ts`,
      "--listen",
      `unix:${path}`,
      "--forward",
      "tcp:0:10.0.2.15:80",
      "--forward",
      "tcp:0:10.0.2.15:81",
      "--dns-server",
      `127.0.0.1:${dnsmasq.port}`,
    ]);
    const image = await ensureGuest();
    let guest: ReturnType<typeof bootGuest> | undefined;
    try {
      await cli.waitForOutput(/listening for QEMU on unix:/, 30_000);
      const forwards = [
        ...cli.log.matchAll(/forward tcp 127\.0\.0\.1:(\d+) -> 10\.0\.2\.15:(\d+)/g),
      ]
        .map((m) => ({ hostPort: Number(m[1]), guestPort: Number(m[2]) }));
      const httpdPort = forwards.find((f) => f.guestPort === 80)!.hostPort;
      const ncPort = forwards.find((f) => f.guestPort === 81)!.hostPort;
      const page = `hello from the guest ${crypto.randomUUID()}\n`;
      guest = bootGuest({
        image,
        netdev: { unixPath: path },
        net: { dhcp: true },
        ipv6: false,
        memoryMb: 320,
        files: { "/www/index.html": page },
        script: [
          "httpd -p 80 -h /www",
          "check ping ping -c1 -W5 10.0.2.2",
          "nslookup web.gateway.test > /tmp/ns.txt 2>&1",
          "result dns.web $(grep -o '10\\.1\\.2\\.[0-9]*' /tmp/ns.txt | head -n1)",
          `check big.wget wget -q -O /tmp/big.bin http://10.0.2.2:${http.port}/big`,
          "result big.sha256 $(sha256sum /tmp/big.bin | cut -d' ' -f1)",
          "result big.bytes $(wc -c < /tmp/big.bin)",
          "result serving 1",
          "echo ready | nc -l -p 81 > /tmp/bye",
          'result bye "$(cat /tmp/bye)"',
        ].join("\n"),
      });
      await guest.waitForMarker(/^USERNET-RESULT serving=1$/m, 120_000);

      // Host -> guest through the forwards: busybox httpd, then nc (which ends the script).
      const web = await Deno.connect({ hostname: "127.0.0.1", port: httpdPort });
      await web.write(new TextEncoder().encode("GET /index.html HTTP/1.0\r\n\r\n"));
      const response = await readAll(web);
      web.close();
      assert.match(response, /^HTTP\/1\.[01] 200/);
      assert.ok(response.endsWith(page), response);
      // "serving" is printed just before nc listens: until it does, the gateway's connect to the
      // guest is refused and the forward closes the host's connection without a word.
      await waitFor(
        "the guest's nc to take the forwarded connection",
        async () => {
          const bye = await Deno.connect({ hostname: "127.0.0.1", port: ncPort });
          await bye.write(new TextEncoder().encode("bye from the host"));
          await bye.closeWrite();
          const said = await readAll(bye).catch(() => ""); // nc closes once it has everything
          bye.close();
          return said === "ready\n";
        },
        60_000,
        200,
      );

      const exit = await guest.waitForExit(60_000);
      const r = guest.results;
      assert.equal(r["dhcp.event"], "bound");
      assert.equal(r["dhcp.ip"], "10.0.2.15/24");
      assert.equal(r["dhcp.router"], "10.0.2.2");
      assert.equal(r["dhcp.dns"], "10.0.2.3");
      assert.equal(r["ping"], "0");
      assert.equal(r["dns.web"], "10.1.2.3");
      assert.equal(r["big.wget"], "0");
      assert.equal(r["big.bytes"], String(SIZE));
      assert.equal(r["big.sha256"], hex(sha256(big)), "host -> guest SHA-256");
      assert.equal(r["bye"], "bye from the host");
      assert.equal(exit.scriptStatus, 0);
      assert.match(dnsmasq.log(), /query\[A\] web\.gateway\.test from 127\.0\.0\.1/);
      assert.match(cli.log, /VM attached on unix:/);
    } catch (error) {
      console.error(`--- gateway ---\n${cli.log}\n--- dnsmasq ---\n${dnsmasq.log()}`);
      throw error;
    } finally {
      await guest?.kill();
      await cli.stop();
      await http.stop();
      await dnsmasq.stop();
      await dir.cleanup();
    }
    // The CLI prints its counters when stopped.
    assert.match(
      cli.log,
      /gateway stats: tcp accepted [1-9]\d* refused 0, udp flows \d+, dns [1-9]/,
    );
  },
  { timeoutMs: 180_000 },
);

interopTest(
  "qemu_guest (Linux) on an in-process Gateway: 10 MB nc upload with equal SHA-256, 200 concurrent wgets, then empty flow tables",
  { programs: ["qemu-system-x86_64", "busybox"], root: true },
  async () => {
    const http = startHttp(new Uint8Array(0));
    // A host sink: answers "sha256 bytes" after the guest's FIN, then closes.
    const sink = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    (async () => {
      for await (const conn of sink) {
        (async () => {
          const hash = sha256.create();
          const buffer = new Uint8Array(65536);
          let bytes = 0;
          for (;;) {
            const n = await conn.read(buffer);
            if (n === null) break;
            hash.update(buffer.subarray(0, n));
            bytes += n;
          }
          await conn.write(new TextEncoder().encode(`${hex(hash.digest())} ${bytes}\n`));
          conn.close();
        })().catch(() => {});
      }
    })().catch(() => {});
    const sinkPort = (sink.addr as Deno.NetAddr).port;
    const dir = await tempDir("gateway-guest");
    const path = `${dir.path}/gw.sock`;
    const gateway = new Gateway();
    const server = QemuStreamServer.listen({ path });
    const image = await ensureGuest();
    const guest = bootGuest({
      image,
      netdev: { unixPath: path },
      net: { dhcp: true },
      ipv6: false,
      memoryMb: 320,
      script: [
        `dd if=/dev/urandom of=/tmp/up.bin bs=1048576 count=${SIZE >> 20} 2>/dev/null`,
        "result up.sha256 $(sha256sum /tmp/up.bin | cut -d' ' -f1)",
        `nc 10.0.2.2 ${sinkPort} < /tmp/up.bin > /tmp/up.reply`,
        'result up.reply "$(cat /tmp/up.reply)"',
        "i=0",
        "while [ $i -lt 200 ]; do",
        `  wget -q -O /tmp/w.$i http://10.0.2.2:${http.port}/small &`,
        "  i=$((i + 1))",
        "done",
        "wait",
        "result many.ok $(cat /tmp/w.* | grep -c '^small-ok$')",
      ].join("\n"),
    });
    try {
      const nic = await server.accept();
      const attached = gateway.attach(nic);
      const exit = await guest.waitForExit(150_000);
      const r = guest.results;
      assert.equal(r["dhcp.ip"], "10.0.2.15/24");
      assert.equal(r["up.reply"], `${r["up.sha256"]} ${SIZE}`, "guest -> host SHA-256");
      assert.equal(r["many.ok"], "200");
      assert.equal(http.served(), 200);
      assert.equal(exit.scriptStatus, 0);
      assert.equal(gateway.stats().dhcpLeases, 1);
      await attached; // QEMU is gone: the port went with it
      assert.equal(gateway.stats().ports, 1); // the gateway's own
      // Every flow has ended; the gateway's inside connections linger at most in TIME-WAIT.
      await waitFor("the flows to end", () => gateway.stats().tcpFlows === 0, 10_000);
      const stats = gateway.stats();
      assert.equal(stats.tcpAccepted, 201);
      assert.equal(stats.tcpRefused, 0);
      assert.equal(stats.tcpPending, 0);
      assert.ok(
        gateway.stack.tcpConnections().every((c) => c.state === "TIME-WAIT"),
        JSON.stringify(gateway.stack.tcpConnections().slice(0, 3)),
      );
      await waitFor("TIME-WAIT to end", () => gateway.stack.tcpConnections().length === 0, 10_000);
    } finally {
      await guest.kill();
      server.close();
      await gateway.close();
      sink.close();
      await http.stop();
      await dir.cleanup();
    }
  },
  { timeoutMs: 180_000 },
);
