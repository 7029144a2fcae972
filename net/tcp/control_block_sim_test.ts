/**
 * A randomized property test: two control blocks talk over a simulated wire that loses,
 * reorders, duplicates and delays segments, in virtual time. Each run picks its settings from a
 * seed (loss rate, jitter, duplication, MSS, buffer sizes, options, congestion control, slow
 * readers, ISNs near 2^32), moves data both ways, closes both sides, and asserts that every byte
 * arrived intact and in order and that both connections end cleanly. A failure prints the seed:
 * replay it with `USERNET_SIM_SEED=<seed>`.
 */
import assert from "node:assert/strict";
import { seededRandom } from "../../drivers/_random.ts";
import { testConfig } from "./_test_harness.ts";
import { type IncomingSegment, TcpControlBlock } from "./control_block.ts";
import type { TcpConfig } from "./config.ts";

interface SimSettings {
  bytes: number;
  loss: number;
  duplicate: number;
  delayMs: number;
  jitterMs: number;
  bytesPerMs: number;
  slowReader: boolean;
  config: Partial<TcpConfig>;
  issA: number;
  issB: number;
}

function settingsFor(seed: number, bytes: number): SimSettings {
  const r = seededRandom(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const nearWrap = () => (0xffffffff - Math.floor(r() * 100_000)) >>> 0;
  return {
    bytes,
    loss: pick([0, 0.01, 0.03, 0.1]),
    duplicate: pick([0, 0.01, 0.05]),
    delayMs: pick([0.1, 1, 10, 40]),
    jitterMs: pick([0, 0.5, 5]),
    bytesPerMs: pick([12_500, 125_000]), // 100 Mbit/s or 1 Gbit/s
    slowReader: r() < 0.3,
    config: {
      maxSegmentSize: pick([536, 1460, 8960]),
      sendBufferSize: pick([16 * 1024, 256 * 1024, 1 << 20]),
      receiveBufferSize: pick([16 * 1024, 256 * 1024, 1 << 20]),
      windowScaling: r() < 0.8,
      timestamps: r() < 0.7,
      sack: r() < 0.7,
      noDelay: r() < 0.3,
      congestionControl: pick(["newreno", "cubic"] as const),
    },
    issA: r() < 0.5 ? nearWrap() : Math.floor(r() * 2 ** 32),
    issB: r() < 0.5 ? nearWrap() : Math.floor(r() * 2 ** 32),
  };
}

/** A deterministic byte stream: byte i of stream `id`. */
function streamByte(id: number, i: number): number {
  let x = Math.imul(i ^ (id * 0x9e3779b1), 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) & 0xff;
}

interface InFlight {
  at: number;
  order: number;
  to: 0 | 1;
  segment: IncomingSegment;
}

interface Side {
  tcb: TcpControlBlock | undefined;
  written: number;
  received: number;
  closed: boolean;
  /** Output can only be sent after the wire is ready (serialization). */
  linkFreeAt: number;
  /** A slow reader reads 3000 bytes at a time, at most every SLOW_READ_INTERVAL ms. */
  nextReadAt: number;
}

const SLOW_READ_INTERVAL = 2;

/** Runs one simulation; returns statistics or throws with the seed. */
function simulate(seed: number, s: SimSettings) {
  const random = seededRandom(seed ^ 0x5eed);
  const config = () => testConfig(s.config);
  const tupleA = { localAddress: 1, localPort: 1000, remoteAddress: 2, remotePort: 80 };
  const tupleB = { localAddress: 2, localPort: 80, remoteAddress: 1, remotePort: 1000 };
  let now = 0;
  let order = 0;
  const wire: InFlight[] = [];
  const sides: [Side, Side] = [
    {
      tcb: TcpControlBlock.connect(config(), tupleA, s.issA, 0),
      written: 0,
      received: 0,
      closed: false,
      linkFreeAt: 0,
      nextReadAt: 0,
    },
    { tcb: undefined, written: 0, received: 0, closed: false, linkFreeAt: 0, nextReadAt: 0 },
  ];
  let delivered = 0;
  const traceFrom = Number(Deno.env.get("USERNET_SIM_TRACE") ?? 0);
  let dropped = 0;

  const put = (to: 0 | 1, segment: IncomingSegment, at: number) => {
    const item = { at, order: order++, to, segment };
    // Sorted insert from the back: most items land near the end.
    let i = wire.length;
    while (
      i > 0 && (wire[i - 1].at > at || (wire[i - 1].at === at && wire[i - 1].order > item.order))
    ) i--;
    wire.splice(i, 0, item);
  };

  const pump = (from: 0 | 1) => {
    const side = sides[from];
    if (!side.tcb) return;
    for (const out of side.tcb.takeOutput()) {
      const segment: IncomingSegment = {
        seq: out.seq,
        ack: out.ack,
        flags: out.flags,
        window: out.window,
        options: structuredClone(out.options ?? {}),
        payload: out.payload.slice(),
      };
      const wireBytes = segment.payload.length + 54;
      side.linkFreeAt = Math.max(side.linkFreeAt, now) + wireBytes / s.bytesPerMs;
      if (random() < s.loss) {
        dropped++;
        continue;
      }
      const copies = random() < s.duplicate ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        put(from === 0 ? 1 : 0, segment, side.linkFreeAt + s.delayMs + random() * s.jitterMs);
      }
    }
  };

  const app = (i: 0 | 1) => {
    const side = sides[i];
    const tcb = side.tcb;
    if (!tcb) return;
    if (!side.closed && tcb.canWrite && tcb.state !== "SYN-SENT" && tcb.state !== "SYN-RECEIVED") {
      while (side.written < s.bytes && tcb.writableLength > 0) {
        const n = Math.min(s.bytes - side.written, tcb.writableLength, 64 * 1024);
        const chunk = new Uint8Array(n);
        for (let k = 0; k < n; k++) chunk[k] = streamByte(i, side.written + k);
        const taken = tcb.write(chunk, now);
        side.written += taken;
        if (taken === 0) break;
      }
      if (side.written === s.bytes) {
        tcb.close(now);
        side.closed = true;
      }
    }
    if (tcb.readableLength > 0 && (!s.slowReader || now >= side.nextReadAt)) {
      side.nextReadAt = now + SLOW_READ_INTERVAL;
      const into = new Uint8Array(s.slowReader ? 3000 : 256 * 1024);
      const n = tcb.read(into, now);
      const other = i === 0 ? 1 : 0;
      for (let k = 0; k < n; k++) {
        if (into[k] !== streamByte(other, side.received + k)) {
          throw new Error(`seed ${seed}: byte ${side.received + k} to side ${i} is wrong`);
        }
      }
      side.received += n;
    }
    pump(i);
  };

  const done = () =>
    sides.every((side) =>
      side.tcb && side.received === s.bytes && side.tcb.readEnded &&
      (side.tcb.state === "CLOSED" || side.tcb.state === "TIME-WAIT")
    );

  pump(0);
  const limit = 3_600_000; // an hour of virtual time
  let steps = 0;
  while (!done()) {
    if (++steps > 5_000_000) throw new Error(`seed ${seed}: too many steps`);
    const deadlines = sides.map((side) => side.tcb?.nextDeadline() ?? Infinity);
    const reads = sides.map((side) =>
      s.slowReader && side.tcb && side.tcb.readableLength > 0 ? side.nextReadAt : Infinity
    );
    const next = Math.min(wire[0]?.at ?? Infinity, ...deadlines, ...reads);
    if (next === Infinity) break; // nothing can happen any more
    now = Math.max(now, next);
    if (now > limit) break;
    while (wire.length && wire[0].at <= now) {
      const { to, segment } = wire.shift()!;
      delivered++;
      const side = sides[to];
      if (trace && now > traceFrom) {
        console.log(
          now.toFixed(1),
          `${to === 0 ? "B->A" : "A->B"}`,
          segment.seq,
          segment.ack,
          segment.flags.toString(16),
          segment.window,
          segment.payload.length,
          "state",
          side.tcb?.state,
        );
      }
      if (!side.tcb) {
        if ((segment.flags & 0x12) !== 0x02) continue; // only a SYN opens B
        side.tcb = TcpControlBlock.accept(config(), tupleB, segment, s.issB, now);
      } else {
        side.tcb.receive(segment, now);
      }
      pump(to);
    }
    for (const i of [0, 1] as const) {
      const tcb = sides[i].tcb;
      if (tcb && tcb.nextDeadline() <= now) {
        tcb.poll(now);
        pump(i);
      }
    }
    app(0);
    app(1);
  }
  const [a, b] = sides;
  if (trace) {
    for (const [i, side] of sides.entries()) {
      const t = side.tcb!;
      console.log(
        i,
        t.state,
        t.error,
        "una",
        t.sndUna,
        "nxt",
        t.sndNxt,
        "max",
        t.sndMax,
        "wnd",
        t.sndWnd,
        "rcvNxt",
        t.rcvNxt,
        "readable",
        t.readableLength,
        "unacked",
        t.unacknowledged,
        "rto",
        t.retransmitTimeouts,
        t.rtt.rto,
      );
    }
  }
  const summary = `seed ${seed} ${JSON.stringify({ ...s, config: s.config })}: ` +
    `A sent ${a.written} got ${a.received} ${a.tcb?.state}; B sent ${b.written} got ${b.received} ` +
    `${b.tcb?.state}; t=${now.toFixed(0)} ms`;
  assert.ok(done(), `did not finish: ${summary}`);
  assert.equal(a.tcb!.error, undefined, summary);
  assert.equal(b.tcb!.error, undefined, summary);
  return { now, delivered, dropped, rtoA: a.tcb!.retransmitTimeouts, frA: a.tcb!.fastRetransmits };
}

