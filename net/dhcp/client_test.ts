import assert from "node:assert/strict";
import { seededRandom } from "../dns/_test_util.ts";
import {
  BROADCAST,
  describeLease,
  DhcpClient,
  type DhcpClientOptions,
  type DhcpClientOutput,
  type DhcpClientSend,
  type DhcpLease,
} from "./client.ts";
import { DhcpConfigError } from "./errors.ts";
import { type DhcpMessage, parseDhcpMessage, serializeDhcpMessage } from "./message.ts";
import { DhcpMessageType as T, type DhcpOptions } from "./options.ts";

const MAC = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);
const SERVER = 0x0a000202; // 10.0.2.2
const OTHER_SERVER = 0x0a000209;
const ADDRESS = 0x0a00020f; // 10.0.2.15

/** A client on a virtual clock, with a hand-written server answering its messages. */
class ClientTest {
  now = 0;
  readonly c: DhcpClient;
  out!: DhcpClientOutput;
  constructor(opts: Partial<DhcpClientOptions> = {}) {
    this.c = new DhcpClient({ mac: MAC, random: () => 0.5, hostname: "vm1", ...opts });
  }
  start(): DhcpClientOutput {
    this.c.start(this.now);
    return this.poll();
  }
  poll(): DhcpClientOutput {
    this.out = this.c.poll(this.now);
    return this.out;
  }
  at(t: number): DhcpClientOutput {
    this.now = t;
    return this.poll();
  }
  sent(): { send: DhcpClientSend; m: DhcpMessage } {
    assert.equal(this.out.send.length, 1, `expected one message, got ${this.out.send.length}`);
    return { send: this.out.send[0], m: parseDhcpMessage(this.out.send[0].payload) };
  }
  /** Delivers a server reply to the client's last message. */
  reply(
    to: DhcpMessage,
    type: number,
    options: DhcpOptions = {},
    extra: Partial<DhcpMessage> = {},
  ) {
    const reply: DhcpMessage = {
      ...to,
      op: 2,
      yiaddr: type === T.NAK ? 0 : ADDRESS,
      options: {
        messageType: type,
        serverId: SERVER,
        ...(type === T.NAK ? {} : {
          leaseTime: 3600,
          subnetMask: 0xffffff00,
          routers: [SERVER],
          dnsServers: [0x0a000203],
          domainName: "usernet.test",
          mtu: 1500,
        }),
        ...options,
      },
      ...extra,
    };
    this.c.receive(serializeDhcpMessage(reply), this.now);
    return this.poll();
  }
  /** DISCOVER -> OFFER -> REQUEST -> ACK -> probe -> BOUND, at the current time. */
  bind(ackOptions: DhcpOptions = {}): DhcpLease {
    this.start();
    const discover = this.sent().m;
    this.reply(discover, T.OFFER);
    const request = this.sent().m;
    this.reply(request, T.ACK, ackOptions);
    if (this.c.state === "CHECKING") {
      this.c.probeResult(ADDRESS, false, this.now);
      this.poll();
    }
    assert.equal(this.c.state, "BOUND");
    return this.c.lease!;
  }
}

