import assert from "node:assert/strict";
import { NeighborCache, type NeighborCacheOptions } from "./neighbor_cache.ts";

const A = 0x0a000001;
const B = 0x0a000002;
const C = 0x0a000003;
const D = 0x0a000004;
const E = 0x0a000005;
const MAC_A = new Uint8Array([2, 0, 0, 0, 0, 0xa]);
const MAC_B = new Uint8Array([2, 0, 0, 0, 0, 0xb]);

/** A packet of `length` bytes whose first byte names it. */
function packet(id: number, length = 60): Uint8Array {
  const p = new Uint8Array(length);
  p[0] = id;
  return p;
}

const ids = (packets: Uint8Array[]) => packets.map((p) => p[0]);

/** A cache on a virtual clock: `at(t)` moves time, `poll()` polls at the current time. */
function cacheTest(options: NeighborCacheOptions = {}) {
  const cache = new NeighborCache(options);
  let now = 0;
  return {
    cache,
    get now() {
      return now;
    },
    at(t: number) {
      assert.ok(t >= now, "virtual time only moves forward");
      now = t;
      return this;
    },
    resolve: (address: number, p: Uint8Array) => cache.resolve(address, p, now),
    poll: () => cache.poll(now),
    learn: (address: number, mac: Uint8Array, create = true) =>
      cache.learn(address, mac, now, create),
    expectRequests(...addresses: number[]) {
      const r = cache.poll(now);
      assert.deepEqual(r.requests, addresses, `requests at t=${now}`);
      assert.deepEqual(r.failed, [], `failures at t=${now}`);
    },
  };
}

Deno.test("neighbor: first use queues the packet and asks at once", () => {
  const t = cacheTest();
  assert.equal(t.resolve(A, packet(1)), undefined);
  assert.equal(t.cache.size, 1);
  assert.equal(t.cache.nextDeadline(), 0);
  t.expectRequests(A);
  t.expectRequests(); // not again at the same instant
  assert.equal(t.cache.lookup(A, 0), undefined);
});

Deno.test("neighbor: retries every retransmitInterval, fails after maxRequests (RFC 1122 §2.3.2.1)", () => {
  const t = cacheTest({ retransmitInterval: 1000, maxRequests: 3, failedHoldTime: 3000 });
  t.resolve(A, packet(1));
  t.resolve(A, packet(2));
  t.expectRequests(A); // request 1 at 0
  assert.equal(t.cache.nextDeadline(), 1000);
  t.at(999).expectRequests();
  t.at(1000).expectRequests(A); // request 2
  t.resolve(A, packet(3)); // more packets while waiting do not trigger extra requests
  t.at(1500).expectRequests();
  t.at(2000).expectRequests(A); // request 3
  t.at(2999).expectRequests();
  const result = t.at(3000).poll();
  assert.deepEqual(result.requests, []);
  assert.equal(result.failed.length, 1);
  assert.equal(result.failed[0].address, A);
  assert.deepEqual(ids(result.failed[0].packets), [1, 2, 3]);
  assert.equal(t.cache.nextDeadline(), 6000);
});

Deno.test("neighbor: a failed address refuses packets for failedHoldTime, then is tried afresh", () => {
  const t = cacheTest({ retransmitInterval: 100, maxRequests: 1, failedHoldTime: 500 });
  t.resolve(A, packet(1));
  t.expectRequests(A);
  assert.equal(t.at(100).poll().failed.length, 1);
  assert.equal(t.at(101).resolve(A, packet(2)), null, "refused, not queued");
  assert.equal(t.at(599).resolve(A, packet(3)), null);
  t.expectRequests();
  // At 600 the hold ends: the entry is forgotten on poll and a new packet starts over.
  t.at(600).expectRequests();
  assert.equal(t.cache.size, 0);
  assert.equal(t.resolve(A, packet(4)), undefined);
  t.expectRequests(A);
});

Deno.test("neighbor: after the hold, resolve restarts without waiting for poll", () => {
  const t = cacheTest({ retransmitInterval: 100, maxRequests: 1, failedHoldTime: 500 });
  t.resolve(A, packet(1));
  t.expectRequests(A);
  t.at(100).poll();
  assert.equal(t.at(600).resolve(A, packet(2)), undefined);
  t.expectRequests(A);
  const failed = t.at(700).poll().failed;
  assert.deepEqual(ids(failed[0].packets), [2]);
});

Deno.test("neighbor: a reply releases queued packets in order and answers lookups", () => {
  const t = cacheTest();
  t.resolve(A, packet(1));
  t.resolve(A, packet(2));
  t.expectRequests(A);
  const released = t.at(5).learn(A, MAC_A, false);
  assert.deepEqual(ids(released), [1, 2]);
  assert.deepEqual(t.cache.lookup(A, 5), MAC_A);
  assert.deepEqual(t.resolve(A, packet(3)), MAC_A, "resolved: returned, not queued");
  t.at(900).expectRequests(); // no more requests once resolved
  assert.deepEqual(t.cache.entries(), [{ address: A, mac: MAC_A, pending: 0 }]);
});

Deno.test("neighbor: the learned MAC is a copy", () => {
  const t = cacheTest();
  const mac = MAC_A.slice();
  t.learn(A, mac);
  mac[5] = 0xff;
  assert.deepEqual(t.cache.lookup(A, 0), MAC_A);
});

