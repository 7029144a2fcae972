import assert from "node:assert/strict";
import {
  ALL_HOSTS_GROUP,
  ALL_ROUTERS_GROUP,
  decodeIgmpV3Code,
  hasRouterAlert,
  IGMP_LEAVE_GROUP,
  IGMP_MEMBERSHIP_QUERY,
  IGMP_V2_MEMBERSHIP_REPORT,
  IGMP_V3_MEMBERSHIP_REPORT,
  type IgmpMessage,
  IgmpRecordType,
  IGMPV3_ROUTERS_GROUP,
  ipv4MulticastMac,
  isIpv4Multicast,
  parseIgmp,
  PROTOCOL_IGMP,
  ROUTER_ALERT_IPV4_HEADER_LENGTH,
  writeIgmp,
  writeIgmpV3Query,
  writeRouterAlertIpv4Header,
} from "./igmp.ts";
import { internetChecksum } from "./checksum.ts";
import { formatMac } from "./address.ts";
import { readPcap } from "../../drivers/pcap.ts";
import { edited, fails, hex, ip, ipv4Of, ok, toHex } from "./_test_util.ts";

/**
 * `tests/fixtures/linux_igmp.pcap` (made by `capture_linux_igmp.sh`): Linux as an IGMP host
 * (10.96.0.1) and a python3 querier (10.96.0.2). Frames (tshark numbers): 1–2 v3 reports
 * joining 239.7.7.7, 3 v3 general query, 4 v3 current-state report, 5–6 v3 reports leaving;
 * 7–8 v2 unsolicited reports for 239.1.2.3, 9 v2 general query, 10 v2 report, 11 v2
 * group-specific query, 12 v2 report, 13 Leave Group.
 */
const frames = readPcap(
  Deno.readFileSync(new URL("../../tests/fixtures/linux_igmp.pcap", import.meta.url)),
).map((r) => r.data);
const frame = (n: number) => frames[n - 1];
const igmpOf = (n: number): IgmpMessage => ok(parseIgmp(ipv4Of(frame(n)).payload));

Deno.test("igmp: the fixture holds Linux's 13 IGMP frames, every one with Router Alert and TTL 1", () => {
  assert.equal(frames.length, 13);
  for (let n = 1; n <= 13; n++) {
    const p = ipv4Of(frame(n));
    assert.equal(p.protocol, PROTOCOL_IGMP, `frame ${n}`);
    assert.equal(p.ttl, 1, `frame ${n}`);
    assert.equal(p.headerLength, ROUTER_ALERT_IPV4_HEADER_LENGTH, `frame ${n}`);
    assert.ok(hasRouterAlert(p.options), `frame ${n}`);
    // The destination MAC is the group's (RFC 1112 §6.4).
    assert.equal(formatMac(frame(n)), formatMac(ipv4MulticastMac(p.destination)), `frame ${n}`);
  }
});

Deno.test("igmp: Linux's v2 reports, queries and leave parse to their fields", () => {
  const cases = [
    { n: 7, type: IGMP_V2_MEMBERSHIP_REPORT, code: 0, group: "239.1.2.3", to: "239.1.2.3" },
    { n: 9, type: IGMP_MEMBERSHIP_QUERY, code: 10, group: "0.0.0.0", to: "224.0.0.1" },
    { n: 11, type: IGMP_MEMBERSHIP_QUERY, code: 10, group: "239.1.2.3", to: "239.1.2.3" },
    { n: 13, type: IGMP_LEAVE_GROUP, code: 0, group: "239.1.2.3", to: "224.0.0.2" },
  ];
  for (const c of cases) {
    const m = igmpOf(c.n);
    assert.deepEqual(
      {
        n: c.n,
        type: m.type,
        code: m.maxResponseCode,
        group: m.group,
        to: ipv4Of(frame(c.n)).destination,
      },
      { ...c, group: ip(c.group), to: ip(c.to) },
    );
    assert.equal(m.bytes.length, 8);
  }
  assert.equal(igmpOf(9).queryVersion, 2);
  assert.equal(igmpOf(9).maxResponseTime, 1000);
  assert.equal(igmpOf(7).queryVersion, 0);
  assert.equal(igmpOf(7).maxResponseTime, 0);
  assert.equal(igmpOf(7).checksum, 0xf8fa);
  assert.equal(ipv4Of(frame(13)).destination, ALL_ROUTERS_GROUP);
});

