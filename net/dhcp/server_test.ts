import assert from "node:assert/strict";
import { DhcpConfigError } from "./errors.ts";
import { type DhcpMessage, parseDhcpMessage, serializeDhcpMessage } from "./message.ts";
import { DhcpMessageType as T, type DhcpOptions } from "./options.ts";
import { DhcpServer, type DhcpServerOptions, type DhcpServerReply } from "./server.ts";

const SERVER = 0x0a000202;
const POOL_START = 0x0a00020f; // .15
const mac = (n: number) => Uint8Array.of(0x52, 0x54, 0, 0, 0, n);

function server(opts: Partial<DhcpServerOptions> = {}): DhcpServer {
  return new DhcpServer({
    serverAddress: "10.0.2.2",
    prefixLength: 24,
    poolStart: "10.0.2.15",
    poolEnd: "10.0.2.17",
    routers: ["10.0.2.2"],
    dnsServers: ["10.0.2.3"],
    domainName: "usernet.test",
    mtu: 1500,
    leaseTime: 600,
    ...opts,
  });
}

function request(
  type: number,
  n: number,
  options: DhcpOptions = {},
  extra: Partial<DhcpMessage> = {},
): Uint8Array {
  return serializeDhcpMessage({
    op: 1,
    htype: 1,
    hops: 0,
    xid: 0x1000 + n,
    secs: 0,
    broadcast: false,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr: mac(n),
    sname: "",
    file: "",
    options: { messageType: type, ...options },
    ...extra,
  });
}

const parse = (r: DhcpServerReply | undefined) => {
  assert.ok(r, "expected a reply");
  return parseDhcpMessage(r.payload);
};

/** DISCOVER + REQUEST for client n; returns the address bound. */
function lease(s: DhcpServer, n: number, now = 0): number {
  const offer = parse(s.handle(request(T.DISCOVER, n), now));
  const ack = parse(
    s.handle(
      request(T.REQUEST, n, { serverId: SERVER, requestedAddress: offer.yiaddr }),
      now,
    ),
  );
  assert.equal(ack.options.messageType, T.ACK);
  return ack.yiaddr;
}

Deno.test("dhcp server: DISCOVER -> OFFER with the configured options", () => {
  const s = server();
  const r = s.handle(request(T.DISCOVER, 1, { parameterRequestList: [1, 3, 6, 15, 26, 28] }), 0);
  const m = parse(r);
  assert.equal(m.op, 2);
  assert.equal(m.xid, 0x1001);
  assert.equal(m.yiaddr, POOL_START);
  assert.deepEqual(m.chaddr, mac(1));
  assert.deepEqual(m.options, {
    messageType: T.OFFER,
    serverId: SERVER,
    leaseTime: 600,
    renewalTime: 300,
    rebindingTime: 525,
    subnetMask: 0xffffff00,
    routers: [SERVER],
    dnsServers: [0x0a000203],
    domainName: "usernet.test",
    mtu: 1500,
    broadcastAddress: 0x0a0002ff,
  });
  // No BROADCAST flag, no ciaddr: unicast to yiaddr at the client's MAC (RFC 2131 §4.1).
  assert.deepEqual(
    { destination: r!.destination, port: r!.port, broadcast: r!.broadcast },
    { destination: POOL_START, port: 68, broadcast: false },
  );
  assert.deepEqual(r!.mac, mac(1));
  // Only what was asked for.
  const few = parse(s.handle(request(T.DISCOVER, 2, { parameterRequestList: [1] }), 0));
  assert.equal(few.options.routers, undefined);
  assert.equal(few.options.subnetMask, 0xffffff00);
});

Deno.test("dhcp server: reply addressing follows the BROADCAST flag, ciaddr and giaddr", () => {
  const s = server();
  const b = s.handle(request(T.DISCOVER, 1, {}, { broadcast: true }), 0)!;
  assert.deepEqual([b.destination, b.port, b.broadcast], [0xffffffff, 68, true]);
  assert.equal(parseDhcpMessage(b.payload).broadcast, true);
  const relayed = s.handle(request(T.DISCOVER, 2, {}, { giaddr: 0x0a000201, hops: 1 }), 0)!;
  assert.deepEqual([relayed.destination, relayed.port, relayed.broadcast], [0x0a000201, 67, false]);
  const a = lease(s, 3);
  const renew = s.handle(request(T.REQUEST, 3, {}, { ciaddr: a }), 1000)!;
  assert.deepEqual([renew.destination, renew.port, renew.broadcast], [a, 68, false]);
  const nak = s.handle(request(T.REQUEST, 4, { requestedAddress: 0x0b000001 }), 0)!;
  assert.equal(parseDhcpMessage(nak.payload).options.messageType, T.NAK);
  assert.deepEqual([nak.destination, nak.broadcast], [0xffffffff, true], "NAKs are broadcast");
});

