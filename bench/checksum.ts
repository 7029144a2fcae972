/**
 * Checksum throughput: usernet's `sumWords` (RFC 1071) over 1500-byte and 64 KiB buffers, next
 * to two references measured in the same run: the checksum as RFC 1071 writes it (a JavaScript
 * loop over 16-bit words, one byte at a time), and a plain C loop compiled with the machine's
 * `cc -O2` and called through FFI (the loop repeats inside C, so FFI cost is not counted).
 *
 * @module
 */
import { foldChecksum, sumWords } from "../net/wire/checksum.ts";
import { type BenchRow, measureRate } from "./row.ts";

const SIZES = [1500, 65536];

/** RFC 1071 as written: 16-bit big-endian words from bytes, one byte at a time. */
function naiveChecksum(bytes: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) {
    sum += (i & 1) === 0 ? bytes[offset + i] << 8 : bytes[offset + i];
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

const C_SOURCE = `
#include <stdint.h>
#include <string.h>
#include <stddef.h>
static uint16_t csum(const uint8_t *p, size_t n) {
  uint64_t sum = 0;
  while (n >= 4) { uint32_t w; memcpy(&w, p, 4); sum += w; p += 4; n -= 4; }
  if (n >= 2) { uint16_t w; memcpy(&w, p, 2); sum += w; p += 2; n -= 2; }
  if (n) sum += *p;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}
uint32_t bench_csum(const uint8_t *p, uint64_t n, uint32_t iterations) {
  uint32_t acc = 0;
  for (uint32_t i = 0; i < iterations; i++) {
    __asm__ __volatile__("" : : "r"(p) : "memory"); /* recompute every time */
    acc += csum(p, n);
  }
  return acc;
}
`;

/** Compiles the C reference, or returns why it could not. */
async function loadCReference(): Promise<
  { bench: (p: Uint8Array, n: number, iterations: number) => number; close(): void } | string
> {
  const dir = await Deno.makeTempDir({ prefix: "usernet-bench-c-" });
  try {
    await Deno.writeTextFile(`${dir}/csum.c`, C_SOURCE);
    const out = await new Deno.Command("cc", {
      args: ["-O2", "-shared", "-fPIC", "-o", `${dir}/csum.so`, `${dir}/csum.c`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) return `cc failed: ${new TextDecoder().decode(out.stderr).trim()}`;
    const lib = Deno.dlopen(`${dir}/csum.so`, {
      bench_csum: { parameters: ["buffer", "u64", "u32"], result: "u32" },
    });
    return {
      bench: (p, n, iterations) =>
        lib.symbols.bench_csum(p as Uint8Array<ArrayBuffer>, BigInt(n), iterations),
      close: () => lib.close(),
    };
  } catch (error) {
    return `no C compiler (${(error as Error).message})`;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Checksum rows: GB/s for usernet, the naive JavaScript loop and C. */
export async function checksumRows(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const c = await loadCReference();
  for (const size of SIZES) {
    // Frames start 2 bytes off a 4-byte boundary inside their buffer (IP payload at offset 34).
    const backing = new Uint8Array(size + 64);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 131 + 7) & 0xff;
    const data = backing.subarray(34, 34 + size);
    const expected = naiveChecksum(data, 0, size);
    if (foldChecksum(sumWords(data, 0, size, 0)) !== expected) {
      throw new Error("sumWords disagrees with the reference checksum");
    }
    let sink = 0;
    const usernet = measureRate((n) => {
      for (let i = 0; i < n; i++) sink += sumWords(data, 0, size, 0);
    }, size) / 1e9;
    const naive = measureRate((n) => {
      for (let i = 0; i < n; i++) sink += naiveChecksum(data, 0, size);
    }, size) / 1e9;
    const label = size === 1500 ? "1500 B" : "64 KiB";
    rows.push({
      name: `checksum, ${label}`,
      usernet,
      reference: naive,
      referenceLabel: "RFC 1071 as written, JS byte loop",
      unit: "GB/s",
    });
    if (typeof c === "string") {
      rows.push({
        name: `checksum, ${label}`,
        usernet,
        reference: undefined,
        referenceLabel: "C, cc -O2",
        unit: "GB/s",
        note: c,
      });
    } else {
      const copy = new Uint8Array(size + 2);
      copy.set(data, 2);
      const cData = copy.subarray(2); // the same misalignment
      const cRate = measureRate((n) => {
        sink += c.bench(cData, size, n);
      }, size) / 1e9;
      rows.push({
        name: `checksum, ${label}`,
        usernet,
        reference: cRate,
        referenceLabel: "C loop, cc -O2, 32-bit loads (FFI)",
        unit: "GB/s",
      });
    }
    if (sink === 0.5) console.log(sink); // keep the results alive
  }
  if (typeof c !== "string") c.close();
  return rows;
}
