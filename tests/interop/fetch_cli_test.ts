/**
 * `deno task fetch` as a subprocess with the task's permissions, through usernet behind the
 * embedded gateway, against servers this test runs on 127.0.0.1 (Deno.serve with TLS and a CA
 * made here, a plain HTTP echo server, a TCP server that never answers): output, timeline,
 * files, exit statuses and the one-line reasons of failures.
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { interopTest, tempDir } from "./_harness.ts";
import { createTapNamespace } from "./_netns.ts";
import { withFetchNginx } from "./_fetch_nginx.ts";
import { generateCertificateAuthority, issueCertificate } from "../../tls/x509/generate.ts";

/** The permissions of the `fetch` task in deno.json. */
export const FETCH_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-write", "--allow-ffi"];

const root = new URL("../../", import.meta.url).pathname;
const ca = await generateCertificateAuthority({ commonName: "fetch cli test CA" });
const otherCa = await generateCertificateAuthority({ commonName: "a CA nobody uses" });
const good = await issueCertificate(ca, {
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1", "10.0.2.2"],
});
const localhostOnly = await issueCertificate(ca, { dnsNames: ["localhost"] });
const BIG = new Uint8Array(8 * 1024 * 1024);
for (let i = 0; i < BIG.length; i += 65536) crypto.getRandomValues(BIG.subarray(i, i + 65536));

interface Run {
  code: number;
  stdout: Uint8Array;
  text: string;
  stderr: string;
}

async function fetchCli(args: string[]): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...FETCH_PERMISSIONS, "cli/fetch.ts", ...args],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: out.stdout,
    text: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Servers on 127.0.0.1 for one test, and a temp dir with the CA files. */
async function withServers(
  fn: (s: { tls: number; mismatch: number; plain: number; silent: number; dir: string }) => Promise<
    void
  >,
): Promise<void> {
  const dir = await tempDir("fetch-cli");
  await Deno.writeTextFile(`${dir.path}/ca.pem`, ca.certPem);
  await Deno.writeTextFile(`${dir.path}/other.pem`, otherCa.certPem);
  const page = (request: Request) =>
    new Response(new Blob([`secure page for ${new URL(request.url).pathname}\n`]).stream(), {
      headers: { "content-type": "text/plain" },
    });
  const tls = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: good.certPem, key: good.keyPem, onListen() {} },
    page,
  );
  const mismatch = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      cert: localhostOnly.certPem,
      key: localhostOnly.keyPem,
      onListen() {},
    },
    page,
  );
  const plain = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/big") return new Response(BIG);
    if (url.pathname === "/missing") return new Response("no such page\n", { status: 404 });
    if (url.pathname === "/moved") return Response.redirect(new URL("/echo", url), 302);
    const body = new Uint8Array(await request.arrayBuffer());
    return Response.json({
      method: request.method,
      contentType: request.headers.get("content-type"),
      custom: request.headers.get("x-custom"),
      body: new TextDecoder().decode(body),
    }, { headers: { "x-served-by": "echo" } });
  });
  // Accepts and never answers.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of silent) held.push(c);
    } catch { /* closed */ }
  })();
  try {
    await fn({
      tls: tls.addr.port,
      mismatch: mismatch.addr.port,
      plain: plain.addr.port,
      silent: silent.addr.port,
      dir: dir.path,
    });
  } finally {
    for (const c of held) c.close();
    silent.close();
    await Promise.all([tls.shutdown(), mismatch.shutdown(), plain.shutdown()]);
    await dir.cleanup();
  }
}

