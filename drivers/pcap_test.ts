import assert from "node:assert/strict";
import { PcapFileWriter, PcapNic, readPcap } from "./pcap.ts";
import { MemoryLink } from "./memory.ts";
import { Stack } from "../net/stack.ts";

async function tempFile(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempFile({ prefix: "usernet-pcap-", suffix: ".pcap" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path).catch(() => {}) };
}

/** A classic pcap file header with the given magic, byte order and link type. */
function fileHeader(magic: number, little: boolean, linkType = 1): Uint8Array {
  const h = new DataView(new ArrayBuffer(24));
  h.setUint32(0, magic, little);
  h.setUint16(4, 2, little);
  h.setUint16(6, 4, little);
  h.setUint32(16, 65535, little);
  h.setUint32(20, linkType, little);
  return new Uint8Array(h.buffer);
}

function recordHeader(
  seconds: number,
  fraction: number,
  captured: number,
  original: number,
  little: boolean,
) {
  const h = new DataView(new ArrayBuffer(16));
  h.setUint32(0, seconds, little);
  h.setUint32(4, fraction, little);
  h.setUint32(8, captured, little);
  h.setUint32(12, original, little);
  return new Uint8Array(h.buffer);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("pcap: reads the Linux fixture (31 frames, microsecond timestamps)", () => {
  const records = readPcap(
    Deno.readFileSync(new URL("../tests/fixtures/linux_ipv4.pcap", import.meta.url)),
  );
  assert.equal(records.length, 31);
  assert.equal(records[7].data.length, 42); // the ARP request
  assert.equal(records[13].data.length, 1514); // the first fragment
  for (const r of records) assert.equal(r.originalLength, r.data.length);
  // tshark shows frame 9 at 1.599240 s after frame 1.
  assert.equal(records[8].timestampMicros - records[0].timestampMicros, 1_599_240);
});

Deno.test("pcap: write then read back: bytes, lengths and timestamps", async () => {
  await using file = await tempFile();
  const writer = new PcapFileWriter(file.path);
  const frames = [new Uint8Array(60).fill(1), new Uint8Array(1514).fill(2), new Uint8Array(14)];
  const times = [1_700_000_000_000_001, 1_700_000_000_999_999, 1_700_000_001_000_000];
  frames.forEach((f, i) => writer.write(f, times[i]));
  writer.close();
  const records = readPcap(await Deno.readFile(file.path));
  assert.deepEqual(records.map((r) => r.data), frames);
  assert.deepEqual(records.map((r) => r.timestampMicros), times);
  assert.deepEqual(records.map((r) => r.originalLength), [60, 1514, 14]);
});

Deno.test("pcap: 6 MiB of records pass through the 1 MiB write buffer intact", async () => {
  await using file = await tempFile();
  const writer = new PcapFileWriter(file.path);
  const big = crypto.getRandomValues(new Uint8Array(65536));
  for (let i = 0; i < 100; i++) writer.write(big, i);
  for (let i = 0; i < 5000; i++) writer.write(new Uint8Array([i & 0xff, i >> 8]), i);
  writer.close();
  const records = readPcap(await Deno.readFile(file.path));
  assert.equal(records.length, 5100);
  assert.deepEqual(records[99].data, big);
  assert.deepEqual(records[5099].data, new Uint8Array([4999 & 0xff, 4999 >> 8]));
});

Deno.test("pcap: reads big-endian and nanosecond files", () => {
  for (const little of [true, false]) {
    for (const nanos of [false, true]) {
      const magic = nanos ? 0xa1b23c4d : 0xa1b2c3d4;
      const data = new Uint8Array([1, 2, 3, 4, 5]);
      const file = concat(
        fileHeader(magic, little),
        recordHeader(10, nanos ? 123_456_789 : 123_456, 5, 1500, little),
        data,
      );
      const [r] = readPcap(file);
      assert.deepEqual(r.data, data);
      assert.equal(r.originalLength, 1500, "a snapped frame keeps its wire length");
      assert.equal(r.timestampMicros, 10_123_456, `little=${little} nanos=${nanos}`);
    }
  }
});

Deno.test("pcap: refuses what it cannot read, saying why", () => {
  const good = concat(
    fileHeader(0xa1b2c3d4, true),
    recordHeader(0, 0, 4, 4, true),
    new Uint8Array(4),
  );
  const cases: { name: string; bytes: Uint8Array; message: RegExp }[] = [
    { name: "short", bytes: good.subarray(0, 23), message: /shorter than its 24-byte header/ },
    {
      name: "pcapng",
      bytes: concat(new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a]), good.subarray(4)),
      message: /pcapng/,
    },
    {
      name: "raw IP link type",
      bytes: fileHeader(0xa1b2c3d4, true, 101),
      message: /only Ethernet/,
    },
    {
      name: "truncated record",
      bytes: good.subarray(0, good.length - 1),
      message: /truncated record/,
    },
  ];
  for (const { name, bytes, message } of cases) assert.throws(() => readPcap(bytes), message, name);
  // A partial record header at the end is ignored, as tshark does after a crash mid-write.
  assert.equal(readPcap(good.subarray(0, 24 + 10)).length, 0);
});

Deno.test("pcap: PcapNic records both directions of a ping, and tshark reads the file", async () => {
  await using file = await tempFile();
  const [a, b] = MemoryLink.pair();
  const left = new Stack({ nic: new PcapNic(a, file.path), address: "10.0.0.1/24" });
  const right = new Stack({ nic: b, address: "10.0.0.2/24" });
  await left.ping("10.0.0.2");
  await left.close(); // flushes and closes the file
  await right.close();
  const records = readPcap(await Deno.readFile(file.path));
  // Gratuitous ARP, ARP request, ARP reply, echo request, echo reply (both sides' announcements
  // may interleave): at least the four of the exchange, in and out.
  assert.ok(records.length >= 4, `${records.length} frames`);
  const tshark = await new Deno.Command("tshark", {
    args: ["-r", file.path],
    stdout: "piped",
    stderr: "piped",
  }).output().catch(() => undefined);
  if (!tshark) {
    console.error("tshark is not installed: skipped the tshark half of this test");
    return;
  }
  assert.ok(tshark.success, new TextDecoder().decode(tshark.stderr));
  const text = new TextDecoder().decode(tshark.stdout);
  const lines = text.trim().split("\n");
  assert.equal(lines.length, records.length, text);
  assert.match(text, /ARP.*Who has 10\.0\.0\.2\? Tell 10\.0\.0\.1/);
  assert.match(text, /ARP.*10\.0\.0\.2 is at/);
  assert.match(text, /10\.0\.0\.1 → 10\.0\.0\.2 +ICMP 98 Echo \(ping\) request/);
  assert.match(text, /10\.0\.0\.2 → 10\.0\.0\.1 +ICMP 98 Echo \(ping\) reply/);
});
