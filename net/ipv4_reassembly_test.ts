import assert from "node:assert/strict";
import { Ipv4Reassembler, type ReassemblyDrop, type ReassemblyOptions } from "./ipv4_reassembly.ts";
import { internetChecksum } from "./wire/checksum.ts";
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, parseIcmpv4 } from "./wire/icmpv4.ts";
import { Ipv4Packet, parseIpv4, PROTOCOL_UDP, writeIpv4Header } from "./wire/ipv4.ts";
import { WireError } from "./wire/errors.ts";
import { ipv4Of, linuxFrame } from "./wire/_test_util.ts";
import { seededRandom } from "../drivers/_random.ts";

/** A reassembler on a virtual clock that records its drops. */
function reassemblyTest(options: ReassemblyOptions = {}) {
  const r = new Ipv4Reassembler(options);
  const drops: ReassemblyDrop[] = [];
  r.onDrop = (reason) => drops.push(reason);
  return { r, drops };
}

interface FragmentSpec {
  offset: number;
  length?: number;
  more: boolean;
  id?: number;
  source?: number;
  protocol?: number;
  /** Fill byte of the payload (default: each byte is its datagram offset & 0xff). */
  fill?: number;
  /** Extra IPv4 option bytes (a multiple of 4). */
  options?: Uint8Array;
  dontFragment?: boolean;
}

/** One fragment of a datagram whose payload byte at offset i is i & 0xff. */
function fragment(spec: FragmentSpec): Ipv4Packet {
  const length = spec.length ?? 8;
  const optionLength = spec.options?.length ?? 0;
  const header = 20 + optionLength;
  const bytes = new Uint8Array(header + length);
  writeIpv4Header(bytes, 0, {
    source: spec.source ?? 0x0a000001,
    destination: 0x0a000002,
    protocol: spec.protocol ?? PROTOCOL_UDP,
    payloadLength: optionLength + length,
    identification: spec.id ?? 0x1234,
    ttl: 64,
    moreFragments: spec.more,
    fragmentOffset: spec.offset,
    dontFragment: spec.dontFragment,
  });
  if (spec.options) {
    bytes[0] = 0x40 | (header / 4);
    bytes.set(spec.options, 20);
    bytes[10] = bytes[11] = 0;
    const sum = internetChecksum(bytes, 0, header);
    bytes[10] = sum >>> 8;
    bytes[11] = sum & 0xff;
  }
  for (let i = 0; i < length; i++) bytes[header + i] = spec.fill ?? ((spec.offset + i) & 0xff);
  const parsed = parseIpv4(bytes);
  if (parsed instanceof WireError) throw parsed;
  return parsed;
}

/** The expected reassembled payload of `length` bytes. */
function pattern(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => i & 0xff);
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest])
  );
}

function addAll(r: Ipv4Reassembler, fragments: Ipv4Packet[], now = 0): (Uint8Array | undefined)[] {
  return fragments.map((f) => r.add(f, now));
}

Deno.test("reassembly: Linux's fragmented 3000-byte ping, in all six orders", () => {
  const cases = [
    { frames: [5, 6, 7], type: ICMP_ECHO_REQUEST },
    { frames: [8, 9, 10], type: ICMP_ECHO_REPLY },
  ];
  for (const { frames, type } of cases) {
    for (const order of permutations(frames)) {
      const { r, drops } = reassemblyTest();
      const results = addAll(r, order.map((n) => ipv4Of(linuxFrame(n))));
      assert.deepEqual(results.slice(0, 2), [undefined, undefined], `order ${order}`);
      const whole = results[2];
      assert.ok(whole, `order ${order} completes`);
      const packet = new Ipv4Packet(whole);
      assert.equal(packet.totalLength, 3028);
      assert.equal(packet.bytes.length, 3028);
      assert.equal(packet.isFragment, false);
      assert.equal(packet.identification, ipv4Of(linuxFrame(frames[0])).identification);
      const icmp = parseIcmpv4(packet.payload);
      assert.ok(!(icmp instanceof WireError), "the ICMP checksum over 3008 bytes verifies");
      assert.equal(icmp.type, type);
      assert.equal(icmp.identifier, 7549);
      assert.equal(icmp.payload.length, 3000);
      assert.equal(r.pending, 0);
      assert.deepEqual(drops, []);
    }
  }
});

Deno.test("reassembly: the header comes from the first fragment, MF and offset cleared, DF kept", () => {
  const { r } = reassemblyTest();
  const options = new Uint8Array([0x94, 0x04, 0, 0]); // router alert, copied to fragments
  r.add(fragment({ offset: 8, length: 5, more: false, dontFragment: true }), 0);
  const whole = r.add(
    fragment({ offset: 0, length: 8, more: true, options, dontFragment: true }),
    0,
  )!;
  const p = new Ipv4Packet(whole);
  assert.equal(p.headerLength, 24);
  assert.deepEqual(p.options, options);
  assert.equal(p.totalLength, 24 + 13);
  assert.equal(p.dontFragment, true);
  assert.equal(p.moreFragments, false);
  assert.equal(p.fragmentOffset, 0);
  assert.deepEqual(p.payload, pattern(13));
});

