/**
 * Flow control and timers in the control block: zero windows and persist probes, silly window
 * avoidance on both sides, Nagle, delayed ACKs, window scaling, keepalive and the user timeout.
 * Times are virtual; SRTT is 100 ms and the RTO 300 ms after the test bench's handshake.
 */
import assert from "node:assert/strict";
import { tcpTest } from "./_test_harness.ts";

const MSS = 1460;

// ---------------------------------------------------------------------------- zero window

Deno.test("zero window: nothing is sent; persist probes back off; data flows when it opens", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ window: 0 }).expectNothingSent();
  t.send("queued").expectNothingSent();
  // Probes carry an old sequence number so the peer answers with its window (RFC 9293
  // §3.8.6.1); the interval starts at the RTO and doubles.
  t.advance(299).expectNothingSent();
  t.advance(1).expectSent({ seq: t.localSeq(-1), ack: t.remoteSeq(0) });
  t.advance(599).expectNothingSent();
  t.advance(1).expectSent({ seq: t.localSeq(-1) });
  t.advance(1200).expectSent({ seq: t.localSeq(-1) });
  t.receive({ window: 0 }).expectNothingSent(); // the answer: still closed
  t.advance(2400).expectSent({ seq: t.localSeq(-1) });
  t.receive({ window: 65535 }).expectSent({ seq: t.localSeq(0), payload: "queued" });
  t.receive({ ack: t.localSeq(6) });
  assert.equal(t.tcb.nextDeadline(), Infinity, "no probes once the window is open");
});

Deno.test("zero window: the persist interval is capped at 60 s and never gives up", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ window: 0 });
  t.send("x");
  t.advance(10 * 60_000);
  const probes = t.takeSent().length;
  assert.ok(probes >= 10 && probes <= 20, `${probes} probes in 10 minutes`);
  t.advance(60_000).expectSent({ seq: t.localSeq(-1) });
  t.expectState("ESTABLISHED");
});

Deno.test("zero window: a probe's answer that opens the window lets data out at once", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send(new Uint8Array(MSS)).expectSent({ length: MSS });
  t.receive({ ack: t.localSeq(MSS), window: 0 }); // acknowledged, but the peer is full
  t.send("more").expectNothingSent();
  t.advance(t.tcb.rtt.rto).expectSent({ seq: t.localSeq(MSS - 1) });
  t.receive({ ack: t.localSeq(MSS), window: 4000 }).expectSent({ payload: "more" });
});

Deno.test("receiver: a full buffer advertises a zero window and refuses data past it", () => {
  const t = tcpTest({ config: { receiveBufferSize: 4 * MSS } }).inState("ESTABLISHED");
  for (let i = 0; i < 4; i++) t.receive({ payload: new Uint8Array(MSS) });
  t.expectSent({ ack: t.remoteSeq(2 * MSS), window: 2 * MSS }, {
    ack: t.remoteSeq(4 * MSS),
    window: 0,
  });
  // More data: not acceptable in a zero window, answered with an ACK (RFC 9293 §3.10.7.4).
  t.receive({ payload: "x" }).expectSent({ ack: t.remoteSeq(4 * MSS), window: 0 });
  assert.equal(t.tcb.readableLength, 4 * MSS);
  // The peer's zero window probe (old sequence number) gets the same answer.
  t.receive({ seq: t.remoteSeq(4 * MSS - 1) }).expectSent({ window: 0 });
});

Deno.test("receiver SWS avoidance: the window reopens only by a full segment (RFC 9293 §3.8.6.2.2)", () => {
  const t = tcpTest({ config: { receiveBufferSize: 4 * MSS } }).inState("ESTABLISHED");
  for (let i = 0; i < 4; i++) t.receive({ payload: new Uint8Array(MSS) });
  t.takeSent();
  const buffer = new Uint8Array(1000);
  assert.equal(t.tcb.read(buffer, t.now), 1000);
  t.expectNothingSent(); // 1000 bytes free is less than an MSS: no tiny window offered
  t.advance(500).expectNothingSent();
  assert.equal(t.tcb.read(new Uint8Array(500), t.now), 500);
  t.expectSent({ ack: t.remoteSeq(4 * MSS), window: 1500 }); // now a segment fits
});

// ---------------------------------------------------------------------------- sender SWS

Deno.test("sender SWS avoidance: no small segment into a small window while a full one waits", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ window: 1000 }); // far below both MSS and half the largest window seen
  t.send(new Uint8Array(3000)).expectNothingSent();
  t.receive({ window: 3000 });
  t.expectSent({ length: MSS }, { length: MSS }); // the 80-byte rest waits for Nagle
  t.receive({ ack: t.localSeq(2 * MSS), window: 3000 }).expectSent({ length: 80 });
});

