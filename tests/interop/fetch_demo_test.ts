/**
 * `deno task demo` as a first-time user runs it: a subprocess with exactly the task's
 * permissions (`--allow-net=127.0.0.1`, nothing else), which must exit 0 and show the whole
 * story: DHCP, ARP, the TCP handshake, a verified TLS 1.3 session, the exchange and the page.
 */
import assert from "node:assert/strict";

/** The permissions of the `demo` task in deno.json; the demo must need no more. */
export const DEMO_PERMISSIONS = ["--allow-net=127.0.0.1"];

Deno.test("deno task demo: HTTPS through usernet with only --allow-net=127.0.0.1, exit 0", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...DEMO_PERMISSIONS, "cli/demo.ts"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `demo failed:\n${stdout}\n${stderr}`);
  assert.equal(stderr, "", "nothing on stderr (no permission prompts, no warnings)");
  assert.ok(!stdout.includes("\x1b["), "NO_COLOR is honoured");
  const expected = [
    /^\*\s+[\d.]+ ms {2}DHCP DISCOVER from [0-9a-f:]{17}$/m,
    /^\*\s+[\d.]+ ms {2}DHCP ACK: 10\.0\.2\.15\/24, router 10\.0\.2\.2, DNS 10\.0\.2\.3/m,
    /^\*\s+[\d.]+ ms {2}ARP 10\.0\.2\.2 is-at [0-9a-f:]{17}/m,
    /^\*\s+[\d.]+ ms {2}TCP SYN 10\.0\.2\.15:\d+ → 10\.0\.2\.2:\d+$/m,
    /^\*\s+[\d.]+ ms {2}TCP SYN-ACK from 10\.0\.2\.2:\d+: connected/m,
    /^\*\s+[\d.]+ ms {2}TLS connection: TLSv1\.3, TLS_\w+, \w+, ALPN http\/1\.1/m,
    /^\*\s+certificate: CN=localhost/m,
    /^\*\s+issuer: CN=usernet demo CA/m,
    /^\*\s+verified: a chain of 2 certificates to a trusted CA, valid for 10\.0\.2\.2$/m,
    /^>\s+[\d.]+ ms {2}GET \/ HTTP\/1\.1$/m,
    /^<\s+[\d.]+ ms {2}HTTP\/1\.1 200 OK$/m,
    /^\*\s+[\d.]+ ms {2}body done: \d+ bytes/m,
    /^Page/m,
    /^ {2}Hello from Deno\.serve on 127\.0\.0\.1:\d+!$/m,
    /^ {2}Your request came from 127\.0\.0\.1:\d+/m,
    /^Done in [\d.]+ ms: DHCP [\d.]+ ms · ARP [\d.]+ ms · TCP handshake [\d.]+ ms · TLS handshake/m,
  ];
  for (const pattern of expected) assert.match(stdout, pattern);
  // The lines come in the order things happen.
  const order = [
    "DHCP DISCOVER",
    "DHCP ACK",
    "ARP 10.0.2.2 is-at",
    "TCP SYN-ACK",
    "TLS connection",
  ];
  const at = order.map((s) => stdout.indexOf(s));
  assert.deepEqual(at, [...at].sort((a, b) => a - b), `in order: ${order.join(", ")}`);
  assert.ok(performance.now() - started < 30_000);
});
