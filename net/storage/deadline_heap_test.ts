import assert from "node:assert/strict";
import { DeadlineHeap } from "./deadline_heap.ts";

Deno.test("deadline heap: wakes items in time order; later deadlines keep the earlier wake", () => {
  const heap = new DeadlineHeap<string>();
  heap.schedule("a", 30);
  heap.schedule("b", 10);
  heap.schedule("c", 20);
  heap.schedule("a", 40); // later: the wake at 30 stays
  heap.schedule("c", 5); // earlier: moves up
  assert.equal(heap.next(), 5);
  assert.deepEqual(heap.takeDue(10), ["c", "b"]);
  assert.equal(heap.next(), 30);
  heap.delete("a");
  assert.equal(heap.next(), Infinity);
  assert.equal(heap.size, 0);
});

Deno.test("deadline heap: random schedules match a brute-force model", () => {
  const heap = new DeadlineHeap<number>();
  const model = new Map<number, number>();
  let x = 12345;
  const random = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  let now = 0;
  for (let step = 0; step < 20000; step++) {
    const item = Math.floor(random() * 50);
    const r = random();
    if (r < 0.6) {
      const at = now + Math.floor(random() * 100);
      heap.schedule(item, at);
      const current = model.get(item);
      if (current === undefined || at < current) model.set(item, at);
    } else if (r < 0.7) {
      heap.delete(item);
      model.delete(item);
    } else {
      now += Math.floor(random() * 20);
      const due = heap.takeDue(now).sort((a, b) => a - b);
      const expected = [...model].filter(([, at]) => at <= now).map(([i]) => i).sort((a, b) =>
        a - b
      );
      assert.deepEqual(due, expected);
      for (const i of due) model.delete(i);
      const min = Math.min(...model.values());
      assert.equal(heap.next(), model.size ? min : Infinity);
    }
  }
});