Deno.test("neighbor: entries expire after reachableTime and are re-resolved on demand", () => {
  const t = cacheTest({ reachableTime: 60_000 });
  t.learn(A, MAC_A);
  assert.equal(t.cache.nextDeadline(), 60_000);
  assert.deepEqual(t.cache.lookup(A, 59_999), MAC_A);
  assert.equal(t.cache.lookup(A, 60_000), undefined);
  // Unused and expired: poll forgets it.
  t.at(60_000).expectRequests();
  assert.equal(t.cache.size, 0);
  assert.equal(t.cache.nextDeadline(), Infinity);
  // In use after expiry: the next packet queues and asks again.
  t.learn(B, MAC_B);
  assert.equal(t.at(120_000).resolve(B, packet(7)), undefined);
  t.expectRequests(B);
  assert.deepEqual(ids(t.learn(B, MAC_B)), [7]);
});

Deno.test("neighbor: learn without create only refreshes entries that exist (RFC 826 merge)", () => {
  const t = cacheTest();
  assert.deepEqual(t.learn(A, MAC_A, false), []);
  assert.equal(t.cache.size, 0);
  t.learn(A, MAC_A, true);
  t.at(10).learn(A, MAC_B, false);
  assert.deepEqual(t.cache.lookup(A, 10), MAC_B, "a changed MAC is taken over");
});

Deno.test("neighbor: queues are bounded in bytes, oldest packets dropped first", () => {
  const t = cacheTest({ maxQueuedBytesPerEntry: 200 });
  for (let i = 1; i <= 5; i++) t.resolve(A, packet(i, 60));
  // 60 bytes each: three fit in 200, the two oldest were dropped.
  assert.equal(t.cache.queueDrops, 2);
  assert.equal(t.cache.entries()[0].pending, 3);
  t.resolve(A, packet(6, 140)); // needs 140: drops 3 and 4, keeps 5
  assert.equal(t.cache.queueDrops, 4);
  assert.deepEqual(ids(t.learn(A, MAC_A)), [5, 6]);
});

Deno.test("neighbor: one packet larger than the byte limit replaces the queue (as Linux does)", () => {
  const t = cacheTest({ maxQueuedBytesPerEntry: 100 });
  t.resolve(A, packet(1, 60));
  t.resolve(A, packet(2, 1500));
  assert.equal(t.cache.queueDrops, 1);
  assert.deepEqual(ids(t.learn(A, MAC_A)), [2]);
});

Deno.test("neighbor: the default queue holds a fragmented 64 KiB datagram", () => {
  const t = cacheTest();
  for (let i = 0; i < 45; i++) t.resolve(A, packet(i, 1514));
  assert.equal(t.cache.queueDrops, 0);
  assert.equal(t.learn(A, MAC_A).length, 45);
});

Deno.test("neighbor: at maxEntries the least recently learned entry is evicted, its queue dropped", () => {
  const t = cacheTest({ maxEntries: 3 });
  t.resolve(A, packet(1));
  t.resolve(A, packet(2));
  t.resolve(B, packet(3));
  t.resolve(C, packet(4));
  assert.equal(t.cache.size, 3);
  t.resolve(D, packet(5)); // evicts A with its two packets
  assert.equal(t.cache.size, 3);
  assert.equal(t.cache.queueDrops, 2);
  assert.deepEqual(t.cache.entries().map((e) => e.address), [B, C, D]);
  // Learning B makes it the most recent: the next newcomer evicts C.
  t.learn(B, MAC_B);
  t.learn(E, MAC_A);
  assert.deepEqual(t.cache.entries().map((e) => e.address), [D, B, E]);
  assert.equal(t.cache.queueDrops, 3);
  assert.deepEqual(t.cache.lookup(B, 0), MAC_B);
});

Deno.test("neighbor: size never exceeds maxEntries under a flood of new addresses", () => {
  const t = cacheTest({ maxEntries: 16 });
  for (let i = 0; i < 10_000; i++) {
    if (i & 1) t.learn(0x0a000000 + i, MAC_A);
    else t.resolve(0x0b000000 + i, packet(i & 0xff));
    assert.ok(t.cache.size <= 16);
  }
  assert.equal(t.cache.size, 16);
});

Deno.test("neighbor: forget and clear", () => {
  const t = cacheTest();
  t.learn(A, MAC_A);
  t.learn(B, MAC_B);
  t.cache.forget(A);
  assert.equal(t.cache.lookup(A, 0), undefined);
  assert.deepEqual(t.cache.lookup(B, 0), MAC_B);
  t.cache.clear();
  assert.equal(t.cache.size, 0);
  assert.equal(t.cache.nextDeadline(), Infinity);
});

Deno.test("neighbor: a late reply after failure resolves at once", () => {
  const t = cacheTest({ retransmitInterval: 100, maxRequests: 1 });
  t.resolve(A, packet(1));
  t.expectRequests(A);
  assert.equal(t.at(100).poll().failed.length, 1);
  assert.deepEqual(t.at(150).learn(A, MAC_A, false), []);
  assert.deepEqual(t.resolve(A, packet(2)), MAC_A);
});

Deno.test("neighbor: nextDeadline is the earliest of requests, expiries and holds", () => {
  const t = cacheTest({ retransmitInterval: 1000, reachableTime: 5000, failedHoldTime: 300 });
  assert.equal(t.cache.nextDeadline(), Infinity);
  t.learn(A, MAC_A); // expires at 5000
  t.resolve(B, packet(1)); // request due at 0
  assert.equal(t.cache.nextDeadline(), 0);
  t.expectRequests(B);
  assert.equal(t.cache.nextDeadline(), 1000);
  t.at(1000).expectRequests(B);
  t.at(2000).expectRequests(B);
  t.at(3000).poll(); // B fails, held until 3300
  assert.equal(t.cache.nextDeadline(), 3300);
  t.at(3300).poll();
  assert.equal(t.cache.nextDeadline(), 5000);
});
