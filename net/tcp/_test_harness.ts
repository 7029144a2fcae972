/**
 * A test bench for one {@linkcode TcpControlBlock}, in the style of smoltcp's socket tests:
 * build a control block in any named state, feed it segments written like RFC figures, assert
 * exactly the segments that come out, and move a virtual clock.
 *
 * ```ts ignore
 * const t = tcpTest().inState("ESTABLISHED");
 * t.receive({ payload: "abc", flags: "ACK" });
 * t.advance(40).expectSent({ ack: t.remoteSeq(3) });
 * ```
 *
 * "Local" is the control block under test, "remote" is the peer the test plays. Sequence
 * numbers are absolute; `localSeq(n)` / `remoteSeq(n)` give the number of the n-th data byte of
 * each side (ISS + 1 + n, modulo 2^32), so tests read the same near wraparound.
 *
 * @module
 */
import assert from "node:assert/strict";
import { TcpFlags, type TcpOptions } from "../wire/tcp.ts";
import { defaultTcpConfig, type TcpConfig } from "./config.ts";
import {
  type IncomingSegment,
  type OutgoingSegment,
  TcpControlBlock,
  type TcpTuple,
} from "./control_block.ts";
import { seqAdd, seqGt, seqLe } from "./seq.ts";
import type { TcpState } from "./state.ts";

/** Flags as text: `"SYN"`, `"FIN|ACK"`, `"RST"`, `""` for none. */
export type FlagText = string;

/** A segment the test sends to the control block. Omitted fields take the defaults below. */
export interface SegmentIn {
  /** Default: the peer's next sequence number ({@linkcode TcpTest.remoteNext}). */
  seq?: number;
  /** Default: the control block's SND.UNA (acknowledges nothing new). */
  ack?: number;
  /** Default `"ACK"`. */
  flags?: FlagText;
  /** Window field as sent (unscaled). Default: {@linkcode TcpTest.remoteWindowField}. */
  window?: number;
  /** Default none. */
  options?: TcpOptions;
  /** Text or bytes. Default empty. */
  payload?: string | Uint8Array;
}

/**
 * What an expected outgoing segment must look like. `flags` (default `"ACK"`) and `payload`
 * (default empty) are always compared; PSH is ignored unless the expected flags name it. Other
 * fields are compared only when given.
 */
export interface SegmentOut {
  seq?: number;
  ack?: number;
  flags?: FlagText;
  window?: number;
  payload?: string | Uint8Array;
  /** Payload length only (instead of `payload`). */
  length?: number;
  /** SACK blocks expected (`[]` asserts none). */
  sack?: [number, number][];
  /** Exact TSecr expected in the timestamp option. */
  tsEcr?: number;
  /** Whether the segment must be marked as a retransmission. */
  retransmission?: boolean;
  /** MSS option expected. */
  mss?: number;
  /** Window scale option expected (`null`: must be absent). */
  windowScale?: number | null;
}

/** Options of {@linkcode tcpTest}. */
export interface TcpTestOptions {
  /** Overrides of the test configuration (see {@linkcode testConfig}). */
  config?: Partial<TcpConfig>;
  /** Our ISS (default 10 000). */
  iss?: number;
  /** The peer's ISS (default 50 000). */
  irs?: number;
  /** Options the peer puts on its SYN or SYN-ACK (default: MSS 1460 only). */
  peerSynOptions?: TcpOptions;
  /** Window field the peer sends (default 65535). */
  peerWindow?: number;
  /** The handshake's round-trip time in ms: the first RTT sample (default 100). */
  handshakeRtt?: number;
}

const TUPLE: TcpTuple = {
  localAddress: 0x0a000001,
  localPort: 40000,
  remoteAddress: 0x0a000002,
  remotePort: 80,
};

/**
 * The configuration tests start from: plain segments (no window scaling, timestamps or SACK
 * unless a test turns them on), 64 KiB buffers, Linux-like timers.
 */
export function testConfig(overrides: Partial<TcpConfig> = {}): TcpConfig {
  return {
    ...defaultTcpConfig(1500),
    sendBufferSize: 64 * 1024,
    receiveBufferSize: 64 * 1024,
    windowScaling: false,
    timestamps: false,
    sack: false,
    ...overrides,
  };
}

/** Parses `"FIN|ACK"` into flag bits. */
export function parseFlags(text: FlagText): number {
  let bits = 0;
  for (const part of text.split("|").map((p) => p.trim()).filter(Boolean)) {
    const bit = TcpFlags[part as keyof typeof TcpFlags];
    if (bit === undefined) throw new Error(`unknown TCP flag "${part}"`);
    bits |= bit;
  }
  return bits;
}

/** Formats flag bits as `"FIN|ACK"`. */
export function formatFlags(bits: number): string {
  return Object.entries(TcpFlags).filter(([, b]) => bits & b).map(([n]) => n).join("|") ||
    "(none)";
}

