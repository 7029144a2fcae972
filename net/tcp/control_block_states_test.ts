/**
 * The control block state by state (RFC 9293 §3.10): each test starts from a named state, feeds
 * segments, and asserts exactly what comes out. Times are virtual.
 */
import assert from "node:assert/strict";
import { tcpTest } from "./_test_harness.ts";
import { seqAdd } from "./seq.ts";

// ---------------------------------------------------------------------------- CLOSED

Deno.test("CLOSED: segments are ignored (the layer answers with RST)", () => {
  const t = tcpTest().inState("CLOSED");
  t.receive({ seq: t.irs, flags: "SYN" }).expectNothingSent().expectState("CLOSED");
  t.receive({ flags: "ACK", payload: "x" }).expectNothingSent().expectState("CLOSED");
  assert.equal(t.tcb.nextDeadline(), Infinity);
});

// ---------------------------------------------------------------------------- SYN-SENT

Deno.test("SYN-SENT: SYN-ACK acknowledging our SYN establishes; ACK goes out at once", () => {
  const t = tcpTest().inState("SYN-SENT");
  t.advance(50);
  t.receive({
    seq: t.irs,
    ack: t.localSeq(0),
    flags: "SYN|ACK",
    options: { maxSegmentSize: 1200 },
  });
  t.expectSent({ seq: t.localSeq(0), ack: t.remoteSeq(0) });
  t.expectState("ESTABLISHED");
  assert.equal(t.tcb.sendMss, 1200, "the peer's MSS bounds ours");
  assert.equal(t.tcb.rtt.srtt, 50, "the handshake gave the first RTT sample");
});

Deno.test("SYN-SENT: SYN-ACK with an unacceptable ACK draws RST (seq = its ACK), state kept", () => {
  const t = tcpTest().inState("SYN-SENT");
  t.receive({ seq: t.irs, ack: t.iss, flags: "SYN|ACK" });
  t.expectSent({ seq: t.iss, flags: "RST" }).expectState("SYN-SENT");
  t.receive({ seq: t.irs, ack: t.localSeq(5), flags: "SYN|ACK" });
  t.expectSent({ seq: t.localSeq(5), flags: "RST" }).expectState("SYN-SENT");
  // The real SYN-ACK still works afterwards.
  t.receive({ seq: t.irs, ack: t.localSeq(0), flags: "SYN|ACK" });
  t.expectSent({ ack: t.remoteSeq(0) }).expectState("ESTABLISHED");
});

Deno.test("SYN-SENT: RST acknowledging our SYN refuses the connection", () => {
  const t = tcpTest().inState("SYN-SENT");
  t.receive({ seq: 0, ack: t.localSeq(0), flags: "RST|ACK" });
  t.expectNothingSent().expectState("CLOSED");
  assert.equal(t.tcb.error, "refused");
});

Deno.test("SYN-SENT: RST without an acceptable ACK is ignored (RFC 5961 §3.2, RFC 9293)", () => {
  const t = tcpTest().inState("SYN-SENT");
  t.receive({ seq: 0, ack: 0, flags: "RST" }).expectNothingSent().expectState("SYN-SENT");
  t.receive({ seq: 0, ack: t.localSeq(9), flags: "RST|ACK" }).expectNothingSent();
  t.expectState("SYN-SENT");
});

Deno.test("SYN-SENT: a plain ACK without SYN is dropped", () => {
  const t = tcpTest().inState("SYN-SENT");
  t.receive({ seq: t.irs, ack: t.localSeq(0), flags: "ACK" });
  t.expectNothingSent().expectState("SYN-SENT");
});

Deno.test("SYN-SENT: SYN retransmitted with exponential backoff, then connect times out", () => {
  const t = tcpTest({ config: { synRetries: 3 } }).inState("SYN-SENT");
  t.advance(999).expectNothingSent();
  t.advance(1).expectSent({ seq: t.iss, flags: "SYN", retransmission: true }); // 1 s
  t.advance(1999).expectNothingSent();
  t.advance(1).expectSent({ seq: t.iss, flags: "SYN" }); // +2 s
  t.advance(4000).expectSent({ seq: t.iss, flags: "SYN" }); // +4 s
  t.advance(7999).expectNothingSent().expectState("SYN-SENT");
  t.advance(1).expectNothingSent().expectState("CLOSED");
  assert.equal(t.tcb.error, "timeout");
});

