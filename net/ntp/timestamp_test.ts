import assert from "node:assert/strict";
import {
  isZeroTimestamp,
  NTP_UNIX_OFFSET_SECONDS,
  ntpToUnixMs,
  readTimestamp,
  unixMsToNtp,
  writeTimestamp,
} from "./timestamp.ts";

Deno.test("ntp timestamp: known conversions", () => {
  const vectors: Array<[string, number, number]> = [
    // [UTC, NTP seconds, fraction]
    ["1970-01-01T00:00:00.000Z", 0x83aa7e80, 0],
    ["1970-01-01T00:00:00.500Z", 0x83aa7e80, 0x80000000],
    ["1968-01-20T03:14:08.000Z", 0x80000000, 0], // first second of era 0 under RFC 4330 §3
    ["2000-01-01T00:00:00.000Z", 0xbc17c200, 0],
    ["2036-02-07T06:28:15.000Z", 0xffffffff, 0], // last second of era 0
    ["2036-02-07T06:28:16.000Z", 0x00000000, 0], // era 1 starts: seconds wrap
    ["2036-02-07T06:28:17.250Z", 0x00000001, 0x40000000],
    ["2104-02-26T09:42:23.000Z", 0x7fffffff, 0], // last second RFC 4330 maps to era 1
  ];
  for (const [utc, seconds, fraction] of vectors) {
    const ms = Date.parse(utc);
    assert.deepEqual(unixMsToNtp(ms), { seconds, fraction }, utc);
    assert.equal(ntpToUnixMs({ seconds, fraction }), ms, utc);
  }
  assert.equal(NTP_UNIX_OFFSET_SECONDS, 0x83aa7e80);
});

Deno.test("ntp timestamp: era chosen nearest the pivot", () => {
  const beforeWrap = Date.parse("2036-02-07T06:28:10Z");
  const afterWrap = Date.parse("2036-02-07T06:28:20Z");
  // Near the 2036 boundary, both sides resolve correctly from either side.
  assert.equal(ntpToUnixMs(unixMsToNtp(afterWrap), beforeWrap), afterWrap);
  assert.equal(ntpToUnixMs(unixMsToNtp(beforeWrap), afterWrap), beforeWrap);
  // A pivot in 2150 maps small seconds into era 2, not era 1.
  const y2150 = Date.parse("2150-06-01T00:00:00Z");
  assert.equal(ntpToUnixMs(unixMsToNtp(y2150), y2150), y2150);
  const y1950 = Date.parse("1950-06-01T00:00:00Z");
  assert.equal(ntpToUnixMs(unixMsToNtp(y1950), y1950), y1950);
});

Deno.test("ntp timestamp: sub-millisecond precision and byte order", () => {
  const t = unixMsToNtp(1234.5678);
  assert.ok(Math.abs(ntpToUnixMs(t, 0) - 1234.5678) < 1e-6);
  const now = 1_790_000_000_123.456;
  assert.ok(Math.abs(ntpToUnixMs(unixMsToNtp(now), now) - now) < 1e-3);
  const bytes = new Uint8Array(10);
  writeTimestamp(bytes, 1, { seconds: 0x01020304, fraction: 0xa0b0c0d0 });
  assert.deepEqual([...bytes], [0, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0, 0]);
  assert.deepEqual(readTimestamp(bytes, 1), { seconds: 0x01020304, fraction: 0xa0b0c0d0 });
  assert.ok(isZeroTimestamp(readTimestamp(new Uint8Array(8), 0)));
  // Rounding up into the next second carries.
  assert.deepEqual(unixMsToNtp(999.9999999999), { seconds: 0x83aa7e81, fraction: 0 });
});