const replay = Deno.env.get("USERNET_SIM_SEED");
const trace = Deno.env.get("USERNET_SIM_TRACE") !== undefined;
const runs = Number(Deno.env.get("USERNET_SIM_RUNS") ?? 24);
const seeds = replay ? [Number(replay)] : Array.from({ length: runs }, (_, i) => 1000 + i * 7919);

Deno.test(`simulation: 1 MB each way over lossy, reordering, duplicating wires, ${seeds.length} seeds`, () => {
  let drops = 0;
  for (const seed of seeds) {
    const started = performance.now();
    const stats = simulate(seed, settingsFor(seed, 1 << 20));
    if (trace) console.log(`seed ${seed}: ${(performance.now() - started).toFixed(0)} ms`);
    drops += stats.dropped;
  }
  if (!replay) assert.ok(drops > 1000, `the wires dropped ${drops} segments`);
});

Deno.test("simulation: 8 MB each way with 2% loss at 1 Gbit/s, near wraparound", () => {
  const seed = 424242;
  const s = settingsFor(seed, 8 << 20);
  s.loss = 0.02;
  s.duplicate = 0.01;
  s.jitterMs = 0.5;
  s.delayMs = 1;
  s.bytesPerMs = 125_000;
  s.slowReader = false;
  s.issA = 0xffff0000;
  s.issB = 0xfffff000;
  s.config = {
    maxSegmentSize: 1460,
    sendBufferSize: 1 << 20,
    receiveBufferSize: 1 << 20,
    windowScaling: true,
    timestamps: true,
    sack: true,
  };
  const stats = simulate(seed, s);
  assert.ok(stats.dropped > 100);
});