Deno.test("sender SWS avoidance: all remaining data goes out even if below an MSS", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ window: 1000 });
  t.send("short").expectSent({ payload: "short" }); // everything queued fits the window
});

Deno.test("sender SWS: a small window never updated again is still used after the persist time", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ window: 1000 });
  t.send(new Uint8Array(3000)).expectNothingSent();
  // The peer's window update was lost: the persist timer sends what the window allows
  // (RFC 9293 §3.8.6.2.1 override timeout), so the connection cannot stall.
  t.advance(300).expectSent({ seq: t.localSeq(0), length: 1000 });
  t.receive({ ack: t.localSeq(1000), window: 65535 });
  t.expectSent({ seq: t.localSeq(1000), length: MSS }); // the 540-byte rest waits for Nagle
});

// ---------------------------------------------------------------------------- Nagle

Deno.test("Nagle: small writes wait while data is unacknowledged, then go out together", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send("a").expectSent({ payload: "a" });
  t.send("b").expectNothingSent();
  t.send("c").expectNothingSent();
  t.receive({ ack: t.localSeq(1) }).expectSent({ seq: t.localSeq(1), payload: "bc" });
});

Deno.test("Nagle: a full segment is never held", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send("a").expectSent({ payload: "a" });
  t.send(new Uint8Array(MSS + 10)).expectSent({ seq: t.localSeq(1), length: MSS });
  t.receive({ ack: t.localSeq(1 + MSS) }).expectSent({ length: 10 });
});

Deno.test("Nagle off (noDelay): every write goes out at once", () => {
  const t = tcpTest({ config: { noDelay: true } }).inState("ESTABLISHED");
  t.send("a").expectSent({ payload: "a" });
  t.send("b").expectSent({ seq: t.localSeq(1), payload: "b" });
  t.send("c").expectSent({ seq: t.localSeq(2), payload: "c" });
});

Deno.test("Nagle: turning noDelay on flushes what Nagle held", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send("a").expectSent({ payload: "a" });
  t.send("b").expectNothingSent();
  t.tcb.setNoDelay(true, t.now);
  t.expectSent({ payload: "b" });
});

// ---------------------------------------------------------------------------- delayed ACK

Deno.test("delayed ACK: one small segment is acknowledged after 40 ms, not before", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ payload: "a" });
  t.advance(39).expectNothingSent();
  t.advance(1).expectSent({ ack: t.remoteSeq(1) });
  t.advance(1000).expectNothingSent();
});

Deno.test("delayed ACK: the second segment is acknowledged at once", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ payload: "a" });
  t.advance(20);
  t.receive({ payload: "b" }).expectSent({ ack: t.remoteSeq(2) });
  t.advance(100).expectNothingSent(); // the timer went with the ACK
});

Deno.test("delayed ACK: the ACK rides on our data when we answer in time", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ payload: "ping" });
  t.advance(10);
  t.send("pong").expectSent({ ack: t.remoteSeq(4), payload: "pong" });
  t.advance(100).expectNothingSent();
});

Deno.test("delayed ACK: the timeout is configurable", () => {
  const t = tcpTest({ config: { delayedAckTimeout: 200 } }).inState("ESTABLISHED");
  t.receive({ payload: "a" });
  t.advance(199).expectNothingSent();
  t.advance(1).expectSent({ ack: t.remoteSeq(1) });
});

Deno.test("delayed ACK: out-of-order data is acknowledged at once (RFC 5681 §4.2)", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ seq: t.remoteSeq(10), payload: "later" }).expectSent({ ack: t.remoteSeq(0) });
  t.receive({ seq: t.remoteSeq(0), payload: "0123456789" });
  t.expectSent({ ack: t.remoteSeq(15) }); // filling the gap: at once, too
  assert.equal(t.read(), "0123456789later");
});

// ---------------------------------------------------------------------------- window scaling