Deno.test("fetch cli: https through usernet, verified with --cacert; -v timeline on stderr, body on stdout", async () => {
  await withServers(async ({ tls, dir }) => {
    const run = await fetchCli([
      `https://10.0.2.2:${tls}/hello`,
      "--cacert",
      `${dir}/ca.pem`,
      "-v",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.text, "secure page for /hello\n");
    for (
      const pattern of [
        /^\* +[\d.]+ ms {2}DHCP ACK: 10\.0\.2\.15\/24/m,
        /^\* +[\d.]+ ms {2}ARP 10\.0\.2\.2 is-at /m,
        /^\* +[\d.]+ ms {2}TCP SYN-ACK from 10\.0\.2\.2:\d+: connected in [\d.]+ ms/m,
        /^\* +[\d.]+ ms {2}TLS ClientHello sent/m,
        /^\* +[\d.]+ ms {2}TLS connection: TLSv1\.3, \w+, \w+, ALPN http\/1\.1/m,
        /^\* +certificate: CN=localhost/m,
        /^\* +issuer: CN=fetch cli test CA/m,
        /^\* +valid until \d{4}-\d\d-\d\d \(\d+ days\); names: localhost, 127\.0\.0\.1, 10\.0\.2\.2$/m,
        /^> +[\d.]+ ms {2}GET \/hello HTTP\/1\.1$/m,
        /^> +Host: 10\.0\.2\.2:\d+$/m,
        /^< +[\d.]+ ms {2}HTTP\/1\.1 200 OK$/m,
        /^\* +[\d.]+ ms {2}body done: 23 bytes/m,
      ]
    ) assert.match(run.stderr, pattern);
  });
});

Deno.test("fetch cli: certificate failures end with one line and status 1", async () => {
  await withServers(async ({ tls, mismatch, dir }) => {
    const wrongCa = await fetchCli([`https://10.0.2.2:${tls}/`, "--cacert", `${dir}/other.pem`]);
    assert.equal(wrongCa.code, 1);
    assert.equal(wrongCa.text, "");
    assert.match(
      wrongCa.stderr,
      /^error: certificate for 10\.0\.2\.2 is not valid: UnknownIssuer: no trusted certificate for issuer "CN=fetch cli test CA,O=usernet".*\n$/,
    );

    const wrongName = await fetchCli([
      `https://10.0.2.2:${mismatch}/`,
      "--cacert",
      `${dir}/ca.pem`,
    ]);
    assert.equal(wrongName.code, 1);
    assert.match(
      wrongName.stderr,
      /^error: certificate for 10\.0\.2\.2 is not valid: HostnameMismatch: certificate is not valid for "10\.0\.2\.2"; it is valid for localhost.*\n$/,
    );

    // -k skips verification.
    const insecure = await fetchCli([`https://10.0.2.2:${mismatch}/k`, "-k", "-v"]);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.equal(insecure.text, "secure page for /k\n");
    assert.match(insecure.stderr, /NOT verified \(insecure: -k\)/);
  });
});

Deno.test("fetch cli: -o writes the file (equal SHA-256) with a progress line; -I prints the head", async () => {
  await withServers(async ({ plain, dir }) => {
    const file = `${dir}/big.bin`;
    const run = await fetchCli([`http://10.0.2.2:${plain}/big`, "-o", file]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.text, "");
    assert.equal(bytesToHex(sha256(await Deno.readFile(file))), bytesToHex(sha256(BIG)));
    assert.match(run.stderr, /^big\.bin +100% +8\.0MB +[\d.]+[KMG]?B\/s +\d\d:\d\d *\n$/);

    const head = await fetchCli([`http://10.0.2.2:${plain}/big`, "-I"]);
    assert.equal(head.code, 0, head.stderr);
    assert.match(head.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head.text, /^content-length: 8388608\r$/m);
    assert.ok(head.text.endsWith("\r\n\r\n"));
  });
});

Deno.test("fetch cli: -X, -d, -H reach the server; -i shows the head; redirects are followed", async () => {
  await withServers(async ({ plain }) => {
    const put = await fetchCli([
      `http://10.0.2.2:${plain}/echo`,
      "-X",
      "PUT",
      "-d",
      "a=1&b=2",
      "-H",
      "X-Custom: yes",
      "-i",
    ]);
    assert.equal(put.code, 0, put.stderr);
    const [head, body] = put.text.split("\r\n\r\n");
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /x-served-by: echo/);
    assert.deepEqual(JSON.parse(body), {
      method: "PUT",
      contentType: "application/x-www-form-urlencoded",
      custom: "yes",
      body: "a=1&b=2",
    });

    const post = await fetchCli([`http://10.0.2.2:${plain}/echo`, "-d", "x"]);
    assert.equal(JSON.parse(post.text).method, "POST");

    const moved = await fetchCli([`http://10.0.2.2:${plain}/moved`, "-v"]);
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(JSON.parse(moved.text).method, "GET");
    assert.match(moved.stderr, /302 redirect to http:\/\/10\.0\.2\.2:\d+\/echo \(GET\)/);
  });
});