Deno.test("SYN-SENT: a SYN-ACK after a retransmitted SYN gives no RTT sample (Karn)", () => {
  const t = tcpTest().inState("SYN-SENT");
  t.advance(1000).expectSent({ flags: "SYN" });
  t.advance(10);
  t.receive({ seq: t.irs, ack: t.localSeq(0), flags: "SYN|ACK" }).expectSent({});
  assert.equal(t.tcb.rtt.srtt, undefined);
  assert.equal(t.tcb.rtt.rto, 1000, "backoff cleared, base RTO again");
});

Deno.test("SYN-SENT: close() abandons the attempt silently", () => {
  const t = tcpTest().inState("SYN-SENT");
  t.close().expectNothingSent().expectState("CLOSED");
  t.advance(5000).expectNothingSent();
});

Deno.test("SYN-SENT: simultaneous open goes through SYN-RECEIVED (RFC 9293 Figure 8)", () => {
  const t = tcpTest().inState("SYN-SENT");
  t.receive({ seq: t.irs, ack: 0, flags: "SYN" });
  t.expectSent({ seq: t.iss, ack: t.remoteSeq(0), flags: "SYN|ACK" });
  t.expectState("SYN-RECEIVED");
  // The peer's SYN-ACK crosses ours.
  t.receive({ seq: t.irs, ack: t.localSeq(0), flags: "SYN|ACK" });
  t.expectNothingSent().expectState("ESTABLISHED"); // our SYN-ACK already acknowledged theirs
  t.send("hi").expectSent({ seq: t.localSeq(0), ack: t.remoteSeq(0), payload: "hi" });
});

Deno.test("SYN-SENT: simultaneous open completed by a plain ACK", () => {
  const t = tcpTest().inState("SYN-SENT");
  t.receive({ seq: t.irs, ack: 0, flags: "SYN" }).expectSent({ flags: "SYN|ACK" });
  t.receive({ seq: t.remoteSeq(0), ack: t.localSeq(0) }).expectNothingSent();
  t.expectState("ESTABLISHED");
});

// ---------------------------------------------------------------------------- SYN-RECEIVED

Deno.test("SYN-RECEIVED: the ACK of our SYN-ACK establishes", () => {
  const t = tcpTest().inState("SYN-RECEIVED");
  t.receive({ ack: t.localSeq(0) }).expectNothingSent().expectState("ESTABLISHED");
});

Deno.test("SYN-RECEIVED: an ACK that does not acknowledge our SYN draws RST", () => {
  const t = tcpTest().inState("SYN-RECEIVED");
  t.receive({ ack: t.localSeq(100) }).expectSent({ seq: t.localSeq(100), flags: "RST" });
  t.expectState("SYN-RECEIVED");
});

Deno.test("SYN-RECEIVED: a retransmitted SYN means our SYN-ACK was lost: send it again", () => {
  const t = tcpTest().inState("SYN-RECEIVED");
  t.receive({ seq: t.irs, ack: 0, flags: "SYN" });
  t.expectSent({ seq: t.iss, ack: t.remoteSeq(0), flags: "SYN|ACK" });
  t.expectState("SYN-RECEIVED");
});

Deno.test("SYN-RECEIVED: SYN-ACK retransmitted on RTO, then the half-open connection dies", () => {
  const t = tcpTest({ config: { synAckRetries: 2 } }).inState("SYN-RECEIVED");
  t.advance(1000).expectSent({ seq: t.iss, flags: "SYN|ACK" });
  t.advance(2000).expectSent({ seq: t.iss, flags: "SYN|ACK" });
  t.advance(4000).expectNothingSent().expectState("CLOSED");
  assert.equal(t.tcb.error, "timeout");
});

