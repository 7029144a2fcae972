import assert from "node:assert/strict";
import { QemuDgramNic } from "./qemu_dgram.ts";
import type { Frame } from "./nic.ts";
import { Stack } from "../net/stack.ts";

function frame(id: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (id * 7 + i) & 0xff);
}

async function receiveFrames(nic: { receive(): Promise<Frame[] | null> }, count: number) {
  const out: Uint8Array[] = [];
  while (out.length < count) {
    const frames = await nic.receive();
    if (!frames) break;
    out.push(...frames.map((f) => f.data));
  }
  return out;
}

/** A free UDP port on 127.0.0.1 (bound and released). */
function freeUdpPort(): number {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  return port;
}

Deno.test("qemu dgram: one frame per UDP datagram, both ways, against a plain UDP peer", async () => {
  const qemu = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const qemuPort = (qemu.addr as Deno.NetAddr).port;
  const localPort = freeUdpPort();
  const nic = QemuDgramNic.open({
    local: { hostname: "127.0.0.1", port: localPort },
    remote: { hostname: "127.0.0.1", port: qemuPort },
  });
  assert.equal(nic.name, `qemu-dgram:udp:127.0.0.1:${qemuPort}`);
  const frames = [frame(1, 14), frame(2, 60), frame(3, 1514), frame(4, 9014)];
  nic.transmit(frames.map((data) => ({ data })));
  for (const expected of frames) {
    const [data, from] = await qemu.receive();
    assert.deepEqual(data, expected, "no prefix, one frame per datagram");
    assert.equal((from as Deno.NetAddr).port, localPort);
  }
  for (const f of frames) {
    await qemu.send(f, { transport: "udp", hostname: "127.0.0.1", port: localPort });
  }
  // A runt datagram (< 14 bytes) is counted and skipped.
  await qemu.send(new Uint8Array(5), { transport: "udp", hostname: "127.0.0.1", port: localPort });
  await qemu.send(frame(5, 60), { transport: "udp", hostname: "127.0.0.1", port: localPort });
  assert.deepEqual(await receiveFrames(nic, 5), [...frames, frame(5, 60)]);
  assert.equal(nic.stats().rxDropped, 1);
  assert.equal(nic.stats().rxFrames, 5);
  assert.equal(nic.stats().txFrames, 4);
  nic.close();
  assert.equal(await nic.receive(), null);
  nic.transmit([{ data: frame(6, 60) }]);
  assert.equal(nic.stats().txDropped, 1);
  qemu.close();
});

Deno.test("qemu dgram: two stacks ping with fragments across a UDP loopback link", async () => {
  const [portA, portB] = [freeUdpPort(), freeUdpPort()];
  const a = QemuDgramNic.open({
    local: { hostname: "127.0.0.1", port: portA },
    remote: { hostname: "127.0.0.1", port: portB },
  });
  const b = QemuDgramNic.open({
    local: { hostname: "127.0.0.1", port: portB },
    remote: { hostname: "127.0.0.1", port: portA },
  });
  const left = new Stack({ nic: a, address: "10.0.2.15/24" });
  const right = new Stack({ nic: b, address: "10.0.2.2/24" });
  const reply = await left.ping("10.0.2.2", { size: 4000, timeout: 5000 });
  assert.equal(reply.bytes, 4008);
  assert.ok(right.stats().ipv4.reassembled >= 1);
  await left.close();
  await right.close();
});

Deno.test("qemu dgram: mixing a unix local with a UDP remote is refused", () => {
  assert.throws(
    () =>
      QemuDgramNic.open({
        local: { hostname: "127.0.0.1", port: freeUdpPort() },
        remote: { path: "/tmp/nowhere.sock" },
      }),
    TypeError,
  );
});

Deno.test("qemu dgram: a refused pair leaves the local port free", () => {
  const port = freeUdpPort();
  assert.throws(
    () =>
      QemuDgramNic.open({
        local: { hostname: "127.0.0.1", port },
        remote: { path: "/tmp/nowhere.sock" },
      }),
    /a UDP local socket needs a UDP remote/,
  );
  // Still bindable: the failed open did not keep it.
  Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port }).close();
});

Deno.test({
  name: "qemu dgram: two stacks ping across a unix datagram socket pair (QEMU's unix dgram netdev)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "usernet-dgram-" });
    const a = QemuDgramNic.open({
      local: { path: `${dir}/a.sock` },
      remote: { path: `${dir}/b.sock` },
    });
    const b = QemuDgramNic.open({
      local: { path: `${dir}/b.sock` },
      remote: { path: `${dir}/a.sock` },
    });
    const left = new Stack({ nic: a, address: "10.9.0.1/24" });
    const right = new Stack({ nic: b, address: "10.9.0.2/24" });
    try {
      const reply = await left.ping("10.9.0.2", { size: 3000, timeout: 5000 });
      assert.equal(reply.from, "10.9.0.2");
      assert.equal(reply.bytes, 3008);
      assert.ok(a.stats().txFrames >= 3 && b.stats().rxFrames >= 3);
    } finally {
      await left.close();
      await right.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
