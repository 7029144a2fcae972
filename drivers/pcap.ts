/**
 * pcap capture: a NIC wrapper that records every frame in and out to a classic pcap file
 * (readable by tshark and Wireshark), and a reader for pcap files.
 *
 * @module
 */
import type { Frame, Nic, NicFeatures, NicStats } from "./nic.ts";

const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262144;

/** One captured frame. */
export interface PcapRecord {
  /** Capture time in microseconds since the Unix epoch. */
  timestampMicros: number;
  /** Captured bytes. */
  data: Uint8Array;
  /** Length on the wire (may exceed `data.length` if truncated). */
  originalLength: number;
}

/**
 * Parses a classic pcap file (either byte order, micro- or nanosecond timestamps).
 *
 * @example
 * ```ts ignore
 * import { readPcap } from "./pcap.ts";
 * const records = readPcap(await Deno.readFile("capture.pcap"));
 * console.log(records.length);
 * ```
 */
export function readPcap(bytes: Uint8Array): PcapRecord[] {
  if (bytes.length < 24) throw new RangeError("pcap: file shorter than its 24-byte header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicBig = view.getUint32(0, false);
  const magicLittle = view.getUint32(0, true);
  let little: boolean;
  let nanos: boolean;
  if (magicLittle === PCAP_MAGIC_MICROSECONDS || magicLittle === PCAP_MAGIC_NANOSECONDS) {
    little = true;
    nanos = magicLittle === PCAP_MAGIC_NANOSECONDS;
  } else if (magicBig === PCAP_MAGIC_MICROSECONDS || magicBig === PCAP_MAGIC_NANOSECONDS) {
    little = false;
    nanos = magicBig === PCAP_MAGIC_NANOSECONDS;
  } else {
    throw new RangeError("pcap: not a classic pcap file (pcapng is not supported)");
  }
  if (view.getUint32(20, little) !== LINKTYPE_ETHERNET) {
    throw new RangeError("pcap: only Ethernet captures are supported");
  }
  const records: PcapRecord[] = [];
  let offset = 24;
  while (offset + 16 <= bytes.length) {
    const seconds = view.getUint32(offset, little);
    const fraction = view.getUint32(offset + 4, little);
    const captured = view.getUint32(offset + 8, little);
    const original = view.getUint32(offset + 12, little);
    offset += 16;
    if (offset + captured > bytes.length) throw new RangeError("pcap: truncated record");
    records.push({
      timestampMicros: seconds * 1e6 + (nanos ? Math.floor(fraction / 1000) : fraction),
      data: bytes.subarray(offset, offset + captured),
      originalLength: original,
    });
    offset += captured;
  }
  return records;
}

/**
 * Writes frames to a pcap file. Writes are buffered and flushed when the buffer fills, on
 * {@linkcode PcapFileWriter.flush} and on close.
 *
 * @example
 * ```ts ignore
 * import { PcapFileWriter } from "./pcap.ts";
 * const writer = new PcapFileWriter("/tmp/out.pcap");
 * writer.write(new Uint8Array(60));
 * writer.close();
 * ```
 */
export class PcapFileWriter {
  readonly #file: Deno.FsFile;
  #buffer = new Uint8Array(1 << 20);
  #used = 0;

  /** Creates (truncating) the pcap file at `path` and writes its header. */
  constructor(path: string) {
    this.#file = Deno.openSync(path, { write: true, create: true, truncate: true });
    const header = new DataView(new ArrayBuffer(24));
    header.setUint32(0, PCAP_MAGIC_MICROSECONDS, true);
    header.setUint16(4, 2, true);
    header.setUint16(6, 4, true);
    header.setUint32(16, SNAPLEN, true);
    header.setUint32(20, LINKTYPE_ETHERNET, true);
    this.#append(new Uint8Array(header.buffer));
  }

  /** Records one frame with the current time. */
  write(
    data: Uint8Array,
    timestampMicros: number = Math.round((performance.timeOrigin + performance.now()) * 1000),
  ): void {
    const captured = Math.min(data.length, SNAPLEN);
    const header = new DataView(new ArrayBuffer(16));
    header.setUint32(0, Math.floor(timestampMicros / 1e6), true);
    header.setUint32(4, timestampMicros % 1e6, true);
    header.setUint32(8, captured, true);
    header.setUint32(12, data.length, true);
    this.#append(new Uint8Array(header.buffer));
    this.#append(data.subarray(0, captured));
  }

  #append(bytes: Uint8Array): void {
    if (this.#used + bytes.length > this.#buffer.length) this.flush();
    if (bytes.length > this.#buffer.length) {
      writeAll(this.#file, bytes);
      return;
    }
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.length;
  }

  /** Writes buffered records to the file. */
  flush(): void {
    if (this.#used) writeAll(this.#file, this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }

  /** Flushes and closes the file. */
  close(): void {
    this.flush();
    this.#file.close();
  }
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

/**
 * Wraps any NIC and records every frame it receives and transmits to a pcap file.
 *
 * @example
 * ```ts ignore
 * import { MemoryLink } from "./memory.ts";
 * import { PcapNic } from "./pcap.ts";
 * const [a, b] = MemoryLink.pair();
 * const captured = new PcapNic(a, "/tmp/a.pcap");
 * captured.transmit([{ data: new Uint8Array(60) }]);
 * captured.close();
 * b.close();
 * ```
 */
export class PcapNic implements Nic {
  readonly #inner: Nic;
  readonly #writer: PcapFileWriter;
  #flushTimer: ReturnType<typeof setInterval>;

  /** Wraps `inner` and records its traffic to a new pcap file at `path`. */
  constructor(inner: Nic, path: string) {
    this.#inner = inner;
    this.#writer = new PcapFileWriter(path);
    // Flush once a second so a capture of a long run can be read while it goes on.
    this.#flushTimer = setInterval(() => this.#writer.flush(), 1000);
    Deno.unrefTimer(this.#flushTimer);
  }

  get name(): string {
    return this.#inner.name;
  }
  get mac(): Uint8Array {
    return this.#inner.mac;
  }
  get mtu(): number {
    return this.#inner.mtu;
  }
  get features(): NicFeatures {
    // Captures must show real checksums: ask the stack for complete ones.
    return { ...this.#inner.features, txChecksum: false };
  }

  async receive(): Promise<Frame[] | null> {
    const frames = await this.#inner.receive();
    if (frames) { for (const f of frames) this.#writer.write(f.data); }
    return frames;
  }

  transmit(frames: Frame[]): void {
    for (const f of frames) this.#writer.write(f.data);
    this.#inner.transmit(frames);
  }

  stats(): NicStats {
    return this.#inner.stats();
  }

  close(): void {
    clearInterval(this.#flushTimer);
    this.#inner.close();
    this.#writer.close();
  }
}