function bytes(p: string | Uint8Array | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === "string" ? new TextEncoder().encode(p) : p;
}

/** One segment as a line for failure messages. */
export function describe(s: OutgoingSegment | IncomingSegment): string {
  const o = s.options;
  const extra = [
    o?.maxSegmentSize !== undefined ? `mss=${o.maxSegmentSize}` : "",
    o?.windowScale !== undefined ? `wscale=${o.windowScale}` : "",
    o?.sackPermitted ? "sackOK" : "",
    o?.sackBlocks?.length ? `sack=${JSON.stringify(o.sackBlocks)}` : "",
    o?.timestamp ? `ts=${o.timestamp.value}/${o.timestamp.echoReply}` : "",
    "retransmission" in s && s.retransmission ? "(rexmit)" : "",
  ].filter(Boolean).join(" ");
  return `[${
    formatFlags(s.flags)
  }] seq=${s.seq} ack=${s.ack} win=${s.window} len=${s.payload.length}${extra ? " " + extra : ""}`;
}

/**
 * One control block and a virtual clock.
 */
export class TcpTest {
  /** The control block under test (replaced by the state builders). */
  tcb!: TcpControlBlock;
  /** Virtual time, ms. */
  now = 0;
  /** Our ISS. */
  readonly iss: number;
  /** The peer's ISS. */
  readonly irs: number;
  /**
   * The peer's next sequence number: the seq of its next new segment. Segments the test sends
   * at or before it move it to their end; segments past it (out of order) do not.
   */
  remoteNext: number;
  /** Window field the peer sends by default. */
  remoteWindowField: number;
  /** Sequence number of our FIN, once one was seen. */
  #localFinSeq: number | undefined;
  readonly options: TcpTestOptions;
  /** Everything sent and not yet checked. */
  #pending: OutgoingSegment[] = [];
  /** Everything sent, ever, for diagnostics. */
  readonly log: string[] = [];

  constructor(options: TcpTestOptions = {}) {
    this.options = options;
    this.iss = (options.iss ?? 10_000) >>> 0;
    this.irs = (options.irs ?? 50_000) >>> 0;
    this.remoteNext = this.irs;
    this.remoteWindowField = options.peerWindow ?? 65535;
  }

  /** The configuration the control block is built with. */
  config(): TcpConfig {
    return testConfig(this.options.config);
  }

  /** The sequence number of our n-th data byte. */
  localSeq(n: number): number {
    return seqAdd(this.iss, 1 + n);
  }

  /** The sequence number of the peer's n-th data byte. */
  remoteSeq(n: number): number {
    return seqAdd(this.irs, 1 + n);
  }

