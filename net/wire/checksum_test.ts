import assert from "node:assert/strict";
import { foldChecksum, internetChecksum, pseudoHeaderSum, sumWords } from "./checksum.ts";
import { hex, ip, ipv4Of, linuxFrame } from "./_test_util.ts";
import { seededRandom } from "../../drivers/_random.ts";

/** RFC 1071 by the book: 16-bit big-endian words one byte at a time, end-around carry. */
function naiveChecksum(bytes: Uint8Array, offset: number, length: number, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < length; i++) {
    sum += (i & 1) === 0 ? bytes[offset + i] << 8 : bytes[offset + i];
    while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  }
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

Deno.test("checksum: RFC 1071 §3 example bytes sum to ddf2, checksum 220d", () => {
  const data = hex("0001 f203 f4f5 f6f7");
  assert.equal(internetChecksum(data), 0x220d);
  assert.equal(foldChecksum(sumWords(data, 0, data.length, 0)), 0x220d);
  assert.equal(naiveChecksum(data, 0, data.length), 0x220d);
});

Deno.test("checksum: table of edge cases matches the byte-at-a-time reference", () => {
  const cases: { name: string; bytes: Uint8Array; expect: number }[] = [
    { name: "empty", bytes: new Uint8Array(0), expect: 0xffff },
    { name: "one byte pads with zero", bytes: hex("ab"), expect: ~0xab00 & 0xffff },
    { name: "three bytes", bytes: hex("0102 03"), expect: ~0x0402 & 0xffff },
    { name: "all zero", bytes: new Uint8Array(1500), expect: 0xffff },
    { name: "all ones: sum is ffff, checksum 0", bytes: new Uint8Array(64).fill(0xff), expect: 0 },
    { name: "carry: ffff + 0001 wraps to 0001", bytes: hex("ffff 0001"), expect: 0xfffe },
    {
      name: "17 bytes: unrolled loop, word and odd tail",
      bytes: hex("ff".repeat(17)),
      expect: 0x00ff,
    },
  ];
  for (const { name, bytes, expect } of cases) {
    assert.equal(internetChecksum(bytes), expect, name);
    assert.equal(naiveChecksum(bytes, 0, bytes.length), expect, `${name} (reference)`);
  }
});

Deno.test("checksum: a 32-bit sum just past 2^32 folds its carry (ffffffff ffffffff 00000001)", () => {
  // The 32-bit loads sum to 0x1_ffff_ffff: the high fold must not lose bit 32.
  const data = hex("ffffffff ffffffff 00000001");
  assert.equal(naiveChecksum(data, 0, data.length), 0xfffe);
  assert.equal(internetChecksum(data), 0xfffe);
  // The same through a large running sum passed in as `initial`.
  assert.equal(foldChecksum(0x1ffffffff), 0xfffe);
  assert.equal(foldChecksum(0xffffffff + 0xffffffff * 0x10000), naiveFold(0xffffffff * 0x10001));
});

function naiveFold(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

Deno.test("checksum: foldChecksum agrees with repeated 16-bit folding for wide sums", () => {
  const random = seededRandom(1071);
  const samples = [0, 1, 0xffff, 0x10000, 0xffffffff, 0x100000000, 2 ** 52, 2 ** 53 - 1];
  for (let i = 0; i < 10_000; i++) samples.push(Math.floor(random() * 2 ** 53));
  for (const sum of samples) assert.equal(foldChecksum(sum), naiveFold(sum), `sum ${sum}`);
});

Deno.test("checksum: random lengths, offsets and unaligned views match the reference", () => {
  const seed = 20240601;
  const random = seededRandom(seed);
  const backing = randomBytes(random, 70_000);
  for (let i = 0; i < 2000; i++) {
    // An odd byteOffset view, then an arbitrary offset inside it.
    const viewStart = Math.floor(random() * 16);
    const view = backing.subarray(viewStart);
    const length = i < 200 ? i : Math.floor(random() * (i % 10 === 0 ? 66_000 : 1600));
    const offset = Math.floor(random() * (view.length - length));
    const initial = Math.floor(random() * 0x3ffff);
    const got = foldChecksum(sumWords(view, offset, length, initial));
    assert.equal(got, naiveChecksum(view, offset, length, initial), `seed ${seed} case ${i}`);
  }
});

Deno.test("checksum: sums of long runs of ff bytes carry correctly (64 KiB and 1 MiB)", () => {
  for (const length of [65_535, 65_536, 1 << 20]) {
    const data = new Uint8Array(length).fill(0xff);
    data[length >> 1] = 0x12; // not all ones, so the answer is not trivially 0
    assert.equal(internetChecksum(data), naiveChecksum(data, 0, length), `length ${length}`);
  }
});

Deno.test("checksum: pseudo-header sum of Linux's UDP echo (frame 13) verifies its checksum", () => {
  const ip4 = ipv4Of(linuxFrame(13));
  const udp = ip4.payload;
  const sum = pseudoHeaderSum(ip("10.98.0.1"), ip("10.98.1.2"), 17, udp.length);
  assert.equal(foldChecksum(sumWords(udp, 0, udp.length, sum)), 0);
  // The pseudo-header is source, destination, zero+protocol and length as 16-bit words.
  const pseudo = hex("0a62 0001 0a62 0102 0011 0015");
  assert.equal(foldChecksum(sum), internetChecksum(pseudo));
});

Deno.test("checksum: inserting the computed checksum makes the block sum verify to zero", () => {
  const random = seededRandom(7);
  for (let i = 0; i < 200; i++) {
    const length = 2 + 2 * Math.floor(random() * 800);
    const data = randomBytes(random, length);
    data[0] = data[1] = 0;
    const sum = internetChecksum(data);
    data[0] = sum >>> 8;
    data[1] = sum & 0xff;
    assert.equal(internetChecksum(data), 0);
  }
});
