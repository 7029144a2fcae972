/**
 * The IGMPv2 host core (RFC 2236) in virtual time: each test starts from a named situation,
 * feeds queries and reports, and asserts exactly what is sent and when.
 */
import assert from "node:assert/strict";
import { GroupLimitReached, IgmpHost, type IgmpOptions, type IgmpOutgoing } from "./igmp.ts";
import { InvalidArgument } from "./errors.ts";
import {
  ALL_HOSTS_GROUP,
  IGMP_LEAVE_GROUP,
  IGMP_MEMBERSHIP_QUERY,
  IGMP_V1_MEMBERSHIP_REPORT,
  IGMP_V2_MEMBERSHIP_REPORT,
  IgmpMessage,
  parseIgmp,
  writeIgmp,
  writeIgmpV3Query,
} from "./wire/igmp.ts";
import { formatIpv4Address } from "./wire/address.ts";

const G1 = 0xef010203; // 239.1.2.3
const G2 = 0xef050607; // 239.5.6.7

function message(bytes: Uint8Array): IgmpMessage {
  const m = parseIgmp(bytes);
  if (!(m instanceof IgmpMessage)) throw m;
  return m;
}

/** A v1/v2 query: `maxResponse` in tenths of a second (0: IGMPv1). */
function query(group: number, maxResponse: number): IgmpMessage {
  const b = new Uint8Array(8);
  writeIgmp(b, 0, IGMP_MEMBERSHIP_QUERY, maxResponse, group);
  return message(b);
}

/** A v3 query with an encoded Max Resp Code. */
function v3Query(group: number, maxResponseCode: number, sources: number[] = []): IgmpMessage {
  const b = new Uint8Array(12 + 4 * sources.length);
  writeIgmpV3Query(b, 0, { maxResponseCode, group, sources });
  return message(b);
}

/** Another host's v2 report for `group`. */
function report(group: number, type = IGMP_V2_MEMBERSHIP_REPORT): IgmpMessage {
  const b = new Uint8Array(8);
  writeIgmp(b, 0, type, 0, group);
  return message(b);
}

const name = (m: IgmpOutgoing) => {
  const kind = m.type === IGMP_V2_MEMBERSHIP_REPORT
    ? "v2 report"
    : m.type === IGMP_V1_MEMBERSHIP_REPORT
    ? "v1 report"
    : m.type === IGMP_LEAVE_GROUP
    ? "leave"
    : `type ${m.type}`;
  return `${kind} ${formatIpv4Address(m.group)} to ${formatIpv4Address(m.destination)}`;
};

/**
 * A host on a virtual clock. `random` takes values from `randoms` in order (0.5 when they run
 * out); a delay is `(1 - random) × max`, so 0.5 gives half of it.
 */
