import assert from "node:assert/strict";
import { dnsmasqCaptures, hex } from "./_dnsmasq_captures_test_data.ts";
import { DnsCompressionLoop, DnsFormatError } from "./errors.ts";
import {
  createQuery,
  type DnsMessage,
  parseHeader,
  parseMessage,
  type ResourceRecord,
  serializeMessage,
} from "./message.ts";
import { formatRecordData } from "./format.ts";
import { RecordType } from "./types.ts";
import { seededRandom } from "./_test_util.ts";

const enc = new TextEncoder();

function response(records: ResourceRecord[], extra: Partial<DnsMessage> = {}): DnsMessage {
  return {
    ...createQuery(0xabcd, records[0]?.name ?? "example.", records[0]?.type ?? 1),
    qr: true,
    ra: true,
    answers: records,
    ...extra,
  };
}

const rr = (name: string, type: number, data: ResourceRecord["data"], ttl = 300) => ({
  name,
  type,
  class: 1,
  ttl,
  data,
});

const roundTrips: Array<[string, ResourceRecord]> = [
  ["A", rr("a.example.", 1, { kind: "A", address: 0xc0000201 })],
  ["AAAA", rr("a.example.", 28, { kind: "AAAA", address: new Uint8Array(16).fill(0xfe) })],
  ["NS", rr("example.", 2, { kind: "NS", target: "ns1.example." })],
  ["CNAME", rr("www.example.", 5, { kind: "CNAME", target: "web.example." })],
  ["PTR", rr("1.2.0.192.in-addr.arpa.", 12, { kind: "PTR", target: "a.example." })],
  ["MX", rr("example.", 15, { kind: "MX", preference: 10, exchange: "mx.example." })],
  [
    "TXT",
    rr("example.", 16, { kind: "TXT", strings: [enc.encode("v=spf1 -all"), new Uint8Array(0)] }),
  ],
  [
    "SOA",
    rr("example.", 6, {
      kind: "SOA",
      mname: "ns1.example.",
      rname: "hostmaster.example.",
      serial: 2024010101,
      refresh: 7200,
      retry: 3600,
      expire: 1209600,
      minimum: 300,
    }),
  ],
  [
    "SRV",
    rr("_sip._udp.example.", 33, {
      kind: "SRV",
      priority: 1,
      weight: 5,
      port: 5060,
      target: "sip.example.",
    }),
  ],
  ["unknown type kept raw", rr("example.", 99, { kind: "raw", bytes: Uint8Array.of(1, 2, 3) })],
  ["A in class CH kept raw", {
    ...rr("a.example.", 1, { kind: "raw", bytes: Uint8Array.of(1, 2) }),
    class: 3,
  }],
  ["escaped label", rr("a\\.b\\032c.example.", 1, { kind: "A", address: 1 })],
];

for (const [what, record] of roundTrips) {
  Deno.test(`message: ${what} record round-trips`, () => {
    const message = response([record]);
    const bytes = serializeMessage(message);
    const parsed = parseMessage(bytes);
    assert.deepEqual(parsed, message);
    assert.deepEqual(serializeMessage(parsed), bytes);
  });
}

Deno.test("message: header flags round-trip bit by bit", () => {
  for (const flag of ["qr", "aa", "tc", "rd", "ra", "ad", "cd"] as const) {
    const m = { ...createQuery(1, "example.", 1), rd: false, [flag]: true };
    assert.equal(parseMessage(serializeMessage(m))[flag], true, flag);
  }
  const m = { ...createQuery(1, "example.", 1), opcode: 5, rcode: 3 };
  const parsed = parseMessage(serializeMessage(m));
  assert.equal(parsed.opcode, 5);
  assert.equal(parsed.rcode, 3);
});

Deno.test("message: names are compressed when written (RFC 1035 §4.1.4)", () => {
  const records = [
    rr("www.example.", 5, { kind: "CNAME", target: "web.example." }),
    rr("web.example.", 1, { kind: "A", address: 1 }),
  ];
  const bytes = serializeMessage(response(records));
  // Question "www.example." at 12 (13 bytes + 4); answer 1 owner = pointer c00c; its target
  // "web" + pointer to "example." at 16; answer 2 owner = pointer to "web.example.".
  assert.deepEqual([...bytes.subarray(29, 31)], [0xc0, 0x0c]);
  const target = bytes.subarray(41, 47);
  assert.deepEqual([...target], [3, 0x77, 0x65, 0x62, 0xc0, 0x10]);
  assert.deepEqual([...bytes.subarray(47, 49)], [0xc0, 41]);
  assert.equal(bytes.length, 12 + 17 + (12 + 6) + (12 + 4));
});

