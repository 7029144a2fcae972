/**
 * IPv4 multicast through whole stacks on a memory link: joinMulticastV4, group filtering at the
 * Ethernet and IPv4 layers, sending to groups (MAC mapping, TTL, loopback), and IGMP on the wire.
 */
import assert from "node:assert/strict";
import { MemoryLink, type MemoryNic } from "../drivers/memory.ts";
import type { Nic } from "../drivers/nic.ts";
import { Stack, type StackOptions } from "./stack.ts";
import { AddressInUse, Closed, InvalidArgument } from "./errors.ts";
import { GroupLimitReached } from "./igmp.ts";
import { formatIpv4Address, formatMac } from "./wire/address.ts";
import { WireError } from "./wire/errors.ts";
import { ETHERTYPE_IPV4, parseEthernet, writeEthernetHeader } from "./wire/ethernet.ts";
import { parseIpv4, PROTOCOL_UDP } from "./wire/ipv4.ts";
import { parseUdp } from "./wire/udp.ts";
import {
  hasRouterAlert,
  IGMP_LEAVE_GROUP,
  IGMP_MEMBERSHIP_QUERY,
  IGMP_V2_MEMBERSHIP_REPORT,
  ipv4MulticastMac,
  parseIgmp,
  PROTOCOL_IGMP,
  writeIgmp,
  writeRouterAlertIpv4Header,
} from "./wire/igmp.ts";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** What a test needs to know about a frame a stack sent. */
interface Seen {
  mac: string;
  to: string;
  ttl: number;
  protocol: number;
  routerAlert: boolean;
  igmp?: { type: number; group: string };
  udp?: { port: number; data: string };
}

function describe(frame: Uint8Array): Seen | undefined {
  const eth = parseEthernet(frame);
  if (eth instanceof WireError || eth.etherType !== ETHERTYPE_IPV4) return undefined;
  const ip = parseIpv4(eth.payload);
  if (ip instanceof WireError) return undefined;
  const seen: Seen = {
    mac: formatMac(frame),
    to: formatIpv4Address(ip.destination),
    ttl: ip.ttl,
    protocol: ip.protocol,
    routerAlert: hasRouterAlert(ip.options),
  };
  if (ip.protocol === PROTOCOL_IGMP) {
    const m = parseIgmp(ip.payload);
    if (!(m instanceof WireError)) seen.igmp = { type: m.type, group: formatIpv4Address(m.group) };
  } else if (ip.protocol === PROTOCOL_UDP) {
    const u = parseUdp(ip.payload, ip.source, ip.destination);
    if (!(u instanceof WireError)) seen.udp = { port: u.destinationPort, data: str(u.payload) };
  }
  return seen;
}

/** A NIC that keeps a copy of every frame it transmits. */
function recording(nic: Nic): { nic: Nic; sent: Uint8Array[]; seen(): Seen[] } {
  const sent: Uint8Array[] = [];
  return {
    sent,
    seen: () => sent.map(describe).filter((s) => s !== undefined),
    nic: {
      name: nic.name,
      mac: nic.mac,
      mtu: nic.mtu,
      features: nic.features,
      receive: () => nic.receive(),
      transmit(frames) {
        for (const f of frames) sent.push(f.data.slice());
        nic.transmit(frames);
      },
      stats: () => nic.stats(),
      close: () => nic.close(),
    },
  };
}

/** Test IGMP timing: repeats 40 ms after a join, delays at half their maximum. */
const QUICK_IGMP = { unsolicitedReportIntervalMs: 80, random: () => 0.5 };

/** Stacks A (10.0.0.1) and B (10.0.0.2) on a memory link, each NIC recording what it sends. */
function twoStacks(options: Partial<StackOptions> = {}) {
  const [a, b] = MemoryLink.pair();
  const ra = recording(a);
  const rb = recording(b);
  const left = new Stack({ nic: ra.nic, address: "10.0.0.1/24", igmp: QUICK_IGMP, ...options });
  const right = new Stack({ nic: rb.nic, address: "10.0.0.2/24", igmp: QUICK_IGMP, ...options });
  return {
    left,
    right,
    leftSent: ra,
    rightSent: rb,
    close: () => Promise.all([left.close(), right.close()]),
  };
}