Deno.test("dhcp server: REQUEST after OFFER -> ACK; the same client keeps its address", () => {
  const s = server();
  const a = lease(s, 1, 0);
  assert.equal(a, POOL_START);
  const [l] = s.leases(0);
  assert.deepEqual({ address: l.address, state: l.state, expiresAt: l.expiresAt }, {
    address: a,
    state: "bound",
    expiresAt: 600_000,
  });
  // Rediscovering gets the same address, even after expiry when nobody took it.
  assert.equal(parse(s.handle(request(T.DISCOVER, 1), 10)).yiaddr, a);
  assert.equal(parse(s.handle(request(T.DISCOVER, 1), 10_000_000)).yiaddr, a);
  // A second client gets the next address.
  assert.equal(lease(s, 2), POOL_START + 1);
});

Deno.test("dhcp server: REQUEST for another server's offer withdraws ours, silently", () => {
  const s = server();
  const offer = parse(s.handle(request(T.DISCOVER, 1), 0));
  const r = s.handle(
    request(T.REQUEST, 1, { serverId: 0x0a000299, requestedAddress: offer.yiaddr }),
    0,
  );
  assert.equal(r, undefined);
  assert.equal(s.leases(0).length, 0);
  // Requesting an address we did not offer is NAKed.
  const nak = parse(
    s.handle(request(T.REQUEST, 2, { serverId: SERVER, requestedAddress: POOL_START + 2 }), 0),
  );
  assert.equal(nak.options.messageType, T.NAK);
  assert.equal(nak.yiaddr, 0);
  assert.match(nak.options.message!, /not offered/);
});

Deno.test("dhcp server: pool exhaustion, offer hold expiry, lease expiry reuse", () => {
  const s = server({ offerHoldMs: 1000 });
  for (const n of [1, 2, 3]) lease(s, n, 0);
  assert.equal(s.handle(request(T.DISCOVER, 4), 0), undefined, "pool full: no offer");
  // Offers expire.
  const s2 = server({ offerHoldMs: 1000 });
  for (const n of [1, 2, 3]) s2.handle(request(T.DISCOVER, n), 0);
  assert.equal(s2.handle(request(T.DISCOVER, 4), 999), undefined);
  assert.ok(s2.handle(request(T.DISCOVER, 4), 1000), "after the hold, an offer is reusable");
  // Expired leases are reclaimed for new clients.
  assert.equal(parse(s.handle(request(T.DISCOVER, 5), 600_000)).options.messageType, T.OFFER);
});

Deno.test("dhcp server: static reservations by MAC", () => {
  const s = server({
    reservations: [{ mac: "52:54:00:00:00:07", address: "10.0.2.50", hostname: "seven" }, {
      mac: mac(8),
      address: POOL_START,
    }],
  });
  const m = parse(s.handle(request(T.DISCOVER, 7, { parameterRequestList: [1, 12] }), 0));
  assert.equal(m.yiaddr, 0x0a000232);
  assert.equal(m.options.hostname, "seven");
  // The reserved pool address is never given to someone else.
  assert.equal(parse(s.handle(request(T.DISCOVER, 1), 0)).yiaddr, POOL_START + 1);
  assert.equal(lease(s, 8), POOL_START);
  assert.throws(
    () => server({ reservations: [{ mac: "52:54:00:00:00:07", address: "10.9.9.9" }] }),
    DhcpConfigError,
  );
  assert.throws(
    () => server({ reservations: [{ mac: "nope", address: "10.0.2.9" }] }),
    DhcpConfigError,
  );
});

