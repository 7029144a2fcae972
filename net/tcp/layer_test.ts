/**
 * The TCP layer in a real stack, driven by hand-made segments from a raw peer on a memory link:
 * RSTs for segments that belong to no connection, a listener's half-open connections and RST,
 * SYN cookies when the SYN queue is full.
 */
import assert from "node:assert/strict";
import { MemoryLink } from "../../drivers/memory.ts";
import { Stack } from "../stack.ts";
import { TcpFlags } from "../wire/tcp.ts";
import { RawTcpPeer } from "./_test_raw_peer.ts";
import { seqAdd } from "./seq.ts";
import { Aborted } from "../errors.ts";

const { SYN, RST, ACK } = TcpFlags;

function setup() {
  const [a, b] = MemoryLink.pair();
  const stack = new Stack({ nic: a, address: "10.0.0.1/24" });
  const peer = new RawTcpPeer(b, stack.mac);
  return {
    stack,
    peer,
    async close() {
      await stack.close();
      peer.close();
    },
  };
}

Deno.test("layer: a SYN to a closed port draws RST|ACK acknowledging it (RFC 9293 §3.10.7.1)", async () => {
  const { stack, peer, close } = setup();
  peer.send({ sourcePort: 5555, destinationPort: 81, seq: 1000, flags: "SYN" });
  const rst = await peer.expect((s) => (s.flags & RST) !== 0, "RST");
  assert.equal(rst.flags, RST | ACK);
  assert.equal(rst.seq, 0);
  assert.equal(rst.ack, 1001);
  assert.equal(rst.destinationPort, 5555);
  assert.equal(stack.stats().drops["tcp/no-connection"], 1);
  await close();
});

Deno.test("layer: an ACK for no connection draws RST with seq = its ACK; an RST draws nothing", async () => {
  const { stack, peer, close } = setup();
  peer.send({
    sourcePort: 5555,
    destinationPort: 81,
    seq: 1000,
    ack: 777,
    flags: "ACK",
    payload: new Uint8Array(10),
  });
  const rst = await peer.expect((s) => (s.flags & RST) !== 0, "RST");
  assert.equal(rst.flags, RST);
  assert.equal(rst.seq, 777);
  peer.send({ sourcePort: 5555, destinationPort: 81, seq: 1000, flags: "RST" });
  peer.send({ sourcePort: 5555, destinationPort: 81, seq: 2000, ack: 5, flags: "ACK" });
  const second = await peer.expect((s) => (s.flags & RST) !== 0, "RST for the second ACK");
  assert.equal(second.seq, 5, "the RST itself was not answered");
  assert.equal(stack.stats().tcp.resetsOut, 2);
  await close();
});

Deno.test("layer: an RST at a listener's half-open connection removes it", async () => {
  const { stack, peer, close } = setup();
  const listener = stack.listen({ port: 80 });
  peer.send({
    sourcePort: 4000,
    destinationPort: 80,
    seq: 5000,
    flags: "SYN",
    options: { maxSegmentSize: 1460 },
  });
  const synAck = await peer.expect((s) => s.flags === (SYN | ACK), "SYN-ACK");
  assert.equal(synAck.ack, 5001);
  assert.equal(stack.tcpConnections().length, 1);
  assert.equal(stack.tcpConnections()[0].state, "SYN-RECEIVED");
  assert.equal(listener.halfOpen, 1);
  peer.send({ sourcePort: 4000, destinationPort: 80, seq: 5001, flags: "RST" });
  // The half-open connection is gone: the handshake's ACK now finds no connection.
  peer.send({
    sourcePort: 4000,
    destinationPort: 80,
    seq: 5001,
    ack: seqAdd(synAck.seq, 1),
    flags: "ACK",
  });
  const rst = await peer.expect((s) => (s.flags & RST) !== 0, "RST for the late ACK");
  assert.equal(rst.seq, seqAdd(synAck.seq, 1));
  assert.equal(stack.tcpConnections().length, 0);
  assert.equal(listener.halfOpen, 0);
  // The listener still works.
  peer.send({
    sourcePort: 4001,
    destinationPort: 80,
    seq: 9000,
    flags: "SYN",
    options: { maxSegmentSize: 1460 },
  });
  const again = await peer.expect(
    (s) => s.flags === (SYN | ACK) && s.destinationPort === 4001,
    "SYN-ACK",
  );
  peer.send({
    sourcePort: 4001,
    destinationPort: 80,
    seq: 9001,
    ack: seqAdd(again.seq, 1),
    flags: "ACK",
    payload: new TextEncoder().encode("hi"),
  });
  const conn = await listener.accept();
  const buffer = new Uint8Array(10);
  assert.equal(await conn.read(buffer), 2);
  conn.close();
  listener.close();
  await close();
});

