/**
 * The TCP control block: one connection's state machine (RFC 9293 §3.10), sans-IO.
 *
 * Inputs are segments, user calls and the clock (`now`, ms); outputs are segments to send
 * (taken with {@linkcode TcpControlBlock.takeOutput}) and the next deadline at which
 * {@linkcode TcpControlBlock.poll} must run. It never reads a clock or touches a NIC.
 *
 * Implements: all eleven states, active/passive/simultaneous open, simultaneous close,
 * half-close; RFC 5961 RST/SYN/ACK checks with challenge ACKs; RFC 7323 window scaling,
 * timestamps and PAWS; RFC 2018 SACK blocks sent and RFC 6675 SACK-based recovery; RFC 6298
 * RTO with Karn's rule and backoff; RFC 5681/6582 fast retransmit and NewReno; CUBIC; Nagle;
 * delayed ACK; receiver and sender silly window avoidance; zero-window probing; keepalive; user
 * timeout.
 *
 * @module
 */
import { RingBuffer } from "../storage/ring_buffer.ts";
import { Assembler } from "../storage/assembler.ts";
import type { SackBlock, TcpOptions } from "../wire/tcp.ts";
import { TcpFlags, tcpOptionsLength } from "../wire/tcp.ts";
import type { TcpConfig } from "./config.ts";
import { type CongestionControl, createCongestionControl } from "./congestion.ts";
import { RttEstimator } from "./rtt.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from "./seq.ts";
import type { TcpState } from "./state.ts";

const { FIN, SYN, RST, PSH, ACK } = TcpFlags;

/** A received segment, already checksummed and parsed. */
export interface IncomingSegment {
  /** Sequence number. */
  seq: number;
  /** Acknowledgment number (meaningful with ACK). */
  ack: number;
  /** Flag bits. */
  flags: number;
  /** Window field as received (unscaled). */
  window: number;
  /** Parsed options. */
  options: TcpOptions;
  /** Payload. */
  payload: Uint8Array;
}

/** A segment for the stack to send. */
export interface OutgoingSegment {
  /** Sequence number. */
  seq: number;
  /** Acknowledgment number (0 without ACK). */
  ack: number;
  /** Flag bits. */
  flags: number;
  /** Window field (already scaled down). */
  window: number;
  /** Options to include. */
  options?: TcpOptions;
  /** Payload: a view of the send buffer, valid until the next call into the control block. */
  payload: Uint8Array;
  /** Whether this re-sends sequence space sent before. */
  retransmission: boolean;
}

/** Why a connection ended abnormally. */
export type TcpError = "refused" | "reset" | "timeout" | "unreachable" | "aborted";

/** Connection endpoints, for ISNs and diagnostics. */
export interface TcpTuple {
  /** Local address (uint32). */
  localAddress: number;
  /** Local port. */
  localPort: number;
  /** Remote address (uint32). */
  remoteAddress: number;
  /** Remote port. */
  remotePort: number;
}

const DUP_THRESHOLD = 3;
/** PAWS: ts_recent older than 24 days is invalid (RFC 7323 §5.5). */
const PAWS_IDLE_LIMIT = 24 * 24 * 3600 * 1000;
/** Longest persist (zero window probe) interval, ms. */
const MAX_PERSIST_INTERVAL = 60_000;

/**
 * One TCP connection.
 *
 * @example Active open: the first thing out is a SYN
 * ```ts
 * import { TcpControlBlock } from "./control_block.ts";
 * import { defaultTcpConfig } from "./config.ts";
 * const tcb = TcpControlBlock.connect(defaultTcpConfig(1500),
 *   { localAddress: 1, localPort: 40000, remoteAddress: 2, remotePort: 80 }, 1000, 0);
 * const [syn] = tcb.takeOutput();
 * console.log(tcb.state, syn.seq, syn.options?.maxSegmentSize); // "SYN-SENT" 1000 1460
 * ```
 */
export class TcpControlBlock {
  /** The connection state (RFC 9293 §3.3.2). */
  state: TcpState = "CLOSED";
  /** Set when the connection ended abnormally. */
  error: TcpError | undefined;
  /** This connection's settings. */
  readonly config: TcpConfig;
  /** Local and remote addresses and ports. */
  readonly tuple: TcpTuple;

  // Send sequence space (RFC 9293 §3.3.1).
  /** Initial send sequence number. */
  iss = 0;
  /** Oldest unacknowledged sequence number (SND.UNA). */
  sndUna = 0;
  /** Next sequence to send (may be pulled back to sndUna after an RTO: go-back-N). */
  sndNxt = 0;
  /** Highest sequence ever sent + 1. */
  sndMax = 0;
  /** Peer's window, bytes (scaled). */
  sndWnd = 0;
  /** Sequence number of the segment that last updated the window (SND.WL1). */
  sndWl1 = 0;
  /** Acknowledgment number of the segment that last updated the window (SND.WL2). */
  sndWl2 = 0;
  /** Largest window the peer ever offered (RFC 5961 ACK check, sender SWS). */
  maxSndWnd = 0;
  /** Shift applied to the peer's window field. */
  sndWindowShift = 0;
  /** Our MSS for sending: min(peer's MSS option, ours). */
  sendMss = 536;

  // Receive sequence space.
  /** Initial receive sequence number. */
  irs = 0;
  /** Next sequence number expected (RCV.NXT). */
  rcvNxt = 0;
  /** Right edge of the window we last advertised. */
  rcvAdvertisedEdge = 0;
  /** Shift applied to our window field. */
  rcvWindowShift = 0;

  // Options.
  /** Both sides agreed on timestamps (RFC 7323). */
  timestampsEnabled = false;
  /** Both sides agreed on SACK (RFC 2018). */
  sackEnabled = false;
  #tsRecent = 0;
  #tsRecentAt = 0;
  #lastAckSent = 0;
  readonly #tsOffset: number;

  // Buffers.
  /** Written but unacknowledged data, starting at the first unacknowledged byte. */
  readonly sendBuffer: RingBuffer;
  /** Sequence number of the first byte in the send buffer. */
  #sendBufferSeq = 0;
  /** Received data not yet read, and out-of-order data past it. */
  readonly receiveBuffer: RingBuffer;
  readonly #assembler: Assembler;
  /** Sequence number of the peer's FIN, once seen (possibly out of order). */
  #remoteFinSeq: number | undefined;
  /** The peer's FIN was received in order: no more data will come. */
  finReceived = false;
  /** The user asked to close the sending direction. */
  #finQueued = false;

  // Timers (absolute ms; Infinity when off).
  #retransmitAt = Infinity;
  #delayedAckAt = Infinity;
  #persistAt = Infinity;
  #persistBackoff = 0;
  /** Set while the persist timer sends into a small window despite sender SWS avoidance. */
  #swsOverride = false;
  #keepAliveAt = Infinity;
  #keepAliveProbesSent = 0;
  #timeWaitAt = Infinity;
  #finWait2At = Infinity;
  /** When the oldest unacknowledged data was first sent (user timeout). */
  #unackedSince = Infinity;

  // Retransmission and congestion.
  /** Round-trip time estimator and RTO. */
  readonly rtt: RttEstimator;
  /** The congestion controller (cwnd, ssthresh). */
  cc: CongestionControl;
  #retransmitCount = 0;
  #rttSeq: number | undefined;
  #rttStart = 0;
  #dupAcks = 0;
  /** In fast recovery (RFC 6582 / RFC 6675). */
  inRecovery = false;
  #recoveryPoint = 0;
  /** RFC 6675 HighRxt: the highest sequence retransmitted in this recovery. */
  #highRetransmitted = 0;
  /** SACK scoreboard: blocks the peer holds above sndUna, sorted, merged. */
  #scoreboard: SackBlock[] = [];
  #unackedSegmentsSinceAck = 0;
  #challengeAcks = 0;
  #challengeWindowStart = 0;
  /** The user closed the socket (no one will read): FIN-WAIT-2 may time out. */
  orphaned = false;
  #lastReceiveAt = 0;