Deno.test("dhcp client: DISCOVER, OFFER, REQUEST, ACK, ARP probe, BOUND (RFC 2131 §3.1)", () => {
  const t = new ClientTest();
  t.start();
  assert.equal(t.c.state, "SELECTING");
  const { send, m: discover } = t.sent();
  assert.deepEqual(
    { broadcast: send.broadcast, source: send.source, destination: send.destination },
    { broadcast: true, source: 0, destination: BROADCAST },
  );
  assert.equal(send.sourcePort, 68);
  assert.equal(send.destinationPort, 67);
  assert.equal(discover.options.messageType, T.DISCOVER);
  assert.equal(discover.broadcast, true);
  assert.deepEqual(discover.chaddr, MAC);
  assert.deepEqual(discover.options.clientId, Uint8Array.of(1, ...MAC));
  assert.equal(discover.options.hostname, "vm1");
  for (const code of [1, 3, 6, 12, 15, 26, 51, 58, 59]) {
    assert.ok(discover.options.parameterRequestList?.includes(code), `asks for option ${code}`);
  }
  t.now = 300;
  t.reply(discover, T.OFFER);
  assert.equal(t.c.state, "REQUESTING");
  const request = t.sent().m;
  assert.equal(request.options.messageType, T.REQUEST);
  assert.equal(request.xid, discover.xid, "REQUEST keeps the DISCOVER's xid");
  assert.equal(request.options.serverId, SERVER);
  assert.equal(request.options.requestedAddress, ADDRESS);
  assert.equal(request.ciaddr, 0);
  assert.equal(t.sent().send.broadcast, true);
  t.now = 500;
  const out = t.reply(request, T.ACK);
  assert.equal(t.c.state, "CHECKING");
  assert.deepEqual(out.probes, [ADDRESS]);
  assert.equal(out.events.length, 0, "not acquired before the probe");
  t.now = 1500;
  t.c.probeResult(ADDRESS, false, t.now);
  const bound = t.poll();
  assert.equal(t.c.state, "BOUND");
  assert.equal(bound.events.length, 1);
  const e = bound.events[0];
  assert.equal(e.type, "acquired");
  const lease = t.c.lease!;
  assert.equal(
    describeLease(lease),
    "10.0.2.15/24 via 10.0.2.2 dns 10.0.2.3 domain usernet.test mtu 1500 (3600 s from 10.0.2.2)",
  );
  // The lease started when the REQUEST was sent (300), T1 = 1800 s, T2 = 3150 s.
  assert.equal(lease.obtainedAt, 300);
  assert.equal(lease.expiresAt, 300 + 3_600_000);
  assert.equal(lease.renewalTime, 1800);
  assert.equal(lease.rebindingTime, 3150);
  assert.equal(bound.deadline, 300 + 1_800_000);
});

Deno.test("dhcp client: DISCOVER retransmits at 4, 8, 16, 32, 64, 64 s, each ±1 s (RFC 2131 §4.1)", () => {
  for (const [r, jitter] of [[0, -1000], [0.5, 0], [0.999999, 1000]] as const) {
    const t = new ClientTest({ random: () => r });
    t.start();
    const xid = t.sent().m.xid;
    let at = 0;
    for (const base of [4000, 8000, 16000, 32000, 64000, 64000]) {
      const next = at + base + jitter;
      assert.ok(Math.abs(t.out.deadline! - next) < 1, `deadline ${t.out.deadline} vs ${next}`);
      assert.equal(t.at(Math.ceil(next) - 1).send.length, 0);
      t.at(Math.ceil(next));
      const m = t.sent().m;
      assert.equal(m.options.messageType, T.DISCOVER);
      assert.equal(m.xid, xid, "same transaction");
      assert.equal(m.secs, Math.floor(Math.ceil(next) / 1000), "secs since the start");
      at = Math.ceil(next);
    }
  }
});

Deno.test("dhcp client: jitter stays within ±1 s with a seeded random source", () => {
  const t = new ClientTest({ random: seededRandom(3) });
  t.start();
  let sentAt = 0;
  for (const base of [4000, 8000, 16000, 32000, 64000]) {
    const delay = t.out.deadline! - sentAt;
    assert.ok(delay >= base - 1000 && delay <= base + 1000, `${delay} around ${base}`);
    sentAt = t.out.deadline!;
    t.at(sentAt);
  }
});

Deno.test("dhcp client: replies for another xid, MAC or op are ignored", () => {
  const t = new ClientTest();
  t.start();
  const discover = t.sent().m;
  t.reply(discover, T.OFFER, {}, { xid: discover.xid + 1 });
  t.reply(discover, T.OFFER, {}, { chaddr: Uint8Array.of(2, 2, 2, 2, 2, 2) });
  t.reply(discover, T.OFFER, {}, { op: 1 });
  t.reply(discover, T.OFFER, {}, { yiaddr: 0x7f000001 });
  t.reply(discover, T.ACK); // an ACK while SELECTING
  t.c.receive(new Uint8Array(100), t.now);
  assert.equal(t.c.state, "SELECTING");
  const offer = t.reply(discover, T.OFFER, { serverId: undefined });
  assert.equal(offer.send.length, 0, "an OFFER without server id is ignored");
  assert.equal(t.c.state, "SELECTING");
});

