import assert from "node:assert/strict";
import { WireError, wireError } from "./errors.ts";
import { parseIpv4 } from "./ipv4.ts";
import { parseUdp } from "./udp.ts";

Deno.test("errors: one shared WireError per layer and reason", () => {
  const a = wireError("ipv4", "truncated");
  assert.equal(wireError("ipv4", "truncated"), a);
  assert.notEqual(wireError("udp", "truncated"), a);
  assert.notEqual(wireError("ipv4", "bad-checksum"), a);
  // Parsers hand out the same instance: a flood of bad frames allocates no errors.
  assert.equal(parseIpv4(new Uint8Array(3)), a);
  assert.equal(parseIpv4(new Uint8Array(5)), a);
});

Deno.test("errors: WireError names its layer and reason", () => {
  const e = wireError("udp", "bad-total-length");
  assert.ok(e instanceof WireError);
  assert.ok(e instanceof Error);
  assert.equal(e.name, "WireError");
  assert.equal(e.layer, "udp");
  assert.equal(e.reason, "bad-total-length");
  assert.equal(e.message, "udp: bad total length");
  assert.equal(parseUdp(new Uint8Array(4), 0, 0), wireError("udp", "truncated"));
});
