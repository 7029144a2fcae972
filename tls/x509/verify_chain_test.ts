import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import {
  BadCertificateSignature,
  CertificateExpired,
  CertificateNotYetValid,
  CertificateUsageNotAllowed,
  HostnameMismatch,
  MalformedCertificate,
  NameConstraintViolation,
  NotACertificateAuthority,
  PathLengthExceeded,
  UnknownIssuer,
  UnsupportedCertificate,
  WeakAlgorithm,
} from "./errors.ts";
import { generateCertificateAuthority, issueCertificate } from "./generate.ts";
import { OID } from "./oid.ts";
import { TrustStore } from "./trust_store.ts";
import { verifyServerChain } from "./verify_chain.ts";

const root = await generateCertificateAuthority({ commonName: "Test Root" });
const intermediate = await issueCertificate(root, { isCa: true, commonName: "Test Intermediate" });
const leaf = await issueCertificate(intermediate, {
  dnsNames: ["server.test", "*.apps.test"],
  ipAddresses: ["192.0.2.7"],
});
const unrelated = await issueCertificate(await generateCertificateAuthority(), {
  dnsNames: ["x.test"],
});
const store = TrustStore.fromPem(root.certPem);
const verify = (certs: Uint8Array[], serverName = "server.test", now?: Date) =>
  verifyServerChain(certs, { trustStore: store, serverName, now });

Deno.test("chain: leaf, intermediate, trusted root", async () => {
  const { path } = await verify([leaf.der, intermediate.der]);
  deepEqual(path.map((c) => c.subject.commonNames[0]), [
    "server.test",
    "Test Intermediate",
    "Test Root",
  ]);
});

Deno.test("chain: order of the extra certificates does not matter, extras are ignored", async () => {
  const junk = new Uint8Array([0x30, 0x03, 1, 2, 3]);
  const { path } = await verify([leaf.der, unrelated.der, root.der, junk, intermediate.der]);
  equal(path.length, 3);
});

Deno.test("chain: a missing intermediate is UnknownIssuer naming it", async () => {
  const err = await verify([leaf.der]).catch((e) => e);
  ok(err instanceof UnknownIssuer);
  equal(err.issuer, "CN=Test Intermediate,O=usernet");
});

Deno.test("chain: a root that is not in the store is UnknownIssuer", async () => {
  await rejects(
    verifyServerChain([leaf.der, intermediate.der], {
      trustStore: TrustStore.fromPem(unrelated.certPem),
    }),
    UnknownIssuer,
  );
});

Deno.test("chain: expired and not-yet-valid certificates", async () => {
  await rejects(
    verify([leaf.der, intermediate.der], "server.test", new Date(Date.now() + 200 * 86400_000)),
    CertificateExpired,
  );
  await rejects(
    verify([leaf.der, intermediate.der], "server.test", new Date(Date.now() - 86400_000)),
    CertificateNotYetValid,
  );
  const expiredInter = await issueCertificate(root, {
    isCa: true,
    commonName: "Old Intermediate",
    notBefore: new Date("2020-01-01"),
    notAfter: new Date("2021-01-01"),
  });
  const l = await issueCertificate(expiredInter, { dnsNames: ["server.test"] });
  const err = await verify([l.der, expiredInter.der]).catch((e) => e);
  ok(err instanceof CertificateExpired);
  equal(err.subject, "CN=Old Intermediate,O=usernet");
});

Deno.test("chain: hostname checks use subjectAltName only (no common-name fallback)", async () => {
  await verify([leaf.der, intermediate.der], "server.test");
  await verify([leaf.der, intermediate.der], "web.apps.test");
  await verify([leaf.der, intermediate.der], "192.0.2.7");
  const err = await verify([leaf.der, intermediate.der], "other.test").catch((e) => e);
  ok(err instanceof HostnameMismatch);
  deepEqual(err.names, ["server.test", "*.apps.test", "192.0.2.7"]);
  await rejects(verify([leaf.der, intermediate.der], "192.0.2.8"), HostnameMismatch);
  await rejects(verify([leaf.der, intermediate.der], "a.b.apps.test"), HostnameMismatch);
  const cnOnly = await issueCertificate(root, { commonName: "cn-only.test" });
  await rejects(verify([cnOnly.der], "cn-only.test"), HostnameMismatch);
});

Deno.test("chain: a certificate signed by an impostor CA with the same name is BadCertificateSignature", async () => {
  const impostor = await generateCertificateAuthority({ commonName: "Test Root" });
  const forged = await issueCertificate(impostor, { dnsNames: ["server.test"] });
  await rejects(verify([forged.der]), BadCertificateSignature);
});

Deno.test("chain: a tampered signature is BadCertificateSignature", async () => {
  const tampered = leaf.der.slice();
  tampered[tampered.length - 5] ^= 0x01;
  await rejects(verify([tampered, intermediate.der]), BadCertificateSignature);
});

Deno.test("chain: an issuer without cA is NotACertificateAuthority", async () => {
  const notCa = await issueCertificate(root, { commonName: "Not A CA", dnsNames: ["x.test"] });
  const l = await issueCertificate(notCa, { dnsNames: ["server.test"] });
  await rejects(verify([l.der, notCa.der]), NotACertificateAuthority);
});

