/**
 * The gateway against a hostile guest: a raw NIC on its LAN sends SYN floods from many
 * addresses, segments outside the window, and fragments that never complete, while a
 * well-behaved usernet stack on the same LAN keeps a connection to a host echo server busy.
 * The tables stay bounded, the good connection is unharmed, and what the flood left behind goes.
 */
import assert from "node:assert/strict";
import { Gateway } from "./gateway.ts";
import { Stack } from "../stack.ts";
import type { TcpConn } from "../tcp/conn.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { parseIpv4Address, parseMac } from "../wire/address.ts";
import { RawLanHost } from "./_test_raw_lan.ts";

const { SYN, ACK, RST, FIN, PSH } = TcpFlags;
const opts = { sanitizeOps: false, sanitizeResources: false };
const GATEWAY = parseIpv4Address("10.0.2.2")!;

/** A host TCP echo server on 127.0.0.1 that counts its open connections and bytes. */
function echoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const state = { open: 0, accepted: 0, received: new Uint8Array(0), bytes: 0 };
  (async () => {
    for await (const conn of listener) {
      state.open++;
      state.accepted++;
      (async () => {
        const buffer = new Uint8Array(65536);
        try {
          for (;;) {
            const n = await conn.read(buffer);
            if (n === null) break;
            state.bytes += n;
            if (state.received.length < 4096) {
              const more = new Uint8Array(state.received.length + n);
              more.set(state.received);
              more.set(buffer.subarray(0, n), state.received.length);
              state.received = more.slice(0, 4096);
            }
            let done = 0;
            while (done < n) done += await conn.write(buffer.subarray(done, n));
          }
        } catch { /* reset */ }
        try {
          conn.close();
        } catch { /* closed */ }
        state.open--;
      })();
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, state, close: () => listener.close() };
}

/** Polls until `predicate` holds (an event wait with a generous deadline, not a fixed sleep). */
async function waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Writes `size` bytes and reads them back through an echo connection. */
async function echoRound(conn: TcpConn, size: number, seed: number): Promise<void> {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + seed) & 255;
  const writing = conn.write(data);
  const got = new Uint8Array(size);
  let have = 0;
  while (have < size) {
    const n = await conn.read(got.subarray(have));
    if (n === null) throw new Error("echo ended early");
    have += n;
  }
  await writing;
  assert.deepEqual(got, data);
}

/** A gateway, a good stack at 10.0.2.15, and a raw host posing as 10.0.2.16 to .254. */
function lan(gatewayOptions: ConstructorParameters<typeof Gateway>[0] = {}) {
  const gateway = new Gateway(gatewayOptions);
  const good = new Stack({
    nic: gateway.connectMemory(),
    address: "10.0.2.15/24",
    gateway: "10.0.2.2",
  });
  const raw = new RawLanHost(
    gateway.connectMemory({ mac: new Uint8Array([2, 0, 0, 0, 0x66, 0x66]) }),
    parseMac(gateway.stack.mac)!,
    (a) => a >= parseIpv4Address("10.0.2.16")! && a <= parseIpv4Address("10.0.2.254")!,
    64,
  );
  return {
    gateway,
    good,
    raw,
    close: async () => {
      raw.close();
      await good.close();
      await gateway.close();
    },
  };
}

function randomSource(): { address: number; port: number } {
  const host = 16 + Math.floor(Math.random() * 239); // 10.0.2.16 - 10.0.2.254
  return {
    address: (parseIpv4Address("10.0.2.0")! + host) >>> 0,
    port: 1024 + Math.floor(Math.random() * 64000),
  };
}

