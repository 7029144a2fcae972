import assert from "node:assert/strict";
import { EthernetSwitch } from "./switch.ts";
import { MemoryLink, type MemoryNic } from "../../drivers/memory.ts";

function frame(destination: number[], source: number[], tag: number): Uint8Array {
  const data = new Uint8Array(60);
  data.set(destination, 0);
  data.set(source, 6);
  data[12] = 0x88;
  data[13] = 0xb5; // local experimental EtherType
  data[14] = tag;
  return data;
}

const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const mac = (n: number) => [2, 0, 0, 0, 0, n];

/** A host on the switch that keeps the tags of the frames it receives. */
interface Host {
  nic: MemoryNic;
  /** The switch's end of the host's cable. */
  port: MemoryNic;
  got: number[];
}

/** The tags `host` received since the last call, once nothing more is in flight. */
async function drain(host: Host): Promise<number[]> {
  // Forwarding is synchronous in the switch; delivery takes a few event-loop turns.
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  return host.got.splice(0);
}

function plug(sw: EthernetSwitch, n: number): Host[] {
  return Array.from({ length: n }, () => {
    const [nic, switchSide] = MemoryLink.pair();
    sw.attach(switchSide);
    const host = { nic, port: switchSide, got: [] as number[] };
    (async () => {
      for (;;) {
        const frames = await nic.receive();
        if (!frames) return;
        for (const f of frames) host.got.push(f.data[14]);
      }
    })();
    return host;
  });
}

Deno.test("switch: floods broadcasts and unknown unicast, then forwards learned MACs only", async () => {
  const sw = new EthernetSwitch();
  const [a, b, c] = plug(sw, 3);
  try {
    a.nic.transmit([{ data: frame(BROADCAST, mac(1), 1) }]);
    assert.deepEqual([await drain(b), await drain(c), await drain(a)], [[1], [1], []]);
    // b's MAC is unknown: flooded; b answers a, which is known by now: only a gets it.
    a.nic.transmit([{ data: frame(mac(2), mac(1), 2) }]);
    assert.deepEqual([await drain(b), await drain(c)], [[2], [2]]);
    b.nic.transmit([{ data: frame(mac(1), mac(2), 3) }]);
    assert.deepEqual([await drain(a), await drain(c)], [[3], []]);
    // Now both are known: unicast between them stays between them.
    a.nic.transmit([{ data: frame(mac(2), mac(1), 4) }]);
    assert.deepEqual([await drain(b), await drain(c)], [[4], []]);
    // A frame for a MAC on the sender's own port goes nowhere.
    a.nic.transmit([{ data: frame(mac(1), mac(1), 5) }]);
    assert.deepEqual([await drain(a), await drain(b), await drain(c)], [[], [], []]);
  } finally {
    sw.close();
    for (const h of [a, b, c]) h.nic.close();
  }
});

Deno.test("switch: the MAC table is bounded, and a port's MACs go with it", async () => {
  const sw = new EthernetSwitch({ maxMacEntries: 4, maxPorts: 3 });
  const [a, b, c] = plug(sw, 3);
  try {
    assert.throws(() => plug(sw, 1), RangeError);
    // a sends from many MACs: only the last four are remembered.
    a.nic.transmit(
      Array.from({ length: 10 }, (_, i) => ({ data: frame(BROADCAST, mac(100 + i), 0) })),
    );
    await drain(b);
    await drain(c);
    b.nic.transmit([{ data: frame(mac(109), mac(2), 1) }]); // remembered: to a only
    b.nic.transmit([{ data: frame(mac(100), mac(2), 2) }]); // forgotten: flooded
    assert.deepEqual([await drain(a), await drain(c)], [[1, 2], [2]]);
    // a's cable is pulled: frames for its MACs are flooded again; there is room for a port.
    a.port.close();
    await drain(b);
    assert.equal(sw.portCount, 2);
    c.nic.transmit([{ data: frame(mac(109), mac(3), 3) }]);
    assert.deepEqual(await drain(b), [3]);
    const [d] = plug(sw, 1);
    d.nic.close();
  } finally {
    sw.close();
    for (const h of [a, b, c]) h.nic.close();
  }
});