Deno.test("dhcp client: REQUEST retransmits, then starts over with DISCOVER", () => {
  const t = new ClientTest({ maxRequestAttempts: 3, random: seededRandom(5) });
  t.start();
  t.reply(t.sent().m, T.OFFER);
  const xid = t.sent().m.xid;
  t.at(t.out.deadline!);
  assert.equal(t.sent().m.options.messageType, T.REQUEST);
  t.at(t.out.deadline!);
  assert.equal(t.sent().m.options.messageType, T.REQUEST);
  t.at(t.out.deadline!);
  const m = t.sent().m;
  assert.equal(m.options.messageType, T.DISCOVER);
  assert.notEqual(m.xid, xid, "a new transaction");
  assert.equal(t.c.state, "SELECTING");
});

Deno.test("dhcp client: NAK while REQUESTING goes back to INIT (DISCOVER)", () => {
  const t = new ClientTest();
  t.start();
  t.reply(t.sent().m, T.OFFER);
  const request = t.sent().m;
  t.reply(request, T.NAK, { serverId: OTHER_SERVER });
  assert.equal(t.c.state, "REQUESTING", "a NAK from another server is ignored");
  const out = t.reply(request, T.NAK, { message: "no" });
  assert.equal(t.c.state, "SELECTING");
  assert.equal(t.sent().m.options.messageType, T.DISCOVER);
  assert.equal(out.events.length, 0);
  // A second NAK in a row backs off before the next DISCOVER.
  t.reply(t.sent().m, T.OFFER);
  t.reply(t.sent().m, T.NAK);
  assert.equal(t.c.state, "INIT");
  assert.equal(t.out.send.length, 0);
  assert.equal(t.out.deadline, t.now + 4000);
  t.at(t.now + 4000);
  assert.equal(t.sent().m.options.messageType, T.DISCOVER);
});

Deno.test("dhcp client: ARP conflict -> DECLINE, wait 10 s, DISCOVER again (RFC 5227, RFC 2131 §3.1)", () => {
  const t = new ClientTest();
  t.start();
  t.reply(t.sent().m, T.OFFER);
  const out = t.reply(t.sent().m, T.ACK);
  assert.deepEqual(out.probes, [ADDRESS]);
  t.now = 2000;
  t.c.probeResult(0x0a000299, true, t.now); // a result for some other address: ignored
  assert.equal(t.c.state, "CHECKING");
  t.c.probeResult(ADDRESS, true, t.now);
  t.poll();
  const { send, m } = t.sent();
  assert.equal(m.options.messageType, T.DECLINE);
  assert.equal(m.options.requestedAddress, ADDRESS);
  assert.equal(m.options.serverId, SERVER);
  assert.equal(m.ciaddr, 0);
  assert.equal(send.broadcast, true);
  assert.deepEqual(t.out.events, [{ type: "declined", address: ADDRESS, serverId: SERVER }]);
  assert.equal(t.c.state, "DECLINED");
  assert.equal(t.c.lease, undefined);
  assert.equal(t.out.deadline, 12000);
  assert.equal(t.at(11999).send.length, 0);
  t.at(12000);
  assert.equal(t.sent().m.options.messageType, T.DISCOVER);
});

Deno.test("dhcp client: an unanswered probe counts as no conflict", () => {
  const t = new ClientTest({ probeTimeoutMs: 3000 });
  t.start();
  t.reply(t.sent().m, T.OFFER);
  t.reply(t.sent().m, T.ACK);
  assert.equal(t.out.deadline, 3000);
  const out = t.at(3000);
  assert.equal(t.c.state, "BOUND");
  assert.equal(out.events[0].type, "acquired");
  const noProbe = new ClientTest({ probe: false });
  noProbe.start();
  noProbe.reply(noProbe.sent().m, T.OFFER);
  const bound = noProbe.reply(noProbe.sent().m, T.ACK);
  assert.equal(bound.probes.length, 0);
  assert.equal(noProbe.c.state, "BOUND");
});

