import assert from "node:assert/strict";
import { RingBuffer } from "./ring_buffer.ts";

const bytes = (...xs: number[]) => new Uint8Array(xs);

Deno.test("RingBuffer: write takes what fits; read returns in order", () => {
  const ring = new RingBuffer(4);
  assert.equal(ring.write(bytes(1, 2, 3, 4, 5, 6)), 4);
  assert.equal(ring.length, 4);
  assert.equal(ring.free, 0);
  assert.equal(ring.write(bytes(9)), 0, "full");
  const out = new Uint8Array(3);
  assert.equal(ring.read(out), 3);
  assert.deepEqual(out, bytes(1, 2, 3));
  assert.equal(ring.free, 3);
});

Deno.test("RingBuffer: data wraps around the end and reads back intact", () => {
  const ring = new RingBuffer(5);
  ring.write(bytes(1, 2, 3, 4));
  ring.read(new Uint8Array(3));
  assert.equal(ring.write(bytes(5, 6, 7, 8)), 4); // wraps
  const out = new Uint8Array(10);
  assert.equal(ring.read(out), 5);
  assert.deepEqual(out.subarray(0, 5), bytes(4, 5, 6, 7, 8));
  assert.equal(ring.length, 0);
});

Deno.test("RingBuffer: peek is a view when contiguous and a copy across the wrap", () => {
  const ring = new RingBuffer(4);
  ring.write(bytes(1, 2, 3));
  ring.consume(2);
  ring.write(bytes(4, 5, 6));
  assert.deepEqual(ring.peek(0, 4), bytes(3, 4, 5, 6));
  assert.deepEqual(ring.peek(1, 1), bytes(4));
  const dst = new Uint8Array(6);
  ring.copyOut(0, 4, dst, 2);
  assert.deepEqual(dst, bytes(0, 0, 3, 4, 5, 6));
});

Deno.test("RingBuffer: writeAt stores past the end without making it readable; commit does", () => {
  const ring = new RingBuffer(8);
  ring.write(bytes(1, 2));
  assert.equal(ring.writeAt(2, bytes(5, 6)), 2); // a gap of 2 bytes
  assert.equal(ring.length, 2);
  assert.equal(ring.writeAt(0, bytes(3, 4)), 2); // the gap fills
  ring.commit(4);
  const out = new Uint8Array(6);
  assert.equal(ring.read(out), 6);
  assert.deepEqual(out, bytes(1, 2, 3, 4, 5, 6));
});

Deno.test("RingBuffer: writeAt is bounded by the capacity (hostile offsets cannot grow it)", () => {
  const ring = new RingBuffer(8);
  ring.write(bytes(1, 2, 3, 4, 5, 6));
  assert.equal(ring.writeAt(1, bytes(9, 9, 9)), 1);
  assert.equal(ring.writeAt(2, bytes(9)), 0);
  assert.equal(ring.writeAt(1_000_000, bytes(9)), 0);
  ring.commit(1_000);
  assert.equal(ring.length, 8, "commit never goes past the capacity");
});

Deno.test("RingBuffer: out-of-order data survives consuming to empty (start is not re-homed)", () => {
  const ring = new RingBuffer(8);
  ring.write(bytes(1, 2, 3));
  ring.writeAt(2, bytes(7, 8)); // bytes at offsets 2..3 past the readable end
  ring.read(new Uint8Array(3)); // empty now
  ring.writeAt(0, bytes(5, 6));
  ring.commit(4);
  const out = new Uint8Array(4);
  ring.read(out);
  assert.deepEqual(out, bytes(5, 6, 7, 8));
});

Deno.test("RingBuffer: a long random workload matches a plain array model", () => {
  let x = 12345;
  const rnd = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const ring = new RingBuffer(97);
  const model: number[] = [];
  let next = 0;
  for (let i = 0; i < 20_000; i++) {
    if (rnd(2)) {
      const chunk = Array.from({ length: rnd(40) }, () => next++ & 0xff);
      const n = ring.write(new Uint8Array(chunk));
      assert.equal(n, Math.min(chunk.length, 97 - model.length));
      model.push(...chunk.slice(0, n));
      next -= chunk.length - n;
    } else {
      const out = new Uint8Array(rnd(50));
      const n = ring.read(out);
      assert.deepEqual([...out.subarray(0, n)], model.splice(0, n));
    }
    assert.equal(ring.length, model.length);
  }
});

Deno.test("RingBuffer: memory is taken on demand: none while idle, doubling up to capacity", () => {
  const ring = new RingBuffer(1 << 20);
  assert.equal(ring.allocated, 0);
  assert.equal(ring.free, 1 << 20);
  assert.deepEqual(ring.peek(0, 0), bytes());
  assert.equal(ring.read(new Uint8Array(10)), 0);
  ring.write(new Uint8Array(100));
  assert.equal(ring.allocated, 4096);
  ring.write(new Uint8Array(5000));
  assert.equal(ring.allocated, 8192);
  ring.write(new Uint8Array(1 << 20));
  assert.equal(ring.allocated, 1 << 20);
  assert.equal(ring.length, 1 << 20);
});

Deno.test("RingBuffer: growing keeps wrapped data and out-of-order data at their offsets", () => {
  const ring = new RingBuffer(64 * 1024);
  const fill = (n: number, from: number) =>
    Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
  ring.write(fill(4000, 0));
  ring.read(new Uint8Array(3000)); // start moves to 3000 of 4096
  ring.write(fill(2000, 4000)); // wraps physically
  assert.equal(ring.allocated, 4096);
  ring.writeAt(1000, fill(500, 7000)); // out of order, 1000 bytes past the end
  ring.writeAt(20_000, fill(10, 26_000)); // far past: forces growth
  assert.equal(ring.allocated, 32768);
  ring.writeAt(0, fill(1000, 6000)); // fill the first gap
  ring.commit(1500);
  const out = new Uint8Array(4500);
  assert.equal(ring.read(out), 4500);
  assert.deepEqual(out, fill(4500, 3000));
});