Deno.test("igmp: writeIgmp and writeRouterAlertIpv4Header rebuild Linux's v2 frames byte for byte", () => {
  for (const n of [7, 8, 9, 10, 11, 12, 13]) {
    const original = frame(n);
    const p = ipv4Of(original);
    const m = igmpOf(n);
    const out = new Uint8Array(14 + 24 + 8);
    out.set(original.subarray(0, 14)); // Ethernet header, checked above
    const h = writeRouterAlertIpv4Header(out, 14, {
      source: p.source,
      destination: p.destination,
      protocol: PROTOCOL_IGMP,
      payloadLength: 8,
      identification: p.identification,
      ttl: 1,
      dontFragment: true,
      typeOfService: 0xc0,
    });
    assert.equal(h, 24);
    assert.equal(writeIgmp(out, 14 + h, m.type, m.maxResponseCode, m.group), 8);
    assert.equal(toHex(out), toHex(original), `frame ${n}`);
  }
  // Linux's v2 report, for the record.
  assert.equal(
    toHex(ipv4Of(frame(7)).bytes),
    toHex(hex("46c0 0020 0000 4000 0102 e8b2 0a600001 ef010203 94040000 1600 f8fa ef010203")),
  );
});

Deno.test("igmp: a v3 general query parses (RFC 3376 §4.1) and writeIgmpV3Query rebuilds it", () => {
  const m = igmpOf(3);
  assert.equal(m.bytes.length, 12);
  assert.equal(m.queryVersion, 3);
  assert.equal(m.group, 0);
  assert.equal(m.maxResponseTime, 1000);
  assert.equal(m.robustness, 2);
  assert.equal(m.queryInterval, 125);
  assert.equal(m.suppressRouterProcessing, false);
  assert.deepEqual(m.sources, []);
  const out = new Uint8Array(12);
  assert.equal(writeIgmpV3Query(out, 0, { maxResponseCode: 10, group: 0 }), 12);
  assert.equal(toHex(out), toHex(m.bytes));
  // With sources and the S flag: a group-and-source-specific query.
  const gs = new Uint8Array(20);
  writeIgmpV3Query(gs, 0, {
    maxResponseCode: 0x8f,
    group: ip("239.1.2.3"),
    suppressRouterProcessing: true,
    robustness: 3,
    queryIntervalCode: 0x81,
    sources: [ip("10.0.0.1"), ip("10.0.0.2")],
  });
  const q = ok(parseIgmp(gs));
  assert.deepEqual(
    [q.queryVersion, q.maxResponseTime, q.suppressRouterProcessing, q.robustness, q.queryInterval],
    [3, 24800, true, 3, 136],
  );
  assert.deepEqual(q.sources, [ip("10.0.0.1"), ip("10.0.0.2")]);
});

Deno.test("igmp: Linux's v3 reports carry TO_EX, IS_EX and TO_IN records for 239.7.7.7", () => {
  const expect = [
    [1, IgmpRecordType.changeToExclude],
    [2, IgmpRecordType.changeToExclude],
    [4, IgmpRecordType.modeIsExclude],
    [5, IgmpRecordType.changeToInclude],
    [6, IgmpRecordType.changeToInclude],
  ];
  for (const [n, type] of expect) {
    const m = igmpOf(n);
    assert.equal(m.type, IGMP_V3_MEMBERSHIP_REPORT);
    assert.equal(ipv4Of(frame(n)).destination, IGMPV3_ROUTERS_GROUP);
    assert.deepEqual(m.groupRecords, [{ type, group: ip("239.7.7.7"), sources: [] }], `frame ${n}`);
    assert.equal(m.queryVersion, 0);
  }
});

Deno.test("igmp: query versions told apart by length and Max Resp Time (RFC 3376 §7.1)", () => {
  const v1 = new Uint8Array(8);
  writeIgmp(v1, 0, IGMP_MEMBERSHIP_QUERY, 0, 0);
  assert.equal(ok(parseIgmp(v1)).queryVersion, 1);
  assert.equal(ok(parseIgmp(v1)).maxResponseTime, 10_000, "RFC 2236 §4: v1 queries mean 10 s");
  const v2 = new Uint8Array(8);
  writeIgmp(v2, 0, IGMP_MEMBERSHIP_QUERY, 100, 0);
  assert.equal(ok(parseIgmp(v2)).queryVersion, 2);
  assert.equal(ok(parseIgmp(v2)).maxResponseTime, 10_000);
  // Bytes after the first 8 of a report are ignored (RFC 2236 §2.5).
  const long = new Uint8Array(12);
  writeIgmp(long, 0, IGMP_V2_MEMBERSHIP_REPORT, 0, ip("239.1.2.3"));
  assert.equal(ok(parseIgmp(long, false)).group, ip("239.1.2.3"));
});