Deno.test("window scaling: both sides' shifts apply after the SYNs (RFC 7323 §2)", () => {
  const t = tcpTest({
    config: { windowScaling: true, receiveBufferSize: 1 << 20 },
    peerSynOptions: { maxSegmentSize: 1460, windowScale: 7 },
  });
  t.tcb = undefined as never;
  t.at(0).connect();
  assert.equal(t.tcb.rcvWindowShift, 5, "1 MiB needs a shift of 5");
  t.advance(100);
  t.receive({
    seq: t.irs,
    ack: t.localSeq(0),
    flags: "SYN|ACK",
    window: 1000,
    options: { maxSegmentSize: 1460, windowScale: 7 },
  });
  assert.equal(t.tcb.sndWnd, 1000, "the SYN-ACK's window is never scaled");
  t.expectSent({ ack: t.remoteSeq(0), window: (1 << 20) >> 5 });
  t.receive({ window: 1000 });
  assert.equal(t.tcb.sndWnd, 128_000, "later windows are scaled by the peer's shift");
  t.receive({ payload: "x" });
  t.advance(40);
  const [ack] = t.takeSent();
  assert.equal(ack.window, Math.floor(((1 << 20) - 1) / 32));
});

Deno.test("window scaling: not used unless both SYNs carry the option", () => {
  const t = tcpTest({
    config: { windowScaling: true, receiveBufferSize: 1 << 20 },
  });
  t.connect();
  t.receive({ seq: t.irs, ack: t.localSeq(0), flags: "SYN|ACK", window: 1000 });
  t.expectSent({ window: 65535 });
  assert.equal(t.tcb.rcvWindowShift, 0);
  t.receive({ window: 1000 });
  assert.equal(t.tcb.sndWnd, 1000);
});

Deno.test("window scaling: a passive open answers the offer with our shift", () => {
  const t = tcpTest({
    config: { windowScaling: true, receiveBufferSize: 1 << 20 },
    peerSynOptions: { maxSegmentSize: 1460, windowScale: 2 },
  });
  t.acceptSyn();
  t.receive({ ack: t.localSeq(0), window: 100 });
  assert.equal(t.tcb.sndWnd, 400);
  const none = tcpTest({ config: { windowScaling: true, receiveBufferSize: 1 << 20 } });
  none.acceptSyn();
  none.receive({ ack: none.localSeq(0), window: 100 });
  assert.equal(none.tcb.sndWnd, 100);
  assert.equal(none.tcb.rcvWindowShift, 0);
});

// ---------------------------------------------------------------------------- keepalive

Deno.test("keepalive: probes after the idle time, then resets when unanswered", () => {
  const t = tcpTest({
    config: { keepAlive: true, keepAliveIdle: 10_000, keepAliveInterval: 1000, keepAliveProbes: 3 },
  }).inState("ESTABLISHED");
  t.advance(9_999).expectNothingSent();
  t.advance(1).expectSent({ seq: t.localSeq(-1), ack: t.remoteSeq(0) });
  t.advance(1000).expectSent({ seq: t.localSeq(-1) });
  t.advance(1000).expectSent({ seq: t.localSeq(-1) });
  t.advance(1000).expectSent({ seq: t.localSeq(0), flags: "RST" }).expectState("CLOSED");
  assert.equal(t.tcb.error, "timeout");
});

Deno.test("keepalive: an answer resets the idle timer", () => {
  const t = tcpTest({
    config: { keepAlive: true, keepAliveIdle: 10_000, keepAliveInterval: 1000, keepAliveProbes: 3 },
  }).inState("ESTABLISHED");
  t.advance(10_000).expectSent({ seq: t.localSeq(-1) });
  t.advance(500).receive({}); // the peer's ACK
  t.advance(9_999).expectNothingSent();
  t.advance(1).expectSent({ seq: t.localSeq(-1) });
  t.expectState("ESTABLISHED");
});

Deno.test("keepalive: off by default; setKeepAlive turns it on", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.advance(3 * 3_600_000).expectNothingSent();
  t.tcb.setKeepAlive(true, t.now);
  t.advance(t.config().keepAliveIdle).expectSent({ seq: t.localSeq(-1) });
});

// ---------------------------------------------------------------------------- user timeout

Deno.test("user timeout: data unacknowledged for userTimeout aborts the connection (RFC 5482)", () => {
  const t = tcpTest({ config: { userTimeout: 2000 } }).inState("ESTABLISHED");
  t.send("lost");
  t.advance(1999);
  t.takeSent(); // probe and RTOs
  t.expectState("ESTABLISHED");
  t.advance(1).expectSent({ seq: t.localSeq(4), flags: "RST" }).expectState("CLOSED");
  assert.equal(t.tcb.error, "timeout");
});

Deno.test("user timeout: progress restarts it", () => {
  const t = tcpTest({ config: { userTimeout: 2000, noDelay: true } }).inState("ESTABLISHED");
  t.send("a");
  t.advance(1500);
  t.receive({ ack: t.localSeq(1) });
  t.send("b");
  t.advance(1500);
  t.expectState("ESTABLISHED");
});