Deno.test("SYN-RECEIVED: RST in window closes the half-open connection", () => {
  const t = tcpTest().inState("SYN-RECEIVED");
  t.receive({ seq: t.remoteSeq(0), flags: "RST" }).expectNothingSent().expectState("CLOSED");
});

Deno.test("SYN-RECEIVED: data riding on the handshake's ACK is delivered", () => {
  const t = tcpTest().inState("SYN-RECEIVED");
  t.receive({ ack: t.localSeq(0), payload: "GET /" }).expectState("ESTABLISHED");
  assert.equal(t.read(), "GET /");
  t.advance(40).expectSent({ ack: t.remoteSeq(5) });
});

Deno.test("SYN-RECEIVED: close() queues FIN; the ACK of SYN and FIN leads to FIN-WAIT-2", () => {
  const t = tcpTest().inState("SYN-RECEIVED");
  t.close().expectSent({ seq: t.localSeq(0), flags: "FIN|ACK" }).expectState("FIN-WAIT-1");
  t.receive({ ack: t.localSeq(1) }).expectNothingSent().expectState("FIN-WAIT-2");
});

// ---------------------------------------------------------------------------- ESTABLISHED

Deno.test("ESTABLISHED: data is delivered and acknowledged after the delayed-ACK time", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ payload: "hello" }).expectNothingSent();
  assert.equal(t.read(), "hello");
  t.advance(39).expectNothingSent();
  // The window's right edge stays put: reading 5 bytes opened it by less than an MSS
  // (receiver silly window avoidance, RFC 9293 §3.8.6.2.2).
  t.advance(1).expectSent({ seq: t.localSeq(0), ack: t.remoteSeq(5), window: 65530 });
});

Deno.test("ESTABLISHED: every second full-sized segment is acknowledged at once", () => {
  const t = tcpTest().inState("ESTABLISHED");
  const mss = new Uint8Array(1460);
  t.receive({ payload: mss }).expectNothingSent();
  t.receive({ payload: mss }).expectSent({ ack: t.remoteSeq(2920) });
  t.receive({ payload: mss }).expectNothingSent();
  t.receive({ payload: mss }).expectSent({ ack: t.remoteSeq(4 * 1460) });
});

Deno.test("ESTABLISHED: sends written data and stops the timer when it is acknowledged", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send("hello").expectSent({ seq: t.localSeq(0), ack: t.remoteSeq(0), payload: "hello" });
  t.receive({ ack: t.localSeq(5) }).expectNothingSent();
  assert.equal(t.tcb.unacknowledged, 0);
  assert.equal(t.tcb.nextDeadline(), Infinity);
  t.advance(10_000).expectNothingSent();
});

Deno.test("ESTABLISHED: the peer's FIN: CLOSE-WAIT and an immediate ACK", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ payload: "bye", flags: "FIN|ACK" });
  t.expectSent({ ack: t.remoteSeq(4) }).expectState("CLOSE-WAIT");
  assert.equal(t.read(), "bye");
  assert.equal(t.tcb.readEnded, true);
});

Deno.test("ESTABLISHED: an out-of-order FIN waits for the data before it", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ seq: t.remoteSeq(3), payload: "def", flags: "FIN|ACK" });
  t.expectSent({ ack: t.remoteSeq(0) }).expectState("ESTABLISHED");
  t.receive({ seq: t.remoteSeq(0), payload: "abc" });
  t.expectSent({ ack: t.remoteSeq(7) }).expectState("CLOSE-WAIT");
  assert.equal(t.read(), "abcdef");
});

Deno.test("ESTABLISHED: RST at RCV.NXT resets the connection", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ seq: t.remoteSeq(0), flags: "RST" }).expectNothingSent().expectState("CLOSED");
  assert.equal(t.tcb.error, "reset");
});