Deno.test("chain: SHA-1 signatures and small RSA keys are WeakAlgorithm", async () => {
  const sha1 = await issueCertificate(root, { dnsNames: ["server.test"], signatureHash: "SHA-1" });
  await rejects(
    verify([sha1.der]),
    (e: Error) => e instanceof WeakAlgorithm && /SHA-1/.test(e.message),
  );
  const smallKey = await issueCertificate(root, {
    dnsNames: ["server.test"],
    keyType: "RSA",
    rsaBits: 1024,
  });
  await rejects(
    verify([smallKey.der]),
    (e: Error) => e instanceof WeakAlgorithm && /1024/.test(e.message),
  );
  const smallCa = await generateCertificateAuthority({ keyType: "RSA", rsaBits: 1024 });
  const l = await issueCertificate(smallCa, { dnsNames: ["server.test"] });
  await rejects(
    verifyServerChain([l.der], {
      trustStore: TrustStore.fromPem(smallCa.certPem),
      serverName: "server.test",
    }),
    WeakAlgorithm,
  );
});

Deno.test("chain: RSA 2048, P-384 and Ed25519 chains verify", async () => {
  for (const keyType of ["RSA", "P-384", "Ed25519"] as const) {
    const ca = await generateCertificateAuthority({ keyType });
    const l = await issueCertificate(ca, { dnsNames: ["server.test"], keyType });
    const { path } = await verifyServerChain([l.der], {
      trustStore: TrustStore.fromPem(ca.certPem),
      serverName: "server.test",
    });
    equal(path.length, 2);
  }
});

Deno.test("chain: pathLenConstraint 0 forbids an intermediate", async () => {
  const strict = await generateCertificateAuthority({ commonName: "Strict Root", pathLength: 0 });
  const inter = await issueCertificate(strict, { isCa: true, commonName: "Sub CA" });
  const l = await issueCertificate(inter, { dnsNames: ["server.test"] });
  const s = TrustStore.fromPem(strict.certPem);
  await rejects(verifyServerChain([l.der, inter.der], { trustStore: s }), PathLengthExceeded);
  const direct = await issueCertificate(strict, { dnsNames: ["server.test"] });
  await verifyServerChain([direct.der], { trustStore: s });
});

Deno.test("chain: name constraints (permitted and excluded DNS subtrees)", async () => {
  const constrained = await generateCertificateAuthority({
    commonName: "Constrained Root",
    permittedDnsNames: ["example.com"],
    excludedDnsNames: ["secret.example.com"],
  });
  const s = TrustStore.fromPem(constrained.certPem);
  const good = await issueCertificate(constrained, { dnsNames: ["www.example.com"] });
  await verifyServerChain([good.der], { trustStore: s, serverName: "www.example.com" });
  const outside = await issueCertificate(constrained, { dnsNames: ["evil.test"] });
  await rejects(verifyServerChain([outside.der], { trustStore: s }), NameConstraintViolation);
  const lookalike = await issueCertificate(constrained, { dnsNames: ["badexample.com"] });
  await rejects(verifyServerChain([lookalike.der], { trustStore: s }), NameConstraintViolation);
  const excluded = await issueCertificate(constrained, { dnsNames: ["db.secret.example.com"] });
  await rejects(verifyServerChain([excluded.der], { trustStore: s }), NameConstraintViolation);
});

Deno.test("chain: extendedKeyUsage without serverAuth is CertificateUsageNotAllowed", async () => {
  const clientOnly = await issueCertificate(root, {
    dnsNames: ["server.test"],
    extKeyUsage: [OID.clientAuth],
  });
  await rejects(verify([clientOnly.der]), CertificateUsageNotAllowed);
  const noEku = await issueCertificate(root, { dnsNames: ["server.test"], extKeyUsage: null });
  await verify([noEku.der]);
  const emailCa = await issueCertificate(root, {
    isCa: true,
    commonName: "Email CA",
    extKeyUsage: ["1.3.6.1.5.5.7.3.4"],
  });
  const l = await issueCertificate(emailCa, { dnsNames: ["server.test"] });
  await rejects(verify([l.der, emailCa.der]), CertificateUsageNotAllowed);
});

Deno.test("chain: an unknown critical extension is UnsupportedCertificate, a non-critical one is fine", async () => {
  const critical = await issueCertificate(root, {
    dnsNames: ["server.test"],
    extraExtensions: [{
      oid: "1.3.6.1.4.1.99999.1",
      critical: true,
      value: new Uint8Array([5, 0]),
    }],
  });
  await rejects(
    verify([critical.der]),
    (e: Error) =>
      e instanceof UnsupportedCertificate && /1\.3\.6\.1\.4\.1\.99999\.1/.test(e.message),
  );
  const harmless = await issueCertificate(root, {
    dnsNames: ["server.test"],
    extraExtensions: [{
      oid: "1.3.6.1.4.1.99999.1",
      critical: false,
      value: new Uint8Array([5, 0]),
    }],
  });
  await verify([harmless.der]);
});

Deno.test("chain: a trusted self-signed leaf verifies on its own", async () => {
  const s = TrustStore.fromPem(leaf.certPem);
  const { path } = await verifyServerChain([leaf.der], {
    trustStore: s,
    serverName: "server.test",
  });
  equal(path.length, 1);
});

Deno.test("chain: with two candidate intermediates of the same name, the working one is found", async () => {
  const stale = await issueCertificate(root, {
    isCa: true,
    commonName: "Test Intermediate",
    notBefore: new Date("2019-01-01"),
    notAfter: new Date("2020-01-01"),
  });
  const { path } = await verify([leaf.der, stale.der, intermediate.der]);
  equal(path.length, 3);
});

Deno.test("chain: garbage instead of a leaf is MalformedCertificate", async () => {
  await rejects(verify([new Uint8Array([0x30, 0x82, 0xff])]), MalformedCertificate);
  await rejects(verify([]), MalformedCertificate);
});

Deno.test("trust store: the system bundle loads", async () => {
  let system: TrustStore;
  try {
    system = await TrustStore.system();
  } catch {
    return; // no bundle on this machine
  }
  ok(system.size > 50, `only ${system.size} roots`);
  equal(system.skipped, 0);
});