Deno.test({
  name:
    "gateway: a SYN flood to open and closed host ports stays bounded, a busy connection is unharmed, and the flood's leftovers go",
  ...opts,
  fn: async () => {
    const echo = echoServer();
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    // Short SYN-ACK retries so the half-open leftovers time out within the test.
    const net = lan({ tcp: { synAckRetries: 1 }, maxTcpConnecting: 100 });
    const layer = net.gateway.stack._tcp;
    layer.maxPendingSyns = 300; // a smaller table, so the flood overflows it sooner
    try {
      const conn = await net.good.connect({ hostname: "10.0.2.2", port: echo.port });
      await echoRound(conn, 64 * 1024, 0);
      let most = { pending: 0, connecting: 0, layer: 0 };
      const syns = 2400;
      for (let sent = 0, round = 1; sent < syns; sent += 200, round++) {
        const batch = [];
        for (let i = 0; i < 200; i++) {
          const { address, port } = randomSource();
          batch.push({
            source: address,
            sourcePort: port,
            destination: GATEWAY,
            destinationPort: i % 3 === 0 ? closedPort : echo.port,
            seq: Math.floor(Math.random() * 2 ** 32),
            flags: SYN,
            options: { maxSegmentSize: 1460 },
          });
        }
        net.raw.sendTcp(...batch);
        // The busy connection keeps working while the flood is being handled.
        await echoRound(conn, 32 * 1024, round);
        await waitFor("the host connects to finish", () => {
          const s = net.gateway.stats();
          most = {
            pending: Math.max(most.pending, s.tcpPending),
            connecting: Math.max(most.connecting, s.tcpConnecting),
            layer: Math.max(most.layer, layer.connectionCount),
          };
          return s.tcpConnecting === 0;
        });
      }
      const stats = net.gateway.stats();
      assert.ok(most.pending <= 300, `pending host connections stayed bounded (${most.pending})`);
      assert.ok(most.layer <= 301, `the gateway's TCP table stayed bounded (${most.layer})`);
      assert.ok(
        most.connecting <= 100,
        `host connects in flight stayed bounded (${most.connecting})`,
      );
      assert.ok(
        (net.gateway.stack.stats().drops["tcp/intercept-half-open-reset"] ?? 0) > 0,
        "the oldest half-open connections made room",
      );
      assert.ok(stats.tcpRefused >= syns / 3, "SYNs to the closed port were refused");
      assert.ok((net.raw.counts["RST|ACK"] ?? 0) >= syns / 3, "... with RST to the guest");
      assert.ok((net.raw.counts["SYN|ACK"] ?? 0) > 300, "SYNs to the open port were answered");
      // A new connection still works, and so does the old one.
      const fresh = await net.good.connect({ hostname: "10.0.2.2", port: echo.port });
      await echoRound(fresh, 100_000, 99);
      await echoRound(conn, 100_000, 98);
      fresh.close();
      conn.close();
      // The flood's half-open connections time out; their host connections are closed.
      await waitFor("the flood's leftovers to go", () => {
        const s = net.gateway.stats();
        return s.tcpPending === 0 && s.tcpFlows === 0 && echo.state.open === 0 &&
          net.gateway.stack.tcpConnections().every((c) => c.state === "TIME-WAIT");
      });
      await waitFor("TIME-WAIT to end", () => layer.connectionCount === 0);
    } finally {
      await net.close();
      echo.close();
    }
  },
});

Deno.test({
  name:
    "gateway: segments outside the window, stray RSTs and SYNs do not reach the host or break the connection (RFC 5961)",
  ...opts,
  fn: async () => {
    const echo = echoServer();
    const net = lan();
    const client = parseIpv4Address("10.0.2.50")!;
    const port = 40001;
    const send = (seq: number, ack: number, flags: number, text = "") =>
      net.raw.sendTcp({
        source: client,
        sourcePort: port,
        destination: GATEWAY,
        destinationPort: echo.port,
        seq,
        ack,
        flags,
        payload: new TextEncoder().encode(text),
      });
    const fromGateway = (s: { destinationPort: number }) => s.destinationPort === port;
    try {
      const iss = 1_000_000;
      net.raw.sendTcp({
        source: client,
        sourcePort: port,
        destination: GATEWAY,
        destinationPort: echo.port,
        seq: iss,
        flags: SYN,
        options: { maxSegmentSize: 1460 },
      });
      const synAck = await net.raw.expect(
        (s) => fromGateway(s) && (s.flags & (SYN | ACK)) === (SYN | ACK),
        "SYN-ACK",
      );
      assert.equal(synAck.ack, iss + 1);
      let next = iss + 1;
      const ours = synAck.seq + 1;
      send(next, ours, ACK);
      await waitFor("the flow to be spliced", () => net.gateway.stats().tcpFlows === 1);

      send(next, ours, ACK | PSH, "hello");
      next += 5;
      const echoed = await net.raw.expect((s) => fromGateway(s) && s.payload.length > 0, "echo");
      assert.equal(new TextDecoder().decode(echoed.payload), "hello");
      const theirs = echoed.seq + 5;
      send(next, theirs, ACK);

      // Out of the window: data far ahead, data far behind, an ACK of data never sent.
      net.raw.clear();
      send(next + 10_000_000, theirs, ACK | PSH, "EVIL-AHEAD");
      send(next - 10_000_000, theirs, ACK | PSH, "EVIL-BEHIND");
      send(next, theirs + 1_000_000, ACK | PSH, "EVIL-ACK");
      // A RST outside the window is ignored; one inside but not exact draws a challenge ACK.
      send(next + 10_000_000, 0, RST);
      send(next + 100, 0, RST);
      // A SYN on an established connection draws a challenge ACK (RFC 5961 §4).
      send(next + 7, 0, SYN);
      const challenge = await net.raw.expect(
        (s) => fromGateway(s) && s.flags === ACK && s.ack === next,
        "an ACK restating RCV.NXT",
      );
      assert.equal(challenge.ack, next);

      send(next, theirs, ACK | PSH, "world");
      next += 5;
      const second = await net.raw.expect(
        (s) => fromGateway(s) && s.payload.length > 0,
        "the second echo",
      );
      assert.equal(new TextDecoder().decode(second.payload), "world");
      assert.equal(new TextDecoder().decode(echo.state.received), "helloworld");
      assert.ok(!net.raw.segments.some((s) => fromGateway(s) && (s.flags & RST)), "no RST");

      // Close from the guest; the host closes in turn; the flow goes.
      send(next, theirs + 5, ACK | FIN);
      const fin = await net.raw.expect((s) => fromGateway(s) && (s.flags & FIN) !== 0, "FIN");
      send(next + 1, fin.seq + 1, ACK);
      await waitFor("the flow to end", () => {
        const s = net.gateway.stats();
        return s.tcpFlows === 0 && echo.state.open === 0;
      });
    } finally {
      await net.close();
      echo.close();
    }
  },
});