  /** Tail loss probe deadline (RFC 8985 §7). */
  #probeAt = Infinity;
  #probeOutstanding = false;
  /** Window before the current recovery, for undo (RFC 3522). */
  #undo: { cwnd: number; ssthresh: number; tsval: number; una: number } | undefined;
  /** Retransmission timeouts (RFC 6298 §5.4). */
  retransmitTimeouts = 0;
  /** Fast retransmits (entries into recovery). */
  fastRetransmits = 0;
  /** Recoveries undone as spurious (RFC 3522). */
  spuriousRetransmits = 0;
  /** Tail loss probes sent (RFC 8985 §7). */
  tailLossProbes = 0;

  #output: OutgoingSegment[] = [];
  /** Set when something the user waits on may have changed (readable, writable, state). */
  changed = false;

  private constructor(config: TcpConfig, tuple: TcpTuple, iss: number, now: number) {
    this.config = config;
    this.tuple = tuple;
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.#sendBufferSeq = seqAdd(this.iss, 1);
    this.sendBuffer = new RingBuffer(config.sendBufferSize);
    this.receiveBuffer = new RingBuffer(config.receiveBufferSize);
    this.#assembler = new Assembler(config.maxOutOfOrderRanges);
    this.rtt = new RttEstimator(config.rto);
    this.cc = createCongestionControl(config.congestionControl, config.maxSegmentSize);
    // Randomized timestamp offset per connection (RFC 7323 §5.4).
    this.#tsOffset = Math.floor(Math.random() * 0x100000000);
    this.#lastReceiveAt = now;
    if (config.windowScaling) this.rcvWindowShift = windowShiftFor(config.receiveBufferSize);
  }

  /** Active open: sends SYN and enters SYN-SENT. */
  static connect(config: TcpConfig, tuple: TcpTuple, iss: number, now: number): TcpControlBlock {
    const tcb = new TcpControlBlock(config, tuple, iss, now);
    tcb.state = "SYN-SENT";
    tcb.#sendSyn(now, false);
    return tcb;
  }

  /**
   * Passive open from a listener: `syn` is the peer's SYN. Replies SYN-ACK and enters
   * SYN-RECEIVED.
   */
  static accept(
    config: TcpConfig,
    tuple: TcpTuple,
    syn: IncomingSegment,
    iss: number,
    now: number,
  ): TcpControlBlock {
    const tcb = new TcpControlBlock(config, tuple, iss, now);
    tcb.state = "SYN-RECEIVED";
    tcb.#takeSynOptions(syn, now);
    tcb.irs = syn.seq;
    tcb.rcvNxt = seqAdd(syn.seq, 1);
    tcb.#updateWindow(syn.window, syn.seq, syn.ack, true);
    tcb.#sendSyn(now, true);
    return tcb;
  }

  /**
   * A connection created from a SYN cookie's final ACK (RFC 4987 §3.6): already ESTABLISHED,
   * with the MSS the cookie encoded and no other options.
   */
  static fromCookie(
    config: TcpConfig,
    tuple: TcpTuple,
    ack: IncomingSegment,
    iss: number,
    mss: number,
    now: number,
  ): TcpControlBlock {
    const tcb = new TcpControlBlock(config, tuple, iss, now);
    tcb.rcvWindowShift = 0;
    tcb.irs = seqAdd(ack.seq, -1);
    tcb.rcvNxt = ack.seq;
    tcb.sndUna = seqAdd(iss, 1);
    tcb.sndNxt = tcb.sndUna;
    tcb.sndMax = tcb.sndUna;
    tcb.sendMss = Math.min(mss, config.maxSegmentSize);
    tcb.cc = createCongestionControl(config.congestionControl, tcb.sendMss);
    tcb.state = "ESTABLISHED";
    tcb.#updateWindow(ack.window, ack.seq, ack.ack, true);
    tcb.rcvAdvertisedEdge = seqAdd(tcb.rcvNxt, Math.min(65535, config.receiveBufferSize));
    tcb.#acceptData(ack, now);
    tcb.#output_(now);
    return tcb;
  }

  // ---------------------------------------------------------------- user calls

  /** Bytes that can be read now. */
  get readableLength(): number {
    return this.receiveBuffer.length;
  }

  /** Whether the peer's FIN was received and every byte before it was read. */
  get readEnded(): boolean {
    return this.finReceived && this.receiveBuffer.length === 0;
  }

  /** Free space in the send buffer. */
  get writableLength(): number {
    return this.#finQueued ? 0 : this.sendBuffer.free;
  }

  /** Whether the user may still write (state allows sending and FIN not queued). */
  get canWrite(): boolean {
    return !this.#finQueued &&
      (this.state === "ESTABLISHED" || this.state === "CLOSE-WAIT" || this.state === "SYN-SENT" ||
        this.state === "SYN-RECEIVED");
  }

  /** Bytes written but not yet acknowledged by the peer. */
  get unacknowledged(): number {
    return this.sendBuffer.length;
  }

  /** Queues as much of `data` as fits in the send buffer; returns the bytes taken. */
  write(data: Uint8Array, now: number): number {
    if (!this.canWrite) return 0;
    const n = this.sendBuffer.write(data);
    if (n > 0) this.#output_(now);
    return n;
  }

