import assert from "node:assert/strict";
import {
  type EchoSocket,
  type EchoTransport,
  EchoUnavailable,
  ICMP_ECHO_UNAVAILABLE,
  IcmpEchoProxy,
  pingSocketTransport,
} from "./icmp_echo_proxy.ts";
import { hostNetwork } from "./host_network.ts";
import { parseIpv4Address } from "../wire/address.ts";
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, parseIcmpv4, writeIcmpEcho } from "../wire/icmpv4.ts";
import { PROTOCOL_ICMP } from "../wire/ipv4.ts";
import { TimedOut } from "../errors.ts";
import { WireError } from "../wire/errors.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const GUEST = parseIpv4Address("10.0.2.15")!;
const OTHER_GUEST = parseIpv4Address("10.0.2.16")!;
const FAR = parseIpv4Address("192.0.2.7")!; // TEST-NET-1: only ever a fake here
const FAR2 = parseIpv4Address("198.51.100.9")!;

function echo(type: number, identifier: number, sequence: number, data: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(8 + data.length);
  writeIcmpEcho(bytes, 0, type, identifier, sequence, data);
  return bytes;
}

interface FakeSocket extends EchoSocket {
  /** The identifier "the kernel" gave this socket. */
  hostId: number;
  sent: { destination: number; message: Uint8Array }[];
  closed: boolean;
  /** Delivers a message as if it arrived on this socket. */
  deliver(source: number, message: Uint8Array): void;
}

/**
 * Ping sockets as the kernel does them, in memory: each socket has its own identifier, which
 * replaces the request's; `echoing` answers every request from its destination.
 */
function fakeTransport(options: { echoing?: boolean; openError?: () => Error | undefined } = {}) {
  const sockets: FakeSocket[] = [];
  let opens = 0;
  const transport: EchoTransport = {
    open(onReply) {
      opens++;
      const error = options.openError?.();
      if (error) throw error;
      const socket: FakeSocket = {
        hostId: 40000 + sockets.length,
        sent: [],
        closed: false,
        send(destination, message) {
          if (socket.closed) return false;
          socket.sent.push({ destination, message: message.slice() });
          if (options.echoing) {
            const request = parseIcmpv4(message.slice());
            assert.ok(!(request instanceof WireError));
            const reply = echo(ICMP_ECHO_REPLY, socket.hostId, request.sequence, request.payload);
            queueMicrotask(() => socket.deliver(destination, reply));
          }
          return true;
        },
        close() {
          socket.closed = true;
        },
        deliver(source, message) {
          if (!socket.closed) onReply(source, message);
        },
      };
      sockets.push(socket);
      return socket;
    },
    close() {
      for (const s of sockets) s.closed = true;
      return Promise.resolve();
    },
  };
  return { transport, sockets, opens: () => opens };
}

interface Delivered {
  source: number;
  destination: number;
  identifier: number;
  sequence: number;
  data: Uint8Array;
}

function proxy(
  transport: () => EchoTransport,
  options: { maxFlows?: number; idleTimeout?: number } = {},
) {
  const inside: Delivered[] = [];
  const logs: string[] = [];
  const table = new IcmpEchoProxy({
    sendInside: (source, destination, identifier, sequence, data) =>
      inside.push({ source, destination, identifier, sequence, data: data.slice() }),
    // 10.0.2.0/24 is the LAN: not forwarded.
    mapDestination: (d) => (d >>> 8) === (GUEST >>> 8) ? undefined : d,
    transport,
    log: (line) => logs.push(line),
    ...options,
  });
  return { table, inside, logs };
}