Deno.test({
  name: "gateway: fragments that never complete are bounded; whole datagrams and TCP are unharmed",
  ...opts,
  fn: async () => {
    const echo = echoServer();
    const udpEcho = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const udpPort = (udpEcho.addr as Deno.NetAddr).port;
    (async () => {
      for await (const [d, from] of udpEcho) await udpEcho.send(d, from);
    })().catch(() => {});
    const net = lan();
    const reassembler = net.gateway.stack._iface.reassembler;
    try {
      const conn = await net.good.connect({ hostname: "10.0.2.2", port: echo.port });
      const socket = net.good.listenDatagram({});
      const before = Deno.memoryUsage().rss;
      let most = 0;
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 500; i++) {
          const { address } = randomSource();
          net.raw.sendFirstFragment(address, GATEWAY, round * 500 + i, 1480);
        }
        await echoRound(conn, 16 * 1024, round);
        most = Math.max(most, reassembler.pending);
        // A datagram too big for one frame: fragmented by the good stack, reassembled by the
        // gateway (if the reassembly table has room) or dropped; either way nothing breaks.
        await socket.send(new Uint8Array(100).fill(round), { hostname: "10.0.2.2", port: udpPort });
        const [reply] = await socket.receive();
        assert.deepEqual(reply, new Uint8Array(100).fill(round));
      }
      assert.ok(most <= 64, `partial datagrams stayed bounded (${most})`);
      assert.ok(
        (net.gateway.stack.stats().drops["ipv4-reassembly/too-many"] ?? 0) > 4000,
        "fragments beyond the table were dropped",
      );
      const grown = (Deno.memoryUsage().rss - before) / (1 << 20);
      assert.ok(grown < 64, `memory grew by ${grown.toFixed(1)} MiB`);
      socket.close();
      conn.close();
    } finally {
      await net.close();
      echo.close();
      udpEcho.close();
    }
  },
});

Deno.test({
  name:
    "gateway: segments to 127/8 or 0/8 from the LAN are refused, not sent to the host's loopback",
  ...opts,
  fn: async () => {
    const echo = echoServer();
    const net = lan();
    const client = parseIpv4Address("10.0.2.51")!;
    try {
      for (const [i, destination] of ["127.0.0.1", "0.0.0.0"].entries()) {
        net.raw.sendTcp({
          source: client,
          sourcePort: 41000 + i,
          destination: parseIpv4Address(destination)!,
          destinationPort: echo.port,
          seq: 1,
          flags: SYN,
        });
        const reset = await net.raw.expect(
          (s) => s.destinationPort === 41000 + i,
          `an answer to the SYN for ${destination}`,
        );
        assert.equal(reset.flags, RST | ACK);
      }
      assert.equal(echo.state.accepted, 0);
      assert.equal(net.gateway.stats().tcpRefused, 2);
    } finally {
      await net.close();
      echo.close();
    }
  },
});
