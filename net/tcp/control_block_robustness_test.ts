/**
 * The control block against bad, old, hostile and unlucky segments: unacceptable segments are
 * always answered (never silently dropped), RFC 5961 challenge ACKs, PAWS (RFC 7323 §5),
 * sequence number wraparound, and the seqs bug where a dropped segment stalled the connection.
 */
import assert from "node:assert/strict";
import { tcpTest } from "./_test_harness.ts";
import { seqAdd } from "./seq.ts";
import type { TcpState } from "./state.ts";

// ---------------------------------------------------------------------------- unacceptable segments

const SYNCHRONIZED: TcpState[] = [
  "ESTABLISHED",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT",
];

for (const state of SYNCHRONIZED) {
  Deno.test(`${state}: an old duplicate segment is answered with an ACK, never dropped silently`, () => {
    const t = tcpTest().inState(state);
    const rcvNxt = t.tcb.rcvNxt;
    t.receive({ seq: seqAdd(rcvNxt, -10), payload: "old" }); // entirely before RCV.NXT
    t.expectSent({ seq: t.tcb.sndNxt, ack: rcvNxt }).expectState(state);
  });

  Deno.test(`${state}: a segment beyond the window is answered with an ACK`, () => {
    const t = tcpTest().inState(state);
    const rcvNxt = t.tcb.rcvNxt;
    t.receive({ seq: seqAdd(rcvNxt, 200_000), payload: "far" });
    t.expectSent({ ack: rcvNxt }).expectState(state);
  });
}

Deno.test("ESTABLISHED: an out-of-window segment, then good traffic flows on", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ seq: t.remoteSeq(100_000), payload: "junk" }).expectSent({ ack: t.remoteSeq(0) });
  t.receive({ seq: t.remoteSeq(0), payload: "good" });
  assert.equal(t.read(), "good");
  t.advance(40).expectSent({ ack: t.remoteSeq(4) });
  t.send("reply").expectSent({ payload: "reply" });
  t.receive({ ack: t.localSeq(5) }).expectNothingSent();
});

Deno.test("ESTABLISHED: an ACK for data never sent is answered and its data dropped", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ ack: t.localSeq(5000), payload: "bogus" }).expectSent({ ack: t.remoteSeq(0) });
  assert.equal(t.tcb.readableLength, 0);
  t.receive({ seq: t.remoteSeq(0), ack: t.localSeq(0), payload: "fine" });
  assert.equal(t.read(), "fine");
});

// ---------------------------------------------------------------------------- RFC 5961

Deno.test("RFC 5961 §3.2: an in-window RST not at RCV.NXT draws a challenge ACK", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ seq: t.remoteSeq(10), flags: "RST" });
  t.expectSent({ seq: t.localSeq(0), ack: t.remoteSeq(0) }).expectState("ESTABLISHED");
  // The peer's real RST, at RCV.NXT, answers the challenge.
  t.receive({ seq: t.remoteSeq(0), flags: "RST" }).expectNothingSent().expectState("CLOSED");
  assert.equal(t.tcb.error, "reset");
});

Deno.test("RFC 5961 §3.2: an RST outside the window is dropped silently", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ seq: t.remoteSeq(-10), flags: "RST" }).expectNothingSent();
  t.receive({ seq: t.remoteSeq(100_000), flags: "RST" }).expectNothingSent();
  t.expectState("ESTABLISHED");
});

Deno.test("RFC 5961 §4: a SYN on a synchronized connection draws a challenge ACK", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ seq: t.remoteSeq(5), ack: 0, flags: "SYN" });
  t.expectSent({ seq: t.localSeq(0), ack: t.remoteSeq(0) }).expectState("ESTABLISHED");
  t.receive({ seq: t.remoteSeq(0), ack: 0, flags: "SYN" }); // even exactly at RCV.NXT
  t.expectSent({ ack: t.remoteSeq(0) }).expectState("ESTABLISHED");
});

