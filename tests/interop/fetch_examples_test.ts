/**
 * The fetch examples run as a user would run them: `examples/fetch_https.ts` through the
 * embedded gateway to a `Deno.serve` HTTPS server on 127.0.0.1 (CA made here), and
 * `examples/fetch_over_tap.ts` on a TAP device to nginx (Debian 1.22, TLS 1.3) in a namespace.
 */
import assert from "node:assert/strict";
import { interopTest, tempDir } from "./_harness.ts";
import { createTapNamespace } from "./_netns.ts";
import { withFetchNginx } from "./_fetch_nginx.ts";
import { generateCertificateAuthority, issueCertificate } from "../../tls/x509/generate.ts";

const root = new URL("../../", import.meta.url).pathname;

/** Runs an example to its end; it must exit by itself (within 30 s) once its work is done. */
async function runExample(permissions: string[], args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, ...args],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    child.status.then(() => true),
    new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 30_000)),
  ]);
  clearTimeout(timer);
  if (!exited) child.kill("SIGKILL");
  const out = await child.output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  assert.ok(exited, `${args[0]} did not exit within 30 s after:\n${result.stdout}${result.stderr}`);
  return result;
}

Deno.test("examples/fetch_https.ts: HTTPS through the embedded gateway, verified with the CA file", async () => {
  const dir = await tempDir("fetch-example");
  const ca = await generateCertificateAuthority({ commonName: "example CA" });
  const cert = await issueCertificate(ca, { ipAddresses: ["10.0.2.2"] });
  await Deno.writeTextFile(`${dir.path}/ca.pem`, ca.certPem);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: cert.certPem, key: cert.keyPem, onListen() {} },
    () => new Response(new Blob(["hello from the example's server"]).stream()),
  );
  try {
    const run = await runExample(
      ["--allow-net", "--allow-read"],
      ["examples/fetch_https.ts", `https://10.0.2.2:${server.addr.port}/`, `${dir.path}/ca.pem`],
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "hello from the example's server\n");
    assert.match(run.stderr, /^usernet 10\.0\.2\.15 behind the gateway 10\.0\.2\.2\n200 OK\n$/);
  } finally {
    await server.shutdown();
    await dir.cleanup();
  }
});

interopTest(
  "nginx over TAP: examples/fetch_over_tap.ts fetches https from nginx in a namespace",
  { root: true, programs: ["ip", "nginx"], files: ["/dev/net/tun"] },
  async () => {
    const ns = await createTapNamespace("fetchex", "10.82.0.1/24");
    const dir = await tempDir("fetch-example-tap");
    try {
      await withFetchNginx("10.82.0.1", ns, async (nginx) => {
        await Deno.writeTextFile(`${dir.path}/ca.pem`, nginx.caPem);
        const run = await runExample(["-A"], [
          "examples/fetch_over_tap.ts",
          `${nginx.https}/target.txt`,
          "--tap",
          ns.tap,
          "--netns",
          ns.name,
          "--address",
          "10.82.0.2/24",
          "--cacert",
          `${dir.path}/ca.pem`,
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, "target\n\n");
        assert.equal(run.stderr, "200 OK\n");
      }, { bigBytes: 0 });
    } finally {
      await ns.cleanup();
      await dir.cleanup();
    }
  },
);