function igmpTest(options: IgmpOptions = {}, randoms: number[] = []) {
  const host = new IgmpHost({ random: () => randoms.shift() ?? 0.5, ...options });
  let now = 0;
  const sent: string[] = [];
  const take = (out: IgmpOutgoing[]) => sent.push(...out.map(name));
  const t = {
    host,
    get now() {
      return now;
    },
    /** Moves virtual time forward by `ms`, polling at the host's every deadline on the way. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const d = host.nextDeadline();
        if (d > end) break;
        now = Math.max(now, d);
        take(host.poll(now));
      }
      now = end;
      return t;
    },
    join(group: number) {
      take(host.join(group, now));
      return t;
    },
    leave(group: number) {
      take(host.leave(group, now));
      return t;
    },
    receive(m: IgmpMessage) {
      host.receive(m, now);
      return t;
    },
    expectSent(...expected: string[]) {
      assert.deepEqual(sent.splice(0), expected, `sent by t=${now}`);
      return t;
    },
    expectNothingSent() {
      return t.expectSent();
    },
  };
  return t;
}

// ---- joining ----

Deno.test("join: a report at once, repeated once within the Unsolicited Report Interval (RFC 2236 §3)", () => {
  const t = igmpTest({ unsolicitedReportIntervalMs: 10_000 });
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  assert.deepEqual(t.host.groups(), [
    { group: G1, state: "delaying", lastReporter: true, reportAt: 5000 },
  ]);
  t.advance(4999).expectNothingSent();
  t.advance(1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  assert.equal(t.host.nextDeadline(), Infinity);
  t.advance(60_000).expectNothingSent();
  assert.deepEqual(t.host.groups(), [{ group: G1, state: "idle", lastReporter: true }]);
});

Deno.test("join: unsolicitedReportCount 3 sends three reports; 1 sends one", () => {
  const t = igmpTest({ unsolicitedReportCount: 3, unsolicitedReportIntervalMs: 1000 }, [0, 0.9]);
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.advance(999).expectNothingSent();
  t.advance(1).expectSent("v2 report 239.1.2.3 to 239.1.2.3"); // random 0: the whole 1000 ms
  t.advance(99).expectNothingSent();
  t.advance(1).expectSent("v2 report 239.1.2.3 to 239.1.2.3"); // random 0.9: 100 ms
  t.advance(10_000).expectNothingSent();
  const once = igmpTest({ unsolicitedReportCount: 1 });
  once.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  once.advance(60_000).expectNothingSent();
});

Deno.test("reportAll: every joined group reports again at once, then its repeat (a new address)", () => {
  const t = igmpTest({ unsolicitedReportIntervalMs: 10_000 });
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.advance(60_000).expectSent("v2 report 239.1.2.3 to 239.1.2.3"); // the join's repeat
  t.receive(report(G1)); // another host reported last
  assert.deepEqual(t.host.groups(), [{ group: G1, state: "idle", lastReporter: false }]);
  assert.deepEqual(t.host.reportAll(t.now).map(name), ["v2 report 239.1.2.3 to 239.1.2.3"]);
  assert.deepEqual(t.host.groups(), [
    { group: G1, state: "delaying", lastReporter: true, reportAt: 65_000 },
  ]);
  t.advance(5000).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.advance(60_000).expectNothingSent();
});

Deno.test("join: 224.0.0.1 is always joined and never reported (RFC 2236 §6); joining twice is one join", () => {
  const t = igmpTest();
  assert.equal(t.host.has(ALL_HOSTS_GROUP), true);
  t.join(ALL_HOSTS_GROUP).expectNothingSent();
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.join(G1).expectNothingSent();
  assert.deepEqual(t.host.groups().map((g) => g.group), [G1]);
  // A general query does not make 224.0.0.1 report either.
  t.advance(20_000).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.receive(query(0, 100)).advance(10_000).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
});

Deno.test("join: a unicast address is InvalidArgument; past maxGroups GroupLimitReached", () => {
  const t = igmpTest({ maxGroups: 2 });
  assert.throws(() => t.join(0x0a000001), InvalidArgument);
  t.join(G1).join(G2);
  assert.throws(() => t.join(0xef000009), GroupLimitReached);
  assert.throws(() => t.join(0xef000009), /already in 2 groups/);
  t.leave(G2);
  t.join(0xef000009);
  assert.deepEqual(t.host.groups().map((g) => g.group), [G1, 0xef000009]);
});

// ---- queries ----

Deno.test("general query: each group reports at its own random time up to Max Resp Time", () => {
  const t = igmpTest({ unsolicitedReportCount: 1 }, [0.75, 0.25]);
  t.join(G1).join(G2).expectSent(
    "v2 report 239.1.2.3 to 239.1.2.3",
    "v2 report 239.5.6.7 to 239.5.6.7",
  );
  t.advance(1000).receive(query(0, 100)); // 10 s
  t.advance(2499).expectNothingSent();
  t.advance(1).expectSent("v2 report 239.1.2.3 to 239.1.2.3"); // (1 - 0.75) × 10 s
  t.advance(4999).expectNothingSent();
  t.advance(1).expectSent("v2 report 239.5.6.7 to 239.5.6.7"); // (1 - 0.25) × 10 s
  t.advance(60_000).expectNothingSent();
});

Deno.test("general query: a pending report is re-timed only by a shorter Max Resp Time (RFC 2236 §3)", () => {
  const t = igmpTest({ unsolicitedReportCount: 1 }, [0, 0, 0]);
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.receive(query(0, 100)); // due at 10 000
  t.advance(1000).receive(query(0, 200)); // 20 s: later than 10 000, kept
  assert.equal(t.host.nextDeadline(), 10_000);
  t.receive(query(0, 50)); // 5 s from 1000: sooner, re-timed
  assert.equal(t.host.nextDeadline(), 6000);
  t.advance(4999).expectNothingSent();
  t.advance(1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.advance(60_000).expectNothingSent();
});

Deno.test("group-specific query: only that group reports; a query for a group not joined is ignored", () => {
  const t = igmpTest({ unsolicitedReportCount: 1 });
  t.join(G1).join(G2).expectSent(
    "v2 report 239.1.2.3 to 239.1.2.3",
    "v2 report 239.5.6.7 to 239.5.6.7",
  );
  t.receive(query(G2, 10)).receive(query(0xef999999, 10));
  t.advance(499).expectNothingSent();
  t.advance(1).expectSent("v2 report 239.5.6.7 to 239.5.6.7");
  t.advance(60_000).expectNothingSent();
});

Deno.test("IGMPv3 queries are answered with v2 reports (RFC 3376 §7.2.1), Max Resp Code decoded", () => {
  const t = igmpTest({ unsolicitedReportCount: 1 });
  t.join(G1).join(G2).expectSent(
    "v2 report 239.1.2.3 to 239.1.2.3",
    "v2 report 239.5.6.7 to 239.5.6.7",
  );
  t.receive(v3Query(0, 0x8f)); // (0x1f << 3) = 248 tenths: 24.8 s
  t.advance(12_399).expectNothingSent();
  t.advance(1).expectSent("v2 report 239.1.2.3 to 239.1.2.3", "v2 report 239.5.6.7 to 239.5.6.7");
  // A group-and-source-specific query is a group-specific query to a v2 host.
  t.receive(v3Query(G1, 20, [0x0a000001]));
  t.advance(1000).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.advance(60_000).expectNothingSent();
});

Deno.test("IGMPv1 querier: v1 reports and no Leave until 400 s after its last query (RFC 2236 §4)", () => {
  const t = igmpTest({ unsolicitedReportCount: 1 });
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.receive(query(0, 0)); // Max Resp Time 0: IGMPv1, which means 10 s
  assert.equal(t.host.v1RouterPresent(t.now), true);
  t.advance(4999).expectNothingSent();
  t.advance(1).expectSent("v1 report 239.1.2.3 to 239.1.2.3");
  t.leave(G1).expectNothingSent();
  t.join(G2).expectSent("v1 report 239.5.6.7 to 239.5.6.7");
  t.advance(400_000 - 5000);
  assert.equal(t.host.v1RouterPresent(t.now), false);
  t.leave(G2).expectSent("leave 239.5.6.7 to 224.0.0.2");
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
});

// ---- other hosts' reports ----

Deno.test("suppression: another host's report cancels our pending one, and we send no Leave", () => {
  const t = igmpTest({ unsolicitedReportCount: 1 });
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.receive(query(0, 100));
  t.advance(3000).receive(report(G1));
  assert.deepEqual(t.host.groups(), [{ group: G1, state: "idle", lastReporter: false }]);
  t.advance(60_000).expectNothingSent();
  t.leave(G1).expectNothingSent(); // the other host reported last: it answers the router
});

Deno.test("suppression: a report heard cancels the unsolicited repeat too; a v1 report counts", () => {
  const t = igmpTest({ unsolicitedReportIntervalMs: 10_000 });
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.advance(1000).receive(report(G1, IGMP_V1_MEMBERSHIP_REPORT));
  t.advance(60_000).expectNothingSent();
  // A report for another group changes nothing.
  t.join(G2).expectSent("v2 report 239.5.6.7 to 239.5.6.7");
  t.receive(report(G1));
  t.advance(60_000).expectSent("v2 report 239.5.6.7 to 239.5.6.7");
});

Deno.test("suppression: after a query we report again and are the last reporter once more", () => {
  const t = igmpTest({ unsolicitedReportCount: 1 });
  t.join(G1).receive(report(G1)).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.receive(query(G1, 10)).advance(1000).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.leave(G1).expectSent("leave 239.1.2.3 to 224.0.0.2");
});

// ---- leaving ----

Deno.test("leave: Leave Group to 224.0.0.2 when we sent the last report (RFC 2236 §3)", () => {
  const t = igmpTest();
  t.join(G1).expectSent("v2 report 239.1.2.3 to 239.1.2.3");
  t.advance(1000).leave(G1).expectSent("leave 239.1.2.3 to 224.0.0.2");
  // The pending repeat went with the group.
  t.advance(60_000).expectNothingSent();
  assert.deepEqual(t.host.groups(), []);
  assert.equal(t.host.has(G1), false);
  t.leave(G1).expectNothingSent(); // not a member: nothing
});