Deno.test("RFC 5961 §5.2: an ACK too far below SND.UNA draws a challenge ACK; data dropped", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ ack: seqAdd(t.localSeq(0), -200_000), payload: "spoofed" });
  t.expectSent({ ack: t.remoteSeq(0) });
  assert.equal(t.tcb.readableLength, 0);
});

Deno.test("RFC 5961 §7: challenge ACKs are rate limited per second", () => {
  const t = tcpTest({ config: { challengeAckLimit: 3 } }).inState("ESTABLISHED");
  for (let i = 0; i < 10; i++) t.receive({ seq: t.remoteSeq(10 + i), flags: "RST" });
  assert.equal(t.takeSent().length, 3);
  t.advance(1000);
  t.receive({ seq: t.remoteSeq(10), flags: "RST" }).expectSent({ ack: t.remoteSeq(0) });
  t.expectState("ESTABLISHED");
});

// ---------------------------------------------------------------------------- PAWS

function withTimestamps() {
  const t = tcpTest({ config: { timestamps: true } });
  t.connect();
  t.advance(100);
  t.receive({
    seq: t.irs,
    ack: t.localSeq(0),
    flags: "SYN|ACK",
    options: { maxSegmentSize: 1460, timestamp: { value: 5000, echoReply: 0 } },
  });
  t.expectSent({ ack: t.remoteSeq(0), tsEcr: 5000 });
  return t;
}

Deno.test("PAWS: a segment with an older timestamp is dropped and answered (RFC 7323 §5.3)", () => {
  const t = withTimestamps();
  t.receive({ payload: "stale", options: { timestamp: { value: 4999, echoReply: 0 } } });
  t.expectSent({ ack: t.remoteSeq(0), tsEcr: 5000 });
  assert.equal(t.tcb.readableLength, 0);
  t.receive({
    seq: t.remoteSeq(0),
    payload: "fresh",
    options: { timestamp: { value: 5001, echoReply: 0 } },
  });
  assert.equal(t.read(), "fresh");
  t.advance(40).expectSent({ ack: t.remoteSeq(5), tsEcr: 5001 });
});

Deno.test("PAWS: timestamps compare modulo 2^32", () => {
  const t = tcpTest({ config: { timestamps: true } });
  t.connect();
  t.receive({
    seq: t.irs,
    ack: t.localSeq(0),
    flags: "SYN|ACK",
    options: { maxSegmentSize: 1460, timestamp: { value: 0xfffffff0, echoReply: 0 } },
  });
  t.takeSent();
  t.receive({ payload: "wrapped", options: { timestamp: { value: 5, echoReply: 0 } } });
  assert.equal(t.read(), "wrapped", "5 is after 0xfffffff0");
});

Deno.test("PAWS: an RST is not subject to the timestamp check", () => {
  const t = withTimestamps();
  t.receive({
    seq: t.remoteSeq(0),
    flags: "RST",
    options: { timestamp: { value: 1, echoReply: 0 } },
  });
  t.expectState("CLOSED");
});

// ---------------------------------------------------------------------------- wraparound

