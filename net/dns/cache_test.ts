import assert from "node:assert/strict";
import { DnsCache } from "./cache.ts";
import type { ResourceRecord } from "./message.ts";

const a = (name: string, ttl: number, address = 1): ResourceRecord => ({
  name,
  type: 1,
  class: 1,
  ttl,
  data: { kind: "A", address },
});

const put = (c: DnsCache, name: string, ttl: number, now: number) =>
  c.putRecords(name, 1, { canonicalName: name, chain: [], records: [a(name, ttl)] }, ttl, now);

Deno.test("cache: entries live exactly their TTL, counted down", () => {
  const c = new DnsCache();
  put(c, "a.example.", 60, 1000);
  const hit = c.get("A.EXAMPLE", 1, 31_000);
  assert.equal(hit?.kind, "records");
  assert.equal(hit?.ttl, 30);
  assert.equal(hit?.kind === "records" && hit.records[0].ttl, 30);
  assert.ok(c.get("a.example.", 1, 60_999));
  assert.equal(c.get("a.example.", 1, 61_000), undefined);
  assert.equal(c.get("a.example.", 28, 2000), undefined, "other type");
});

Deno.test("cache: TTL 0 is not cached; TTLs are capped", () => {
  const c = new DnsCache({ maxTtl: 100 });
  put(c, "zero.example.", 0, 0);
  assert.equal(c.size, 0);
  put(c, "long.example.", 1_000_000, 0);
  assert.ok(c.get("long.example.", 1, 99_000));
  assert.equal(c.get("long.example.", 1, 100_000), undefined);
});

Deno.test("cache: least recently used is evicted at the bound", () => {
  const c = new DnsCache({ maxEntries: 3 });
  for (const n of ["a", "b", "c"]) put(c, `${n}.example.`, 60, 0);
  assert.ok(c.get("a.example.", 1, 1)); // a becomes most recent
  put(c, "d.example.", 60, 2);
  assert.equal(c.get("b.example.", 1, 3), undefined, "b was least recently used");
  for (const n of ["a", "c", "d"]) assert.ok(c.get(`${n}.example.`, 1, 3), n);
  assert.equal(c.size, 3);
});

Deno.test("cache: negative entries (RFC 2308): NXDOMAIN covers all types, NODATA one", () => {
  const c = new DnsCache({ maxNegativeTtl: 600 });
  c.putNegative("nx.example.", 1, "nxdomain", 30, 0);
  assert.equal(c.get("nx.example.", 28, 1000)?.kind, "nxdomain");
  assert.equal(c.get("nx.example.", 15, 29_999)?.kind, "nxdomain");
  assert.equal(c.get("nx.example.", 1, 30_000), undefined);
  c.putNegative("v4only.example.", 28, "nodata", 3600, 0);
  assert.equal(c.get("v4only.example.", 28, 0)?.kind, "nodata");
  assert.equal(c.get("v4only.example.", 1, 0), undefined);
  assert.equal(c.get("v4only.example.", 28, 600_000), undefined, "capped at maxNegativeTtl");
});

Deno.test("cache: negative entries have their own bound", () => {
  const c = new DnsCache({ maxNegativeEntries: 2, maxEntries: 10 });
  put(c, "pos.example.", 60, 0);
  for (const n of ["a", "b", "c"]) c.putNegative(`${n}.nx.`, 1, "nxdomain", 60, 0);
  assert.equal(c.size, 3);
  assert.equal(c.get("a.nx.", 1, 1), undefined);
  assert.ok(c.get("pos.example.", 1, 1));
  c.clear();
  assert.equal(c.size, 0);
});
