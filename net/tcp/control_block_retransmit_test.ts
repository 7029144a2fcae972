/**
 * Loss recovery in the control block: RTO and backoff (RFC 6298), Karn's rule, tail loss
 * probes (RFC 8985 §7), fast retransmit and NewReno partial ACKs (RFC 5681, RFC 6582), and
 * SACK-based recovery that resends only the holes (RFC 6675). Times are virtual.
 *
 * The test bench's handshake takes 100 ms, so SRTT is 100 ms, RTTVAR 50 ms, the RTO 300 ms and
 * the tail loss probe timeout 2 × SRTT = 200 ms.
 */
import assert from "node:assert/strict";
import { tcpTest } from "./_test_harness.ts";
import { seqDiff } from "./seq.ts";

const MSS = 1460;

Deno.test("ESTABLISHED: a tail loss probe, then RTOs that double each time (RFC 6298 §5.5)", () => {
  const t = tcpTest().inState("ESTABLISHED");
  assert.equal(t.tcb.rtt.rto, 300);
  t.send("hello").expectSent({ payload: "hello", retransmission: false });
  t.advance(199).expectNothingSent();
  t.advance(1).expectSent({ payload: "hello", retransmission: true }); // probe at 2 × SRTT
  t.advance(299).expectNothingSent();
  t.advance(1).expectSent({ seq: t.localSeq(0), payload: "hello" }); // RTO: 300 ms after the probe
  assert.equal(t.tcb.rtt.rto, 600);
  t.advance(599).expectNothingSent();
  t.advance(1).expectSent({ payload: "hello" }); // doubled
  t.advance(1199).expectNothingSent();
  t.advance(1).expectSent({ payload: "hello" }); // doubled again
  assert.equal(t.tcb.retransmitTimeouts, 3);
  t.receive({ ack: t.localSeq(5) }).expectNothingSent();
  assert.equal(t.tcb.rtt.rto, 300, "backoff ends with new data acknowledged");
  assert.equal(t.tcb.nextDeadline(), Infinity);
});

Deno.test("ESTABLISHED: RTO is capped at rto.max", () => {
  const t = tcpTest({ config: { rto: { initial: 1000, min: 200, max: 1000 } } }).inState(
    "ESTABLISHED",
  );
  t.send("x").expectSent({ payload: "x" });
  t.advance(200).expectSent({ payload: "x" }); // probe
  t.advance(300).expectSent({ payload: "x" }); // RTO 300
  t.advance(600).expectSent({ payload: "x" }); // 600
  t.advance(999).expectNothingSent();
  t.advance(1).expectSent({ payload: "x" }); // 1000, not 1200
  t.advance(1000).expectSent({ payload: "x" }); // stays at the cap
});

Deno.test("ESTABLISHED: after maxRetransmissions the connection is reset with a timeout", () => {
  const t = tcpTest({ config: { maxRetransmissions: 2 } }).inState("ESTABLISHED");
  t.send("x").expectSent({ payload: "x" });
  t.advance(200).expectSent({ payload: "x" }); // probe
  t.advance(300).expectSent({ payload: "x" }); // RTO 1
  t.advance(600).expectSent({ payload: "x" }); // RTO 2
  t.advance(1200).expectSent({ seq: t.localSeq(1), flags: "RST" });
  t.expectState("CLOSED");
  assert.equal(t.tcb.error, "timeout");
});

Deno.test("ESTABLISHED: Karn: an ACK of retransmitted data gives no RTT sample", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send("abc").expectSent({ payload: "abc" });
  t.advance(500);
  t.takeSent(); // probe and RTO
  t.advance(1000);
  t.takeSent(); // another RTO
  t.receive({ ack: t.localSeq(3) }); // 1.5 s after the first send: ambiguous, not sampled
  assert.equal(t.tcb.rtt.srtt, 100);
  // The next segment is timed again.
  t.send("d").expectSent({ payload: "d" });
  t.advance(20).receive({ ack: t.localSeq(4) });
  assert.equal(t.tcb.rtt.srtt, 0.875 * 100 + 0.125 * 20);
});

Deno.test("ESTABLISHED: timestamps give an RTT sample even from retransmitted data", () => {
  const t = tcpTest({
    config: { timestamps: true },
    peerSynOptions: { maxSegmentSize: 1460, timestamp: { value: 7, echoReply: 0 } },
  }).at(0);
  t.connect();
  t.advance(100);
  t.receive({
    seq: t.irs,
    ack: t.localSeq(0),
    flags: "SYN|ACK",
    options: { maxSegmentSize: 1460, timestamp: { value: 1000, echoReply: 0 } },
  });
  const [ack] = t.takeSent();
  assert.equal(ack.options?.timestamp?.echoReply, 1000);
  assert.equal(t.tcb.timestampsEnabled, true);
  t.send("abc");
  const [first] = t.takeSent();
  const tsval = first.options!.timestamp!.value;
  t.advance(30).receive({
    ack: t.localSeq(3),
    options: { timestamp: { value: 1001, echoReply: tsval } },
  });
  assert.equal(t.tcb.rtt.srtt, 0.875 * 100 + 0.125 * 30);
});

