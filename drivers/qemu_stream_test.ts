import assert from "node:assert/strict";
import { parseStreamAddress, QemuStreamNic, QemuStreamServer } from "./qemu_stream.ts";
import type { Frame } from "./nic.ts";
import { Stack } from "../net/stack.ts";

/** A frame of `length` bytes whose contents identify it. */
function frame(id: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (id * 31 + i) & 0xff);
}

/** QEMU's stream framing: a 4-byte big-endian length before each frame. */
function encode(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + 4 + f.length, 0));
  let o = 0;
  for (const f of frames) {
    new DataView(out.buffer).setUint32(o, f.length);
    out.set(f, o + 4);
    o += 4 + f.length;
  }
  return out;
}

function decode(stream: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  for (let o = 0; o < stream.length;) {
    const n = view.getUint32(o);
    frames.push(stream.slice(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return frames;
}

/**
 * A stream connection whose reads return exactly the chunks the test scripts (so frames are
 * split exactly where the test says), and which records what is written to it.
 */
class ScriptedConn {
  readonly #chunks: Uint8Array[];
  readonly written: Uint8Array[] = [];
  #waiting: (() => void) | undefined;
  #ended = false;
  closed = false;
  /** Set to make writes hang (a peer that stopped reading). */
  stallWrites = false;

  constructor(chunks: Uint8Array[] = []) {
    this.#chunks = chunks.map((c) => c.slice());
  }

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk.slice());
    this.#waiting?.();
  }

  end(): void {
    this.#ended = true;
    this.#waiting?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (!this.#chunks.length) {
      if (this.#ended || this.closed) return null;
      await new Promise<void>((r) => (this.#waiting = r));
      this.#waiting = undefined;
    }
    const chunk = this.#chunks[0];
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.stallWrites) return new Promise(() => {});
    this.written.push(p.slice());
    return Promise.resolve(p.length);
  }

  close(): void {
    this.closed = true;
    this.#waiting?.();
  }

  asConn(): Deno.Conn {
    return this as unknown as Deno.Conn;
  }
}

/** Receives until `count` frames arrived or the NIC closed. */
async function receiveFrames(
  nic: { receive(): Promise<Frame[] | null> },
  count: number,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  while (out.length < count) {
    const frames = await nic.receive();
    if (!frames) break;
    out.push(...frames.map((f) => f.data));
  }
  return out;
}

const FRAMES = [frame(1, 14), frame(2, 60), frame(3, 200)];
const STREAM = encode(FRAMES);

Deno.test("qemu stream: deframes with the stream split at every byte boundary", async () => {
  for (let k = 1; k < STREAM.length; k++) {
    const conn = new ScriptedConn([STREAM.subarray(0, k), STREAM.subarray(k)]);
    const nic = new QemuStreamNic("test", conn.asConn());
    assert.deepEqual(await receiveFrames(nic, 3), FRAMES, `split at ${k}`);
    nic.close();
  }
});

Deno.test("qemu stream: deframes one byte per read, and all frames merged in one read", async () => {
  const bytes = Array.from(STREAM, (b) => new Uint8Array([b]));
  for (const chunks of [bytes, [STREAM], [encode([...FRAMES, ...FRAMES, ...FRAMES])]]) {
    const conn = new ScriptedConn(chunks);
    const nic = new QemuStreamNic("test", conn.asConn());
    const expected = chunks.length === 1 && chunks[0].length > STREAM.length
      ? [...FRAMES, ...FRAMES, ...FRAMES]
      : FRAMES;
    assert.deepEqual(await receiveFrames(nic, expected.length), expected);
    assert.equal(nic.stats().rxFrames, expected.length);
    nic.close();
  }
});

Deno.test("qemu stream: 400 kB in one read wraps the 256 KiB window and keeps every frame", async () => {
  const frames = Array.from({ length: 100 }, (_, i) => frame(i, 3997 + i));
  const conn = new ScriptedConn([encode(frames)]);
  const nic = new QemuStreamNic("test", conn.asConn());
  assert.deepEqual(await receiveFrames(nic, 100), frames);
  // The largest frame QEMU sends (4096 + 65536 bytes), split in three.
  const jumbo = frame(7, 4096 + 65536);
  const stream = encode([jumbo]);
  conn.push(stream.subarray(0, 3));
  conn.push(stream.subarray(3, 40_000));
  conn.push(stream.subarray(40_000));
  assert.deepEqual(await receiveFrames(nic, 1), [jumbo]);
  nic.close();
});

Deno.test("qemu stream: runt frames are counted and skipped; an absurd length closes the NIC", async () => {
  const conn = new ScriptedConn([encode([frame(1, 13), frame(2, 0), frame(3, 60)])]);
  const nic = new QemuStreamNic("test", conn.asConn());
  assert.deepEqual(await receiveFrames(nic, 1), [frame(3, 60)]);
  assert.equal(nic.stats().rxDropped, 2);
  // Not a QEMU stream (e.g. text): the length is > 69632 bytes.
  conn.push(new TextEncoder().encode("GET / HTTP/1.1\r\n"));
  assert.equal(await nic.receive(), null);
  assert.equal(conn.closed, true);
});

Deno.test("qemu stream: a transmitted batch goes out framed, in one write", async () => {
  const conn = new ScriptedConn();
  const nic = new QemuStreamNic("test", conn.asConn());
  nic.transmit(FRAMES.map((data) => ({ data })));
  await Promise.resolve();
  assert.equal(conn.written.length, 1);
  assert.deepEqual(conn.written[0], STREAM);
  assert.deepEqual(decode(conn.written[0]), FRAMES);
  assert.equal(nic.stats().txFrames, 3);
  assert.equal(nic.stats().txBytes, 274);
  nic.close();
  nic.transmit([{ data: frame(4, 60) }]);
  assert.equal(nic.stats().txDropped, 1);
  assert.equal(await nic.receive(), null);
});

Deno.test("qemu stream: a peer that stops reading makes the NIC drop past maxPendingBytes", () => {
  const conn = new ScriptedConn();
  conn.stallWrites = true;
  const nic = new QemuStreamNic("test", conn.asConn(), { maxPendingBytes: 10_000 });
  for (let i = 0; i < 10; i++) nic.transmit([{ data: frame(i, 1514) }]);
  // 1518 bytes each on the wire: 6 fit in 10 000.
  assert.equal(nic.stats().txFrames, 6);
  assert.equal(nic.stats().txDropped, 4);
  nic.close();
});

async function tempSocketPath(): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "usernet-qs-" });
  return { path: `${dir}/net.sock`, dir };
}