Deno.test("icmp echo proxy: one socket per (guest, identifier, destination); replies get the guest's identifier, sequence and data back", async () => {
  const fake = fakeTransport();
  const { table, inside } = proxy(() => fake.transport);
  const data = crypto.getRandomValues(new Uint8Array(56));
  const request = echo(ICMP_ECHO_REQUEST, 0x1234, 7, data);
  assert.equal(table.outbound(GUEST, FAR, request), true);
  assert.equal(fake.sockets.length, 1);
  assert.deepEqual(fake.sockets[0].sent, [{ destination: FAR, message: request }]);
  // The same flow again: same socket.
  assert.equal(table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 0x1234, 8, data)), true);
  assert.equal(fake.sockets.length, 1);
  // Another identifier, another destination, another guest: a socket each.
  table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 0x4321, 1, data));
  table.outbound(GUEST, FAR2, echo(ICMP_ECHO_REQUEST, 0x1234, 1, data));
  table.outbound(OTHER_GUEST, FAR, echo(ICMP_ECHO_REQUEST, 0x1234, 1, data));
  assert.equal(fake.sockets.length, 4);
  assert.equal(table.size, 4);
  assert.equal(table.forwarded, 5);

  // The kernel's identifier on the reply becomes the guest's again.
  const socket = fake.sockets[0];
  socket.deliver(FAR, echo(ICMP_ECHO_REPLY, socket.hostId, 7, data));
  socket.deliver(FAR, echo(ICMP_ECHO_REPLY, socket.hostId, 8, data));
  fake.sockets[3].deliver(FAR, echo(ICMP_ECHO_REPLY, fake.sockets[3].hostId, 1, data));
  assert.deepEqual(inside, [
    { source: FAR, destination: GUEST, identifier: 0x1234, sequence: 7, data },
    { source: FAR, destination: GUEST, identifier: 0x1234, sequence: 8, data },
    { source: FAR, destination: OTHER_GUEST, identifier: 0x1234, sequence: 1, data },
  ]);
  assert.equal(table.replies, 3);
  assert.equal(table.dropped, 0);
  await table.close();
  assert.ok(fake.sockets.every((s) => s.closed));
});

Deno.test("icmp echo proxy: stray replies are dropped — another source, not an echo reply, a closed flow", async () => {
  const fake = fakeTransport();
  const { table, inside } = proxy(() => fake.transport, { idleTimeout: 1000 });
  table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 1, 1, new Uint8Array(8)));
  const socket = fake.sockets[0];
  socket.deliver(FAR2, echo(ICMP_ECHO_REPLY, socket.hostId, 1, new Uint8Array(8)));
  socket.deliver(FAR, echo(ICMP_ECHO_REQUEST, socket.hostId, 1, new Uint8Array(8)));
  socket.deliver(FAR, new Uint8Array(4));
  assert.equal(inside.length, 0);
  assert.equal(table.dropped, 3);
  table.sweep(Date.now() + 1000);
  assert.equal(table.size, 0);
  assert.ok(socket.closed);
  await table.close();
});

Deno.test("icmp echo proxy: not taken — replies, other types, LAN destinations; a bad checksum is dropped", async () => {
  const fake = fakeTransport();
  const { table } = proxy(() => fake.transport);
  assert.equal(table.outbound(GUEST, FAR, echo(ICMP_ECHO_REPLY, 1, 1, new Uint8Array(4))), false);
  const timestamp = new Uint8Array(20);
  timestamp[0] = 13;
  assert.equal(table.outbound(GUEST, FAR, timestamp), false);
  assert.equal(table.outbound(GUEST, FAR, new Uint8Array([8, 0, 0])), false);
  const lan = parseIpv4Address("10.0.2.99")!;
  assert.equal(table.outbound(GUEST, lan, echo(ICMP_ECHO_REQUEST, 1, 1, new Uint8Array(4))), false);
  const bad = echo(ICMP_ECHO_REQUEST, 1, 1, new Uint8Array(4));
  bad[9] ^= 1;
  assert.equal(table.outbound(GUEST, FAR, bad), true);
  const coded = new Uint8Array(12);
  writeIcmpEcho(coded, 0, ICMP_ECHO_REQUEST, 1, 1, new Uint8Array(4));
  coded[1] = 1; // code 1: checksum now wrong too, either way not forwarded
  assert.equal(table.outbound(GUEST, FAR, coded), true);
  assert.equal(table.dropped, 2);
  assert.equal(fake.opens(), 0);
  await table.close();
});