  /** The sequence number of our FIN (throws if none was sent). */
  get localFinSeq(): number {
    if (this.#localFinSeq === undefined) throw new Error("no FIN was sent yet");
    return this.#localFinSeq;
  }

  /** SND.NXT. */
  get localNext(): number {
    return this.tcb.sndNxt;
  }

  /** Sets the virtual clock. */
  at(ms: number): this {
    this.now = ms;
    return this;
  }

  // ---------------------------------------------------------------- building states

  /** Active open: the control block sends SYN (checked) and is in SYN-SENT. */
  connect(): this {
    this.tcb = TcpControlBlock.connect(this.config(), TUPLE, this.iss, this.now);
    this.expectSent({ seq: this.iss, flags: "SYN", mss: this.config().maxSegmentSize });
    return this;
  }

  /** Passive open: the peer's SYN arrives at a listener; SYN-ACK goes out (checked). */
  acceptSyn(): this {
    const syn: IncomingSegment = {
      seq: this.irs,
      ack: 0,
      flags: TcpFlags.SYN,
      window: this.remoteWindowField,
      options: structuredClone(this.options.peerSynOptions ?? { maxSegmentSize: 1460 }),
      payload: new Uint8Array(0),
    };
    this.tcb = TcpControlBlock.accept(this.config(), TUPLE, syn, this.iss, this.now);
    this.remoteNext = seqAdd(this.irs, 1);
    this.expectSent({ seq: this.iss, ack: this.remoteNext, flags: "SYN|ACK" });
    return this;
  }

  /**
   * Builds a control block in `state`, with every segment of the way there checked:
   *
   * - SYN-SENT: `connect()`.
   * - SYN-RECEIVED: the peer's SYN at a listener; our SYN-ACK out.
   * - ESTABLISHED: active open, SYN-ACK after `handshakeRtt` ms, our ACK out.
   * - FIN-WAIT-1: ESTABLISHED, then `close()`: FIN out, not acknowledged.
   * - FIN-WAIT-2: FIN-WAIT-1, the peer acknowledges our FIN.
   * - CLOSE-WAIT: ESTABLISHED, the peer's FIN arrives, we acknowledge it.
   * - CLOSING: FIN-WAIT-1, the peer's FIN arrives without acknowledging ours.
   * - LAST-ACK: CLOSE-WAIT, then `close()`: our FIN out.
   * - TIME-WAIT: FIN-WAIT-2, the peer's FIN arrives, we acknowledge it.
   * - CLOSED: SYN-SENT, then `close()`.
   *
   * `data` (FIN-WAIT-1 and later states of our closing) is written and sent before the FIN and
   * left unacknowledged in FIN-WAIT-1.
   */
  inState(state: TcpState, options: { data?: string } = {}): this {
    const rtt = this.options.handshakeRtt ?? 100;
    switch (state) {
      case "CLOSED":
        this.connect();
        this.tcb.close(this.now);
        this.expectNothingSent();
        break;
      case "SYN-SENT":
        this.connect();
        break;
      case "SYN-RECEIVED":
        this.acceptSyn();
        break;
      case "ESTABLISHED": {
        this.connect();
        this.advance(rtt);
        this.receive({
          seq: this.irs,
          ack: seqAdd(this.iss, 1),
          flags: "SYN|ACK",
          options: structuredClone(this.options.peerSynOptions ?? { maxSegmentSize: 1460 }),
        });
        this.expectSent({ seq: seqAdd(this.iss, 1), ack: this.remoteNext });
        break;
      }
      case "FIN-WAIT-1": {
        this.inState("ESTABLISHED");
        if (options.data) {
          const length = bytes(options.data).length;
          this.send(options.data);
          this.close();
          this.expectSent(
            { seq: this.localSeq(0), payload: options.data },
            { seq: this.localSeq(length), flags: "FIN|ACK" },
          );
        } else {
          this.tcb.close(this.now);
          this.expectSent({ seq: this.localSeq(0), flags: "FIN|ACK" });
        }
        break;
      }
      case "FIN-WAIT-2":
        this.inState("FIN-WAIT-1", options);
        this.receive({ ack: seqAdd(this.localFinSeq, 1) });
        this.expectNothingSent();
        break;
      case "CLOSE-WAIT":
        this.inState("ESTABLISHED");
        this.receive({ flags: "FIN|ACK", ack: this.tcb.sndNxt });
        this.expectSent({ ack: this.remoteNext });
        break;
      case "CLOSING":
        this.inState("FIN-WAIT-1", options);
        this.receive({ flags: "FIN|ACK", ack: this.tcb.sndUna });
        this.expectSent({ seq: seqAdd(this.localFinSeq, 1), ack: this.remoteNext });
        break;
      case "LAST-ACK":
        this.inState("CLOSE-WAIT");
        if (options.data) {
          this.send(options.data);
          this.expectSent({ seq: this.localSeq(0), payload: options.data });
        }
        this.close();
        this.expectSent({ seq: this.localSeq(bytes(options.data).length), flags: "FIN|ACK" });
        break;
      case "TIME-WAIT":
        this.inState("FIN-WAIT-2", options);
        this.receive({ flags: "FIN|ACK", ack: seqAdd(this.localFinSeq, 1) });
        this.expectSent({ seq: seqAdd(this.localFinSeq, 1), ack: this.remoteNext });
        break;
      default:
        throw new Error(`cannot build state ${state}`);
    }
    this.expectState(state);
    return this;
  }

  // ---------------------------------------------------------------- inputs

  /** Feeds one segment from the peer at the current time. */
  receive(segment: SegmentIn = {}): this {
    const flags = parseFlags(segment.flags ?? "ACK");
    const payload = bytes(segment.payload);
    const seq = (segment.seq ?? this.remoteNext) >>> 0;
    const incoming: IncomingSegment = {
      seq,
      ack: (segment.ack ?? this.tcb.sndUna) >>> 0,
      flags,
      window: segment.window ?? this.remoteWindowField,
      options: segment.options ?? {},
      payload,
    };
    this.log.push(`${this.now} ms  <- ${describe(incoming)}`);
    this.tcb.receive(incoming, this.now);
    if (flags & TcpFlags.RST) return this.#collect();
    const end = seqAdd(
      seq,
      payload.length + (flags & TcpFlags.SYN ? 1 : 0) + (flags & TcpFlags.FIN ? 1 : 0),
    );
    // Only a segment that continues the peer's stream moves it on (not one past a gap).
    if (seqLe(seq, this.remoteNext) && seqGt(end, this.remoteNext)) this.remoteNext = end;
    return this.#collect();
  }

  /** Writes `data` to the control block (the user's write); returns the bytes taken. */
  write(data: string | Uint8Array): number {
    const n = this.tcb.write(bytes(data), this.now);
    this.#collect();
    return n;
  }

  /** Writes `data` and asserts all of it was taken. */
  send(data: string | Uint8Array): this {
    const b = bytes(data);
    assert.equal(this.write(b), b.length, "the send buffer took everything");
    return this;
  }

  /** Reads everything readable (the user's read) as text. */
  read(max = 1 << 20): string {
    const buffer = new Uint8Array(max);
    const n = this.tcb.read(buffer, this.now);
    this.#collect();
    return new TextDecoder().decode(buffer.subarray(0, n));
  }

  /** The user's close (FIN after the data). */
  close(): this {
    this.tcb.close(this.now);
    return this.#collect();
  }

  /** The user's abort (RST). */
  abort(): this {
    this.tcb.abort(this.now);
    return this.#collect();
  }

  /**
   * Moves the clock forward `ms`, running every timer that falls due on the way at its own
   * deadline, as the stack's event loop would.
   */
  advance(ms: number): this {
    const target = this.now + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      const deadline = this.tcb.nextDeadline();
      if (deadline > target) break;
      this.now = Math.max(this.now, deadline);
      this.tcb.poll(this.now);
      this.#collect();
    }
    this.now = target;
    return this;
  }