Deno.test("dhcp client: RENEWING at T1 unicasts to the server; ACK renews", () => {
  const t = new ClientTest();
  const lease = t.bind();
  const t1 = lease.obtainedAt + 1_800_000;
  assert.equal(t.at(t1 - 1).send.length, 0);
  t.at(t1);
  assert.equal(t.c.state, "RENEWING");
  const { send, m } = t.sent();
  assert.deepEqual(
    { broadcast: send.broadcast, source: send.source, destination: send.destination },
    { broadcast: false, source: ADDRESS, destination: SERVER },
  );
  assert.equal(m.ciaddr, ADDRESS);
  assert.equal(m.broadcast, false);
  assert.equal(m.options.serverId, undefined, "no server id when renewing (RFC 2131 Table 5)");
  assert.equal(m.options.requestedAddress, undefined);
  // Retransmission: half the time to T2, at least 60 s. T2 - T1 = 1350 s -> 675 s.
  assert.equal(t.out.deadline, t1 + 675_000);
  t.at(t1 + 675_000);
  const again = t.sent().m;
  assert.equal(again.xid, m.xid);
  t.now = t1 + 700_000;
  const out = t.reply(again, T.ACK);
  assert.equal(t.c.state, "BOUND");
  assert.equal(out.events[0].type, "renewed");
  assert.equal(t.c.lease!.obtainedAt, t1, "the renewal runs from the first RENEW request");
  assert.equal(out.deadline, t1 + 1_800_000);
});

Deno.test("dhcp client: a renewal with new settings is reported as changed", () => {
  const t = new ClientTest();
  const lease = t.bind();
  t.at(lease.obtainedAt + 1_800_000);
  const out = t.reply(t.sent().m, T.ACK, { dnsServers: [0x01010101] });
  const e = out.events[0];
  assert.equal(e.type, "changed");
  assert.ok(
    e.type === "changed" && e.previous.dns[0] === 0x0a000203 && e.lease.dns[0] === 0x01010101,
  );
});

Deno.test("dhcp client: REBINDING at T2 broadcasts; expiry takes the address down", () => {
  const t = new ClientTest();
  const lease = t.bind();
  const t1 = lease.obtainedAt + 1_800_000, t2 = lease.obtainedAt + 3_150_000;
  const expiry = lease.expiresAt;
  t.at(t1);
  let at = t1;
  while (t.out.deadline! < t2) at = t.out.deadline!, t.at(at);
  assert.equal(t.out.deadline, t2);
  t.at(t2);
  assert.equal(t.c.state, "REBINDING");
  const { send, m } = t.sent();
  assert.deepEqual(
    { broadcast: send.broadcast, source: send.source, destination: send.destination },
    { broadcast: true, source: ADDRESS, destination: BROADCAST },
  );
  assert.equal(m.ciaddr, ADDRESS);
  // Half the time to expiry (225 s), at least 60 s: 225 s, then 112.5 s, then 60 s steps.
  assert.equal(t.out.deadline, t2 + 225_000);
  while (t.out.deadline! < expiry) t.at(t.out.deadline!);
  assert.equal(t.out.deadline, expiry);
  const out = t.at(expiry);
  assert.equal(out.events[0].type, "lost");
  assert.ok(out.events[0].type === "lost" && out.events[0].reason === "expired");
  assert.equal(t.c.lease, undefined);
  assert.equal(t.c.state, "SELECTING");
  assert.equal(t.sent().m.options.messageType, T.DISCOVER);
});