Deno.test("layer: a full SYN queue answers with SYN cookies; the cookie's ACK is accepted", async () => {
  const { stack, peer, close } = setup();
  const listener = stack.listen({ port: 80, synQueueLength: 1 });
  peer.send({
    sourcePort: 4000,
    destinationPort: 80,
    seq: 100,
    flags: "SYN",
    options: { maxSegmentSize: 1460 },
  });
  await peer.expect((s) => s.flags === (SYN | ACK) && s.destinationPort === 4000, "SYN-ACK");
  peer.send({
    sourcePort: 4001,
    destinationPort: 80,
    seq: 200,
    flags: "SYN",
    options: { maxSegmentSize: 1200 },
  });
  const cookie = await peer.expect(
    (s) => s.flags === (SYN | ACK) && s.destinationPort === 4001,
    "cookie SYN-ACK",
  );
  assert.equal(stack.tcpConnections().length, 1, "no state kept for the cookie");
  assert.equal(cookie.options.windowScale, undefined);
  peer.send({
    sourcePort: 4001,
    destinationPort: 80,
    seq: 201,
    ack: seqAdd(cookie.seq, 1),
    flags: "ACK",
    payload: new TextEncoder().encode("cookie"),
  });
  const conn = await listener.accept();
  assert.equal(conn.remoteAddr.port, 4001);
  const buffer = new Uint8Array(10);
  const n = await conn.read(buffer);
  assert.equal(new TextDecoder().decode(buffer.subarray(0, n!)), "cookie");
  // A forged cookie is refused.
  peer.send({ sourcePort: 4002, destinationPort: 80, seq: 301, ack: 12345, flags: "ACK" });
  const rst = await peer.expect((s) => (s.flags & RST) !== 0 && s.destinationPort === 4002, "RST");
  assert.equal(rst.seq, 12345);
  conn.close();
  listener.close();
  await close();
});

Deno.test("layer: connect aborted in SYN-SENT (the peer never answers) rejects with Aborted and leaves nothing behind", async () => {
  // A virtual clock: SYN retransmission timers fire only when the test moves time.
  let now = 0;
  const [a, b] = MemoryLink.pair();
  const stack = new Stack({ nic: a, address: "10.0.0.1/24", clock: () => now });
  const peer = new RawTcpPeer(b, stack.mac); // answers ARP, drops every SYN
  try {
    const abort = new AbortController();
    const connecting = stack.connect({
      hostname: "10.0.0.2",
      port: 80,
      localPort: 40000,
      signal: abort.signal,
    });
    // A control connection to another port, never aborted: it shows the timers do run.
    const control = new AbortController();
    const controlConnecting = stack.connect({
      hostname: "10.0.0.2",
      port: 81,
      localPort: 40001,
      signal: control.signal,
    });
    controlConnecting.catch(() => {}); // asserted below; no unhandled rejection if a check fails
    const fromPort = (port: number) => (s: { sourcePort: number }) => s.sourcePort === port;
    const syn = await peer.expect((s) => fromPort(40000)(s) && s.flags === SYN, "SYN");
    await peer.expect((s) => fromPort(40001)(s) && s.flags === SYN, "control SYN");
    assert.deepEqual(
      stack.tcpConnections().map((c) => c.state),
      ["SYN-SENT", "SYN-SENT"],
    );

    abort.abort();
    const error = await connecting.then(() => undefined, (e) => e);
    assert.ok(error instanceof Aborted, `expected Aborted, got ${error}`);
    assert.equal(error.code, "ECONNABORTED");
    assert.equal(error.message, "connect to 10.0.0.2:80 aborted");
    assert.deepEqual(stack.tcpConnections().map((c) => c.remote), ["10.0.0.2:81"]);

    // Past several SYN retransmission timeouts: the control's SYN goes again, the aborted
    // connection sends nothing more (and no RST: RFC 9293 §3.10.5, ABORT in SYN-SENT).
    const retransmitsBefore = stack.stats().tcp.retransmits;
    now += 10_000;
    // Wake the stack with a SYN to a closed port; its RST comes in the same flush as any due
    // retransmission, so once it is here everything the timers sent is here too.
    peer.send({ sourcePort: 5555, destinationPort: 9, seq: 1, flags: "SYN" });
    await peer.expect((s) => s.destinationPort === 5555 && (s.flags & RST) !== 0, "RST");
    await peer.expect((s) => fromPort(40001)(s) && s.flags === SYN, "control SYN again");
    assert.deepEqual(peer.segments.filter(fromPort(40000)), [], "nothing from the aborted one");
    assert.ok(stack.stats().tcp.retransmits > retransmitsBefore);
    assert.equal(stack.stats().tcp.resetsOut, 1, "only the closed port's RST");

    // The aborted connection's tuple is free again: the same local port connects anew.
    const again = new AbortController();
    const reconnecting = stack.connect({
      hostname: "10.0.0.2",
      port: 80,
      localPort: 40000,
      signal: again.signal,
    });
    const second = await peer.expect((s) => fromPort(40000)(s) && s.flags === SYN, "new SYN");
    assert.notEqual(second.seq, syn.seq, "a new connection, not the old one revived");
    again.abort();
    await assert.rejects(reconnecting, Aborted);
    control.abort();
    await assert.rejects(controlConnecting, Aborted);
    assert.deepEqual(stack.tcpConnections(), []);

    // A signal that is already aborted rejects at once and keeps nothing either.
    await assert.rejects(
      stack.connect({ hostname: "10.0.0.2", port: 82, signal: AbortSignal.abort() }),
      Aborted,
    );
    assert.deepEqual(stack.tcpConnections(), []);
    assert.equal(stack.stats().tcp.activeOpens, 4);
  } finally {
    await stack.close();
    peer.close();
  }
});