Deno.test("ESTABLISHED: close() sends FIN after the queued data (FIN-WAIT-1)", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.tcb.write(new TextEncoder().encode("last words"), t.now);
  t.tcb.close(t.now);
  t.expectSent({ seq: t.localSeq(0), payload: "last words" }, {
    seq: t.localSeq(10),
    flags: "FIN|ACK",
  });
  t.expectState("FIN-WAIT-1");
  assert.equal(t.tcb.canWrite, false);
  assert.equal(t.write("more"), 0, "no writes after close");
});

Deno.test("ESTABLISHED: abort() sends RST at SND.NXT and closes", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send("x").expectSent({ payload: "x" });
  t.abort().expectSent({ seq: t.localSeq(1), flags: "RST" }).expectState("CLOSED");
  assert.equal(t.tcb.error, "aborted");
  t.advance(10_000).expectNothingSent();
});

// ---------------------------------------------------------------------------- FIN-WAIT-1

Deno.test("FIN-WAIT-1: the ACK of our FIN leads to FIN-WAIT-2", () => {
  const t = tcpTest().inState("FIN-WAIT-1");
  t.receive({ ack: seqAdd(t.localFinSeq, 1) }).expectNothingSent().expectState("FIN-WAIT-2");
});

Deno.test("FIN-WAIT-1: FIN|ACK covering our FIN goes straight to TIME-WAIT", () => {
  const t = tcpTest().inState("FIN-WAIT-1");
  t.receive({ ack: seqAdd(t.localFinSeq, 1), flags: "FIN|ACK" });
  t.expectSent({ seq: seqAdd(t.localFinSeq, 1), ack: t.remoteSeq(1) }).expectState("TIME-WAIT");
});

Deno.test("FIN-WAIT-1: an ACK of earlier data is not the ACK of our FIN (seqs bug)", () => {
  const t = tcpTest().inState("FIN-WAIT-1", { data: "HTTP/1.1 200 OK" });
  t.receive({ ack: t.localFinSeq }); // covers the data only, crossed our FIN on the wire
  t.expectState("FIN-WAIT-1").expectNothingSent();
  t.receive({ ack: seqAdd(t.localFinSeq, 1), flags: "FIN|ACK" });
  t.expectSent({ seq: seqAdd(t.localFinSeq, 1), ack: t.remoteNext }).expectState("TIME-WAIT");
});

Deno.test("FIN-WAIT-1: FIN whose ACK does not cover our FIN: CLOSING, then TIME-WAIT (seqs bug)", () => {
  const t = tcpTest().inState("FIN-WAIT-1", { data: "page" });
  t.receive({ ack: t.localFinSeq, flags: "FIN|ACK" }); // acks the data, not the FIN
  t.expectSent({ seq: seqAdd(t.localFinSeq, 1), ack: t.remoteSeq(1) }).expectState("CLOSING");
  t.receive({ ack: seqAdd(t.localFinSeq, 1) }).expectNothingSent().expectState("TIME-WAIT");
});

Deno.test("FIN-WAIT-1: FIN without any new ACK: CLOSING (simultaneous close)", () => {
  const t = tcpTest().inState("FIN-WAIT-1");
  t.receive({ ack: t.localSeq(0), flags: "FIN|ACK" });
  t.expectSent({ ack: t.remoteSeq(1) }).expectState("CLOSING");
});

Deno.test("FIN-WAIT-1: the peer's data is still received", () => {
  const t = tcpTest().inState("FIN-WAIT-1");
  t.receive({ payload: "still talking" }).expectNothingSent();
  assert.equal(t.read(), "still talking");
  t.advance(40).expectSent({ ack: t.remoteSeq(13) });
});

Deno.test("FIN-WAIT-1: the FIN is retransmitted on RTO", () => {
  const t = tcpTest().inState("FIN-WAIT-1");
  // RTO after a 100 ms handshake sample: SRTT 100 + 4 × 50 = 300 ms. A tail loss probe
  // (2 × SRTT) re-sends the FIN first.
  t.advance(200).expectSent({ seq: t.localFinSeq, flags: "FIN|ACK", retransmission: true });
  t.advance(300).expectSent({ seq: t.localFinSeq, flags: "FIN|ACK", retransmission: true });
  t.receive({ ack: seqAdd(t.localFinSeq, 1) }).expectState("FIN-WAIT-2");
});