Deno.test("message: SRV targets are written uncompressed (RFC 2782)", () => {
  const record = rr("web.example.", 33, {
    kind: "SRV",
    priority: 0,
    weight: 0,
    port: 80,
    target: "web.example.",
  });
  const bytes = serializeMessage(response([record]));
  assert.deepEqual([...bytes.subarray(bytes.length - 13)], [
    3,
    ...enc.encode("web"),
    7,
    ...enc.encode("example"),
    0,
  ]);
});

Deno.test("message: compression pointer loops and forward pointers are rejected", () => {
  const header = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
  const cases: Array<[string, number[]]> = [
    ["pointer to itself", [0xc0, 12, 0, 1, 0, 1]],
    ["forward pointer", [0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1]],
    ["label then pointer back into itself", [1, 0x61, 0xc0, 12, 0, 1, 0, 1]],
  ];
  for (const [what, body] of cases) {
    assert.throws(
      () => parseMessage(Uint8Array.from([...header, ...body])),
      DnsCompressionLoop,
      what,
    );
  }
  // Two names pointing at each other: the second pointer goes forward of the first jump.
  const mutual = [...header.slice(0, 4), 0, 0, 0, 1, 0, 0, 0, 0];
  const loop = Uint8Array.from([...mutual, 0x61, 0xc0, 0x0e]);
  assert.throws(() => parseMessage(loop), DnsFormatError);
});

Deno.test("message: strict lengths (typed errors)", () => {
  const good = serializeMessage(
    response([rr("a.example.", 1, { kind: "A", address: 1 })]),
  );
  // Every truncation of a valid message fails with DnsFormatError.
  for (let n = 0; n < good.length; n++) {
    assert.throws(() => parseMessage(good.subarray(0, n)), DnsFormatError, `length ${n}`);
  }
  // Trailing bytes.
  assert.throws(() => parseMessage(Uint8Array.from([...good, 0])), DnsFormatError);
  // An A record whose RDLENGTH says 5.
  const bad = Uint8Array.from([...good, 9]);
  bad[bad.length - 6] = 5;
  assert.throws(() => parseMessage(bad), /must be 4 bytes/);
  // A counts field claiming far more records than bytes present.
  const counts = good.slice();
  counts[6] = 0xff;
  assert.throws(() => parseMessage(counts), /more than the message can hold/);
  // A name in record data running past the data length.
  const cname = serializeMessage(
    response([rr("w.example.", 5, { kind: "CNAME", target: "abc.other." })]),
  );
  const shortened = cname.slice();
  shortened[shortened.length - 12] -= 1; // RDLENGTH one short
  assert.throws(() => parseMessage(shortened), DnsFormatError);
  // Unsupported label types (0x40, 0x80) are format errors.
  const ext = Uint8Array.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0, 0, 1, 0, 1]);
  assert.throws(() => parseMessage(ext), /unsupported label type/);
});

Deno.test("message: serializer rejects bad input with DnsFormatError", () => {
  const long = "a".repeat(64) + ".example.";
  assert.throws(() => serializeMessage(createQuery(1, long, 1)), DnsFormatError);
  const mismatched = rr("a.example.", 28, { kind: "A", address: 1 });
  assert.throws(() => serializeMessage(response([mismatched])), /carries A data/);
  const big = response([rr("a.example.", 16, { kind: "TXT", strings: [new Uint8Array(256)] })]);
  assert.throws(() => serializeMessage(big), /longer than 255/);
  const many = response(
    Array.from({ length: 40 }, (_, i) => rr(`h${i}.example.`, 1, { kind: "A", address: i })),
  );
  assert.throws(() => serializeMessage(many, 512), /exceed 512 bytes/);
});