Deno.test("icmp echo proxy: bounded — flows beyond the limit are dropped and counted; idle flows expire and make room", async () => {
  const fake = fakeTransport();
  const { table } = proxy(() => fake.transport, { maxFlows: 2, idleTimeout: 10_000 });
  const data = new Uint8Array(8);
  table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 1, 1, data));
  table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 2, 1, data));
  for (let i = 0; i < 5; i++) {
    assert.equal(table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 3 + i, 1, data)), true);
  }
  assert.equal(table.size, 2);
  assert.equal(fake.sockets.length, 2);
  assert.equal(table.dropped, 5);
  // Existing flows keep working.
  table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 1, 2, data));
  assert.equal(fake.sockets[0].sent.length, 2);
  assert.equal(table.forwarded, 3);
  // Idle: both close, and a new flow gets a socket.
  table.sweep(Date.now() + 10_000);
  assert.equal(table.size, 0);
  assert.ok(fake.sockets.every((s) => s.closed));
  table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 9, 1, data));
  assert.equal(fake.sockets.length, 3);
  assert.equal(table.size, 1);
  await table.close();
});

Deno.test("icmp echo proxy: no transport (e.g. no FFI permission) — every request dropped, the reason logged once", async () => {
  let made = 0;
  const { table, logs, inside } = proxy(() => {
    made++;
    throw new EchoUnavailable("no FFI permission: run with --allow-ffi", true);
  });
  for (let i = 0; i < 3; i++) {
    assert.equal(
      table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 1, i, new Uint8Array(8))),
      true,
    );
  }
  assert.equal(made, 1);
  assert.equal(logs.length, 1);
  assert.ok(logs[0].includes(ICMP_ECHO_UNAVAILABLE), logs[0]);
  assert.match(logs[0], /no FFI permission/);
  assert.equal(table.unavailable, "no FFI permission: run with --allow-ffi");
  assert.equal(table.dropped, 3);
  assert.equal(inside.length, 0);
  await table.close();
});

Deno.test("icmp echo proxy: socket() refused for good (EACCES) is logged once and not retried; a passing failure is retried", async () => {
  const refused = fakeTransport({
    openError: () => new EchoUnavailable("ping socket: Permission denied", true),
  });
  const a = proxy(() => refused.transport);
  for (let i = 0; i < 3; i++) {
    a.table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, i, 1, new Uint8Array(8)));
  }
  assert.equal(refused.opens(), 1);
  assert.equal(a.logs.length, 1);
  assert.match(a.logs[0], /Permission denied/);
  assert.equal(a.table.dropped, 3);
  await a.table.close();

  let fail = true;
  const flaky = fakeTransport({
    openError: () =>
      fail ? new EchoUnavailable("ping socket: Too many open files", false) : undefined,
  });
  const b = proxy(() => flaky.transport);
  b.table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 1, 1, new Uint8Array(8)));
  fail = false;
  b.table.outbound(GUEST, FAR, echo(ICMP_ECHO_REQUEST, 1, 2, new Uint8Array(8)));
  assert.equal(flaky.opens(), 2);
  assert.equal(b.logs.length, 0);
  assert.equal(b.table.dropped, 1);
  assert.equal(b.table.forwarded, 1);
  await b.table.close();
});

Deno.test({
  name:
    "icmp echo proxy: ping sockets without the FFI permission are quietly unavailable (no prompt)",
  permissions: { ffi: false },
  fn: () => {
    assert.throws(
      () => pingSocketTransport(),
      (e: unknown) => e instanceof EchoUnavailable && e.permanent && /--allow-ffi/.test(e.message),
    );
  },
});