Deno.test("dhcp client: REBINDING is answered by any server", () => {
  const t = new ClientTest();
  const lease = t.bind();
  t.at(lease.obtainedAt + 3_150_000);
  assert.equal(t.c.state, "REBINDING");
  const out = t.reply(t.sent().m, T.ACK, { serverId: OTHER_SERVER });
  assert.equal(t.c.state, "BOUND");
  assert.equal(t.c.lease!.serverId, OTHER_SERVER);
  assert.equal(out.events[0].type, "renewed");
});

Deno.test("dhcp client: NAK while RENEWING loses the lease", () => {
  const t = new ClientTest();
  const lease = t.bind();
  t.at(lease.obtainedAt + 1_800_000);
  const out = t.reply(t.sent().m, T.NAK);
  assert.ok(out.events[0].type === "lost" && out.events[0].reason === "nak");
  assert.equal(t.c.state, "SELECTING");
});

Deno.test("dhcp client: INIT-REBOOT with a remembered lease (RFC 2131 §3.2)", () => {
  const first = new ClientTest();
  const lease = first.bind();
  const t = new ClientTest({ previousLease: lease });
  t.now = 600_000;
  t.start();
  assert.equal(t.c.state, "REBOOTING");
  const { send, m } = t.sent();
  assert.equal(m.options.messageType, T.REQUEST);
  assert.equal(m.options.requestedAddress, ADDRESS);
  assert.equal(m.options.serverId, undefined);
  assert.equal(m.ciaddr, 0);
  assert.equal(send.broadcast, true);
  t.reply(m, T.ACK);
  assert.equal(t.c.state, "CHECKING");
  t.c.probeResult(ADDRESS, false, t.now);
  assert.equal(t.poll().events[0].type, "acquired");
  // An expired remembered lease goes through DISCOVER, suggesting the old address.
  const late = new ClientTest({ previousLease: lease });
  late.now = lease.expiresAt;
  late.start();
  const d = late.sent().m;
  assert.equal(d.options.messageType, T.DISCOVER);
  assert.equal(d.options.requestedAddress, ADDRESS);
  // NAK on reboot: forget the old address, DISCOVER.
  const nak = new ClientTest({ previousLease: lease });
  nak.start();
  nak.reply(nak.sent().m, T.NAK);
  const again = nak.sent().m;
  assert.equal(again.options.messageType, T.DISCOVER);
  assert.equal(again.options.requestedAddress, undefined);
});

Deno.test("dhcp client: T1/T2 from the server, defaults when absent or inconsistent, infinite lease", () => {
  const t = new ClientTest();
  const l = t.bind({ leaseTime: 1000, renewalTime: 100, rebindingTime: 200 });
  assert.deepEqual([l.renewalTime, l.rebindingTime], [100, 200]);
  const bad = new ClientTest().bind({ leaseTime: 1000, renewalTime: 900, rebindingTime: 5000 });
  assert.deepEqual([bad.renewalTime, bad.rebindingTime], [500, 875]);
  const inf = new ClientTest();
  const l2 = inf.bind({ leaseTime: 0xffffffff });
  assert.equal(l2.expiresAt, Infinity);
  assert.equal(inf.out.deadline, undefined);
  const classful = new ClientTest().bind({ subnetMask: undefined });
  assert.equal(classful.prefixLength, 8, "10/8 when no mask is given");
});

Deno.test("dhcp client: release unicasts DHCPRELEASE and stops", () => {
  const t = new ClientTest();
  t.bind();
  t.c.release(t.now);
  const out = t.poll();
  const m = parseDhcpMessage(out.send[0].payload);
  assert.equal(m.options.messageType, T.RELEASE);
  assert.equal(m.ciaddr, ADDRESS);
  assert.equal(m.options.serverId, SERVER);
  assert.equal(out.send[0].destination, SERVER);
  assert.ok(out.events[0].type === "lost" && out.events[0].reason === "released");
  assert.equal(t.c.state, "STOPPED");
  assert.equal(out.deadline, undefined);
});

Deno.test("dhcp client: rejects a MAC of the wrong size", () => {
  assert.throws(
    () => new DhcpClient({ mac: new Uint8Array(5), random: Math.random }),
    DhcpConfigError,
  );
});