Deno.test("reassembly: random orders of many fragments, with exact duplicates", () => {
  const seed = 791;
  const random = seededRandom(seed);
  for (let round = 0; round < 200; round++) {
    const count = 2 + Math.floor(random() * 30);
    const fragments: Ipv4Packet[] = [];
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const last = i === count - 1;
      const length = last ? 1 + Math.floor(random() * 100) : 8 * (1 + Math.floor(random() * 20));
      fragments.push(fragment({ offset, length, more: !last, id: round }));
      offset += length;
    }
    // Shuffle, and repeat some fragments.
    const sent = [...fragments, ...fragments.filter(() => random() < 0.2)];
    for (let i = sent.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [sent[i], sent[j]] = [sent[j], sent[i]];
    }
    const { r, drops } = reassemblyTest();
    let whole: Uint8Array | undefined;
    for (const f of sent) {
      const out = r.add(f, 0);
      if (out) {
        assert.equal(whole, undefined, `seed ${seed} round ${round}: completes once`);
        whole = out;
      }
    }
    assert.ok(whole, `seed ${seed} round ${round}: completes`);
    assert.deepEqual(new Ipv4Packet(whole).payload, pattern(offset));
    assert.deepEqual(drops, []);
  }
});

Deno.test("reassembly: an exact duplicate is ignored; overlapping fragments drop the datagram", () => {
  const cases: { name: string; second: FragmentSpec; drop: ReassemblyDrop[] }[] = [
    { name: "exact duplicate", second: { offset: 0, length: 16, more: true }, drop: [] },
    {
      name: "same range, different bytes",
      second: { offset: 0, length: 16, more: true, fill: 0xee },
      drop: ["overlap"],
    },
    { name: "overlaps the tail", second: { offset: 8, length: 16, more: true }, drop: ["overlap"] },
    { name: "inside", second: { offset: 8, length: 8, more: true }, drop: ["overlap"] },
    { name: "covers it", second: { offset: 0, length: 24, more: true }, drop: ["overlap"] },
    { name: "adjacent is fine", second: { offset: 16, length: 8, more: true }, drop: [] },
  ];
  for (const { name, second, drop } of cases) {
    const { r, drops } = reassemblyTest();
    r.add(fragment({ offset: 0, length: 16, more: true }), 0);
    assert.equal(r.add(fragment(second), 0), undefined, name);
    assert.deepEqual(drops, drop, name);
    assert.equal(r.pending, drop.length ? 0 : 1, name);
  }
});

Deno.test("reassembly: disagreeing last fragments and data past the end drop the datagram", () => {
  const cases: { name: string; fragments: FragmentSpec[] }[] = [
    {
      name: "two last fragments with different ends",
      fragments: [{ offset: 16, length: 8, more: false }, { offset: 16, length: 4, more: false }],
    },
    {
      name: "a fragment beyond the known end",
      fragments: [{ offset: 16, length: 8, more: false }, { offset: 24, length: 8, more: true }],
    },
    {
      name: "a last fragment before data already received",
      fragments: [{ offset: 32, length: 8, more: true }, { offset: 16, length: 8, more: false }],
    },
  ];
  for (const { name, fragments } of cases) {
    const { r, drops } = reassemblyTest();
    for (const f of fragments) r.add(fragment(f), 0);
    assert.deepEqual(drops, ["overlap"], name);
    assert.equal(r.pending, 0, name);
  }
});

Deno.test("reassembly: malformed fragments are refused (RFC 791: 8-byte units)", () => {
  const cases: { name: string; spec: FragmentSpec }[] = [
    { name: "non-last fragment of 7 bytes", spec: { offset: 0, length: 7, more: true } },
    { name: "non-last fragment of 0 bytes", spec: { offset: 8, length: 0, more: true } },
    { name: "ends past 65515", spec: { offset: 65512, length: 8, more: false } },
  ];
  for (const { name, spec } of cases) {
    const { r, drops } = reassemblyTest();
    assert.equal(r.add(fragment(spec), 0), undefined, name);
    assert.deepEqual(drops, ["bad-fragment"], name);
    assert.equal(r.pending, 0, name);
  }
});

Deno.test("reassembly: options that push a full-size datagram past 65535 bytes drop it", () => {
  const { r, drops } = reassemblyTest();
  const options = new Uint8Array(40).fill(1); // NOPs: a 60-byte header
  // 65512 bytes of payload fit a 20-byte header (65532) but not a 60-byte one (65572).
  const whole = [
    r.add(fragment({ offset: 0, length: 32752, more: true, options }), 0),
    r.add(fragment({ offset: 32752, length: 32752, more: true }), 0),
    r.add(fragment({ offset: 65504, length: 8, more: false }), 0),
  ];
  assert.deepEqual(whole.map((w) => w?.length), [undefined, undefined, undefined]);
  assert.deepEqual(drops, ["too-big"]);
  assert.equal(r.pending, 0);
});

