import assert from "node:assert/strict";
import { seededRandom } from "../dns/_test_util.ts";
import { DhcpClient, type DhcpClientEvent } from "./client.ts";
import { DhcpServer } from "./server.ts";

/** Clients and one server on a lossless in-memory link, on a virtual clock. */
function network(
  clients: number,
  serverOptions: Partial<ConstructorParameters<typeof DhcpServer>[0]> = {},
) {
  const link = { server: undefined as unknown as DhcpServer };
  link.server = new DhcpServer({
    serverAddress: "10.0.2.2",
    prefixLength: 24,
    poolStart: "10.0.2.15",
    poolEnd: "10.0.2.40",
    routers: ["10.0.2.2"],
    dnsServers: ["10.0.2.3"],
    leaseTime: 120,
    ...serverOptions,
  });
  const random = seededRandom(11);
  const nodes = Array.from({ length: clients }, (_, i) => ({
    client: new DhcpClient({
      mac: Uint8Array.of(2, 0, 0, 0, 0, i + 1),
      random,
      hostname: `vm${i}`,
    }),
    events: [] as DhcpClientEvent[],
    inUse: new Set<number>(),
  }));
  let now = 0;
  const step = () => {
    // Deliver until quiet: every message goes to the server, every reply to every client.
    for (let round = 0; round < 20; round++) {
      let moved = false;
      for (const node of nodes) {
        const out = node.client.poll(now);
        node.events.push(...out.events);
        for (const a of out.probes) {
          moved = true;
          node.client.probeResult(a, nodes.some((n) => n !== node && n.inUse.has(a)), now);
        }
        for (const m of out.send) {
          moved = true;
          const reply = link.server.handle(m.payload, now);
          if (reply) { for (const n of nodes) n.client.receive(reply.payload, now); }
        }
        for (const e of out.events) {
          if (e.type === "acquired") node.inUse.add(e.lease.address);
          if (e.type === "lost") node.inUse.delete(e.lease.address);
        }
      }
      if (!moved) return;
    }
  };
  const runUntil = (t: number) => {
    while (true) {
      step();
      const deadlines = nodes.map((n) => n.client.poll(now)).map((o) => o.deadline)
        .filter((d): d is number => d !== undefined && d <= t);
      if (!deadlines.length) break;
      now = Math.max(now, Math.min(...deadlines));
    }
    now = t;
    step();
  };
  return {
    link,
    nodes,
    runUntil,
    get now() {
      return now;
    },
  };
}

Deno.test("dhcp client+server: five clients get distinct leases and keep them through renewals", () => {
  const net = network(5);
  for (const n of net.nodes) n.client.start(0);
  net.runUntil(0);
  const addresses = net.nodes.map((n) => n.client.lease?.address);
  assert.equal(new Set(addresses).size, 5);
  assert.ok(addresses.every((a) => a !== undefined && a >= 0x0a00020f && a <= 0x0a000228));
  for (const n of net.nodes) {
    assert.equal(n.events[0].type, "acquired");
    const lease = n.client.lease!;
    assert.equal(lease.prefixLength, 24);
    assert.equal(lease.router, 0x0a000202);
    assert.deepEqual(lease.dns, [0x0a000203]);
    assert.equal(lease.leaseTime, 120);
  }
  // Ten minutes of 120 s leases: renewed at every T1 (60 s), never lost.
  net.runUntil(600_000);
  for (const [i, n] of net.nodes.entries()) {
    assert.equal(n.client.lease?.address, addresses[i]);
    assert.ok(n.events.filter((e) => e.type === "renewed").length >= 9);
    assert.equal(n.events.filter((e) => e.type === "lost").length, 0);
  }
  assert.equal(net.link.server.leases(net.now).filter((l) => l.state === "bound").length, 5);
});

Deno.test("dhcp client+server: a conflicting address is declined and another one is leased", () => {
  const net = network(2);
  const [a, b] = net.nodes;
  a.client.start(0);
  net.runUntil(0);
  const first = a.client.lease!.address;
  // Host A answers ARP for the next pool address too (a static squatter).
  a.inUse.add(first + 1);
  b.client.start(0);
  net.runUntil(20_000);
  assert.ok(b.events.some((e) => e.type === "declined" && e.address === first + 1));
  assert.equal(b.client.state, "BOUND");
  assert.equal(b.client.lease!.address, first + 2);
});

Deno.test("dhcp client+server: a server that lost its state NAKs the renewal; the client starts over", () => {
  const net = network(1);
  const node = net.nodes[0];
  node.client.start(0);
  net.runUntil(0);
  const first = node.client.lease!.address;
  net.link.server = new DhcpServer({
    serverAddress: "10.0.2.2",
    prefixLength: 24,
    poolStart: "10.0.2.30",
    poolEnd: "10.0.2.40",
    leaseTime: 120,
  });
  net.runUntil(60_000); // T1
  const types = node.events.map((e) => e.type);
  assert.deepEqual(types, ["acquired", "lost", "acquired"]);
  assert.ok(node.events[1].type === "lost" && node.events[1].reason === "nak");
  assert.notEqual(node.client.lease!.address, first);
  assert.equal(node.client.lease!.address, 0x0a00021e);
});

Deno.test("dhcp client+server: a release returns the address to the pool", () => {
  const net = network(1, { poolStart: "10.0.2.15", poolEnd: "10.0.2.15" });
  const node = net.nodes[0];
  node.client.start(0);
  net.runUntil(0);
  node.client.release(1000);
  net.runUntil(1000);
  assert.equal(node.client.state, "STOPPED");
  assert.equal(net.link.server.leases(1000)[0].state, "released");
});
