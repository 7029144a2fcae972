/**
 * Real DHCP traffic (dnsmasq 2.90 serving busybox udhcpc, captured with tshark) through
 * usernet's parser, client core and server core.
 */
import assert from "node:assert/strict";
import { hex } from "../dns/_dnsmasq_captures_test_data.ts";
import { parseIpv4 } from "../dns/_ipv4.ts";
import { dnsmasqDhcpCaptures as cap } from "./_dnsmasq_captures_test_data.ts";
import { DhcpClient } from "./client.ts";
import { parseDhcpMessage, serializeDhcpMessage } from "./message.ts";
import { DhcpMessageType as T } from "./options.ts";
import { DhcpServer } from "./server.ts";

const MAC = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);
const DNSMASQ = parseIpv4("10.77.0.1");
const LEASED = parseIpv4("10.77.0.58");

Deno.test("dhcp capture: every dnsmasq/udhcpc message parses and round-trips", () => {
  const types: Record<string, number> = {
    discover: T.DISCOVER,
    offer: T.OFFER,
    request: T.REQUEST,
    ack: T.ACK,
    discoverBroadcastFlag: T.DISCOVER,
    offerBroadcast: T.OFFER,
    requestAfterBroadcast: T.REQUEST,
    ackBroadcast: T.ACK,
  };
  for (const [name, c] of Object.entries(cap)) {
    const m = parseDhcpMessage(hex(c.payload));
    assert.equal(m.options.messageType, types[name], name);
    assert.deepEqual(m.chaddr, MAC, name);
    assert.deepEqual(parseDhcpMessage(serializeDhcpMessage(m)), m, name);
  }
  const discover = parseDhcpMessage(hex(cap.discover.payload));
  const offer = parseDhcpMessage(hex(cap.offer.payload));
  const request = parseDhcpMessage(hex(cap.request.payload));
  assert.equal(offer.xid, discover.xid);
  assert.equal(request.xid, discover.xid);
  assert.equal(discover.options.hostname, "vm1");
  assert.equal(request.options.serverId, DNSMASQ);
  assert.equal(request.options.requestedAddress, LEASED);
  assert.equal(parseDhcpMessage(hex(cap.discoverBroadcastFlag.payload)).broadcast, true);
  assert.equal(
    parseDhcpMessage(hex(cap.discoverBroadcastFlag.payload)).options.requestedAddress,
    parseIpv4("10.77.0.99"),
  );
});

Deno.test("dhcp capture: dnsmasq's ACK carries the configuration usernet needs", () => {
  const ack = parseDhcpMessage(hex(cap.ack.payload));
  assert.equal(ack.yiaddr, LEASED);
  assert.equal(cap.ack.to, "10.77.0.58", "unicast to yiaddr without the BROADCAST flag");
  assert.equal(cap.ackBroadcast.to, "255.255.255.255", "broadcast with the flag");
  const o = ack.options;
  assert.equal(o.serverId, DNSMASQ);
  assert.equal(o.leaseTime, 600);
  assert.equal(o.renewalTime, 300);
  assert.equal(o.rebindingTime, 525);
  assert.equal(o.subnetMask, 0xffffff00);
  assert.deepEqual(o.routers, [DNSMASQ]);
  assert.deepEqual(o.dnsServers, [DNSMASQ]);
  assert.equal(o.domainName, "usernet.test");
  assert.equal(o.broadcastAddress, parseIpv4("10.77.0.255"));
});

Deno.test("dhcp capture: usernet's client core binds from dnsmasq's real OFFER and ACK", () => {
  const client = new DhcpClient({ mac: MAC, random: () => 0.25, probe: false });
  client.start(0);
  const discover = parseDhcpMessage(client.poll(0).send[0].payload);
  // dnsmasq answered udhcpc's xid: put ours in its replies (bytes 4..7).
  const withXid = (payload: string) => {
    const b = hex(payload);
    new DataView(b.buffer).setUint32(4, discover.xid);
    return b;
  };
  client.receive(withXid(cap.offer.payload), 100);
  const request = client.poll(100).send;
  assert.equal(request.length, 1);
  const r = parseDhcpMessage(request[0].payload);
  assert.equal(r.options.messageType, T.REQUEST);
  assert.equal(r.options.serverId, DNSMASQ);
  assert.equal(r.options.requestedAddress, LEASED);
  client.receive(withXid(cap.ack.payload), 200);
  const out = client.poll(200);
  assert.equal(client.state, "BOUND");
  const e = out.events[0];
  assert.equal(e.type, "acquired");
  const lease = client.lease!;
  assert.deepEqual(
    {
      address: lease.address,
      prefixLength: lease.prefixLength,
      router: lease.router,
      dns: lease.dns,
      domain: lease.domain,
      leaseTime: lease.leaseTime,
      renewalTime: lease.renewalTime,
      rebindingTime: lease.rebindingTime,
      serverId: lease.serverId,
    },
    {
      address: LEASED,
      prefixLength: 24,
      router: DNSMASQ,
      dns: [DNSMASQ],
      domain: "usernet.test",
      leaseTime: 600,
      renewalTime: 300,
      rebindingTime: 525,
      serverId: DNSMASQ,
    },
  );
  assert.equal(out.deadline, 100 + 300_000, "T1 counted from the REQUEST");
});

Deno.test("dhcp capture: usernet's server core answers udhcpc's real DISCOVER and REQUEST", () => {
  const server = new DhcpServer({
    serverAddress: "10.77.0.1",
    prefixLength: 24,
    poolStart: "10.77.0.50",
    poolEnd: "10.77.0.60",
    routers: ["10.77.0.1"],
    dnsServers: ["10.77.0.1"],
    domainName: "usernet.test",
    leaseTime: 600,
  });
  const offer = server.handle(hex(cap.discover.payload), 0)!;
  const o = parseDhcpMessage(offer.payload);
  assert.equal(o.options.messageType, T.OFFER);
  assert.equal(offer.broadcast, false, "udhcpc did not set the BROADCAST flag");
  assert.equal(offer.destination, o.yiaddr);
  // udhcpc asked for 1, 3, 6, 12, 15, 28, 42: the reply carries those we have.
  assert.deepEqual(o.options.routers, [DNSMASQ]);
  assert.equal(o.options.domainName, "usernet.test");
  assert.equal(o.options.mtu, undefined, "not requested");
  // udhcpc's REQUEST names dnsmasq's offer (10.77.0.58); ours was 10.77.0.50: NAK.
  const nak = parseDhcpMessage(server.handle(hex(cap.request.payload), 10)!.payload);
  assert.equal(nak.options.messageType, T.NAK);
  // The broadcast-flag DISCOVER asks for 10.77.0.99 (outside the pool): offered another,
  // broadcast.
  const b = server.handle(hex(cap.discoverBroadcastFlag.payload), 20)!;
  assert.equal(b.broadcast, true);
  assert.equal(b.destination, 0xffffffff);
  assert.notEqual(parseDhcpMessage(b.payload).yiaddr, parseIpv4("10.77.0.99"));
});