Deno.test("ESTABLISHED: three duplicate ACKs trigger fast retransmit (RFC 5681 §3.2)", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send(new Uint8Array(4 * MSS));
  t.expectSent(
    { seq: t.localSeq(0), length: MSS },
    { seq: t.localSeq(MSS), length: MSS },
    { seq: t.localSeq(2 * MSS), length: MSS },
    { seq: t.localSeq(3 * MSS), length: MSS },
  );
  t.receive({ ack: t.localSeq(MSS) }).expectNothingSent(); // segment 2 was lost
  t.receive({ ack: t.localSeq(MSS) }).expectNothingSent();
  t.receive({ ack: t.localSeq(MSS) }).expectNothingSent();
  t.receive({ ack: t.localSeq(MSS) });
  t.expectSent({ seq: t.localSeq(MSS), length: MSS, retransmission: true });
  assert.equal(t.tcb.inRecovery, true);
  assert.equal(t.tcb.fastRetransmits, 1);
  t.receive({ ack: t.localSeq(4 * MSS) }).expectNothingSent();
  assert.equal(t.tcb.inRecovery, false);
});

Deno.test("ESTABLISHED: a duplicate ACK with a window update is not a duplicate", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send(new Uint8Array(4 * MSS));
  t.takeSent();
  t.receive({ ack: t.localSeq(MSS) });
  for (let i = 0; i < 3; i++) t.receive({ ack: t.localSeq(MSS), window: 60000 + i });
  t.expectNothingSent();
  assert.equal(t.tcb.inRecovery, false);
});

Deno.test("ESTABLISHED: NewReno: a partial ACK retransmits the next hole at once (RFC 6582)", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send(new Uint8Array(6 * MSS));
  assert.equal(t.takeSent().length, 6);
  // Segments 2 and 4 (offsets MSS and 3 × MSS) are lost.
  t.receive({ ack: t.localSeq(MSS) });
  t.receive({ ack: t.localSeq(MSS) });
  t.receive({ ack: t.localSeq(MSS) });
  t.receive({ ack: t.localSeq(MSS) });
  t.expectSent({ seq: t.localSeq(MSS), length: MSS });
  // The retransmission fills the first hole: the ACK stops at the second.
  t.receive({ ack: t.localSeq(3 * MSS) });
  t.expectSent({ seq: t.localSeq(3 * MSS), length: MSS, retransmission: true });
  assert.equal(t.tcb.inRecovery, true, "still recovering until the recovery point");
  t.receive({ ack: t.localSeq(6 * MSS) }).expectNothingSent();
  assert.equal(t.tcb.inRecovery, false);
  assert.equal(t.tcb.retransmitTimeouts, 0, "recovered without a timeout");
});

Deno.test("ESTABLISHED: SACK recovery resends only the holes (RFC 6675)", () => {
  const t = tcpTest({
    config: { sack: true },
    peerSynOptions: { maxSegmentSize: 1460, sackPermitted: true },
  }).inState("ESTABLISHED");
  assert.equal(t.tcb.sackEnabled, true);
  const n = 10;
  t.send(new Uint8Array(n * MSS));
  assert.equal(t.takeSent().length, n);
  const seg = (i: number) => t.localSeq(i * MSS);
  // Segments 1 and 3 are lost; every other one arrives and is SACKed.
  const resent: number[] = [];
  const collect = () => {
    for (const s of t.takeSent()) {
      assert.equal(s.payload.length, MSS);
      resent.push(seqDiff(t.localSeq(0), s.seq) / MSS);
    }
  };
  t.receive({ ack: seg(1) });
  collect();
  const arrived: [number, number][] = [];
  for (const i of [2, 4, 5, 6, 7, 8, 9]) {
    // The receiver reports its blocks, most recent first (RFC 2018 §4).
    const last = arrived.at(-1);
    if (last && last[1] === seg(i)) last[1] = seg(i + 1);
    else arrived.push([seg(i), seg(i + 1)]);
    t.receive({ ack: seg(1), options: { sackBlocks: [...arrived].reverse() } });
    collect();
  }
  assert.deepEqual(resent.sort(), [1, 3], "exactly the two holes were resent, once each");
  t.receive({ ack: seg(n) }).expectNothingSent();
  assert.equal(t.tcb.retransmitTimeouts, 0);
  assert.equal(t.tcb.inRecovery, false);
});