Deno.test("dhcp server: INIT-REBOOT requests are ACKed or NAKed (RFC 2131 §4.3.2)", () => {
  const s = server();
  const a = lease(s, 1);
  const ok = parse(s.handle(request(T.REQUEST, 1, { requestedAddress: a }), 1000));
  assert.equal(ok.options.messageType, T.ACK);
  const taken = parse(s.handle(request(T.REQUEST, 2, { requestedAddress: a }), 1000));
  assert.equal(taken.options.messageType, T.NAK);
  const wrongNet = parse(s.handle(request(T.REQUEST, 2, { requestedAddress: 0xc0a80105 }), 0));
  assert.equal(wrongNet.options.messageType, T.NAK);
  const free = parse(s.handle(request(T.REQUEST, 3, { requestedAddress: POOL_START + 2 }), 0));
  assert.equal(free.options.messageType, T.ACK, "authoritative: a free pool address is granted");
  const quiet = server({ authoritative: false });
  assert.equal(quiet.handle(request(T.REQUEST, 2, { requestedAddress: POOL_START }), 0), undefined);
});

Deno.test("dhcp server: RENEW extends, unknown RENEW is NAKed", () => {
  const s = server();
  const a = lease(s, 1, 0);
  const renew = parse(s.handle(request(T.REQUEST, 1, {}, { ciaddr: a }), 300_000));
  assert.equal(renew.options.messageType, T.ACK);
  assert.equal(renew.ciaddr, a);
  assert.equal(s.leases(0)[0].expiresAt, 900_000);
  const stranger = parse(s.handle(request(T.REQUEST, 2, {}, { ciaddr: a }), 300_000));
  assert.equal(stranger.options.messageType, T.NAK);
});

Deno.test("dhcp server: DECLINE marks the address bad for a while", () => {
  const s = server({ declineHoldMs: 60_000 });
  const a = lease(s, 1, 0);
  assert.equal(
    s.handle(request(T.DECLINE, 1, { requestedAddress: a, serverId: SERVER }), 1000),
    undefined,
  );
  assert.equal(s.leases(1000).length, 0);
  assert.equal(parse(s.handle(request(T.DISCOVER, 1), 2000)).yiaddr, POOL_START + 1);
  assert.equal(parse(s.handle(request(T.DISCOVER, 2), 2000)).yiaddr, POOL_START + 2);
  // After the hold the address is offered again.
  assert.equal(parse(s.handle(request(T.DISCOVER, 3), 61_000)).yiaddr, a);
  // A DECLINE from a client that does not hold the address is ignored.
  const s2 = server();
  const b = lease(s2, 1, 0);
  s2.handle(request(T.DECLINE, 2, { requestedAddress: b, serverId: SERVER }), 0);
  assert.equal(s2.leases(0).length, 1);
});

Deno.test("dhcp server: RELEASE frees the address but remembers the client", () => {
  const s = server();
  const a = lease(s, 1, 0);
  s.handle(request(T.RELEASE, 1, { serverId: SERVER }, { ciaddr: a }), 100);
  assert.equal(s.leases(100)[0].state, "released");
  assert.equal(parse(s.handle(request(T.DISCOVER, 1), 200)).yiaddr, a, "same client, same address");
  const s2 = server({ poolEnd: "10.0.2.15" });
  const only = lease(s2, 1, 0);
  s2.handle(request(T.RELEASE, 1, {}, { ciaddr: only }), 100);
  assert.equal(parse(s2.handle(request(T.DISCOVER, 2), 200)).yiaddr, only, "reusable by others");
});

Deno.test("dhcp server: INFORM gets configuration without a lease", () => {
  const s = server();
  const r = s.handle(request(T.INFORM, 9, {}, { ciaddr: 0x0a000263 }), 0)!;
  const m = parseDhcpMessage(r.payload);
  assert.equal(m.options.messageType, T.ACK);
  assert.equal(m.yiaddr, 0);
  assert.equal(m.options.leaseTime, undefined);
  assert.deepEqual(m.options.dnsServers, [0x0a000203]);
  assert.equal(r.destination, 0x0a000263);
  assert.equal(s.handle(request(T.INFORM, 9), 0), undefined, "INFORM needs ciaddr");
});

Deno.test("dhcp server: ignores replies, garbage, unknown types; config errors", () => {
  const s = server();
  assert.equal(s.handle(request(T.OFFER, 1), 0), undefined);
  assert.equal(s.handle(request(T.DISCOVER, 1, {}, { op: 2 }), 0), undefined);
  assert.equal(s.handle(new Uint8Array(300), 0), undefined);
  assert.throws(() => server({ poolStart: "10.0.2.20", poolEnd: "10.0.2.10" }), /empty/);
  assert.throws(() => server({ poolStart: "10.0.3.1", poolEnd: "10.0.3.9" }), /subnet/);
  assert.throws(
    () => server({ prefixLength: 8, poolStart: "10.0.0.1", poolEnd: "10.2.0.1" }),
    /larger/,
  );
});