  #collect(): this {
    for (const s of this.tcb.takeOutput()) {
      if (s.flags & TcpFlags.FIN) this.#localFinSeq = seqAdd(s.seq, s.payload.length);
      this.log.push(`${this.now} ms  -> ${describe(s)}`);
      // The payload is a view into the send buffer: keep a copy.
      this.#pending.push({ ...s, payload: s.payload.slice() });
    }
    return this;
  }

  // ---------------------------------------------------------------- assertions

  /** Takes the segments sent since the last check, unchecked. */
  takeSent(): OutgoingSegment[] {
    this.#collect();
    return this.#pending.splice(0);
  }

  /** Asserts exactly these segments went out since the last check, in this order. */
  expectSent(...expected: SegmentOut[]): this {
    const sent = this.takeSent();
    const context = () =>
      `\nsent:\n  ${sent.map(describe).join("\n  ") || "(nothing)"}\nlog:\n  ${
        this.log.slice(-12).join("\n  ")
      }`;
    assert.equal(
      sent.length,
      expected.length,
      `expected ${expected.length} segment(s), got ${sent.length}${context()}`,
    );
    expected.forEach((e, i) => {
      const s = sent[i];
      const where = `segment ${i + 1} ${describe(s)}`;
      const wantFlags = parseFlags(e.flags ?? "ACK");
      const mask = wantFlags & TcpFlags.PSH ? 0xff : 0xff & ~TcpFlags.PSH;
      assert.equal(
        formatFlags(s.flags & mask),
        formatFlags(wantFlags),
        `${where}: flags${context()}`,
      );
      if (e.seq !== undefined) assert.equal(s.seq, e.seq >>> 0, `${where}: seq${context()}`);
      if (e.ack !== undefined) assert.equal(s.ack, e.ack >>> 0, `${where}: ack${context()}`);
      if (e.window !== undefined) assert.equal(s.window, e.window, `${where}: window${context()}`);
      if (e.length !== undefined) {
        assert.equal(s.payload.length, e.length, `${where}: payload length${context()}`);
      } else {
        assert.deepEqual(s.payload, bytes(e.payload), `${where}: payload${context()}`);
      }
      if (e.sack !== undefined) {
        assert.deepEqual(s.options?.sackBlocks ?? [], e.sack, `${where}: SACK blocks${context()}`);
      }
      if (e.tsEcr !== undefined) {
        assert.equal(s.options?.timestamp?.echoReply, e.tsEcr, `${where}: TSecr${context()}`);
      }
      if (e.retransmission !== undefined) {
        assert.equal(s.retransmission, e.retransmission, `${where}: retransmission${context()}`);
      }
      if (e.mss !== undefined) {
        assert.equal(s.options?.maxSegmentSize, e.mss, `${where}: MSS option${context()}`);
      }
      if (e.windowScale !== undefined) {
        assert.equal(
          s.options?.windowScale,
          e.windowScale ?? undefined,
          `${where}: window scale option${context()}`,
        );
      }
    });
    return this;
  }

  /** Asserts nothing went out since the last check. */
  expectNothingSent(): this {
    return this.expectSent();
  }

  /** Asserts the state. */
  expectState(state: TcpState): this {
    assert.equal(this.tcb.state, state, `state\nlog:\n  ${this.log.slice(-12).join("\n  ")}`);
    return this;
  }
}

/**
 * A new test bench.
 *
 * @example
 * ```ts ignore
 * const t = tcpTest().inState("SYN-SENT");
 * ```
 */
export function tcpTest(options: TcpTestOptions = {}): TcpTest {
  return new TcpTest(options);
}