// ---------------------------------------------------------------------------- FIN-WAIT-2

Deno.test("FIN-WAIT-2: data is received; the peer's FIN leads to TIME-WAIT", () => {
  const t = tcpTest().inState("FIN-WAIT-2");
  t.receive({ payload: "tail" }).expectNothingSent();
  t.receive({ payload: "!", flags: "FIN|ACK" });
  t.expectSent({ ack: t.remoteSeq(6) }).expectState("TIME-WAIT");
  assert.equal(t.read(), "tail!");
});

Deno.test("FIN-WAIT-2: an orphaned connection gives up after finWait2Timeout", () => {
  const t = tcpTest({ config: { finWait2Timeout: 30_000 } }).inState("FIN-WAIT-1");
  t.tcb.orphaned = true;
  t.receive({ ack: seqAdd(t.localFinSeq, 1) }).expectState("FIN-WAIT-2");
  t.advance(29_999).expectState("FIN-WAIT-2");
  t.advance(1).expectNothingSent().expectState("CLOSED");
});

Deno.test("FIN-WAIT-2: new data after the user closed draws RST (RFC 1122 §4.2.2.13)", () => {
  const t = tcpTest().inState("FIN-WAIT-2");
  t.tcb.orphaned = true; // close(), not closeWrite(): nobody will read
  t.receive({ payload: "more" });
  t.expectSent({ flags: "RST" }).expectState("CLOSED");
});

Deno.test("FIN-WAIT-2: a half-closed connection (closeWrite) still takes data", () => {
  const t = tcpTest().inState("FIN-WAIT-2");
  t.receive({ payload: "more" }).expectNothingSent().expectState("FIN-WAIT-2");
  assert.equal(t.read(), "more");
});

Deno.test("FIN-WAIT-2: a connection the user still holds waits for the peer's FIN", () => {
  const t = tcpTest().inState("FIN-WAIT-2");
  assert.equal(t.tcb.nextDeadline(), Infinity);
  t.advance(3_600_000).expectNothingSent().expectState("FIN-WAIT-2");
});

// ---------------------------------------------------------------------------- CLOSE-WAIT

Deno.test("CLOSE-WAIT: we can still send; the peer acknowledges", () => {
  const t = tcpTest().inState("CLOSE-WAIT");
  t.send("reply").expectSent({ seq: t.localSeq(0), ack: t.remoteSeq(1), payload: "reply" });
  t.receive({ ack: t.localSeq(5) }).expectNothingSent().expectState("CLOSE-WAIT");
});

Deno.test("CLOSE-WAIT: a retransmitted FIN is acknowledged again", () => {
  const t = tcpTest().inState("CLOSE-WAIT");
  t.receive({ seq: t.remoteSeq(0), flags: "FIN|ACK" }).expectSent({ ack: t.remoteSeq(1) });
  t.expectState("CLOSE-WAIT");
});

Deno.test("CLOSE-WAIT: close() sends FIN (LAST-ACK)", () => {
  const t = tcpTest().inState("CLOSE-WAIT");
  t.close().expectSent({ seq: t.localSeq(0), ack: t.remoteSeq(1), flags: "FIN|ACK" });
  t.expectState("LAST-ACK");
});

// ---------------------------------------------------------------------------- CLOSING

Deno.test("CLOSING: the ACK of our FIN leads to TIME-WAIT", () => {
  const t = tcpTest().inState("CLOSING");
  t.receive({ ack: seqAdd(t.localFinSeq, 1) }).expectNothingSent().expectState("TIME-WAIT");
});

Deno.test("CLOSING: our FIN is retransmitted until acknowledged", () => {
  const t = tcpTest().inState("CLOSING");
  t.advance(1000);
  const sent = t.takeSent();
  assert.ok(sent.length >= 1, "FIN retransmitted");
  for (const s of sent) assert.equal(s.seq, t.localFinSeq);
  t.receive({ ack: seqAdd(t.localFinSeq, 1) }).expectState("TIME-WAIT");
});