Deno.test("reassembly: the largest datagram (65535 bytes) reassembles", () => {
  const { r } = reassemblyTest();
  r.add(fragment({ offset: 0, length: 32760, more: true }), 0);
  const whole = r.add(fragment({ offset: 32760, length: 65515 - 32760, more: false }), 0)!;
  assert.equal(whole.length, 65535);
  assert.equal(new Ipv4Packet(whole).totalLength, 65535);
});

Deno.test("reassembly: partial datagrams time out (RFC 1122 §3.3.2)", () => {
  const { r, drops } = reassemblyTest({ timeout: 30_000 });
  assert.equal(r.nextDeadline(), Infinity);
  r.add(fragment({ offset: 0, length: 8, more: true, id: 1 }), 1000);
  r.add(fragment({ offset: 0, length: 8, more: true, id: 2 }), 5000);
  // A later fragment does not extend the deadline.
  r.add(fragment({ offset: 8, length: 8, more: true, id: 1 }), 20_000);
  assert.equal(r.nextDeadline(), 31_000);
  r.poll(30_999);
  assert.equal(r.pending, 2);
  r.poll(31_000);
  assert.deepEqual(drops, ["timeout"]);
  assert.equal(r.pending, 1);
  assert.equal(r.nextDeadline(), 35_000);
  // The rest of datagram 1 arrives too late: it starts a new partial datagram.
  assert.equal(r.add(fragment({ offset: 16, length: 8, more: false, id: 1 }), 31_001), undefined);
  assert.equal(r.pending, 2);
  r.poll(100_000);
  assert.equal(r.pending, 0);
  assert.deepEqual(drops, ["timeout", "timeout", "timeout"]);
});

Deno.test("reassembly: at most maxDatagrams in progress; others are refused, not evicting", () => {
  const { r, drops } = reassemblyTest({ maxDatagrams: 4 });
  for (let id = 0; id < 4; id++) r.add(fragment({ offset: 0, length: 8, more: true, id }), 0);
  assert.equal(r.add(fragment({ offset: 0, length: 8, more: true, id: 99 }), 0), undefined);
  assert.deepEqual(drops, ["too-many"]);
  assert.equal(r.pending, 4);
  // Datagrams in progress still complete, which makes room.
  assert.ok(r.add(fragment({ offset: 8, length: 3, more: false, id: 2 }), 0));
  assert.equal(r.pending, 3);
  r.add(fragment({ offset: 0, length: 8, more: true, id: 99 }), 0);
  assert.equal(r.pending, 4);
});

Deno.test("reassembly: buffered bytes are bounded by maxBytes", () => {
  const { r, drops } = reassemblyTest({ maxBytes: 4000 });
  r.add(fragment({ offset: 0, length: 1480, more: true, id: 1 }), 0);
  r.add(fragment({ offset: 0, length: 1480, more: true, id: 2 }), 0);
  // A third 1480 bytes would make 4440: that datagram is dropped, the others stay.
  r.add(fragment({ offset: 0, length: 1480, more: true, id: 3 }), 0);
  assert.deepEqual(drops, ["too-big"]);
  assert.equal(r.pending, 2);
  // Completing datagram 1 frees its bytes for a new one.
  assert.ok(r.add(fragment({ offset: 1480, length: 100, more: false, id: 1 }), 0));
  r.add(fragment({ offset: 0, length: 1480, more: true, id: 3 }), 0);
  assert.equal(r.pending, 2);
  assert.deepEqual(drops, ["too-big"]);
});

Deno.test("reassembly: datagrams are keyed by source, destination, protocol and id", () => {
  const { r } = reassemblyTest();
  const firsts = [
    fragment({ offset: 0, length: 8, more: true }),
    fragment({ offset: 0, length: 8, more: true, source: 0x0a000009 }),
    fragment({ offset: 0, length: 8, more: true, protocol: 6 }),
    fragment({ offset: 0, length: 8, more: true, id: 0x1235 }),
  ];
  addAll(r, firsts);
  assert.equal(r.pending, 4);
  const whole = r.add(fragment({ offset: 8, length: 2, more: false, protocol: 6 }), 0)!;
  assert.equal(new Ipv4Packet(whole).protocol, 6);
  assert.equal(r.pending, 3);
});

Deno.test("reassembly: a flood of hostile fragments stays within every limit", () => {
  const seed = 815;
  const random = seededRandom(seed);
  const { r } = reassemblyTest({ maxDatagrams: 8, maxBytes: 64 * 1024 });
  let now = 0;
  for (let i = 0; i < 20_000; i++) {
    now += random() * 10;
    const more = random() < 0.8;
    const f = fragment({
      offset: 8 * Math.floor(random() * 1000),
      length: more ? 8 * Math.floor(random() * 40) : Math.floor(random() * 300),
      more,
      id: Math.floor(random() * 32),
      fill: random() < 0.5 ? 0 : undefined,
    });
    r.add(f, now);
    if (i % 100 === 0) r.poll(now);
    assert.ok(r.pending <= 8, `seed ${seed} step ${i}`);
  }
  r.poll(now + 30_000);
  assert.equal(r.pending, 0);
});
