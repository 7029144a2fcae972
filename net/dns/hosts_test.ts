import assert from "node:assert/strict";
import { formatRecordData } from "./format.ts";
import { HostsTable } from "./hosts.ts";
import type { ResourceRecord } from "./message.ts";
import { DnsFormatError } from "./errors.ts";

const show = (r: ReturnType<HostsTable["lookup"]>) =>
  Array.isArray(r) ? r.map((x: ResourceRecord) => formatRecordData(x.data)) : r;

Deno.test("hosts: localhost is loopback and never leaves the machine (RFC 6761 §6.3)", () => {
  const h = new HostsTable();
  assert.deepEqual(show(h.lookup("localhost", 1)), ["127.0.0.1"]);
  assert.deepEqual(show(h.lookup("LOCALHOST.", 28)), ["::1"]);
  assert.deepEqual(show(h.lookup("foo.localhost", 1)), ["127.0.0.1"]);
  assert.equal(h.lookup("localhost", 15), "nodata");
  assert.deepEqual(show(h.lookup("1.0.0.127.in-addr.arpa", 12)), ["localhost."]);
  assert.equal(h.lookup("example.com", 1), undefined);
  assert.equal(new HostsTable({ localhost: false }).lookup("localhost", 1), undefined);
});

Deno.test("hosts: user entries, hosts-file syntax, reverse names", () => {
  const h = new HostsTable();
  const added = h.addHostsFile(
    "# comment\n10.0.2.2 gateway gw.lan # trailing\n\nfd00::2 gateway\nnot-an-ip bad\n",
  );
  assert.equal(added, 3);
  assert.deepEqual(show(h.lookup("gateway", 1)), ["10.0.2.2"]);
  assert.deepEqual(show(h.lookup("GW.LAN.", 1)), ["10.0.2.2"]);
  assert.deepEqual(show(h.lookup("gateway", 28)), ["fd00::2"]);
  assert.equal(h.lookup("gw.lan", 28), undefined, "no v6 for gw.lan: ask DNS");
  assert.deepEqual(show(h.lookup("2.2.0.10.in-addr.arpa.", 12)), ["gateway."]);
  const v6rev = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
  assert.deepEqual(show(h.lookup(v6rev, 12)), ["gateway."]);
});

Deno.test("hosts: bounded", () => {
  const h = new HostsTable({ localhost: false, maxEntries: 2 });
  h.add("a", "10.0.0.1");
  h.add("b", 0x0a000002);
  assert.throws(() => h.add("c", "10.0.0.3"), DnsFormatError);
});