Deno.test("message: parseHeader reads flags and counts only", () => {
  const h = parseHeader(hex(dnsmasqCaptures.manyUdp.response));
  assert.equal(h.tc, true);
  assert.equal(h.id, dnsmasqCaptures.manyUdp.id);
  assert.deepEqual(h.counts, [1, 30, 0, 0]);
  assert.throws(() => parseHeader(new Uint8Array(11)), DnsFormatError);
});

Deno.test("message: queries we build equal dnsmasq-era wire bytes", () => {
  for (const cap of Object.values(dnsmasqCaptures)) {
    assert.equal(
      [...serializeMessage(createQuery(cap.id, cap.name, cap.type))]
        .map((b) => b.toString(16).padStart(2, "0")).join(""),
      cap.query,
    );
  }
});

const expected: Record<string, string[]> = {
  webA: ["10.1.2.3"],
  webAAAA: ["fd00::1"],
  aliasA: ["web.test.", "10.1.2.3"],
  testMX: ["10 mail.test."],
  txt: ['"hello world" "second"'],
  srv: ["1 5 80 web.test."],
  nx: [],
  nodata: [],
  ptr: ["web.test."],
};

for (const [key, lines] of Object.entries(expected)) {
  Deno.test(`message: dnsmasq capture "${key}" parses and round-trips`, () => {
    const bytes = hex(dnsmasqCaptures[key].response);
    const m = parseMessage(bytes);
    assert.equal(m.id, dnsmasqCaptures[key].id);
    assert.deepEqual(m.answers.map((r) => formatRecordData(r.data)), lines);
    // dnsmasq leaves some record-data names uncompressed where we compress: compare meaning.
    const again = serializeMessage(m);
    assert.ok(again.length <= bytes.length);
    assert.deepEqual(parseMessage(again), m);
  });
}

Deno.test("message: dnsmasq NXDOMAIN and NODATA captures", () => {
  const nx = parseMessage(hex(dnsmasqCaptures.nx.response));
  assert.equal(nx.rcode, 3);
  const nodata = parseMessage(hex(dnsmasqCaptures.nodata.response));
  assert.equal(nodata.rcode, 0);
  assert.equal(nodata.answers.length, 0);
});

Deno.test("message: dnsmasq 60-record answer: TC over UDP, complete over TCP", () => {
  const udp = parseMessage(hex(dnsmasqCaptures.manyUdp.response));
  assert.equal(udp.tc, true);
  assert.ok(udp.answers.length < 60);
  const tcp = parseMessage(hex(dnsmasqCaptures.manyTcp.response));
  assert.equal(tcp.tc, false);
  assert.equal(tcp.answers.length, 60);
  assert.ok(tcp.answers.every((r) => r.type === RecordType.A && r.name === "many.test."));
});

Deno.test("message: 20000 mutated dnsmasq answers parse or fail with DnsFormatError only", () => {
  const random = seededRandom(42);
  const seeds = Object.values(dnsmasqCaptures).map((c) => hex(c.response));
  let parsed = 0;
  for (let i = 0; i < 20000; i++) {
    const bytes = seeds[i % seeds.length].slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = random() * 256;
    const cut = random() < 0.2 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
    try {
      const m = parseMessage(cut);
      parsed++;
      serializeMessage(m); // whatever parses can be written back
    } catch (e) {
      if (!(e instanceof DnsFormatError)) throw e;
    }
  }
  assert.ok(parsed > 1000, `${parsed} mutants still parsed`);
});

Deno.test("message: answers larger than the writer's first buffer serialize intact", () => {
  const answers = Array.from({ length: 60 }, (_, i) => ({
    name: `host${i}.example.`,
    type: 16,
    class: 1,
    ttl: 60,
    data: { kind: "TXT" as const, strings: [new TextEncoder().encode(`text record number ${i}`)] },
  }));
  const message = {
    id: 7,
    qr: true,
    opcode: 0,
    aa: false,
    tc: false,
    rd: true,
    ra: true,
    ad: false,
    cd: false,
    rcode: 0,
    questions: [{ name: "example.", type: 16, class: 1 }],
    answers,
    authorities: [],
    additionals: [],
  };
  const bytes = serializeMessage(message);
  assert.ok(bytes.length > 1024);
  const parsed = parseMessage(bytes);
  assert.equal(parsed.answers.length, 60);
  assert.deepEqual(parsed.answers[59].data, answers[59].data);
});
