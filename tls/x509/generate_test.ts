import { deepEqual, equal, ok } from "node:assert/strict";
import { KeyUsage, parseCertificate } from "./certificate.ts";
import { generateCertificateAuthority, issueCertificate } from "./generate.ts";
import { decodePem } from "./pem.ts";
import { OID } from "./oid.ts";

Deno.test("generate: a CA and a server certificate parse back with the requested fields", async () => {
  const ca = await generateCertificateAuthority({ commonName: "Gen CA" });
  const server = await issueCertificate(ca, {
    dnsNames: ["localhost", "example.test"],
    ipAddresses: ["127.0.0.1", "::1"],
  });
  const caCert = parseCertificate(decodePem(ca.certPem)[0]);
  equal(caCert.subject.text, "CN=Gen CA,O=usernet");
  equal(caCert.basicConstraints?.ca, true);
  ok(caCert.keyUsage! & KeyUsage.keyCertSign);
  const cert = parseCertificate(decodePem(server.certPem)[0]);
  equal(cert.issuer.text, "CN=Gen CA,O=usernet");
  equal(cert.basicConstraints?.ca, false);
  deepEqual(cert.extKeyUsage, [OID.serverAuth]);
  deepEqual(cert.subjectAltNames.filter((n) => n.kind === "dns").map((n) => n.value), [
    "localhost",
    "example.test",
  ]);
  equal(cert.subjectAltNames.filter((n) => n.kind === "ip").length, 2);
  equal(cert.publicKey.kind, "ec");
  deepEqual(cert.authorityKeyId, caCert.subjectKeyId);
  ok(server.keyPem.startsWith("-----BEGIN PRIVATE KEY-----"));
  ok(cert.notAfter.getTime() > Date.now() + 80 * 86400_000);
});
