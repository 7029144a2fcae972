import assert from "node:assert/strict";
import { hostNetwork } from "./host_network.ts";
import { Gateway, parsePortForward } from "./gateway.ts";
import { Stack } from "../stack.ts";
import { formatIpv4Address } from "../wire/address.ts";
import { createQuery, parseMessage, serializeMessage } from "../dns/message.ts";
import { ConnectionRefused } from "../errors.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "gateway: TCP to 10.0.2.2 reaches the host's loopback, both ways, with half-close",
  ...opts,
  fn: async () => {
    const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (server.addr as Deno.NetAddr).port;
    (async () => {
      for await (const c of server) {
        // Echo with a prefix until the client half-closes, then close.
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await c.read(buf);
          if (n === null) break;
          let done = 0;
          while (done < n) done += await c.write(buf.subarray(done, n));
        }
        c.close();
      }
    })();
    const net = await hostNetwork();
    try {
      const conn = await net.stack.connect({ hostname: "10.0.2.2", port });
      const data = new Uint8Array(3 * 1024 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
      const writing = conn.write(data).then(() => conn.closeWrite());
      const got = new Uint8Array(data.length + 1);
      let have = 0;
      for (;;) {
        // One spare byte: a zero-length read would return 0 forever instead of null.
        const n = await conn.read(got.subarray(have));
        if (n === null) break;
        have += n;
      }
      await writing;
      assert.equal(have, data.length);
      assert.deepEqual(got.subarray(0, have), data);
      conn.close();
      assert.equal(net.gateway.stats().tcpAccepted, 1);
      await assert.rejects(net.stack.connect({ hostname: "10.0.2.2", port: 1 }), ConnectionRefused);
      assert.equal(net.gateway.stats().tcpRefused, 1);
    } finally {
      await net.close();
      server.close();
    }
  },
});

Deno.test({
  name: "gateway: UDP through the NAT to a host echo server, and DNS answered from the host",
  ...opts,
  fn: async () => {
    const echo = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const port = (echo.addr as Deno.NetAddr).port;
    (async () => {
      for await (const [d, from] of echo) await echo.send(d, from);
    })().catch(() => {});
    // A DNS server on loopback stands in for the host's resolver: the test reaches nothing else.
    const dns = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const dnsPort = (dns.addr as Deno.NetAddr).port;
    (async () => {
      for await (const [q, from] of dns) {
        const query = parseMessage(q);
        await dns.send(
          serializeMessage({
            ...query,
            qr: true,
            ra: true,
            answers: [{
              name: query.questions[0].name,
              type: 1,
              class: 1,
              ttl: 60,
              data: { kind: "A", address: 0x0a0b0c0d },
            }],
          }),
          from,
        );
      }
    })().catch(() => {});
    const net = await hostNetwork({
      gateway: { dnsUpstream: { ipAddr: "127.0.0.1", port: dnsPort } },
    });
    try {
      const socket = net.stack.listenDatagram({});
      await socket.send(new TextEncoder().encode("ping"), { hostname: "10.0.2.2", port });
      const [reply, from] = await socket.receive();
      assert.equal(new TextDecoder().decode(reply), "ping");
      assert.deepEqual(from, { transport: "udp", hostname: "10.0.2.2", port });
      assert.equal(net.gateway.stats().udpFlows, 1);
      // DNS through the gateway's forwarder to the (test's) upstream resolver.
      await socket.send(serializeMessage(createQuery(0x4242, "host.usernet.test.", 1)), {
        hostname: "10.0.2.3",
        port: 53,
      });
      const [answerBytes] = await socket.receive();
      const answer = parseMessage(answerBytes);
      assert.equal(answer.id, 0x4242);
      assert.equal(answer.qr, true);
      assert.deepEqual(answer.answers.map((a) => a.data), [{ kind: "A", address: 0x0a0b0c0d }]);
      socket.close();
    } finally {
      await net.close();
      echo.close();
      dns.close();
    }
  },
});