Deno.test({
  name:
    "gateway: a guest's ping to an outside address goes through the echo transport and comes back whole (checksums checked by the guest)",
  ...opts,
  fn: async () => {
    const fake = fakeTransport({ echoing: true });
    const logs: string[] = [];
    const net = await hostNetwork({
      gateway: {
        icmpEchoTransport: () => fake.transport,
        maxIcmpFlows: 4,
        log: (line) => logs.push(line),
      },
    });
    // Watch what reaches the guest's ICMP layer.
    const iface = net.stack._iface;
    const icmpInput = iface.handlers.get(PROTOCOL_ICMP)!;
    const seen: { from: number; identifier: number; sequence: number; data: Uint8Array }[] = [];
    iface.handlers.set(PROTOCOL_ICMP, (packet, now) => {
      const m = parseIcmpv4(packet.payload);
      if (!(m instanceof WireError) && m.type === ICMP_ECHO_REPLY) {
        seen.push({
          from: packet.source,
          identifier: m.identifier,
          sequence: m.sequence,
          data: m.payload.slice(),
        });
      }
      icmpInput(packet, now);
    });
    try {
      for (const [sequence, size] of [[1, 56], [2, 0], [3, 1400], [4, 3000]]) {
        const reply = await net.stack.ping("192.0.2.7", { sequence, size, timeout: 2000 });
        assert.equal(reply.from, "192.0.2.7");
        assert.equal(reply.sequence, sequence);
        assert.equal(reply.bytes, 8 + size);
      }
      assert.deepEqual(
        seen.map((s) => [s.from, s.sequence, s.data.length]),
        [[FAR, 1, 56], [FAR, 2, 0], [FAR, 3, 1400], [FAR, 4, 3000]],
      );
      for (const s of seen) {
        assert.deepEqual(s.data, Uint8Array.from({ length: s.data.length }, (_, i) => i & 0xff));
      }
      // One flow, one socket; the requests reached it with the guest's identifier and sequence.
      assert.equal(fake.sockets.length, 1);
      assert.deepEqual(fake.sockets[0].sent.map((s) => s.destination), [FAR, FAR, FAR, FAR]);
      // The gateway's own address is answered by the gateway, a LAN address by nobody.
      assert.equal((await net.stack.ping("10.0.2.2")).from, "10.0.2.2");
      await assert.rejects(net.stack.ping("10.0.2.99", { timeout: 200 }), TimedOut);
      assert.equal(fake.sockets.length, 1);
      const stats = net.gateway.stats();
      assert.equal(stats.icmpEchoFlows, 1);
      assert.equal(stats.icmpEchoForwarded, 4);
      assert.equal(stats.icmpEchoReplies, 4);
      assert.equal(stats.icmpEchoDropped, 0);
      assert.deepEqual(logs, []);
    } finally {
      await net.close();
    }
    assert.ok(fake.sockets.every((s) => s.closed));
  },
});

Deno.test({
  name:
    "gateway: without ping sockets a ping to an outside address times out and the gateway says why once; icmpEcho: false leaves it alone",
  ...opts,
  fn: async () => {
    const logs: string[] = [];
    const net = await hostNetwork({
      gateway: {
        icmpEchoTransport: () => {
          throw new EchoUnavailable("no FFI permission: run with --allow-ffi", true);
        },
        log: (line) => logs.push(line),
      },
    });
    try {
      await assert.rejects(net.stack.ping("192.0.2.7", { timeout: 200 }), TimedOut);
      await assert.rejects(net.stack.ping("192.0.2.8", { timeout: 200 }), TimedOut);
      assert.equal(logs.length, 1);
      assert.ok(logs[0].includes(ICMP_ECHO_UNAVAILABLE));
      assert.equal(net.gateway.stats().icmpEchoDropped, 2);
    } finally {
      await net.close();
    }

    let made = 0;
    const off = await hostNetwork({
      gateway: {
        icmpEcho: false,
        icmpEchoTransport: () => {
          made++;
          return fakeTransport({ echoing: true }).transport;
        },
      },
    });
    try {
      await assert.rejects(off.stack.ping("192.0.2.7", { timeout: 200 }), TimedOut);
      assert.equal(made, 0);
      assert.equal((await off.stack.ping("10.0.2.2")).from, "10.0.2.2");
    } finally {
      await off.close();
    }
  },
});