Deno.test("igmp: bad messages are typed errors (shared instances)", () => {
  fails(parseIgmp(new Uint8Array(7)), "igmp", "truncated", "7 bytes");
  fails(parseIgmp(edited(igmpOf(7).bytes, (b) => b[7] ^= 1)), "igmp", "bad-checksum", "flipped");
  assert.ok(parseIgmp(edited(igmpOf(7).bytes, (b) => b[7] ^= 1), false), "unverified parses");
  /** Gives a copy a correct checksum again after an edit. */
  const resum = (bytes: Uint8Array) => {
    bytes[2] = bytes[3] = 0;
    const s = internetChecksum(bytes);
    bytes[2] = s >>> 8;
    bytes[3] = s & 0xff;
  };
  // A query of 9–11 bytes is neither v2 nor v3 (RFC 3376 §7.1).
  const ten = new Uint8Array(10);
  writeIgmp(ten, 0, IGMP_MEMBERSHIP_QUERY, 10, 0);
  resum(ten);
  fails(parseIgmp(ten), "igmp", "truncated", "10-byte query");
  // A v3 query claiming two sources but carrying none.
  const q = edited(igmpOf(3).bytes, (b) => {
    b[11] = 2;
    resum(b);
  });
  fails(parseIgmp(q), "igmp", "truncated", "sources missing");
  // A v3 report claiming a second record.
  const r = edited(igmpOf(1).bytes, (b) => {
    b[7] = 2;
    resum(b);
  });
  fails(parseIgmp(r), "igmp", "truncated", "record missing");
  // A v3 report whose record claims a source it does not carry.
  const s = edited(igmpOf(1).bytes, (b) => {
    b[11] = 1;
    resum(b);
  });
  fails(parseIgmp(s), "igmp", "truncated", "source missing");
});

Deno.test("igmp: multicast addresses and their Ethernet addresses (RFC 1112 §6.4)", () => {
  assert.equal(isIpv4Multicast(ip("224.0.0.0")), true);
  assert.equal(isIpv4Multicast(ip("239.255.255.255")), true);
  assert.equal(isIpv4Multicast(ip("223.255.255.255")), false);
  assert.equal(isIpv4Multicast(ip("240.0.0.0")), false);
  assert.equal(formatMac(ipv4MulticastMac(ALL_HOSTS_GROUP)), "01:00:5e:00:00:01");
  assert.equal(formatMac(ipv4MulticastMac(ip("239.1.2.3"))), "01:00:5e:01:02:03");
  // Only 23 bits map: 32 groups share each address.
  assert.equal(formatMac(ipv4MulticastMac(ip("224.129.2.3"))), "01:00:5e:01:02:03");
  const out = new Uint8Array(8);
  ipv4MulticastMac(ip("239.255.255.255"), out, 2);
  assert.equal(formatMac(out, 2), "01:00:5e:7f:ff:ff");
});

Deno.test("igmp: v3 codes decode as floating point from 128 (RFC 3376 §4.1.1)", () => {
  assert.deepEqual(
    [0, 1, 127, 0x80, 0x8f, 0x90, 0xff].map(decodeIgmpV3Code),
    [0, 1, 127, 128, 248, 256, 31744],
  );
});

Deno.test("igmp: hasRouterAlert walks options past no-ops and stops at end-of-list", () => {
  assert.equal(hasRouterAlert(hex("94040000")), true);
  assert.equal(hasRouterAlert(hex("01 94040000 000000")), true);
  assert.equal(hasRouterAlert(hex("00 94040000 000000")), false);
  assert.equal(hasRouterAlert(hex("8307 04 0a000001 94040000")), true, "after a record route");
  assert.equal(hasRouterAlert(hex("9401")), false, "bad length");
  assert.equal(hasRouterAlert(new Uint8Array(0)), false);
});