Deno.test("wraparound: data, out-of-order data and FINs across 2^32 on both sides", () => {
  const t = tcpTest({ iss: 0xfffffff0, irs: 0xfffffff0 }).inState("ESTABLISHED");
  assert.equal(t.localSeq(0), 0xfffffff1);
  // We send 40 bytes: the sequence numbers wrap in the middle.
  t.send("0123456789abcdefghijklmnopqrstuvwxyzABCD");
  t.expectSent({ seq: 0xfffffff1, length: 40 });
  t.receive({ ack: t.localSeq(40) }).expectNothingSent();
  assert.equal(t.tcb.sndUna, 0x19);
  assert.equal(t.tcb.unacknowledged, 0);
  // The peer sends 3 segments across the wrap, the last first.
  t.receive({ seq: t.remoteSeq(20), payload: "KLMNOPQRST" }).expectSent({ ack: t.remoteSeq(0) });
  t.receive({ seq: t.remoteSeq(10), payload: "ABCDEFGHIJ" }).expectSent({ ack: t.remoteSeq(0) });
  t.receive({ seq: t.remoteSeq(0), payload: "0123456789" }).expectSent({ ack: t.remoteSeq(30) });
  assert.equal(t.read(), "0123456789ABCDEFGHIJKLMNOPQRST");
  assert.equal(t.tcb.rcvNxt, 0x0f);
  // Close from both sides across the wrap.
  t.close().expectSent({ seq: t.localSeq(40), flags: "FIN|ACK" });
  t.receive({ seq: t.remoteSeq(30), ack: t.localSeq(41), flags: "FIN|ACK" });
  t.expectSent({ seq: t.localSeq(41), ack: t.remoteSeq(31) }).expectState("TIME-WAIT");
});

Deno.test("wraparound: retransmission and fast retransmit across 2^32", () => {
  const t = tcpTest({ iss: 0xffffff00 }).inState("ESTABLISHED");
  const mss = 1460;
  t.send(new Uint8Array(4 * mss));
  assert.equal(t.takeSent().length, 4);
  for (let i = 0; i < 4; i++) t.receive({ ack: t.localSeq(mss) });
  t.expectSent({ seq: t.localSeq(mss), length: mss });
  t.receive({ ack: t.localSeq(4 * mss) }).expectNothingSent();
  assert.equal(t.tcb.sndUna, seqAdd(0xffffff01, 4 * mss));
});

// ---------------------------------------------------------------------------- never stall

Deno.test("a lost segment from the peer never stalls: dup ACK at once, then recovery", () => {
  const t = tcpTest().inState("ESTABLISHED");
  // Segment 1 is lost; 2 and 3 arrive: each draws an immediate duplicate ACK.
  t.receive({ seq: t.remoteSeq(100), payload: new Uint8Array(100) }).expectSent({
    ack: t.remoteSeq(0),
  });
  t.receive({ seq: t.remoteSeq(200), payload: new Uint8Array(100) }).expectSent({
    ack: t.remoteSeq(0),
  });
  t.receive({ seq: t.remoteSeq(0), payload: new Uint8Array(100) }).expectSent({
    ack: t.remoteSeq(300),
  });
  assert.equal(t.tcb.readableLength, 300);
});

Deno.test("a lost segment of ours never stalls: it is resent until acknowledged (seqs bug)", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send("request").expectSent({ payload: "request" });
  // Whatever is dropped, the timers bring the data back until the peer acknowledges it.
  for (let i = 0; i < 5; i++) {
    t.advance(t.tcb.nextDeadline() - t.now);
    t.expectSent({ seq: t.localSeq(0), payload: "request" });
  }
  t.receive({ ack: t.localSeq(7), payload: "response" });
  assert.equal(t.read(), "response");
  t.expectState("ESTABLISHED");
});

Deno.test("a rejected segment does not wedge the connection (seqs: rcv.reject stops TCP)", () => {
  const t = tcpTest().inState("SYN-RECEIVED");
  // A segment that must be rejected arrives first (bad ACK, then out of window)...
  t.receive({ ack: t.localSeq(99) }).expectSent({ flags: "RST", seq: t.localSeq(99) });
  t.receive({ seq: t.remoteSeq(500_000), ack: t.localSeq(0) }).expectSent({ ack: t.remoteSeq(0) });
  // ...and the handshake and a request still go through.
  t.receive({ ack: t.localSeq(0), payload: "GET / HTTP/1.1\r\n\r\n" }).expectState("ESTABLISHED");
  assert.equal(t.read(), "GET / HTTP/1.1\r\n\r\n");
  t.send("HTTP/1.1 200 OK\r\n\r\n").expectSent({ ack: t.remoteSeq(18), length: 19 });
});
