/**
 * Parse throughput: Ethernet + IPv4 + UDP (or TCP with options) of realistic frames, each
 * header validated and every checksum verified, as the stack's receive path does. The
 * reference is the same field reads with no validation and no checksums (plain DataView reads
 * of ports, addresses and lengths): an upper bound that shows what validation costs.
 *
 * @module
 */
import { readPcap } from "../drivers/pcap.ts";
import { WireError } from "../net/wire/errors.ts";
import { parseEthernet } from "../net/wire/ethernet.ts";
import { parseIpv4, writeIpv4Header } from "../net/wire/ipv4.ts";
import { parseTcp, parseTcpOptions, TcpFlags, writeTcp } from "../net/wire/tcp.ts";
import { parseUdp } from "../net/wire/udp.ts";
import { writeEthernetHeader } from "../net/wire/ethernet.ts";
import { type BenchRow, measureRate } from "./row.ts";

/** Linux's UDP datagram "hello usernet" (frame 13 of the fixture), padded to 60 bytes. */
function linuxUdpFrame(): Uint8Array {
  const records = readPcap(
    Deno.readFileSync(new URL("../tests/fixtures/linux_ipv4_checksummed.pcap", import.meta.url)),
  );
  const frame = new Uint8Array(60);
  frame.set(records[12].data);
  return frame;
}

/** A full-size TCP data segment with timestamps, as Linux sends in bulk (1514 bytes). */
function tcpDataFrame(): Uint8Array {
  const frame = new Uint8Array(1514);
  const source = 0x0a620001;
  const destination = 0x0a620102;
  writeEthernetHeader(
    frame,
    0,
    new Uint8Array([2, 0, 0, 0, 0, 2]),
    new Uint8Array([2, 0, 0, 0, 0, 1]),
    0x0800,
  );
  const payload = new Uint8Array(1448);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  const n = writeTcp(frame, 34, source, destination, {
    sourcePort: 52034,
    destinationPort: 5000,
    sequence: 3782145350,
    acknowledgment: 1246558315,
    flags: TcpFlags.ACK | TcpFlags.PSH,
    window: 502,
    options: { timestamp: { value: 3852791842, echoReply: 3364562007 } },
  }, payload);
  writeIpv4Header(frame, 14, {
    source,
    destination,
    protocol: 6,
    payloadLength: n,
    identification: 1,
    ttl: 64,
    dontFragment: true,
  });
  return frame;
}

/** The receive path's parse: every header validated, every checksum verified. */
function parseFrame(frame: Uint8Array): number {
  const eth = parseEthernet(frame);
  if (eth instanceof WireError) throw eth;
  const ip = parseIpv4(eth.payload);
  if (ip instanceof WireError) throw ip;
  if (ip.protocol === 17) {
    const udp = parseUdp(ip.payload, ip.source, ip.destination);
    if (udp instanceof WireError) throw udp;
    return udp.destinationPort + udp.payload.length;
  }
  const tcp = parseTcp(ip.payload, ip.source, ip.destination);
  if (tcp instanceof WireError) throw tcp;
  const options = parseTcpOptions(tcp.optionBytes);
  if (options instanceof WireError) throw options;
  return tcp.destinationPort + tcp.payload.length + (options.timestamp?.value ?? 0);
}

/** The reference: the same fields read straight from a DataView, nothing checked. */
function readFields(frame: Uint8Array): number {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const ihl = (view.getUint8(14) & 0x0f) * 4;
  const total = view.getUint16(16);
  const t = 14 + ihl;
  const ports = view.getUint16(t) + view.getUint16(t + 2);
  const addresses = view.getUint32(26) ^ view.getUint32(30);
  if (view.getUint8(23) === 17) return ports + addresses + view.getUint16(t + 4);
  const dataOffset = (view.getUint8(t + 12) >>> 4) * 4;
  return ports + addresses + view.getUint32(t + 4) + total - ihl - dataOffset +
    view.getUint32(t + 24);
}

/** Parse rows in frames/s. */
export function parseRows(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const cases = [
    { name: "parse Ethernet+IPv4+UDP, 60 B (Linux frame)", frame: linuxUdpFrame() },
    { name: "parse Ethernet+IPv4+TCP+options, 1514 B", frame: tcpDataFrame() },
  ];
  for (const { name, frame } of cases) {
    // A ring of copies, so the loop does not parse one cached buffer.
    const ring = Array.from({ length: 64 }, () => frame.slice());
    let sink = parseFrame(frame) + readFields(frame);
    const usernet = measureRate((n) => {
      for (let i = 0; i < n; i++) sink += parseFrame(ring[i & 63]);
    }, 1);
    const reference = measureRate((n) => {
      for (let i = 0; i < n; i++) sink += readFields(ring[i & 63]);
    }, 1);
    rows.push({
      name,
      usernet,
      reference,
      referenceLabel: "bare DataView field reads, no validation, no checksum",
      unit: "frames/s",
      note: "usernet validates every header and verifies every checksum",
    });
    if (sink === 0.5) console.log(sink);
  }
  return Promise.resolve(rows);
}