Deno.test("ESTABLISHED: after an RTO, SACKed data is not sent again", () => {
  const t = tcpTest({
    config: { sack: true },
    peerSynOptions: { maxSegmentSize: 1460, sackPermitted: true },
  }).inState("ESTABLISHED");
  t.send(new Uint8Array(3 * MSS));
  t.takeSent();
  // Segment 0 lost, 1 and 2 SACKed in one ACK (not enough for fast retransmit).
  t.receive({
    ack: t.localSeq(0),
    options: { sackBlocks: [[t.localSeq(MSS), t.localSeq(3 * MSS)]] },
  });
  t.takeSent();
  // No tail loss probe with SACKed data (RFC 8985 §7.2 condition 2): the RTO, 300 ms after the
  // last send, resends the hole only.
  t.advance(299).expectNothingSent();
  t.advance(1).expectSent({ seq: t.localSeq(0), length: MSS });
  // Unanswered, the RTO backs off (600, then 1200 ms) and still resends only the hole.
  t.advance(599).expectNothingSent();
  t.advance(1).expectSent({ seq: t.localSeq(0), length: MSS });
  t.advance(1200).expectSent({ seq: t.localSeq(0), length: MSS });
});

Deno.test("ESTABLISHED: an RTO resends from SND.UNA (go-back-N) and slow-starts", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send(new Uint8Array(3 * MSS));
  t.takeSent();
  t.advance(200).expectSent({ seq: t.localSeq(2 * MSS), length: MSS }); // probe: last segment
  t.advance(300).expectSent({ seq: t.localSeq(0), length: MSS }); // RTO: cwnd is one segment
  assert.equal(t.tcb.cc.cwnd, MSS);
  t.receive({ ack: t.localSeq(MSS) });
  t.expectSent({ seq: t.localSeq(MSS), length: MSS }, { seq: t.localSeq(2 * MSS), length: MSS });
});

Deno.test("after an RTO pulled SND.NXT back, pure ACKs carry SND.MAX (no ACK war)", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.send(new Uint8Array(3 * MSS));
  t.takeSent();
  t.advance(200).expectSent({ seq: t.localSeq(2 * MSS), length: MSS }); // probe
  t.advance(300).expectSent({ seq: t.localSeq(0), length: MSS }); // RTO: go back
  assert.equal(t.tcb.sndNxt, t.localSeq(MSS));
  // The peer has everything already; its data needs an ACK from us. Numbered SND.NXT, the ACK
  // would be an old duplicate to the peer, which answers with an ACK we would drop the same way.
  t.receive({ payload: "x" });
  t.advance(40).expectSent({ seq: t.localSeq(3 * MSS), ack: t.remoteSeq(1) });
  t.receive({ ack: t.localSeq(3 * MSS) }).expectNothingSent();
  assert.equal(t.tcb.unacknowledged, 0);
});

Deno.test("an RTO retransmits into a small window (no sender SWS hold on old data)", () => {
  const t = tcpTest().inState("ESTABLISHED");
  t.receive({ window: 100 }); // the peer's reader is slow
  t.send(new Uint8Array(100)).expectSent({ length: 100 });
  t.send(new Uint8Array(5000)).expectNothingSent(); // no room
  t.advance(200).expectSent({ seq: t.localSeq(0), length: 100 }); // tail loss probe
  // The RTO goes back to SND.UNA: the 100 bytes fit the window exactly and must go again,
  // though a full segment is waiting behind them.
  t.advance(300).expectSent({ seq: t.localSeq(0), length: 100 });
  t.advance(600).expectSent({ seq: t.localSeq(0), length: 100 });
  // Acknowledged: the queued data flows (one segment: the window after two RTOs).
  t.receive({ ack: t.localSeq(100), window: 65535 }).expectSent({
    seq: t.localSeq(100),
    length: MSS,
  });
});

Deno.test("a fractional congestion window never produces empty segments", () => {
  const t = tcpTest({ config: { noDelay: true } }).inState("ESTABLISHED");
  t.send(new Uint8Array(3 * MSS));
  t.takeSent();
  t.advance(500);
  t.takeSent(); // probe, then the RTO resends the first segment; cwnd is one segment
  assert.equal(t.tcb.sndNxt, t.localSeq(MSS));
  t.tcb.cc.cwnd = MSS + 0.5; // half a byte of room, as NewReno's and CUBIC's arithmetic can leave
  t.tcb.setNoDelay(true, t.now);
  t.expectNothingSent();
  t.tcb.cc.cwnd = MSS + 100; // room for a small piece of a retransmission: wait for a full one
  t.tcb.setNoDelay(true, t.now);
  t.expectNothingSent();
});