Deno.test("CLOSING: the peer's retransmitted FIN is acknowledged", () => {
  const t = tcpTest().inState("CLOSING");
  t.receive({ seq: t.remoteSeq(0), ack: t.localFinSeq, flags: "FIN|ACK" });
  t.expectSent({ ack: t.remoteSeq(1) }).expectState("CLOSING");
});

// ---------------------------------------------------------------------------- LAST-ACK

Deno.test("LAST-ACK: the ACK of our FIN closes, without error", () => {
  const t = tcpTest().inState("LAST-ACK");
  t.receive({ ack: seqAdd(t.localFinSeq, 1) }).expectNothingSent().expectState("CLOSED");
  assert.equal(t.tcb.error, undefined);
});

Deno.test("LAST-ACK: data and FIN are retransmitted on RTO", () => {
  const t = tcpTest().inState("LAST-ACK", { data: "abc" });
  t.receive({ ack: t.localSeq(3) }).expectState("LAST-ACK"); // data acked, FIN lost
  t.advance(300);
  const sent = t.takeSent();
  assert.ok(sent.length >= 1);
  assert.equal(sent.at(-1)!.seq, t.localFinSeq);
  t.receive({ ack: seqAdd(t.localFinSeq, 1) }).expectState("CLOSED");
});

Deno.test("LAST-ACK: the peer's retransmitted FIN draws an ACK", () => {
  const t = tcpTest().inState("LAST-ACK");
  t.receive({ seq: t.remoteSeq(0), ack: t.localSeq(0), flags: "FIN|ACK" });
  t.expectSent({ ack: t.remoteSeq(1) }).expectState("LAST-ACK");
});

// ---------------------------------------------------------------------------- TIME-WAIT

Deno.test("TIME-WAIT: closes after 2 MSL", () => {
  const t = tcpTest({ config: { timeWaitTimeout: 60_000 } }).inState("TIME-WAIT");
  t.advance(59_999).expectState("TIME-WAIT");
  t.advance(1).expectNothingSent().expectState("CLOSED");
});

Deno.test("TIME-WAIT: a retransmitted FIN is acknowledged and restarts the 2 MSL timer", () => {
  const t = tcpTest({ config: { timeWaitTimeout: 60_000 } }).inState("TIME-WAIT");
  t.advance(30_000);
  t.receive({ seq: t.remoteSeq(0), ack: seqAdd(t.localFinSeq, 1), flags: "FIN|ACK" });
  t.expectSent({ seq: seqAdd(t.localFinSeq, 1), ack: t.remoteSeq(1) }).expectState("TIME-WAIT");
  t.advance(59_999).expectState("TIME-WAIT");
  t.advance(1).expectState("CLOSED");
});

Deno.test("TIME-WAIT: no timers other than 2 MSL run", () => {
  const t = tcpTest().inState("TIME-WAIT");
  assert.equal(t.tcb.nextDeadline(), t.now + t.config().timeWaitTimeout);
});

// ---------------------------------------------------------------------------- simultaneous close

Deno.test("simultaneous close: FIN crosses FIN, both ACKed, through CLOSING to TIME-WAIT", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.close().expectSent({ seq: t.localSeq(0), flags: "FIN|ACK" }).expectState("FIN-WAIT-1");
  // The peer's FIN was sent before ours arrived: it acknowledges nothing of ours.
  t.receive({ seq: t.remoteSeq(0), ack: t.localSeq(0), flags: "FIN|ACK" });
  t.expectSent({ seq: t.localSeq(1), ack: t.remoteSeq(1) }).expectState("CLOSING");
  // The peer's ACK of our FIN.
  t.receive({ seq: t.remoteSeq(1), ack: t.localSeq(1) }).expectNothingSent();
  t.expectState("TIME-WAIT");
});