Deno.test({
  name: "gateway: a TCP port forward reaches a listener on the inside stack",
  ...opts,
  fn: async () => {
    const net = await hostNetwork({
      gateway: { forwards: [parsePortForward("tcp:0:10.0.2.15:7777")] },
    });
    try {
      const inner = net.stack.listen({ port: 7777 });
      (async () => {
        for await (const c of inner) {
          await c.write(new TextEncoder().encode("hello from inside"));
          c.close();
        }
      })();
      const hostPort = net.gateway.forwards[0].hostPort;
      const outside = await Deno.connect({ hostname: "127.0.0.1", port: hostPort });
      const buf = new Uint8Array(100);
      let text = "";
      for (;;) {
        const n = await outside.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      outside.close();
      assert.equal(text, "hello from inside");
    } finally {
      await net.close();
    }
  },
});

Deno.test({
  name: "gateway: TCP port forwards are bounded by maxTcpFlows; a freed slot is reused",
  ...opts,
  fn: async () => {
    const net = await hostNetwork({
      gateway: { maxTcpFlows: 2, forwards: [parsePortForward("tcp:0:10.0.2.15:7778")] },
    });
    try {
      const inner = net.stack.listen({ port: 7778 });
      (async () => {
        for await (const c of inner) {
          // Greets, then echoes until the host closes.
          (async () => {
            await c.write(new TextEncoder().encode("hi"));
            const buf = new Uint8Array(100);
            for (;;) {
              const n = await c.read(buf);
              if (n === null) break;
              await c.write(buf.subarray(0, n));
            }
          })().catch(() => {}).finally(() => c.close());
        }
      })();
      const port = net.gateway.forwards[0].hostPort;
      const greet = async (conn: Deno.Conn) => {
        const buf = new Uint8Array(2);
        const n = await conn.read(buf);
        return n === null ? null : new TextDecoder().decode(buf.subarray(0, n));
      };
      const first = await Deno.connect({ hostname: "127.0.0.1", port });
      const second = await Deno.connect({ hostname: "127.0.0.1", port });
      assert.equal(await greet(first), "hi");
      assert.equal(await greet(second), "hi");
      const third = await Deno.connect({ hostname: "127.0.0.1", port });
      assert.equal(await greet(third), null, "over the limit: closed at once");
      third.close();
      first.close();
      // The slot comes back once the first flow has ended.
      let fourth: string | null = null;
      for (let i = 0; i < 100 && fourth !== "hi"; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        fourth = await greet(conn);
        conn.close();
        if (fourth !== "hi") await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(fourth, "hi");
      second.close();
    } finally {
      await net.close();
    }
  },
});

Deno.test({
  name: "gateway: a UDP port forward carries datagrams to a guest socket and its replies back",
  ...opts,
  fn: async () => {
    const net = await hostNetwork({
      gateway: { forwards: [parsePortForward("udp:0:10.0.2.15:5353")] },
    });
    const client = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      const inner = net.stack.listenDatagram({ port: 5353 });
      (async () => {
        for await (const [data, from] of inner) {
          await inner.send(new Uint8Array([...new TextEncoder().encode("re:"), ...data]), from);
        }
      })().catch(() => {});
      const forward = net.gateway.forwards[0];
      const to = { transport: "udp" as const, hostname: "127.0.0.1", port: forward.hostPort };
      for (const word of ["one", "two"]) {
        await client.send(new TextEncoder().encode(word), to);
        const [reply, from] = await client.receive();
        assert.equal(new TextDecoder().decode(reply), `re:${word}`);
        assert.equal((from as Deno.NetAddr).port, forward.hostPort);
      }
      inner.close();
    } finally {
      client.close();
      await net.close();
    }
  },
});

Deno.test({
  name: "gateway: close() ends the flows it splices (the host side sees its connection go)",
  ...opts,
  fn: async () => {
    const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = server.accept();
    const net = await hostNetwork();
    try {
      const conn = await net.stack.connect({
        hostname: "10.0.2.2",
        port: (server.addr as Deno.NetAddr).port,
      });
      const hostSide = await accepted;
      await conn.write(new TextEncoder().encode("x"));
      assert.equal(await hostSide.read(new Uint8Array(1)), 1);
      assert.equal(net.gateway.stats().tcpFlows, 1);
      await net.gateway.close();
      const ended = await hostSide.read(new Uint8Array(1)).catch(() => null);
      assert.equal(ended, null);
      hostSide.close();
    } finally {
      await net.close();
      server.close();
    }
  },
});

Deno.test({
  name:
    "gateway: DHCP serves four clients on one LAN at once — distinct leases; each pings the gateway and the others; they talk TCP to each other",
  ...opts,
  fn: async () => {
    const gateway = new Gateway();
    const stacks = Array.from({ length: 4 }, () => new Stack({ nic: gateway.connectMemory() }));
    try {
      assert.equal(gateway.stats().ports, 5, "the gateway's own port and four clients");
      // All four DISCOVER at the same moment: the server must not offer one address twice.
      const leases = await Promise.all(stacks.map((s) => s.dhcp({ probe: false })));
      const addresses = leases.map((l) => formatIpv4Address(l.address));
      assert.equal(new Set(addresses).size, 4, `distinct leases: ${addresses}`);
      for (const [i, lease] of leases.entries()) {
        assert.match(addresses[i], /^10\.0\.2\.(1[5-9]|[2-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);
        assert.equal(stacks[i].ipv4?.address, addresses[i]);
        assert.equal(lease.prefixLength, 24);
        assert.equal(lease.router, 0x0a000202);
        assert.deepEqual(lease.dns, [0x0a000203]);
      }
      assert.equal(gateway.stats().dhcpLeases, 4);

      // Everyone reaches the gateway and every other client (ARP and ICMP across the switch).
      for (const [i, stack] of stacks.entries()) {
        assert.equal((await stack.ping("10.0.2.2")).from, "10.0.2.2");
        for (const [j, other] of addresses.entries()) {
          if (j !== i) assert.equal((await stack.ping(other)).from, other);
        }
      }

      // Client 0 serves TCP echo; the other three connect to it at once, 256 KiB each.
      const listener = stacks[0].listen({ port: 7 });
      const peers: string[] = [];
      (async () => {
        for await (const conn of listener) {
          peers.push(conn.remoteAddr.hostname);
          conn.readable.pipeTo(conn.writable).catch(() => {});
        }
      })();
      await Promise.all(
        stacks.slice(1).map(async (stack, k) => {
          const data = new Uint8Array(256 * 1024).map((_, i) => (i * 7 + k * 13) & 255);
          const conn = await stack.connect({ hostname: addresses[0], port: 7 });
          assert.equal(conn.localAddr.hostname, addresses[k + 1]);
          const writing = conn.write(data).then(() => conn.closeWrite());
          const got = new Uint8Array(data.length + 1);
          let have = 0;
          for (;;) {
            const n = await conn.read(got.subarray(have));
            if (n === null) break;
            have += n;
          }
          await writing;
          conn.close();
          assert.equal(have, data.length);
          assert.deepEqual(got.subarray(0, have), data);
        }),
      );
      assert.deepEqual(peers.sort(), addresses.slice(1).sort());
      // Client to client never went through the gateway's TCP interception.
      assert.equal(gateway.stats().tcpAccepted, 0);
      assert.equal(gateway.stats().tcpRefused, 0);
      listener.close();
    } finally {
      for (const stack of stacks) await stack.close();
      await gateway.close();
    }
  },
});