  /** Moves received bytes into `into`; returns the count. Opens the window as space frees. */
  read(into: Uint8Array, now: number): number {
    const before = this.#advertisableWindow();
    const n = this.receiveBuffer.read(into);
    if (n > 0 && this.#isDataState()) {
      // Window update when reading opened the window enough (receiver SWS avoidance).
      const edge = seqAdd(this.rcvNxt, this.#advertisableWindow());
      if (
        this.#advertisableWindow() > before &&
        seqDiff(this.rcvAdvertisedEdge, edge) >= this.#windowUpdateThreshold()
      ) {
        this.#sendAck(now);
      }
    }
    return n;
  }

  /**
   * Closes the sending direction: FIN goes after the data already written (RFC 9293 §3.10.4).
   */
  close(now: number): void {
    switch (this.state) {
      case "SYN-SENT":
        this.#enterClosed();
        return;
      case "SYN-RECEIVED":
      case "ESTABLISHED":
        this.#finQueued = true;
        this.state = "FIN-WAIT-1";
        this.#output_(now);
        return;
      case "CLOSE-WAIT":
        this.#finQueued = true;
        this.state = "LAST-ACK";
        this.#output_(now);
        return;
      default:
        return; // already closing
    }
  }

  /** Aborts: sends RST (if synchronized) and enters CLOSED. */
  abort(now: number, error: TcpError = "aborted"): void {
    if (
      this.state === "SYN-RECEIVED" || this.state === "ESTABLISHED" ||
      this.state === "FIN-WAIT-1" ||
      this.state === "FIN-WAIT-2" || this.state === "CLOSE-WAIT"
    ) {
      this.#emit({
        seq: this.sndMax,
        ack: 0,
        flags: RST,
        window: 0,
        payload: EMPTY,
        retransmission: false,
      }, now);
    }
    this.error ??= error;
    this.#enterClosed();
  }

  /** Changes Nagle (true disables it). */
  setNoDelay(noDelay: boolean, now: number): void {
    this.config.noDelay = noDelay;
    if (noDelay) this.#output_(now);
  }

  /** Turns keepalive on or off. */
  setKeepAlive(enabled: boolean, now: number): void {
    this.config.keepAlive = enabled;
    this.#keepAliveProbesSent = 0;
    this.#keepAliveAt = enabled && this.state === "ESTABLISHED"
      ? now + this.config.keepAliveIdle
      : Infinity;
  }

  /** An ICMP error said the peer cannot be reached (RFC 1122 §4.2.3.9: soft error unless connecting). */
  unreachable(now: number): void {
    if (this.state === "SYN-SENT") {
      this.error = "unreachable";
      this.#enterClosed();
    }
    void now;
  }

  // ---------------------------------------------------------------- output plumbing

  /** Segments to send, oldest first; empties the queue. */
  takeOutput(): OutgoingSegment[] {
    const out = this.#output;
    this.#output = [];
    return out;
  }

  /** Whether segments are waiting in the output queue. */
  get hasOutput(): boolean {
    return this.#output.length > 0;
  }

  /** The earliest time {@linkcode poll} has work, or Infinity. */
  nextDeadline(): number {
    return Math.min(
      this.#retransmitAt,
      this.#probeAt,
      this.#delayedAckAt,
      this.#persistAt,
      this.#keepAliveAt,
      this.#timeWaitAt,
      this.#finWait2At,
      this.config.userTimeout > 0 && this.#unackedSince !== Infinity
        ? this.#unackedSince + this.config.userTimeout
        : Infinity,
    );
  }

  #emit(segment: OutgoingSegment, now: number): void {
    if (this.timestampsEnabled && !(segment.flags & RST)) {
      segment.options ??= {};
      segment.options.timestamp = { value: this.#tsNow(now), echoReply: this.#tsRecent };
    }
    if (segment.flags & ACK) {
      this.#lastAckSent = segment.ack;
      this.#delayedAckAt = Infinity;
      this.#unackedSegmentsSinceAck = 0;
    }
    this.#output.push(segment);
  }

  #tsNow(now: number): number {
    return (Math.floor(now) + this.#tsOffset) >>> 0;
  }

  /** The receive window we could offer now: free receive buffer space. */
  #advertisableWindow(): number {
    return this.receiveBuffer.free;
  }

  /** The smallest move of the window's right edge worth offering: min(buffer / 2, MSS). */
  #windowUpdateThreshold(): number {
    return Math.min(this.config.receiveBufferSize / 2, this.config.maxSegmentSize);
  }

  /** The window field for an outgoing segment, never shrinking the advertised right edge. */
  #windowField(): number {
    const available = this.#advertisableWindow();
    let edge = seqAdd(this.rcvNxt, available);
    // Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): move the edge only by useful amounts, also
    // when the window is closed (offering a few bytes invites tiny segments).
    const gain = seqDiff(this.rcvAdvertisedEdge, edge);
    if (gain > 0 && gain < this.#windowUpdateThreshold()) edge = this.rcvAdvertisedEdge;
    if (seqLt(edge, this.rcvAdvertisedEdge)) edge = this.rcvAdvertisedEdge; // never shrink
    const window = Math.max(0, seqDiff(this.rcvNxt, edge));
    const field = Math.min(0xffff, Math.floor(window / 2 ** this.rcvWindowShift));
    this.rcvAdvertisedEdge = seqMax(
      this.rcvAdvertisedEdge,
      seqAdd(this.rcvNxt, field * 2 ** this.rcvWindowShift),
    );
    return field;
  }

  #sackBlocks(): SackBlock[] | undefined {
    if (!this.sackEnabled || this.#assembler.isEmpty) return undefined;
    const ranges = this.#assembler.ranges;
    const max = this.timestampsEnabled ? 3 : 4;
    const blocks: SackBlock[] = [];
    const last = this.#assembler.lastAdded;
    // RFC 2018 §4: the first block reports the most recently received segment's range.
    const first = last
      ? ranges.find((r) => r.start <= last.start && last.start < r.end)
      : undefined;
    if (first) blocks.push([seqAdd(this.rcvNxt, first.start), seqAdd(this.rcvNxt, first.end)]);
    for (let i = ranges.length - 1; i >= 0 && blocks.length < max; i--) {
      const r = ranges[i];
      if (r === first) continue;
      blocks.push([seqAdd(this.rcvNxt, r.start), seqAdd(this.rcvNxt, r.end)]);
    }
    return blocks;
  }

  #sendAck(now: number): void {
    const sack = this.#sackBlocks();
    this.#emit({
      // SND.MAX, not SND.NXT: after an RTO pulled SND.NXT back (go-back-N), an ACK numbered
      // below what the peer already has looks like an old duplicate; the peer answers it with
      // an ACK of its own and ignores its acknowledgment, and two such peers ACK each other
      // forever (Linux never moves snd_nxt back, so its ACKs carry the highest sent too).
      seq: this.sndMax,
      ack: this.rcvNxt,
      flags: ACK,
      window: this.#windowField(),
      options: sack ? { sackBlocks: sack } : undefined,
      payload: EMPTY,
      retransmission: false,
    }, now);
  }

  #challengeAck(now: number): void {
    // RFC 5961 §7: rate limit challenge ACKs.
    if (now - this.#challengeWindowStart >= 1000) {
      this.#challengeWindowStart = now;
      this.#challengeAcks = 0;
    }
    if (this.#challengeAcks >= this.config.challengeAckLimit) return;
    this.#challengeAcks++;
    this.#sendAck(now);
  }

  #sendSyn(now: number, withAck: boolean): void {
    const options: TcpOptions = { maxSegmentSize: this.config.maxSegmentSize };
    const offerScale = withAck ? this.sndWindowShiftOffered : this.config.windowScaling;
    if (offerScale) options.windowScale = this.rcvWindowShift;
    const offerSack = withAck ? this.sackEnabled : this.config.sack;
    if (offerSack) options.sackPermitted = true;
    const offerTs = withAck ? this.timestampsEnabled : this.config.timestamps;
    if (offerTs) {
      options.timestamp = { value: this.#tsNow(now), echoReply: withAck ? this.#tsRecent : 0 };
    }
    const window = Math.min(0xffff, this.config.receiveBufferSize); // SYN windows are unscaled
    this.#output.push({
      seq: this.iss,
      ack: withAck ? this.rcvNxt : 0,
      flags: withAck ? SYN | ACK : SYN,
      window,
      options,
      payload: EMPTY,
      retransmission: this.sndMax !== this.iss,
    });
    if (withAck) {
      this.#lastAckSent = this.rcvNxt;
      this.rcvAdvertisedEdge = seqAdd(this.rcvNxt, window);
    }
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
    if (this.#retransmitAt === Infinity) this.#retransmitAt = now + this.rtt.rto;
    if (this.#rttSeq === undefined && this.#retransmitCount === 0) {
      this.#rttSeq = this.iss;
      this.#rttStart = now;
    }
  }

  /** Whether the peer offered window scaling in its SYN (so we may use it, RFC 7323 §2.2). */
  sndWindowShiftOffered = false;

  #takeSynOptions(syn: IncomingSegment, now: number): void {
    const o = syn.options;
    this.sendMss = Math.min(o.maxSegmentSize ?? 536, this.config.maxSegmentSize);
    if (o.windowScale !== undefined && this.config.windowScaling) {
      this.sndWindowShiftOffered = true;
      this.sndWindowShift = o.windowScale;
    } else {
      this.sndWindowShift = 0;
      this.rcvWindowShift = 0;
    }
    this.sackEnabled = this.config.sack && o.sackPermitted === true;
    if (this.config.timestamps && o.timestamp) {
      this.timestampsEnabled = true;
      this.#tsRecent = o.timestamp.value;
      this.#tsRecentAt = now;
    }
    this.cc = createCongestionControl(this.config.congestionControl, this.#payloadMss());
  }

  /** Payload bytes per full segment: MSS less the options every segment carries. */
  #payloadMss(): number {
    return this.sendMss - (this.timestampsEnabled ? 12 : 0);
  }

  #isClosed(): boolean {
    return this.state === "CLOSED";
  }

  #isDataState(): boolean {
    return this.state === "ESTABLISHED" || this.state === "FIN-WAIT-1" ||
      this.state === "FIN-WAIT-2";
  }

  #enterClosed(): void {
    this.state = "CLOSED";
    this.#retransmitAt = Infinity;
    this.#delayedAckAt = Infinity;
    this.#persistAt = Infinity;
    this.#keepAliveAt = Infinity;
    this.#timeWaitAt = Infinity;
    this.#finWait2At = Infinity;
    this.#unackedSince = Infinity;
    this.changed = true;
  }

  #enterTimeWait(now: number): void {
    this.state = "TIME-WAIT";
    this.#retransmitAt = Infinity;
    this.#persistAt = Infinity;
    this.#keepAliveAt = Infinity;
    this.#finWait2At = Infinity;
    this.#unackedSince = Infinity;
    this.#timeWaitAt = now + this.config.timeWaitTimeout;
    this.changed = true;
  }

  // ---------------------------------------------------------------- segment arrival

  /** Processes one segment addressed to this connection (RFC 9293 §3.10.7). */
  receive(seg: IncomingSegment, now: number): void {
    this.#lastReceiveAt = now;
    if (this.state === "CLOSED") return;
    if (this.state === "SYN-SENT") {
      this.#receiveInSynSent(seg, now);
    } else {
      this.#receiveSynchronizedOrSynReceived(seg, now);
    }
    if (this.config.keepAlive && this.state === "ESTABLISHED") {
      this.#keepAliveProbesSent = 0;
      this.#keepAliveAt = now + this.config.keepAliveIdle;
    }
    if (!this.#isClosed() && this.state !== "TIME-WAIT") this.#output_(now);
  }

  #receiveInSynSent(seg: IncomingSegment, now: number): void {
    const hasAck = (seg.flags & ACK) !== 0;
    // First: check the ACK (RFC 9293 §3.10.7.3).
    if (hasAck && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      if (!(seg.flags & RST)) {
        this.#emit({
          seq: seg.ack,
          ack: 0,
          flags: RST,
          window: 0,
          payload: EMPTY,
          retransmission: false,
        }, now);
      }
      return;
    }
    const ackAcceptable = hasAck && seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax);
    if (seg.flags & RST) {
      // RFC 5961 §3.2 for SYN-SENT: only an RST acknowledging our SYN counts.
      if (ackAcceptable) {
        this.error = "refused";
        this.#enterClosed();
      }
      return;
    }
    if (!(seg.flags & SYN)) return;
    this.#takeSynOptions(seg, now);
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    if (ackAcceptable) {
      this.#ackSyn(seg, now);
      this.state = "ESTABLISHED";
      this.changed = true;
      this.#updateWindow(seg.window, seg.seq, seg.ack, true);
      this.rcvAdvertisedEdge = this.rcvNxt;
      if (seg.payload.length) this.#acceptData({ ...seg, seq: this.rcvNxt }, now);
      this.#sendAck(now);
      if (this.config.keepAlive) this.#keepAliveAt = now + this.config.keepAliveIdle;
    } else {
      // Simultaneous open (RFC 9293 Figure 8): SYN-RECEIVED, send SYN-ACK.
      this.state = "SYN-RECEIVED";
      this.#updateWindow(seg.window, seg.seq, seg.ack, true);
      this.sndNxt = this.iss;
      this.#sendSyn(now, true);
    }
  }

  /** Our SYN was acknowledged: RTT sample, clear the SYN's retransmission state. */
  #ackSyn(seg: IncomingSegment, now: number): void {
    this.sndUna = seg.ack;
    if (this.#retransmitCount === 0) {
      this.#sampleRtt(seg, now);
    }
    this.#rttSeq = undefined;
    this.#retransmitCount = 0;
    this.rtt.backoff = 0;
    this.#retransmitAt = Infinity;
  }

  #receiveSynchronizedOrSynReceived(seg: IncomingSegment, now: number): void {
    const flags = seg.flags;
    const payloadLength = seg.payload.length;
    const segLength = payloadLength + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);

    // RFC 9293 §3.10.7.4 first: PAWS (RFC 7323 §5.3).
    if (this.timestampsEnabled && seg.options.timestamp && !(flags & RST)) {
      const tsval = seg.options.timestamp.value;
      if (seqLt(tsval, this.#tsRecent)) {
        if (now - this.#tsRecentAt > PAWS_IDLE_LIMIT) {
          this.#tsRecent = tsval; // ts.recent is too old to trust (RFC 7323 §5.5)
        } else {
          this.#sendAck(now);
          return;
        }
      }
    }

    // SYN-RECEIVED: a retransmitted SYN means our SYN-ACK was lost.
    if (this.state === "SYN-RECEIVED" && (flags & SYN) && !(flags & ACK) && seg.seq === this.irs) {
      this.sndNxt = this.iss;
      this.#sendSyn(now, true);
      return;
    }

    // Simultaneous open (RFC 9293 Figure 8, line 6): the peer's SYN-ACK acknowledges our SYN and
    // completes the handshake. Its SYN is one we already have, so the sequence check below would
    // drop it and cost a round trip; Linux accepts it the same way.
    if (
      this.state === "SYN-RECEIVED" && (flags & SYN) && (flags & ACK) && !(flags & RST) &&
      seg.seq === this.irs && seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax)
    ) {
      this.#ackSyn(seg, now);
      this.state = this.#finQueued ? "FIN-WAIT-1" : "ESTABLISHED";
      this.changed = true;
      this.#updateWindow(seg.window, seg.seq, seg.ack, true);
      if (this.config.keepAlive) this.#keepAliveAt = now + this.config.keepAliveIdle;
      return;
    }

    // First check: sequence number acceptability.
    const window = seqDiff(this.rcvNxt, this.rcvAdvertisedEdge);
    let acceptable: boolean;
    if (segLength === 0) {
      acceptable = window === 0 ? seg.seq === this.rcvNxt : seqLe(this.rcvNxt, seg.seq) &&
        seqLt(seg.seq, seqAdd(this.rcvNxt, window));
    } else if (window === 0) {
      acceptable = false;
    } else {
      const last = seqAdd(seg.seq, segLength - 1);
      acceptable = (seqLe(this.rcvNxt, seg.seq) && seqLt(seg.seq, this.rcvAdvertisedEdge)) ||
        (seqLe(this.rcvNxt, last) && seqLt(last, this.rcvAdvertisedEdge));
    }
    if (!acceptable) {
      if (flags & RST) return;
      // TIME-WAIT: the peer's retransmitted FIN (it lost our ACK) is acknowledged below and
      // restarts the 2 MSL timer (RFC 9293 §3.10.7.4, TIME-WAIT; as Linux does).
      if (
        this.state === "TIME-WAIT" && (flags & FIN) &&
        seqAdd(seg.seq, segLength) === this.rcvNxt
      ) {
        this.#timeWaitAt = now + this.config.timeWaitTimeout;
      }
      // A zero window still takes ACKs (RFC 9293 §3.10.7.4): process the ACK, drop the data.
      if (window === 0 && segLength > 0 && (flags & ACK) && seg.seq === this.rcvNxt) {
        this.#processAck(seg, now);
      }
      // The required ACK for an unacceptable segment: a dropped segment never goes silent.
      if (this.state !== "CLOSED") this.#sendAck(now);
      return;
    }

    // Second: RST (RFC 5961 §3.2).
    if (flags & RST) {
      if (seg.seq === this.rcvNxt) {
        if (this.state === "SYN-RECEIVED") {
          this.error = "refused";
        } else if (
          this.state === "ESTABLISHED" || this.state === "FIN-WAIT-1" ||
          this.state === "FIN-WAIT-2" ||
          this.state === "CLOSE-WAIT"
        ) {
          this.error = "reset";
        }
        this.#enterClosed();
      } else {
        this.#challengeAck(now);
      }
      return;
    }

    // Fourth: SYN in a synchronized state (RFC 5961 §4): challenge ACK.
    if (flags & SYN) {
      this.#challengeAck(now);
      return;
    }

    // Fifth: the ACK field.
    if (!(flags & ACK)) return;
    if (this.state === "SYN-RECEIVED") {
      if (seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax)) {
        this.#ackSyn(seg, now);
        this.state = "ESTABLISHED";
        this.changed = true;
        this.#updateWindow(seg.window, seg.seq, seg.ack, false);
        if (this.config.keepAlive) this.#keepAliveAt = now + this.config.keepAliveIdle;
        if (this.#finQueued) this.state = "FIN-WAIT-1"; // closed before the handshake finished
      } else {
        this.#emit({
          seq: seg.ack,
          ack: 0,
          flags: RST,
          window: 0,
          payload: EMPTY,
          retransmission: false,
        }, now);
        return;
      }
    }
    if (!this.#processAck(seg, now)) return;
    if (this.state === "CLOSED") return;
    if (this.state === "TIME-WAIT") {
      // Only a retransmitted FIN can arrive: acknowledge it and restart the 2MSL timer.
      if (flags & FIN) {
        this.#sendAck(now);
        this.#timeWaitAt = now + this.config.timeWaitTimeout;
      }
      return;
    }

    // Timestamp recent update (RFC 7323 §4.3): seg.seq <= Last.ACK.sent < seg.seq + len.
    if (this.timestampsEnabled && seg.options.timestamp) {
      const tsval = seg.options.timestamp.value;
      if (seqGe(tsval, this.#tsRecent) && seqLe(seg.seq, this.#lastAckSent)) {
        this.#tsRecent = tsval;
        this.#tsRecentAt = now;
      }
    }

    // Seventh: segment text.
    if (
      this.orphaned && payloadLength > 0 &&
      seqGt(seqAdd(seg.seq, payloadLength), this.rcvNxt) && this.#isDataState()
    ) {
      // New data after the user closed: nobody will read it. Say so with RST (RFC 1122
      // §4.2.2.13) rather than ACK data that is thrown away and keep the peer sending.
      this.abort(now, "aborted");
      return;
    }
    if (payloadLength > 0 || (flags & FIN)) {
      if (this.#isDataState()) {
        this.#acceptData(seg, now);
      } else if (flags & FIN) {
        // CLOSE-WAIT/CLOSING/LAST-ACK: a retransmitted FIN; just re-ACK.
        this.#sendAck(now);
      }
    }
  }

  /**
   * The ACK checks and processing of RFC 9293 §3.10.7.4 fifth step, with RFC 5961 §5.2.
   * Returns false when the segment must be dropped.
   */
  #processAck(seg: IncomingSegment, now: number): boolean {
    const ack = seg.ack;
    if (seqGt(ack, this.sndMax)) {
      // Acknowledges something not yet sent: ACK and drop.
      this.#sendAck(now);
      return false;
    }
    if (seqLt(ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
      this.#challengeAck(now);
      return false;
    }
    const oldWindow = this.sndWnd;
    if (seqGt(ack, this.sndUna)) {
      this.#newAck(seg, now);
    } else if (ack === this.sndUna) {
      this.#maybeDuplicateAck(seg, oldWindow, now);
    }
    if (seqGe(ack, this.sndUna)) this.#updateWindow(seg.window, seg.seq, ack, false);
    if (this.sackEnabled && seg.options.sackBlocks) this.#updateScoreboard(seg.options.sackBlocks);

    // State transitions driven by the ACK of our FIN.
    const finAcked = this.#finQueued && this.sndUna === this.#finSeqPlusOne();
    switch (this.state) {
      case "FIN-WAIT-1":
        // Only an ACK that covers our FIN moves us on (the seqs FIN-WAIT-1 bug).
        if (finAcked) {
          this.state = "FIN-WAIT-2";
          this.changed = true;
          if (this.orphaned) this.#finWait2At = now + this.config.finWait2Timeout;
        }
        break;
      case "CLOSING":
        if (finAcked) this.#enterTimeWait(now);
        break;
      case "LAST-ACK":
        if (finAcked) this.#enterClosed();
        break;
    }
    return true;
  }

  #finSeqPlusOne(): number {
    return seqAdd(this.#sendBufferSeq, this.sendBuffer.length + 1);
  }

  #updateWindow(field: number, seq: number, ack: number, isSyn: boolean): void {
    // RFC 9293 §3.10.7.4: update only from newer segments (SND.WL1/WL2).
    if (
      isSyn || seqLt(this.sndWl1, seq) || (this.sndWl1 === seq && seqLe(this.sndWl2, ack))
    ) {
      const wasZero = this.sndWnd === 0;
      this.sndWnd = isSyn ? field : field * 2 ** this.sndWindowShift;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      if (this.sndWnd > 0 && wasZero) {
        this.#persistAt = Infinity;
        this.#persistBackoff = 0;
      }
    }
  }

  #newAck(seg: IncomingSegment, now: number): void {
    const ack = seg.ack;
    const acked = seqDiff(this.sndUna, ack);
    const flightBefore = seqDiff(this.sndUna, this.sndMax);
    // Remove acknowledged data (a FIN's sequence number has no byte in the buffer).
    const dataAcked = Math.min(
      Math.max(0, seqDiff(this.#sendBufferSeq, ack)),
      this.sendBuffer.length,
    );
    if (dataAcked > 0) {
      this.sendBuffer.consume(dataAcked);
      this.#sendBufferSeq = seqAdd(this.#sendBufferSeq, dataAcked);
      this.changed = true;
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    if (seqLt(this.#highRetransmitted, ack)) this.#highRetransmitted = ack;
    this.#pruneScoreboard();
    // RTT: timestamps give a sample per ACK; otherwise the timed segment, if not retransmitted.
    this.#sampleRtt(seg, now);
    this.#retransmitCount = 0;
    this.rtt.backoff = 0;

    const undo = this.#undo;
    const echo = seg.options.timestamp?.echoReply;
    if (
      this.inRecovery && undo && echo !== undefined && echo !== 0 && seqLt(echo, undo.tsval) &&
      seqGt(ack, undo.una)
    ) {
      // The ACK echoes a timestamp older than our retransmission: the original arrived, the
      // retransmission was spurious (reordering, not loss). Restore the window (RFC 3522).
      this.inRecovery = false;
      this.cc.cwnd = Math.max(this.cc.cwnd, undo.cwnd);
      this.cc.ssthresh = undo.ssthresh;
      this.#undo = undefined;
      this.spuriousRetransmits++;
    } else if (this.inRecovery) {
      if (seqGe(ack, this.#recoveryPoint)) {
        this.inRecovery = false;
        this.#undo = undefined;
        this.cc.onRecoveryExit();
      } else if (!this.sackEnabled) {
        // NewReno partial ACK (RFC 6582 §3.2 step 5): retransmit the next hole, deflate.
        this.#retransmitAt = Infinity;
        this.#retransmitRange(this.sndUna, this.#payloadMss(), now);
        this.cc.cwnd = Math.max(this.cc.cwnd - acked + this.#payloadMss(), this.#payloadMss());
      }
    } else {
      this.cc.onAck(acked, flightBefore, now, this.rtt.srtt);
    }
    this.#dupAcks = 0;
    // Restart or stop the retransmission timer (RFC 6298 §5.2–5.3).
    this.#probeOutstanding = false;
    if (this.sndUna === this.sndMax) {
      this.#retransmitAt = Infinity;
      this.#unackedSince = Infinity;
      this.#probeAt = Infinity;
    } else {
      this.#retransmitAt = now + this.rtt.rto;
      this.#unackedSince = now;
      this.#armProbe(now);
    }
  }

  #sampleRtt(seg: IncomingSegment, now: number): void {
    const ts = seg.options.timestamp;
    if (this.timestampsEnabled && ts && ts.echoReply !== 0) {
      const rtt = seqDiff(ts.echoReply, this.#tsNow(now));
      if (rtt >= 0 && rtt < 600_000) this.rtt.sample(rtt);
      return;
    }
    if (this.#rttSeq !== undefined && seqGt(seg.ack, this.#rttSeq)) {
      this.rtt.sample(now - this.#rttStart);
      this.#rttSeq = undefined;
    }
  }

  #maybeDuplicateAck(seg: IncomingSegment, oldWindow: number, now: number): void {
    // RFC 5681 §2 duplicate ACK: no data, no SYN/FIN, same window, data outstanding.
    const outstanding = this.sndMax !== this.sndUna;
    const sameWindow = seg.window * 2 ** this.sndWindowShift === oldWindow;
    const carriesSack = this.sackEnabled && (seg.options.sackBlocks?.length ?? 0) > 0;
    if (
      !outstanding || seg.payload.length !== 0 || (seg.flags & (SYN | FIN)) !== 0 ||
      (!sameWindow && !carriesSack)
    ) {
      return;
    }
    if (this.sackEnabled && seg.options.sackBlocks) this.#updateScoreboard(seg.options.sackBlocks);
    this.#dupAcks++;
    const mss = this.#payloadMss();
    if (this.inRecovery) {
      if (!this.sackEnabled) this.cc.cwnd += mss; // NewReno inflation (RFC 6582 step 4)
      return;
    }
    const sackLoss = this.sackEnabled && this.#scoreboard.length > 0 && this.#isLost(this.sndUna);
    if (this.#dupAcks >= DUP_THRESHOLD || sackLoss) {
      // Fast retransmit (RFC 5681 §3.2, RFC 6675 §5).
      const flight = seqDiff(this.sndUna, this.sndMax);
      this.inRecovery = true;
      this.#recoveryPoint = this.sndMax;
      // Remember the window so a spurious retransmission can be undone (Eifel, RFC 3522).
      this.#undo = this.timestampsEnabled
        ? {
          cwnd: this.cc.cwnd,
          ssthresh: this.cc.ssthresh,
          tsval: this.#tsNow(now),
          una: this.sndUna,
        }
        : undefined;
      this.#probeAt = Infinity;
      this.fastRetransmits++;
      this.cc.onCongestion(flight, now);
      if (!this.sackEnabled) this.cc.cwnd = this.cc.ssthresh + DUP_THRESHOLD * mss;
      this.#highRetransmitted = this.sndUna;
      this.#rttSeq = undefined; // Karn
      this.#highRetransmitted = seqAdd(this.sndUna, this.#retransmitRange(this.sndUna, mss, now));
      this.#retransmitAt = now + this.rtt.rto;
    }
  }

  // ---------------------------------------------------------------- SACK scoreboard

  #updateScoreboard(blocks: SackBlock[]): void {
    for (const [left, right] of blocks) {
      // Ignore blocks below una or beyond what we sent (RFC 2018 §8, D-SACK not used).
      if (!seqLt(left, right) || seqLe(right, this.sndUna) || seqGt(right, this.sndMax)) continue;
      const l = seqMax(left, this.sndUna);
      const merged: SackBlock[] = [];
      let nl = l;
      let nr = right;
      for (const b of this.#scoreboard) {
        if (seqLt(b[1], nl) || seqGt(b[0], nr)) merged.push(b);
        else {
          nl = seqMin(nl, b[0]);
          nr = seqMax(nr, b[1]);
        }
      }
      merged.push([nl, nr]);
      merged.sort((a, b) => seqDiff(b[0], a[0]));
      this.#scoreboard = merged.slice(0, 64);
    }
    // With SACKed data the peer's ACKs already tell what is missing: no tail loss probe
    // (RFC 8985 §7.2 condition 2); SACK recovery or the RTO takes over.
    if (this.#scoreboard.length > 0) this.#probeAt = Infinity;
  }

  #pruneScoreboard(): void {
    const una = this.sndUna;
    this.#scoreboard = this.#scoreboard
      .filter((b) => seqGt(b[1], una))
      .map((b) => [seqMax(b[0], una), b[1]] as SackBlock);
  }

  #sackedBytes(): number {
    let n = 0;
    for (const [l, r] of this.#scoreboard) n += seqDiff(l, r);
    return n;
  }

  /** If `seq` is inside a SACKed block, the block's end; else undefined. */
  #sackedUntil(seq: number): number | undefined {
    for (const [l, r] of this.#scoreboard) if (seqLe(l, seq) && seqLt(seq, r)) return r;
    return undefined;
  }

  /** Start of the next SACKed block after `seq`, or undefined. */
  #nextSackedStart(seq: number): number | undefined {
    for (const [l] of this.#scoreboard) if (seqGt(l, seq)) return l;
    return undefined;
  }

  #highestSacked(): number | undefined {
    const last = this.#scoreboard[this.#scoreboard.length - 1];
    return last?.[1];
  }

  /**
   * RFC 6675 IsLost for every octet of a hole starting at `seq`: DupThresh SACKed blocks above
   * it, or more than (DupThresh − 1) × SMSS SACKed bytes above it.
   */
  #isLost(seq: number): boolean {
    let blocks = 0;
    let bytes = 0;
    for (const [l, r] of this.#scoreboard) {
      if (seqGe(l, seq)) {
        blocks++;
        bytes += seqDiff(l, r);
      }
    }
    return blocks >= DUP_THRESHOLD || bytes > (DUP_THRESHOLD - 1) * this.#payloadMss();
  }

  /** The unSACKed ranges between sndUna and the highest SACKed byte: [start, end). */
  #holes(): [number, number][] {
    const holes: [number, number][] = [];
    let s = this.sndUna;
    for (const [l, r] of this.#scoreboard) {
      if (seqLt(s, l)) holes.push([s, l]);
      s = seqMax(s, r);
    }
    return holes;
  }

  /** Bytes of [start, end) at or below HighRxt, i.e. retransmitted in this recovery. */
  #retransmittedIn(start: number, end: number): number {
    if (!seqGt(this.#highRetransmitted, start)) return 0;
    return seqDiff(start, seqMin(end, this.#highRetransmitted));
  }

  /** RFC 6675 SetPipe: bytes believed to be in the network. */
  #pipe(): number {
    const high = this.#highestSacked();
    if (high === undefined) {
      return seqDiff(this.sndUna, this.sndMax) + (this.inRecovery ? 0 : 0);
    }
    let pipe = 0;
    for (const [start, end] of this.#holes()) {
      const length = seqDiff(start, end);
      const retransmitted = this.#retransmittedIn(start, end);
      pipe += (this.#isLost(start) ? 0 : length) + retransmitted;
    }
    // Above the highest SACK nothing is deemed lost.
    pipe += Math.max(0, seqDiff(high, this.sndMax));
    return pipe;
  }

  /** Bytes of data (and FIN) from `seq` to the end of what we have to send. */
  #bytesAfter(seq: number): number {
    return Math.max(0, seqDiff(seq, seqAdd(this.#sendBufferSeq, this.sendBuffer.length)));
  }

  // ---------------------------------------------------------------- data arrival

  #acceptData(seg: IncomingSegment, now: number): void {
    let seq = seg.seq;
    let payload = seg.payload;
    let fin = (seg.flags & FIN) !== 0;
    // Trim what we already have.
    const before = seqDiff(seq, this.rcvNxt);
    if (before > 0) {
      if (before >= payload.length) {
        payload = EMPTY;
        if (before > payload.length && fin && seqAdd(seq, seg.payload.length) !== this.rcvNxt) {
          fin = fin && seqAdd(seq, seg.payload.length) === this.rcvNxt;
        }
      } else payload = payload.subarray(before);
      seq = seqMax(seq, this.rcvNxt);
    }
    // Trim what is beyond the window.
    const room = seqDiff(seq, this.rcvAdvertisedEdge);
    if (payload.length > room) {
      payload = payload.subarray(0, Math.max(0, room));
      fin = false;
    }
    const offset = seqDiff(this.rcvNxt, seq);
    let outOfOrder = false;
    let filledGap = false;
    if (payload.length > 0) {
      if (offset === 0 && this.#assembler.isEmpty) {
        // The common case: in order, nothing buffered beyond.
        const n = this.receiveBuffer.write(payload);
        this.rcvNxt = seqAdd(this.rcvNxt, n);
        if (n > 0) this.changed = true;
      } else {
        const stored = this.receiveBuffer.writeAt(offset, payload);
        const contiguous = this.#assembler.add(offset, offset + stored);
        if (contiguous < 0) {
          fin = false; // too many gaps: drop this segment's data, the peer retransmits
        } else if (contiguous > 0) {
          this.receiveBuffer.commit(contiguous);
          this.#assembler.advance(contiguous);
          this.rcvNxt = seqAdd(this.rcvNxt, contiguous);
          this.changed = true;
          filledGap = offset === 0;
        }
        outOfOrder = offset > 0;
      }
    }
    if (fin) this.#remoteFinSeq = seqAdd(seq, payload.length);
    let finNow = false;
    if (
      this.#remoteFinSeq !== undefined && this.rcvNxt === this.#remoteFinSeq && !this.finReceived
    ) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.finReceived = true;
      this.changed = true;
      finNow = true;
      this.#assembler.clear();
      switch (this.state) {
        case "SYN-RECEIVED":
        case "ESTABLISHED":
          this.state = "CLOSE-WAIT";
          break;
        case "FIN-WAIT-1":
          // Simultaneous close: our FIN not yet acknowledged.
          if (this.#finQueued && this.sndUna === this.#finSeqPlusOne()) this.#enterTimeWait(now);
          else this.state = "CLOSING";
          break;
        case "FIN-WAIT-2":
          this.#enterTimeWait(now);
          break;
      }
    }
    // ACK policy (RFC 9293 §3.8.6.3, RFC 5681 §4.2): at once for out-of-order data, for
    // segments that fill a gap, for FIN, and for every second full segment; else delayed.
    if (outOfOrder || filledGap || finNow || payload.length === 0) {
      this.#sendAck(now);
      return;
    }
    this.#unackedSegmentsSinceAck++;
    if (
      this.#unackedSegmentsSinceAck >= 2 || (seg.flags & PSH && this.config.delayedAckTimeout === 0)
    ) {
      this.#sendAck(now);
    } else if (this.#delayedAckAt === Infinity) {
      this.#delayedAckAt = now + this.config.delayedAckTimeout;
    }
  }

  // ---------------------------------------------------------------- sending

  /** Sends whatever the windows, Nagle and the state allow. */
  #output_(now: number): void {
    const sending = this.state === "ESTABLISHED" || this.state === "CLOSE-WAIT" ||
      this.state === "FIN-WAIT-1" || this.state === "CLOSING" || this.state === "LAST-ACK";
    if (!sending) return;
    const mss = this.#payloadMss();
    const dataEnd = seqAdd(this.#sendBufferSeq, this.sendBuffer.length);
    let sentSomething = false;

    if (this.inRecovery && this.sackEnabled) {
      // RFC 6675 §5 step (C): while pipe allows, retransmit lost holes, then new data, then
      // (rule 3) any remaining hole.
      let guard = 0;
      while (this.cc.cwnd - this.#pipe() >= mss && guard++ < 1000) {
        const hole = this.#nextHole(false);
        if (hole !== undefined) {
          const sent = this.#retransmitRange(hole[0], Math.min(mss, hole[1]), now);
          if (sent === 0) break;
          this.#highRetransmitted = seqAdd(hole[0], sent);
          sentSomething = true;
          continue;
        }
        if (this.#sendNewSegment(now, mss, dataEnd, true)) {
          sentSomething = true;
          continue;
        }
        const any = this.#nextHole(true);
        if (any === undefined) break;
        const sent = this.#retransmitRange(any[0], Math.min(mss, any[1]), now);
        if (sent === 0) break;
        this.#highRetransmitted = seqAdd(any[0], sent);
        sentSomething = true;
      }
    } else {
      let guard = 0;
      while (guard++ < 100_000) {
        if (!this.#sendNewSegment(now, mss, dataEnd, false)) break;
        sentSomething = true;
      }
    }
    if (sentSomething && this.sndWnd > 0) this.#persistBackoff = 0;

    // Persist timer: data waiting and nothing in flight, so only the peer's window holds it back:
    // zero (RFC 9293 §3.8.6.1) or too small for sender SWS avoidance. A lost window update must
    // not stall the connection (§3.8.6.2.1's override timeout).
    if (
      this.#bytesAfter(this.sndNxt) > 0 && this.sndUna === this.sndMax &&
      this.#persistAt === Infinity
    ) {
      this.#persistAt = now +
        Math.min(MAX_PERSIST_INTERVAL, this.rtt.rto * 2 ** this.#persistBackoff);
    }
  }

  /**
   * RFC 6675 NextSeg rule 1 (and rule 3 when `anyHole`): the first range not SACKed and not yet
   * retransmitted in this recovery, that is deemed lost. Returns [start, length].
   */
  #nextHole(anyHole: boolean): [number, number] | undefined {
    for (const [start, end] of this.#holes()) {
      const from = seqMax(start, this.#highRetransmitted);
      if (!seqLt(from, end)) continue;
      if (anyHole || this.#isLost(start)) return [from, seqDiff(from, end)];
    }
    return undefined;
  }

  /**
   * Sends the next segment at sndNxt if windows, Nagle and SWS avoidance allow. Returns whether
   * a segment went out.
   */
  #sendNewSegment(now: number, mss: number, dataEnd: number, inSackRecovery: boolean): boolean {
    // After an RTO sndNxt may be behind sndMax: skip what the peer SACKed.
    if (seqLt(this.sndNxt, this.sndMax)) {
      const sackedEnd = this.#sackedUntil(this.sndNxt);
      if (sackedEnd !== undefined) this.sndNxt = seqMin(sackedEnd, this.sndMax);
    }
    // SACK blocks ride on data segments too: they take payload room (the IP packet must fit the
    // MTU, and DF is set).
    const options = this.#dataSegmentOptions();
    mss -= this.#sackOverhead(options);
    const available = seqDiff(this.sndNxt, dataEnd);
    const finPending = this.#finQueued && seqLe(this.sndNxt, dataEnd) &&
      seqLt(this.sndNxt, this.#finSeqPlusOne());
    if (available <= 0 && !finPending) return false;
    const inFlight = inSackRecovery
      ? this.#pipe()
      : seqDiff(this.sndUna, this.sndNxt) - this.#sackedBytes();
    const congestionRoom = this.cc.cwnd - inFlight;
    const windowRoom = seqDiff(this.sndNxt, seqAdd(this.sndUna, this.sndWnd));
    // Whole bytes: cwnd may be fractional, and a fraction of a byte is an empty segment that
    // does not move SND.NXT.
    const room = Math.floor(Math.min(congestionRoom, windowRoom));
    let length = Math.min(available, mss);
    // A retransmission after RTO must not run into SACKed data.
    const nextSacked = this.#nextSackedStart(this.sndNxt);
    if (nextSacked !== undefined && seqLt(nextSacked, this.sndMax)) {
      length = Math.min(length, seqDiff(this.sndNxt, nextSacked));
    }
    if (length > 0) {
      if (room <= 0) return false;
      if (length > room) {
        // Sender SWS avoidance (RFC 9293 §3.8.6.2.1): no tiny segment just because the window is small,
        // unless it is at least half the largest window the peer ever offered.
        // Not for a retransmission held back by the peer's window: re-sending what the window
        // already held is never silly, and holding it back after an RTO would stall the
        // connection for good. (When cwnd is what limits, wait for a full segment.)
        const windowLimited = seqLt(this.sndNxt, this.sndMax) && windowRoom <= congestionRoom;
        if (
          room < Math.min(mss, this.maxSndWnd / 2) && !(room >= available) &&
          !this.#swsOverride && !windowLimited
        ) return false;
        length = room;
      }
      const isRetransmission = seqLt(this.sndNxt, this.sndMax);
      // Nagle (RFC 9293 §3.7.4): hold a partial segment while data is unacknowledged.
      const partial = length < mss;
      const lastOfData = length === available;
      if (
        partial && !isRetransmission && !this.config.noDelay && this.sndUna !== this.sndMax &&
        !(this.#finQueued && lastOfData)
      ) {
        return false;
      }
    } else if (!finPending || windowRoom < 0) {
      return false;
    }
    const seq = this.sndNxt;
    const payload = length > 0
      ? this.sendBuffer.peek(seqDiff(this.#sendBufferSeq, seq), length)
      : EMPTY;
    let flags = ACK;
    if (length > 0 && length === available) flags |= PSH;
    const end = seqAdd(seq, length);
    if (this.#finQueued && end === dataEnd && seqLt(end, this.#finSeqPlusOne())) flags |= FIN;
    const retransmission = seqLt(seq, this.sndMax);
    this.#emit({
      seq,
      ack: this.rcvNxt,
      flags,
      window: this.#windowField(),
      options,
      payload,
      retransmission,
    }, now);
    this.sndNxt = seqAdd(end, flags & FIN ? 1 : 0);
    if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
    if (!retransmission && this.#rttSeq === undefined) {
      this.#rttSeq = seq;
      this.#rttStart = now;
    }
    if (this.#retransmitAt === Infinity) this.#retransmitAt = now + this.rtt.rto;
    if (this.#unackedSince === Infinity) this.#unackedSince = now;
    if (!retransmission) this.#armProbe(now);
    return true;
  }

  /**
   * Arms the tail loss probe: 2 × SRTT after the last send (RFC 8985 §7.2), unless in recovery
   * or the scoreboard holds SACKed data (§7.2 conditions 2 and 3).
   */
  #armProbe(now: number): void {
    if (this.inRecovery || this.#probeOutstanding || this.rtt.srtt === undefined) return;
    if (this.#scoreboard.length > 0) {
      this.#probeAt = Infinity;
      return;
    }
    if (
      this.state !== "ESTABLISHED" && this.state !== "CLOSE-WAIT" && this.state !== "FIN-WAIT-1"
    ) return;
    const pto = Math.max(2 * this.rtt.srtt, 10);
    if (now + pto < this.#retransmitAt) this.#probeAt = now + pto;
    else this.#probeAt = Infinity;
  }

  /** Sends a tail loss probe: new data if the window allows, else the last segment again. */
  #sendProbe(now: number): void {
    this.#probeAt = Infinity;
    if (this.inRecovery || this.sndUna === this.sndMax) return;
    this.#probeOutstanding = true;
    this.tailLossProbes++;
    const mss = this.#payloadMss();
    const dataEnd = seqAdd(this.#sendBufferSeq, this.sendBuffer.length);
    const windowRoom = seqDiff(this.sndNxt, seqAdd(this.sndUna, this.sndWnd));
    if (this.sndNxt === this.sndMax && seqDiff(this.sndNxt, dataEnd) > 0 && windowRoom > 0) {
      const cwnd = this.cc.cwnd;
      this.cc.cwnd = Infinity; // the probe is allowed past cwnd (RFC 8985 §7.3)
      this.#sendNewSegment(now, mss, dataEnd, false);
      this.cc.cwnd = cwnd;
    } else {
      // Retransmit the highest-sequence segment.
      const end = this.#finQueued && this.sndMax === this.#finSeqPlusOne()
        ? seqAdd(this.sndMax, -1)
        : this.sndMax;
      const start = seqMax(this.sndUna, seqAdd(end, -mss));
      this.#retransmitRange(start, seqDiff(start, end), now);
    }
    this.#retransmitAt = Math.max(
      this.#retransmitAt === Infinity ? 0 : this.#retransmitAt,
      now + this.rtt.rto,
    );
  }

  #dataSegmentOptions(): TcpOptions | undefined {
    const sack = this.#sackBlocks();
    return sack ? { sackBlocks: sack } : undefined;
  }

  /**
   * Re-sends up to `length` bytes (or the FIN) from `seq`; returns the sequence space covered
   * (less than `length` when SACK blocks take room).
   */
  #retransmitRange(seq: number, length: number, now: number): number {
    const dataEnd = seqAdd(this.#sendBufferSeq, this.sendBuffer.length);
    const options = this.#dataSegmentOptions();
    const cap = this.#payloadMss() - this.#sackOverhead(options);
    const n = Math.max(0, Math.min(length, cap, seqDiff(seq, dataEnd)));
    let flags = ACK;
    const end = seqAdd(seq, n);
    if (this.#finQueued && end === dataEnd && seqLt(seq, this.#finSeqPlusOne())) flags |= FIN;
    if (n === 0 && !(flags & FIN)) return 0;
    const payload = n > 0 ? this.sendBuffer.peek(seqDiff(this.#sendBufferSeq, seq), n) : EMPTY;
    if (n > 0 && n === seqDiff(seq, dataEnd)) flags |= PSH;
    this.#emit({
      seq,
      ack: this.rcvNxt,
      flags,
      window: this.#windowField(),
      options,
      payload,
      retransmission: true,
    }, now);
    const after = seqAdd(end, flags & FIN ? 1 : 0);
    if (seqGt(after, this.sndMax)) this.sndMax = after;
    return seqDiff(seq, after);
  }

  /** Option bytes SACK blocks add to a segment beyond the timestamps every segment carries. */
  #sackOverhead(options: TcpOptions | undefined): number {
    if (!options?.sackBlocks?.length) return 0;
    const ts = this.timestampsEnabled ? { value: 0, echoReply: 0 } : undefined;
    return tcpOptionsLength({ sackBlocks: options.sackBlocks, timestamp: ts }) - (ts ? 12 : 0);
  }

  // ---------------------------------------------------------------- timers

  /** Runs expired timers. */
  poll(now: number): void {
    if (this.state === "CLOSED") return;
    if (this.#timeWaitAt <= now) {
      this.#enterClosed();
      return;
    }
    if (this.#finWait2At <= now) {
      this.#enterClosed();
      return;
    }
    if (
      this.config.userTimeout > 0 && this.#unackedSince !== Infinity &&
      now - this.#unackedSince >= this.config.userTimeout
    ) {
      this.abort(now, "timeout");
      return;
    }
    if (this.#retransmitAt <= now) this.#onRetransmitTimeout(now);
    if (this.#isClosed()) return;
    if (this.#probeAt <= now) this.#sendProbe(now);
    if (this.#persistAt <= now) {
      this.#persistAt = Infinity;
      if (this.sndWnd > 0 && this.#bytesAfter(this.sndNxt) > 0 && this.sndUna === this.sndMax) {
        // A small window no update enlarged: send what it allows (sender SWS override).
        this.#swsOverride = true;
        this.#output_(now);
        this.#swsOverride = false;
      } else if (this.sndWnd === 0 && this.#bytesAfter(this.sndNxt) > 0) {
        // Zero window probe: an old sequence number draws an ACK with the current window.
        this.#emit({
          seq: seqAdd(this.sndUna, -1),
          ack: this.rcvNxt,
          flags: ACK,
          window: this.#windowField(),
          payload: EMPTY,
          retransmission: false,
        }, now);
        this.#persistBackoff = Math.min(this.#persistBackoff + 1, 10);
        this.#persistAt = now +
          Math.min(MAX_PERSIST_INTERVAL, this.rtt.rto * 2 ** this.#persistBackoff);
      }
    }
    if (this.#keepAliveAt <= now) {
      if (this.#keepAliveProbesSent >= this.config.keepAliveProbes) {
        this.abort(now, "timeout");
        return;
      }
      this.#keepAliveProbesSent++;
      this.#emit({
        seq: seqAdd(this.sndUna, -1),
        ack: this.rcvNxt,
        flags: ACK,
        window: this.#windowField(),
        payload: EMPTY,
        retransmission: false,
      }, now);
      this.#keepAliveAt = now + this.config.keepAliveInterval;
    }
    if (this.#delayedAckAt <= now) this.#sendAck(now);
  }

  #onRetransmitTimeout(now: number): void {
    this.#retransmitAt = Infinity;
    this.#probeAt = Infinity;
    this.#probeOutstanding = false;
    this.#undo = undefined;
    if (this.sndUna === this.sndMax) return;
    this.#retransmitCount++;
    this.retransmitTimeouts++;
    this.#rttSeq = undefined; // Karn's rule
    const limit = this.state === "SYN-SENT"
      ? this.config.synRetries
      : this.state === "SYN-RECEIVED"
      ? this.config.synAckRetries
      : this.config.maxRetransmissions;
    if (this.#retransmitCount > limit) {
      if (this.state === "SYN-SENT" || this.state === "SYN-RECEIVED") {
        this.error = "timeout";
        this.#enterClosed();
      } else {
        this.abort(now, "timeout");
      }
      return;
    }
    this.rtt.backOff();
    if (this.state === "SYN-SENT" || this.state === "SYN-RECEIVED") {
      this.sndNxt = this.iss;
      this.#sendSyn(now, this.state === "SYN-RECEIVED");
      this.#retransmitAt = now + this.rtt.rto;
      return;
    }
    // RFC 6298 §5.4–5.6 and RFC 5681 §3.1: loss window, go back to the oldest unacked byte.
    this.cc.onTimeout(seqDiff(this.sndUna, this.sndMax), now);
    this.inRecovery = false;
    this.#dupAcks = 0;
    this.#scoreboard = []; // the receiver may have reneged (RFC 2018 §8)
    this.sndNxt = this.sndUna;
    this.#highRetransmitted = this.sndUna;
    this.#output_(now);
    if (this.#retransmitAt === Infinity) this.#retransmitAt = now + this.rtt.rto;
  }
}

const EMPTY = new Uint8Array(0);

/** The smallest window shift that lets a 16-bit field describe `bufferSize` (RFC 7323 §2.3). */
function windowShiftFor(bufferSize: number): number {
  let shift = 0;
  while (shift < 14 && (bufferSize >>> shift) > 0xffff) shift++;
  return shift;
}