async function until(what: string, predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("multicast: B joins 239.1.2.3 and receives A's datagram, sent to the group MAC with TTL 1 and no ARP", async () => {
  const { left, right, leftSent, close } = twoStacks();
  const receiver = right.listenDatagram({ port: 5000 });
  const membership = await receiver.joinMulticastV4("239.1.2.3", "0.0.0.0");
  assert.equal(membership.group, "239.1.2.3");
  const sender = left.listenDatagram({ port: 4000 });
  assert.equal(await sender.send(text("to the group"), { hostname: "239.1.2.3", port: 5000 }), 12);
  const [data, from] = await receiver.receive();
  assert.equal(str(data), "to the group");
  assert.deepEqual(from, { transport: "udp", hostname: "10.0.0.1", port: 4000 });
  const udp = leftSent.seen().filter((s) => s.udp);
  assert.deepEqual(udp, [{
    mac: "01:00:5e:01:02:03",
    to: "239.1.2.3",
    ttl: 1,
    protocol: PROTOCOL_UDP,
    routerAlert: false,
    udp: { port: 5000, data: "to the group" },
  }]);
  assert.deepEqual(left.neighbors(), [], "no ARP for a group");
  assert.equal(right.stats().udp.packetsIn, 1);
  sender.close();
  receiver.close();
  await close();
});

Deno.test("multicast: groups B did not join are dropped and counted; 224.0.0.1 is always taken", async () => {
  const { left, right, close } = twoStacks();
  const receiver = right.listenDatagram({ port: 5000 });
  const membership = await receiver.joinMulticastV4("239.1.2.3", "10.0.0.2");
  const sender = left.listenDatagram({});
  const send = (group: string, data: string) =>
    sender.send(text(data), { hostname: group, port: 5000 });
  await send("239.1.2.4", "other MAC"); // 01:00:5e:01:02:04: not joined
  await send("239.129.2.3", "same MAC, other group"); // 01:00:5e:01:02:03 too
  await send("224.0.0.1", "all hosts");
  await send("239.1.2.3", "joined");
  assert.equal(str((await receiver.receive())[0]), "all hosts");
  assert.equal(str((await receiver.receive())[0]), "joined");
  const drops = right.stats().drops;
  assert.equal(drops["ethernet/multicast"], 1);
  assert.equal(drops["ipv4/multicast-not-joined"], 1);
  // After leaving, the group's frames are dropped at the Ethernet layer again.
  await membership.leave();
  await send("239.1.2.3", "after leave");
  await send("224.0.0.1", "marker");
  assert.equal(str((await receiver.receive())[0]), "marker");
  assert.equal(right.stats().drops["ethernet/multicast"], 2);
  // No port unreachable for multicast (RFC 1122 §3.2.2).
  await sender.send(text("nobody"), { hostname: "224.0.0.1", port: 5999 });
  await send("224.0.0.1", "marker 2");
  assert.equal(str((await receiver.receive())[0]), "marker 2");
  assert.equal(right.stats().drops["udp/no-socket"], 1);
  assert.equal(right.stats().icmp.errorsOut, 0);
  sender.close();
  receiver.close();
  await close();
});

Deno.test("multicast: a socket bound to a unicast address does not receive; one bound to the group does; reuseAddress sockets each get a copy", async () => {
  const { left, right, close } = twoStacks();
  const unicast = right.listenDatagram({ port: 5000, hostname: "10.0.0.2" });
  const onGroup = right.listenDatagram({ port: 5000, hostname: "239.1.2.3" });
  // The unicast-bound socket joins: the stack takes the group, but that socket does not get it.
  await unicast.joinMulticastV4("239.1.2.3", "0.0.0.0");
  const sender = left.listenDatagram({});
  await sender.send(text("group"), { hostname: "239.1.2.3", port: 5000 });
  assert.equal(str((await onGroup.receive())[0]), "group");
  await sender.send(text("unicast"), { hostname: "10.0.0.2", port: 5000 });
  assert.equal(str((await unicast.receive())[0]), "unicast");
  // Two receivers on one port with reuseAddress; a third without is refused.
  const first = right.listenDatagram({ port: 6000, reuseAddress: true });
  const second = right.listenDatagram({ port: 6000, reuseAddress: true });
  assert.throws(() => right.listenDatagram({ port: 6000 }), AddressInUse);
  await second.joinMulticastV4("239.1.2.3", "0.0.0.0");
  await sender.send(text("to both"), { hostname: "239.1.2.3", port: 6000 });
  const [a, b] = await Promise.all([first.receive(), second.receive()]);
  assert.equal(str(a[0]), "to both");
  assert.equal(str(b[0]), "to both");
  assert.notEqual(a[0].buffer, b[0].buffer, "each socket has its own bytes");
  for (const s of [unicast, onGroup, first, second, sender]) s.close();
  await close();
});

Deno.test("multicast: setLoopback(true) delivers our own datagrams to our joined sockets; setTTL sets the TTL", async () => {
  const { left, right, rightSent, close } = twoStacks();
  const socket = right.listenDatagram({ port: 7000 });
  const membership = await socket.joinMulticastV4("239.1.2.3", "0.0.0.0");
  const other = left.listenDatagram({});
  // Loopback off (the default, as Deno's): our datagram goes out, not to us.
  await socket.send(text("not looped"), { hostname: "239.1.2.3", port: 7000 });
  await other.send(text("from A"), { hostname: "239.1.2.3", port: 7000 });
  assert.equal(str((await socket.receive())[0]), "from A");
  await membership.setLoopback(true);
  await socket.send(text("looped"), { hostname: "239.1.2.3", port: 7000 });
  const [data, from] = await socket.receive();
  assert.equal(str(data), "looped");
  assert.deepEqual(from, { transport: "udp", hostname: "10.0.0.2", port: 7000 });
  await membership.setTTL(5);
  await socket.send(text("ttl 5"), { hostname: "239.1.2.3", port: 7000 });
  await membership.setTtl(9);
  await socket.send(text("ttl 9"), { hostname: "239.1.2.3", port: 7000 });
  await socket.send(text("ttl 3"), { hostname: "239.1.2.3", port: 7000 }, { ttl: 3 });
  await socket.send(text("unicast"), { hostname: "10.0.0.1", port: 9 });
  await until(
    "the unicast datagram (after ARP)",
    () => rightSent.seen().some((s) => s.udp?.data === "unicast"),
  );
  await assert.rejects(membership.setTTL(256), InvalidArgument);
  await assert.rejects(membership.setTTL(1.5), InvalidArgument);
  const sent = rightSent.seen().filter((s) => s.udp).map((s) => [s.udp!.data, s.ttl, s.mac]);
  assert.deepEqual(sent, [
    ["not looped", 1, "01:00:5e:01:02:03"],
    ["looped", 1, "01:00:5e:01:02:03"],
    ["ttl 5", 5, "01:00:5e:01:02:03"],
    ["ttl 9", 9, "01:00:5e:01:02:03"],
    ["ttl 3", 3, "01:00:5e:01:02:03"],
    ["unicast", 64, formatMac(left.nic.mac)],
  ]);
  // The `loopback` listen option sets it from the start.
  const looping = right.listenDatagram({ port: 7001, loopback: true });
  await looping.joinMulticastV4("239.1.2.3", "0.0.0.0");
  await looping.send(text("option"), { hostname: "239.1.2.3", port: 7001 });
  assert.equal(str((await looping.receive())[0]), "option");
  // TTL 0 stays on this host (RFC 1112 §6.1): the loopback copy only, nothing on the wire.
  const leftUdpBefore = left.stats().udp.packetsIn;
  await looping.send(text("ttl 0"), { hostname: "239.1.2.3", port: 7001 }, { ttl: 0 });
  assert.equal(str((await looping.receive())[0]), "ttl 0");
  assert.ok(!rightSent.seen().some((s) => s.udp?.data === "ttl 0"), "a TTL-0 datagram left");
  assert.equal(left.stats().udp.packetsIn, leftUdpBefore);
  socket.close();
  looping.close();
  other.close();
  await close();
});

Deno.test("multicast: IGMP on the wire — two reports on join, Leave Group on the last leave, with Router Alert and TTL 1", async () => {
  const { right, rightSent, close } = twoStacks();
  const s1 = right.listenDatagram({ port: 5000 });
  const s2 = right.listenDatagram({ port: 5001 });
  const m1 = await s1.joinMulticastV4("239.1.2.3", "0.0.0.0");
  await s2.joinMulticastV4("239.1.2.3", "10.0.0.2"); // a second join: no new report
  const igmp = () => rightSent.seen().filter((s) => s.igmp);
  const report = {
    mac: "01:00:5e:01:02:03",
    to: "239.1.2.3",
    ttl: 1,
    protocol: PROTOCOL_IGMP,
    routerAlert: true,
    igmp: { type: IGMP_V2_MEMBERSHIP_REPORT, group: "239.1.2.3" },
  };
  await until("the repeated report", () => igmp().length >= 2);
  assert.deepEqual(igmp(), [report, report]);
  assert.deepEqual(right.multicastGroups(), [
    { group: "239.1.2.3", state: "idle", lastReporter: true },
  ]);
  await m1.leave();
  await m1.leave(); // again: nothing
  assert.equal(igmp().length, 2, "s2 is still in the group");
  s2.close(); // closing leaves the socket's groups
  const leave = {
    mac: "01:00:5e:00:00:02",
    to: "224.0.0.2",
    ttl: 1,
    protocol: PROTOCOL_IGMP,
    routerAlert: true,
    igmp: { type: IGMP_LEAVE_GROUP, group: "239.1.2.3" },
  };
  await until("the leave", () => igmp().length >= 3);
  assert.deepEqual(igmp(), [report, report, leave]);
  const counted = right.stats().igmp;
  assert.deepEqual(
    [counted.packetsOut, counted.reportsOut, counted.leavesOut, counted.bytesOut],
    [3, 2, 1, 24],
  );
  assert.deepEqual(right.multicastGroups(), []);
  // Closing the stack leaves what is still joined.
  await s1.joinMulticastV4("239.9.9.9", "0.0.0.0");
  await close();
  assert.deepEqual(igmp().slice(3).map((s) => [s.to, s.igmp!.type]), [
    ["239.9.9.9", IGMP_V2_MEMBERSHIP_REPORT],
    ["224.0.0.2", IGMP_LEAVE_GROUP],
  ]);
});

Deno.test("multicast: groups joined before the stack had an address are reported again from it", async () => {
  const [a, b] = MemoryLink.pair();
  const rb = recording(b);
  const stack = new Stack({ nic: rb.nic, igmp: QUICK_IGMP });
  try {
    const socket = stack.listenDatagram({ port: 5000 });
    await socket.joinMulticastV4("239.1.2.3", "0.0.0.0");
    /** Source addresses of the IGMP reports sent so far. */
    const reportSources = () =>
      rb.sent.flatMap((frame) => {
        const eth = parseEthernet(frame);
        if (eth instanceof WireError || eth.etherType !== ETHERTYPE_IPV4) return [];
        const ip = parseIpv4(eth.payload);
        return ip instanceof WireError || ip.protocol !== PROTOCOL_IGMP
          ? []
          : [formatIpv4Address(ip.source)];
      });
    await until("both reports from 0.0.0.0", () => reportSources().length >= 2);
    assert.deepEqual(reportSources(), ["0.0.0.0", "0.0.0.0"]);
    stack.setIpv4({ address: "10.0.0.2", prefixLength: 24 });
    await until("reports from the new address", () => reportSources().length >= 4);
    assert.deepEqual(reportSources(), ["0.0.0.0", "0.0.0.0", "10.0.0.2", "10.0.0.2"]);
    socket.close();
  } finally {
    await stack.close();
    a.close();
  }
});

Deno.test("multicast: joinMulticastV4 checks its arguments (Deno's shape, typed errors)", async () => {
  const [a, b] = MemoryLink.pair();
  const stack = new Stack({ nic: b, address: "10.0.0.2/24", igmp: { maxGroups: 2 } });
  const socket = stack.listenDatagram({ port: 5000 });
  const m: Deno.MulticastV4Membership = await socket.joinMulticastV4("239.1.2.3", "10.0.0.2");
  await assert.rejects(socket.joinMulticastV4("239.1.2.3", "0.0.0.0"), AddressInUse);
  await assert.rejects(socket.joinMulticastV4("239.1.2.4", "10.0.0.9"), InvalidArgument);
  await assert.rejects(socket.joinMulticastV4("10.0.0.1", "0.0.0.0"), InvalidArgument);
  await assert.rejects(socket.joinMulticastV4("239.1.2", "0.0.0.0"), InvalidArgument);
  await socket.joinMulticastV4("239.1.2.4", "0.0.0.0");
  await assert.rejects(socket.joinMulticastV4("239.1.2.5", "0.0.0.0"), GroupLimitReached);
  // Another socket's join of a joined group takes no new place.
  const other = stack.listenDatagram({ port: 5001 });
  await other.joinMulticastV4("239.1.2.4", "0.0.0.0");
  await m.leave();
  await socket.joinMulticastV4("239.1.2.5", "0.0.0.0");
  assert.deepEqual(stack.multicastGroups().map((g) => g.group), ["239.1.2.4", "239.1.2.5"]);
  socket.close();
  await assert.rejects(socket.joinMulticastV4("239.1.2.6", "0.0.0.0"), Closed);
  assert.deepEqual(stack.multicastGroups().map((g) => g.group), ["239.1.2.4"]);
  other.close();
  await stack.close();
  a.close();
});

/** Plays a host or router on the far end of a stack's memory link (10.0.0.1, raw frames). */
function farEnd(nic: MemoryNic) {
  const frames: Uint8Array[] = [];
  (async () => {
    for (;;) {
      const batch = await nic.receive();
      if (!batch) return;
      for (const f of batch) frames.push(f.data);
    }
  })();
  return {
    /** IGMP messages the stack sent so far: [type, group]. */
    igmp: () =>
      frames.map(describe).filter((s) => s?.igmp).map((s) => [s!.igmp!.type, s!.igmp!.group]),
    /** Sends an IGMP message from 10.0.0.1 to `destination`; `corrupt` breaks its checksum. */
    send(type: number, maxResponse: number, group: number, destination: number, corrupt = false) {
      const frame = new Uint8Array(14 + 24 + 8);
      writeEthernetHeader(frame, 0, ipv4MulticastMac(destination), nic.mac, ETHERTYPE_IPV4);
      writeRouterAlertIpv4Header(frame, 14, {
        source: 0x0a000001,
        destination,
        protocol: PROTOCOL_IGMP,
        payloadLength: 8,
        identification: 0,
        ttl: 1,
      });
      writeIgmp(frame, 38, type, maxResponse, group);
      if (corrupt) frame[45] ^= 0xff;
      nic.transmit([{ data: frame }]);
    },
  };
}

Deno.test("multicast: the stack answers a router's queries after a delay, and another host's report suppresses its own", async () => {
  const [a, b] = MemoryLink.pair();
  const stack = new Stack({
    nic: b,
    address: "10.0.0.2/24",
    igmp: { unsolicitedReportCount: 1, random: () => 0.5 },
  });
  const router = farEnd(a);
  const G = 0xef010203;
  const socket = stack.listenDatagram({ port: 5000 });
  await socket.joinMulticastV4("239.1.2.3", "0.0.0.0");
  await until("the join's report", () => router.igmp().length === 1);
  // A general query with Max Resp Time 0.4 s: answered after 0.2 s (random 0.5).
  const asked = performance.now();
  router.send(IGMP_MEMBERSHIP_QUERY, 4, 0, 0xe0000001);
  await until("the answer", () => router.igmp().length === 2);
  const waited = performance.now() - asked;
  assert.ok(waited >= 150 && waited < 1000, `answered after ${waited.toFixed(0)} ms`);
  assert.deepEqual(router.igmp()[1], [IGMP_V2_MEMBERSHIP_REPORT, "239.1.2.3"]);
  // A group-specific query (0.6 s); another host reports first: the stack keeps quiet.
  router.send(IGMP_MEMBERSHIP_QUERY, 6, G, G);
  router.send(IGMP_V2_MEMBERSHIP_REPORT, 0, G, G);
  await until("the report taken", () => stack.multicastGroups()[0].lastReporter === false);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(router.igmp().length, 2);
  assert.deepEqual(stack.multicastGroups(), [
    { group: "239.1.2.3", state: "idle", lastReporter: false },
  ]);
  // A bad checksum is counted and dropped.
  router.send(IGMP_MEMBERSHIP_QUERY, 1, 0, 0xe0000001, true);
  await until("the drop", () => stack.stats().drops["igmp/bad-checksum"] === 1);
  const counted = stack.stats().igmp;
  assert.deepEqual([counted.packetsIn, counted.queriesIn], [3, 2], "two queries and a report");
  // Not the last reporter: leaving sends no Leave Group.
  socket.close();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(router.igmp().length, 2);
  await stack.close();
  a.close();
});