Deno.test("fetch cli: refused, 404 with -f, a silent server with -m, usage errors", async () => {
  await withServers(async ({ plain, silent }) => {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = closed.addr.port;
    closed.close();
    const refused = await fetchCli([`http://10.0.2.2:${closedPort}/`]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^error: ConnectFailed: connecting to 10\.0\.2\.2:\d+ failed: .*\((ConnectionRefused|ConnectionReset)\)\n$/,
    );

    const missing = await fetchCli([`http://10.0.2.2:${plain}/missing`]);
    assert.equal(missing.code, 0, "without -f a 404 is a response");
    assert.equal(missing.text, "no such page\n");
    const failing = await fetchCli([`http://10.0.2.2:${plain}/missing`, "-f"]);
    assert.equal(failing.code, 1);
    assert.match(
      failing.stderr,
      /^error: http:\/\/10\.0\.2\.2:\d+\/missing answered 404 Not Found/,
    );

    const started = performance.now();
    const stalled = await fetchCli([`http://10.0.2.2:${silent}/`, "-m", "1"]);
    assert.equal(stalled.code, 1);
    assert.equal(stalled.stderr, "error: no complete response within 1 s (--max-time)\n");
    assert.ok(performance.now() - started < 10_000);

    for (
      const [args, pattern] of [
        [[], /^usage: give one URL/],
        [["ftp://x/"], /^usage: ftp: URLs are not supported/],
        [["http://x/", "-H", "nocolon"], /^usage: header "nocolon" is not 'Name: value'/],
        [["http://x/", "--bogus"], /^usage: Unknown option '--bogus'/],
        [["http://x/", "-I", "-d", "x"], /^usage: a HEAD request cannot have a body/],
      ] as const
    ) {
      const run = await fetchCli([...args]);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
    }
  });
});

interopTest(
  "nginx over TAP: deno task fetch --tap --netns fetches https with a timeline of the TAP's ARP",
  { root: true, programs: ["ip", "nginx"], files: ["/dev/net/tun"] },
  async () => {
    const ns = await createTapNamespace("fetchcli", "10.84.0.1/24");
    const dir = await tempDir("fetch-cli-tap");
    try {
      await withFetchNginx("10.84.0.1", ns, async (nginx) => {
        await Deno.writeTextFile(`${dir.path}/ca.pem`, nginx.caPem);
        const run = await fetchCli([
          `${nginx.https}/target.txt`,
          "--tap",
          ns.tap,
          "--netns",
          ns.name,
          "--address",
          "10.84.0.2/24",
          "--cacert",
          `${dir.path}/ca.pem`,
          "-v",
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.text, "target\n");
        assert.match(run.stderr, /usernet 10\.84\.0\.2\/24 on tap0 \(MAC [0-9a-f:]{17}\) is up/);
        assert.match(run.stderr, /ARP 10\.84\.0\.1 is-at [0-9a-f:]{17} \([\d.]+ ms\)/);
        assert.match(run.stderr, /TCP SYN-ACK from 10\.84\.0\.1:8443: connected/);
        assert.match(run.stderr, /TLS connection: TLSv1\.3/);
        assert.match(
          run.stderr,
          /verified: a chain of 2 certificates to a trusted CA, valid for 10\.84\.0\.1/,
        );
      }, { bigBytes: 0 });
    } finally {
      await ns.cleanup();
      await dir.cleanup();
    }
  },
);
