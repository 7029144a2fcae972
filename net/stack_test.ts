import assert from "node:assert/strict";
import { MemoryLink } from "../drivers/memory.ts";
import { Stack } from "./stack.ts";
import { HostUnreachable, NetworkUnreachable, PortUnreachable, TimedOut } from "./errors.ts";

function twoStacks(options: { mtu?: number } = {}) {
  const [a, b] = MemoryLink.pair({ mtu: options.mtu });
  const left = new Stack({ nic: a, address: "10.0.0.1/24" });
  const right = new Stack({ nic: b, address: "10.0.0.2/24", gateway: "10.0.0.1" });
  return { left, right, close: () => Promise.all([left.close(), right.close()]) };
}

Deno.test("stack: ping across a memory link resolves ARP and gets a reply", async () => {
  const { left, right, close } = twoStacks();
  const reply = await left.ping("10.0.0.2", { size: 56 });
  assert.equal(reply.from, "10.0.0.2");
  assert.equal(reply.bytes, 64);
  assert.equal(reply.ttl, 64);
  assert.equal(left.neighbors().find((n) => n.address === "10.0.0.2")?.mac, right.mac);
  assert.equal(right.stats().icmp.echoRequestsIn, 1);
  await close();
});

Deno.test("stack: UDP echo both ways, and port unreachable for a closed port", async () => {
  const { left, right, close } = twoStacks();
  const server = right.listenDatagram({ port: 7 });
  const client = left.listenDatagram({});
  (async () => {
    for await (const [data, from] of server) await server.send(data, from);
  })();
  await client.send(new TextEncoder().encode("hello"), { hostname: "10.0.0.2", port: 7 });
  const [data, from] = await client.receive();
  assert.equal(new TextDecoder().decode(data), "hello");
  assert.deepEqual(from, { transport: "udp", hostname: "10.0.0.2", port: 7 });
  await client.send(new Uint8Array(4), { hostname: "10.0.0.2", port: 9 });
  await assert.rejects(client.receive(), PortUnreachable);
  assert.equal(right.stats().drops["udp/no-socket"], 1);
  assert.equal(right.stats().icmp.errorsOut, 1);
  server.close();
  client.close();
  await close();
});

Deno.test("stack: a 60000-byte datagram is fragmented and reassembled", async () => {
  const { left, right, close } = twoStacks();
  const server = right.listenDatagram({ port: 9000 });
  const client = left.listenDatagram({});
  const payload = crypto.getRandomValues(new Uint8Array(60000));
  await client.send(payload, { hostname: "10.0.0.2", port: 9000 });
  const [data] = await server.receive();
  assert.deepEqual(data, payload);
  assert.equal(left.stats().ipv4.fragmentsOut, 41);
  assert.equal(right.stats().ipv4.reassembled, 1);
  server.close();
  client.close();
  await close();
});

Deno.test("stack: unresolvable neighbour fails ping with HostUnreachable", async () => {
  const [a, b] = MemoryLink.pair();
  const stack = new Stack({
    nic: a,
    address: "10.0.0.1/24",
    neighbor: { retransmitInterval: 20, maxRequests: 2 },
  });
  await assert.rejects(stack.ping("10.0.0.9", { timeout: 5000 }), HostUnreachable);
  assert.equal(stack.stats().arp.packetsOut >= 2, true);
  await stack.close();
  b.close();
});

Deno.test("stack: no gateway means NetworkUnreachable; silence means TimedOut", async () => {
  const { left, right, close } = twoStacks();
  await assert.rejects(left.ping("192.168.1.1"), NetworkUnreachable);
  // right has a gateway (left), which does not answer pings to other networks.
  await assert.rejects(right.ping("192.168.1.1", { timeout: 100 }), TimedOut);
  await close();
});

Deno.test("stack: closing the stack fails pending reads, accepts and receives instead of leaving them hanging", async () => {
  const { left, right, close } = twoStacks();
  const listener = right.listen({ port: 80 });
  const accepted = listener.accept();
  const conn = await left.connect({ hostname: "10.0.0.2", port: 80 });
  const serverSide = await accepted;
  const socket = left.listenDatagram({ port: 5353 });
  const pendingRead = conn.read(new Uint8Array(10));
  const pendingReceive = socket.receive();
  const pendingAccept = listener.accept();
  await left.close();
  await assert.rejects(pendingRead);
  await assert.rejects(pendingReceive);
  // The peer saw the reset.
  await assert.rejects(serverSide.read(new Uint8Array(10)));
  await right.close();
  await assert.rejects(pendingAccept);
  await close();
});

Deno.test("stack: resolveNextHop answers with the neighbour's MAC, or HostUnreachable", async () => {
  const { left, right, close } = twoStacks();
  assert.equal(await left.resolveNextHop("10.0.0.2"), right.mac);
  // Off-link without a gateway: no route at all.
  await assert.rejects(left.resolveNextHop("192.168.9.9"), NetworkUnreachable);
  await assert.rejects(left.resolveNextHop("10.0.0.77", 50), HostUnreachable);
  await close();
});
