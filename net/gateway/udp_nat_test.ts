import assert from "node:assert/strict";
import { UdpNat } from "./udp_nat.ts";
import { parseIpv4Address } from "../wire/address.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const GUEST = parseIpv4Address("10.0.2.15")!;
const GATEWAY = parseIpv4Address("10.0.2.2")!;

interface Inside {
  source: number;
  sourcePort: number;
  destination: number;
  destinationPort: number;
  payload: Uint8Array;
}

/** A NAT whose inside is a list, mapping the gateway address to the host's loopback. */
function nat(options: { maxFlows?: number; idleTimeout?: number } = {}) {
  const inside: Inside[] = [];
  let arrived = Promise.withResolvers<void>();
  const table = new UdpNat({
    sendInside: (source, sourcePort, destination, destinationPort, payload) => {
      inside.push({ source, sourcePort, destination, destinationPort, payload: payload.slice() });
      arrived.resolve();
      arrived = Promise.withResolvers<void>();
    },
    mapDestination: (d) => d === GATEWAY ? "127.0.0.1" : undefined,
    ...options,
  });
  const next = async () => {
    while (!inside.length) await arrived.promise;
    return inside.shift()!;
  };
  return { table, next };
}

function hostEcho() {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const from: Deno.NetAddr[] = [];
  (async () => {
    for await (const [data, addr] of socket) {
      from.push(addr as Deno.NetAddr);
      await socket.send(data, addr);
    }
  })().catch(() => {});
  return { socket, port: (socket.addr as Deno.NetAddr).port, from };
}

const datagram = (sourcePort: number, destinationPort: number, text: string) => ({
  source: GUEST,
  sourcePort,
  destination: GATEWAY,
  destinationPort,
  payload: new TextEncoder().encode(text),
});

Deno.test({
  name: "udp_nat: a guest datagram goes out from its own host socket; the reply comes back",
  ...opts,
  fn: async () => {
    const echo = hostEcho();
    const { table, next } = nat();
    try {
      assert.equal(table.outbound(datagram(5000, echo.port, "one")), true);
      const reply = await next();
      assert.deepEqual(
        { ...reply, payload: new TextDecoder().decode(reply.payload) },
        {
          source: GATEWAY,
          sourcePort: echo.port,
          destination: GUEST,
          destinationPort: 5000,
          payload: "one",
        },
      );
      // The same flow reuses its socket; another guest port gets another one.
      table.outbound(datagram(5000, echo.port, "two"));
      await next();
      table.outbound(datagram(5001, echo.port, "three"));
      await next();
      assert.equal(table.size, 2);
      assert.equal(echo.from[0].port, echo.from[1].port);
      assert.notEqual(echo.from[0].port, echo.from[2].port);
      // Destinations the mapping refuses are not taken.
      assert.equal(
        table.outbound({ ...datagram(5000, 53, "x"), destination: parseIpv4Address("10.0.2.9")! }),
        false,
      );
    } finally {
      table.close();
      echo.socket.close();
    }
  },
});

Deno.test({
  name: "udp_nat: only the flow's destination may answer through it (endpoint-dependent filtering)",
  ...opts,
  fn: async () => {
    const { table, next } = nat();
    const server = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const stranger = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      table.outbound(datagram(6000, (server.addr as Deno.NetAddr).port, "hello"));
      const [, flowAddr] = await server.receive();
      await stranger.send(new TextEncoder().encode("spoof"), flowAddr);
      await server.send(new TextEncoder().encode("real"), flowAddr);
      const reply = await next();
      assert.equal(new TextDecoder().decode(reply.payload), "real");
      assert.equal(table.dropped, 1);
    } finally {
      table.close();
      server.close();
      stranger.close();
    }
  },
});

Deno.test({
  name: "udp_nat: the table is bounded (least recently used goes) and idle flows expire",
  ...opts,
  fn: () => {
    const { table } = nat({ maxFlows: 8, idleTimeout: 1000 });
    try {
      const start = Date.now();
      for (let port = 7000; port < 7100; port++) table.outbound(datagram(port, 9, "x"));
      assert.equal(table.size, 8);
      const kept = table.flows().map((f) => f.guest).sort();
      assert.deepEqual(kept, Array.from({ length: 8 }, (_, i) => `10.0.2.15:${7092 + i}`));
      table.sweep(start + 999); // every flow was used at `start` or later
      assert.equal(table.size, 8);
      table.sweep(Date.now() + 1000);
      assert.equal(table.size, 0);
    } finally {
      table.close();
    }
  },
});
