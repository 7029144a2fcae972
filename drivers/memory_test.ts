import assert from "node:assert/strict";
import { MemoryLink } from "./memory.ts";
import type { Frame } from "./nic.ts";

/** A 60-byte frame whose byte 14 carries `id`. */
function frame(id: number, length = 60): Frame {
  const data = new Uint8Array(length);
  data[14] = id;
  return { data };
}

const ids = (frames: Frame[] | null) => frames?.map((f) => f.data[14]);

Deno.test("memory: what one end transmits the other receives, in order, in one batch", async () => {
  const [a, b] = MemoryLink.pair();
  a.transmit([frame(1), frame(2)]);
  a.transmit([frame(3)]);
  assert.deepEqual(ids(await b.receive()), [1, 2, 3]);
  b.transmit([frame(9, 1514)]);
  const back = await a.receive();
  assert.deepEqual(ids(back), [9]);
  assert.equal(back![0].data.length, 1514);
  assert.deepEqual(a.stats(), {
    rxFrames: 1,
    rxBytes: 1514,
    txFrames: 3,
    txBytes: 180,
    rxDropped: 0,
    txDropped: 0,
  });
  assert.deepEqual(b.stats(), {
    rxFrames: 3,
    rxBytes: 180,
    txFrames: 1,
    txBytes: 1514,
    rxDropped: 0,
    txDropped: 0,
  });
  a.close();
  b.close();
});

Deno.test("memory: a pending receive wakes when a frame arrives", async () => {
  const [a, b] = MemoryLink.pair();
  const waiting = b.receive();
  a.transmit([frame(5)]);
  assert.deepEqual(ids(await waiting), [5]);
  a.close();
  b.close();
});

Deno.test("memory: the frame object is handed over, not copied", async () => {
  const [a, b] = MemoryLink.pair();
  const f = frame(1);
  a.transmit([f]);
  assert.equal((await b.receive())![0], f);
  a.close();
  b.close();
});

Deno.test("memory: a full receive queue drops and counts on both ends", async () => {
  const [a, b] = MemoryLink.pair({ queueLimit: 3 });
  a.transmit([frame(1), frame(2), frame(3), frame(4), frame(5)]);
  assert.equal(a.stats().txFrames, 3);
  assert.equal(a.stats().txDropped, 2);
  assert.equal(b.stats().rxDropped, 2);
  assert.deepEqual(ids(await b.receive()), [1, 2, 3]);
  a.transmit([frame(6)]); // room again once taken
  assert.deepEqual(ids(await b.receive()), [6]);
  a.close();
  b.close();
});

Deno.test("memory: close resolves a pending receive with null; frames to a closed end drop", async () => {
  const [a, b] = MemoryLink.pair();
  const waiting = b.receive();
  b.close();
  assert.equal(await waiting, null);
  assert.equal(await b.receive(), null);
  a.transmit([frame(1)]);
  assert.equal(a.stats().txDropped, 1);
  a.close();
});

Deno.test("memory: options set MTU and MACs; default MACs are random and local", () => {
  const macs: [Uint8Array, Uint8Array] = [
    new Uint8Array([2, 0, 0, 0, 0, 1]),
    new Uint8Array([2, 0, 0, 0, 0, 2]),
  ];
  const [a, b] = MemoryLink.pair({ mtu: 9000, macs });
  assert.equal(a.mtu, 9000);
  assert.equal(b.mtu, 9000);
  assert.equal(a.mac, macs[0]);
  assert.equal(b.mac, macs[1]);
  assert.equal(a.name, "memory-a");
  assert.equal(a.peer, b);
  assert.deepEqual(a.features, {
    txChecksum: false,
    rxChecksum: false,
    txTcpSegmentation: false,
    rxTcpCoalescing: false,
  });
  const [c, d] = MemoryLink.pair();
  assert.equal(c.mtu, 1500);
  assert.equal(c.mac[0], 2);
  assert.notDeepEqual(c.mac, d.mac);
  for (const nic of [a, b, c, d]) nic.close();
});
