/**
 * Helpers for the wire-format tests: frames captured from Linux, hex, and parse-or-fail.
 *
 * Two captures (run `tshark -r` on them to see every frame; frame numbers here are tshark's):
 * - `tests/fixtures/linux_ipv4.pcap`: two namespaces on a veth, checksum offload ON, so TCP and
 *   UDP checksum fields hold Linux's partial (pseudo-header only) sums.
 * - `tests/fixtures/linux_ipv4_checksummed.pcap`: through a Linux router, offload OFF, so every
 *   checksum is complete. Made by `tests/fixtures/capture_linux_checksummed.sh`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readPcap } from "../../drivers/pcap.ts";
import { WireError, wireError, type WireErrorReason } from "./errors.ts";
import { ETHERNET_HEADER_LENGTH } from "./ethernet.ts";
import { type Ipv4Packet, parseIpv4 } from "./ipv4.ts";

const fixtures = new URL("../../tests/fixtures/", import.meta.url);

function load(name: string): Uint8Array[] {
  return readPcap(Deno.readFileSync(new URL(name, fixtures))).map((r) => r.data);
}

const offloaded = load("linux_ipv4.pcap");
const checksummed = load("linux_ipv4_checksummed.pcap");

/** Frame `n` (1-based, as tshark numbers them) of `linux_ipv4.pcap` (offload on). */
export function offloadedFrame(n: number): Uint8Array {
  return offloaded[n - 1];
}

/** Frame `n` (1-based) of `linux_ipv4_checksummed.pcap` (offload off). */
export function linuxFrame(n: number): Uint8Array {
  return checksummed[n - 1];
}

/** Number of frames in `linux_ipv4_checksummed.pcap`. */
export const LINUX_FRAME_COUNT = checksummed.length;

/** Bytes from hex text; spaces and newlines are ignored. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  assert.equal(clean.length % 2, 0, "hex text must have an even number of digits");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Hex text of bytes, for readable assertion failures. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Asserts a parse result is not a WireError and returns it typed. */
export function ok<T>(result: T | WireError): T {
  if (result instanceof WireError) assert.fail(`expected a parse, got ${result.message}`);
  return result;
}

/** Asserts a parse result is exactly the shared WireError for `layer`/`reason`. */
export function fails(result: unknown, layer: string, reason: string, name = ""): void {
  assert.ok(result instanceof WireError, `${name}: expected ${layer}/${reason}, got a parse`);
  assert.equal(`${result.layer}/${result.reason}`, `${layer}/${reason}`, name);
  assert.equal(result, wireError(layer, reason as WireErrorReason), `${name}: shared instance`);
}

/** The IPv4 packet inside an Ethernet frame, parsed with its checksum verified. */
export function ipv4Of(frame: Uint8Array): Ipv4Packet {
  return ok(parseIpv4(frame.subarray(ETHERNET_HEADER_LENGTH)));
}

/** IPv4 address text to uint32 (test shorthand). */
export function ip(text: string): number {
  const [a, b, c, d] = text.split(".").map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** A copy of `bytes` with `edit` applied, so fixtures are never mutated. */
export function edited(bytes: Uint8Array, edit: (copy: Uint8Array) => void): Uint8Array {
  const copy = bytes.slice();
  edit(copy);
  return copy;
}