Deno.test("qemu stream: server mode on a unix socket: a QEMU-like client's split writes", async () => {
  const { path, dir } = await tempSocketPath();
  const server = QemuStreamServer.listen({ path });
  const accepted = server.accept();
  const qemu = await Deno.connect({ transport: "unix", path });
  const nic = await accepted;
  assert.equal(nic.name, `qemu-stream:unix:${path}`);
  // Write the stream in pieces that cut the length prefix and the frames.
  for (const [from, to] of [[0, 2], [2, 21], [21, 100], [100, STREAM.length]]) {
    await qemu.write(STREAM.subarray(from, to));
  }
  assert.deepEqual(await receiveFrames(nic, 3), FRAMES);
  // And the other way: what the NIC transmits, QEMU reads framed.
  nic.transmit(FRAMES.map((data) => ({ data })));
  const got = new Uint8Array(STREAM.length);
  for (let o = 0; o < got.length;) o += (await qemu.read(got.subarray(o)))!;
  assert.deepEqual(got, STREAM);
  // QEMU going away closes the NIC.
  qemu.close();
  assert.equal(await nic.receive(), null);
  server.close();
  assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound, "socket file removed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("qemu stream: client mode on a unix socket (QEMU listening with server=on)", async () => {
  const { path, dir } = await tempSocketPath();
  const qemuListener = Deno.listen({ transport: "unix", path });
  const [nic, qemu] = await Promise.all([
    QemuStreamNic.connect(parseStreamAddress(`unix:${path}`)),
    qemuListener.accept(),
  ]);
  await qemu.write(STREAM.subarray(0, 7));
  await qemu.write(STREAM.subarray(7));
  assert.deepEqual(await receiveFrames(nic, 3), FRAMES);
  nic.close();
  assert.equal(await qemu.read(new Uint8Array(10)), null, "QEMU sees the connection close");
  qemu.close();
  qemuListener.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("qemu stream: two stacks ping across a server NIC and a client NIC (TCP loopback)", async () => {
  const server = QemuStreamServer.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (server.address as { port: number }).port;
  assert.ok(port > 0);
  const [client, accepted] = await Promise.all([
    QemuStreamNic.connect({ hostname: "127.0.0.1", port }),
    server.accept(),
  ]);
  const left = new Stack({ nic: client, address: "10.0.2.15/24" });
  const right = new Stack({ nic: accepted, address: "10.0.2.2/24" });
  const reply = await left.ping("10.0.2.2", { size: 3000, timeout: 5000 });
  assert.equal(reply.from, "10.0.2.2");
  assert.equal(reply.bytes, 3008);
  await left.close();
  await right.close();
  server.close();
});

Deno.test("qemu stream: parseStreamAddress", () => {
  assert.deepEqual(parseStreamAddress("unix:/tmp/q.sock"), { path: "/tmp/q.sock" });
  assert.deepEqual(parseStreamAddress("tcp:127.0.0.1:5555"), { hostname: "127.0.0.1", port: 5555 });
  assert.deepEqual(parseStreamAddress("tcp:[::1]:5555"), { hostname: "::1", port: 5555 });
  for (const bad of ["/tmp/q.sock", "tcp:127.0.0.1", "udp:1.2.3.4:5", "tcp:host:port"]) {
    assert.throws(() => parseStreamAddress(bad), TypeError, bad);
  }
});
