import assert from "node:assert/strict";
import { FaultInjector, type FaultInjectorOptions, type FaultOptions } from "./fault_injector.ts";
import { MemoryLink, type MemoryNic } from "./memory.ts";
import type { Frame } from "./nic.ts";

/** A frame whose bytes 14–15 carry `id` (so duplicates and order are visible). */
function frame(id: number, length = 60): Frame {
  const data = new Uint8Array(length);
  data[14] = id >>> 8;
  data[15] = id & 0xff;
  return { data };
}

const idOf = (f: Frame) => (f.data[14] << 8) | f.data[15];

/** Receives until `count` frames arrived. */
async function receiveCount(nic: { receive(): Promise<Frame[] | null> }, count: number) {
  const got: Frame[] = [];
  while (got.length < count) {
    const frames = await nic.receive();
    if (!frames) break;
    got.push(...frames);
  }
  return got;
}

/** Sends `count` frames through a transmit-side injector and returns what the far end got. */
function transmitThrough(options: FaultInjectorOptions, count: number, batch = 1) {
  const [a, b] = MemoryLink.pair({ queueLimit: 100_000 });
  const faulty = new FaultInjector(a, options);
  for (let i = 0; i < count; i += batch) {
    const frames: Frame[] = [];
    for (let j = i; j < Math.min(count, i + batch); j++) frames.push(frame(j));
    faulty.transmit(frames);
  }
  return { faulty, b, close: () => (faulty.close(), b.close()) };
}

/** Everything that arrived at `b` so far, without waiting. */
async function drain(b: MemoryNic): Promise<Frame[]> {
  const out: Frame[] = [];
  // Frames are queued synchronously by transmit(): one receive() takes them all.
  const pending = b.receive();
  const timeout = new Promise<null>((r) => queueMicrotask(() => queueMicrotask(() => r(null))));
  const frames = await Promise.race([pending, timeout]);
  if (frames) out.push(...frames);
  return out;
}

const all: FaultOptions = { drop: 0.1, duplicate: 0.1, reorder: 0.1, corrupt: 0.1 };

Deno.test("fault injector: the same seed makes the same decisions, frame for frame", async () => {
  const runs = [];
  for (const seed of [42, 42, 43]) {
    const t = transmitThrough({ seed, transmit: all }, 2000, 7);
    const got = await drain(t.b);
    runs.push({ stats: t.faulty.faultStats(), frames: got.map((f) => Array.from(f.data)) });
    t.close();
  }
  assert.deepEqual(runs[0], runs[1]);
  assert.notDeepEqual(runs[0].frames, runs[2].frames);
  // Each kind happened at roughly its rate.
  const s = runs[0].stats.transmit;
  for (const kind of ["dropped", "duplicated", "reordered", "corrupted"] as const) {
    assert.ok(s[kind] > 120 && s[kind] < 300, `${kind}: ${s[kind]}`);
  }
});

Deno.test("fault injector: drop 1 loses everything; drop 0.5 about half", async () => {
  const none = transmitThrough({ seed: 1, transmit: { drop: 1 } }, 100);
  assert.deepEqual(await drain(none.b), []);
  assert.equal(none.faulty.faultStats().transmit.dropped, 100);
  none.close();
  const half = transmitThrough({ seed: 1, transmit: { drop: 0.5 } }, 1000);
  const got = await drain(half.b);
  assert.ok(got.length > 420 && got.length < 580, `${got.length}`);
  assert.equal(got.length + half.faulty.faultStats().transmit.dropped, 1000);
  // Survivors keep their order.
  const order = got.map(idOf);
  assert.deepEqual(order, [...order].sort((x, y) => x - y));
  half.close();
});

