import assert from "node:assert/strict";
import { Assembler } from "./assembler.ts";

Deno.test("Assembler: in-order data is contiguous at once", () => {
  const a = new Assembler();
  assert.equal(a.add(0, 10), 10);
  a.advance(10);
  assert.equal(a.isEmpty, true);
});

Deno.test("Assembler: a gap holds data back until it fills", () => {
  const a = new Assembler();
  assert.equal(a.add(10, 20), 0);
  assert.equal(a.add(30, 40), 0);
  assert.deepEqual(a.ranges, [{ start: 10, end: 20 }, { start: 30, end: 40 }]);
  assert.equal(a.add(0, 10), 20);
  a.advance(20);
  assert.deepEqual(a.ranges, [{ start: 10, end: 20 }]);
  assert.equal(a.add(0, 10), 20);
});

Deno.test("Assembler: overlapping and duplicate ranges merge", () => {
  const a = new Assembler();
  a.add(10, 20);
  a.add(15, 25);
  a.add(5, 12);
  a.add(10, 20);
  assert.deepEqual(a.ranges, [{ start: 5, end: 25 }]);
  a.add(25, 30); // touching
  assert.deepEqual(a.ranges, [{ start: 5, end: 30 }]);
  assert.deepEqual(a.lastAdded, { start: 5, end: 30 });
});

Deno.test("Assembler: at most maxRanges gaps; a new separate range is refused with -1", () => {
  const a = new Assembler(2);
  a.add(10, 20);
  a.add(30, 40);
  assert.equal(a.add(50, 60), -1);
  assert.equal(a.ranges.length, 2);
  assert.equal(a.add(35, 45), 0, "extending a held range is fine");
  assert.equal(a.add(0, 10), 20, "the front is always accepted");
});

Deno.test("Assembler: advance trims partly consumed ranges and lastAdded", () => {
  const a = new Assembler();
  a.add(5, 15);
  a.advance(10);
  assert.deepEqual(a.ranges, [{ start: 0, end: 5 }]);
  assert.deepEqual(a.lastAdded, { start: 0, end: 5 });
  a.advance(5);
  assert.equal(a.lastAdded, undefined);
  a.add(3, 4);
  a.clear();
  assert.equal(a.isEmpty, true);
});
