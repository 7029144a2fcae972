import { startTls } from "./tls_connection.ts";
import { generateCertificateAuthority, issueCertificate } from "./x509/generate.ts";
const ca = await generateCertificateAuthority();
const leaf = await issueCertificate(ca, { dnsNames: ["localhost"] });
Deno.writeTextFileSync("/tmp/tlst/gcert.pem", leaf.certPem);
Deno.writeTextFileSync("/tmp/tlst/gkey.pem", leaf.keyPem);
const code =
  `const l = Deno.listenTls({ hostname: "127.0.0.1", port: 14440, cert: Deno.readTextFileSync("/tmp/tlst/gcert.pem"), key: Deno.readTextFileSync("/tmp/tlst/gkey.pem") });
console.log("up");
for await (const c of l) { const b = new Uint8Array(1<<18); try { while ((await c.read(b)) !== null); } catch {} c.close(); }`;
const child = new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped" }).spawn();
const r = child.stdout.getReader();
await r.read();
r.releaseLock();
const tls = await startTls(await Deno.connect({ hostname: "127.0.0.1", port: 14440 }), {
  serverName: "localhost",
  caCerts: ca.certPem,
});
const payload = new Uint8Array(1 << 20);
const t0 = performance.now();
for (let i = 0; i < 300; i++) await tls.write(payload);
console.log((300 * 1.048576 / ((performance.now() - t0) / 1000)).toFixed(0), "MB/s");
tls.close();
child.kill();
await child.status;
