import assert from "node:assert/strict";
import { DigUsageError, nameserverFromResolvConf, parseDigArgs } from "./dig.ts";

Deno.test("dig: argument forms", () => {
  assert.deepEqual(parseDigArgs(["example.com"]), {
    server: undefined,
    name: "example.com",
    type: 1,
    timeoutMs: 1000,
  });
  assert.equal(parseDigArgs(["example.com", "AAAA"]).type, 28);
  assert.equal(parseDigArgs(["--type", "mx", "example.com"]).type, 15);
  assert.equal(parseDigArgs(["example.com", "--type=TXT", "+short"]).type, 16);
  assert.equal(parseDigArgs(["example.com", "-t", "TYPE65"]).type, 65);
  assert.deepEqual(parseDigArgs(["@10.0.2.3:5353", "x"]).server, {
    address: 0x0a000203,
    port: 5353,
  });
  assert.deepEqual(parseDigArgs(["@10.0.2.3", "x"]).server, { address: 0x0a000203, port: 53 });
  assert.equal(parseDigArgs(["x", "--timeout", "250"]).timeoutMs, 250);
  for (
    const bad of [
      [],
      ["x", "--type"],
      ["x", "--type", "BOGUS"],
      ["@nope", "x"],
      ["@1.2.3.4:0", "x"],
      [
        "x",
        "y",
      ],
      ["--what", "x"],
      ["x", "--timeout", "-1"],
    ]
  ) {
    assert.throws(() => parseDigArgs(bad), DigUsageError, bad.join(" "));
  }
});

Deno.test("dig: nameserver from resolv.conf", () => {
  assert.equal(nameserverFromResolvConf("nameserver ::1\nnameserver 10.0.2.3\n"), 0x0a000203);
  assert.equal(nameserverFromResolvConf("search lan\n"), undefined);
});