Deno.test("fault injector: duplicate 1 sends each frame twice, as separate copies", async () => {
  const t = transmitThrough({ seed: 2, transmit: { duplicate: 1 } }, 10, 3);
  const got = await drain(t.b);
  assert.deepEqual(got.map(idOf), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
  assert.notEqual(got[0].data, got[1].data);
  assert.equal(t.faulty.faultStats().transmit.duplicated, 10);
  t.close();
});

Deno.test("fault injector: reorder holds a frame back until the next one has gone", async () => {
  const t = transmitThrough({ seed: 3, transmit: { reorder: 1 } }, 6, 6);
  // Every other frame is held (one at a time): 0 held, 1 sent, then 0; 2 held, 3, 2; ...
  assert.deepEqual((await drain(t.b)).map(idOf), [1, 0, 3, 2, 5, 4]);
  assert.equal(t.faulty.faultStats().transmit.reordered, 3);
  t.close();
});

Deno.test("fault injector: corrupt flips exactly one bit of a copy", async () => {
  const [a, b] = MemoryLink.pair();
  const faulty = new FaultInjector(a, { seed: 4, transmit: { corrupt: 1 } });
  const originals = Array.from({ length: 50 }, (_, i) => frame(i, 64 + i));
  const copies = originals.map((f) => f.data.slice());
  faulty.transmit(originals);
  const got = await drain(b);
  assert.equal(got.length, 50);
  for (let i = 0; i < 50; i++) {
    assert.deepEqual(originals[i].data, copies[i], "the sender's bytes are untouched");
    let bits = 0;
    for (let j = 0; j < copies[i].length; j++) {
      let x = copies[i][j] ^ got[i].data[j];
      while (x) {
        bits += x & 1;
        x >>= 1;
      }
    }
    assert.equal(bits, 1, `frame ${i}`);
  }
  assert.equal(faulty.faultStats().transmit.corrupted, 50);
  faulty.close();
  b.close();
});

Deno.test("fault injector: delay holds frames at least delayMs", async () => {
  const [a, b] = MemoryLink.pair();
  const faulty = new FaultInjector(a, { seed: 5, transmit: { delayMs: 40 } });
  const sent = performance.now();
  faulty.transmit([frame(1), frame(2)]);
  const got = await receiveCount(b, 2);
  const elapsed = performance.now() - sent;
  assert.deepEqual(got.map(idOf), [1, 2]);
  assert.ok(elapsed >= 35, `${elapsed} ms`); // timers may round down by a millisecond or two
  assert.equal(faulty.faultStats().transmit.delayed, 2);
  faulty.close();
  b.close();
});

Deno.test("fault injector: a rate limit spaces frames by their serialisation time", async () => {
  const [a, b] = MemoryLink.pair();
  // 10 frames of 1000 bytes at 100 kB/s: the last leaves 100 ms after the first started.
  const faulty = new FaultInjector(a, { seed: 6, transmit: { rateBytesPerSecond: 100_000 } });
  const sent = performance.now();
  faulty.transmit(Array.from({ length: 10 }, (_, i) => frame(i, 1000)));
  const got = await receiveCount(b, 10);
  const elapsed = performance.now() - sent;
  assert.deepEqual(got.map(idOf), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(elapsed >= 90, `${elapsed} ms`);
  faulty.close();
  b.close();
});

Deno.test("fault injector: frames beyond queueLimit while delayed are dropped", async () => {
  const [a, b] = MemoryLink.pair();
  const faulty = new FaultInjector(a, { seed: 7, transmit: { delayMs: 5, queueLimit: 4 } });
  faulty.transmit(Array.from({ length: 10 }, (_, i) => frame(i)));
  assert.equal(faulty.faultStats().transmit.dropped, 6);
  assert.deepEqual((await receiveCount(b, 4)).map(idOf), [0, 1, 2, 3]);
  faulty.close();
  b.close();
});

Deno.test("fault injector: receive-side faults apply to frames coming in", async () => {
  const [a, b] = MemoryLink.pair();
  const faulty = new FaultInjector(a, { seed: 8, receive: { duplicate: 1 } });
  const pending = receiveCount(faulty, 4);
  b.transmit([frame(1), frame(2)]);
  assert.deepEqual((await pending).map(idOf), [1, 1, 2, 2]);
  assert.equal(faulty.faultStats().receive.duplicated, 2);
  assert.equal(faulty.faultStats().transmit.duplicated, 0);
  // It passes the inner NIC's identity through.
  assert.equal(faulty.mac, a.mac);
  assert.equal(faulty.mtu, a.mtu);
  assert.equal(faulty.name, "faulty(memory-a)");
  faulty.close();
  assert.equal(await faulty.receive(), null);
  b.close();
});

Deno.test("fault injector: close cancels delayed frames and stops transmitting", async () => {
  const [a, b] = MemoryLink.pair();
  const faulty = new FaultInjector(a, { seed: 9, transmit: { delayMs: 10_000 } });
  faulty.transmit([frame(1)]);
  faulty.close(); // clears the 10 s timer: the test's op sanitizer would fail otherwise
  faulty.transmit([frame(2)]);
  assert.deepEqual(await drain(b), []);
  b.close();
});
