import assert from "node:assert/strict";
import { formatRecord, formatRecordData } from "./format.ts";
import * as errors from "./errors.ts";

Deno.test("format: dig +short data forms", () => {
  const enc = new TextEncoder();
  const cases: Array<[Parameters<typeof formatRecordData>[0], string]> = [
    [{ kind: "A", address: 0x7f000001 }, "127.0.0.1"],
    [
      { kind: "AAAA", address: Uint8Array.of(0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 1) },
      "2001:db8::1",
    ],
    [
      { kind: "TXT", strings: [enc.encode('say "hi"\\'), Uint8Array.of(7)] },
      '"say \\"hi\\"\\\\" "\\007"',
    ],
    [{ kind: "SRV", priority: 1, weight: 2, port: 3, target: "t." }, "1 2 3 t."],
    [{ kind: "raw", bytes: Uint8Array.of(0xab, 1) }, "\\# 2 ab01"],
    [{ kind: "raw", bytes: new Uint8Array(0) }, "\\# 0"],
    [{
      kind: "SOA",
      mname: "ns.",
      rname: "h.",
      serial: 1,
      refresh: 2,
      retry: 3,
      expire: 4,
      minimum: 5,
    }, "ns. h. 1 2 3 4 5"],
  ];
  for (const [data, text] of cases) assert.equal(formatRecordData(data), text);
  assert.equal(
    formatRecord({
      name: "x.",
      type: 99,
      class: 3,
      ttl: 1,
      data: { kind: "raw", bytes: new Uint8Array(0) },
    }),
    "x.\t1\tCH\tTYPE99\t\\# 0",
  );
});

Deno.test("errors: every public error class is typed and carries its query", () => {
  const resolveErrors = [
    errors.DnsNameNotFound,
    errors.DnsNoData,
    errors.DnsServerFailure,
    errors.DnsRefused,
    errors.DnsTimeout,
    errors.DnsBadQuery,
  ];
  for (const E of resolveErrors) {
    const e = new E("a.example.", "AAAA", "detail");
    assert.ok(e instanceof errors.DnsResolveError && e instanceof Error);
    assert.equal(e.name, E.name);
    assert.equal(e.query, "a.example. AAAA");
    assert.match(e.message, /^a\.example\. AAAA: /);
  }
  const loop = new errors.DnsCompressionLoop("loop", 12);
  assert.ok(loop instanceof errors.DnsFormatError);
  assert.equal(loop.offset, 12);
  assert.match(loop.message, /at byte 12/);
});
