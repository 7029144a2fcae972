// Name constraints (RFC 5280 §4.2.1.10): the matching rules of each name form, then whole
// chains root → constrained CA → leaf made with the test certificate builders.
import { equal, ok, rejects, throws } from "node:assert/strict";
import { parseCertificate } from "./certificate.ts";
import {
  derContext,
  derIa5String,
  derOid,
  derSequence,
  derSet,
  derTlv,
  derUtf8String,
} from "./der_writer.ts";
import {
  NameConstraintViolation,
  UnsupportedCertificate,
  UnsupportedNameConstraint,
} from "./errors.ts";
import {
  generateCertificateAuthority,
  type GeneratedCertificate,
  issueCertificate,
} from "./generate.ts";
import {
  checkNameConstraints,
  directoryNameWithinSubtree,
  emailWithinSubtree,
  isMailbox,
} from "./name_constraints.ts";
import { OID } from "./oid.ts";
import { TrustStore } from "./trust_store.ts";
import { verifyServerChain } from "./verify_chain.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const printable = (s: string) => derTlv(0x13, ascii(s));

// GeneralName encodings (RFC 5280 §4.2.1.6).
const gn = {
  email: (s: string) => derContext(1, false, ascii(s)),
  dns: (s: string) => derContext(2, false, ascii(s)),
  directory: (name: Uint8Array) => derContext(4, true, name),
  uri: (s: string) => derContext(6, false, ascii(s)),
  /** A Microsoft UPN otherName. */
  upn: (s: string) =>
    derContext(0, true, derOid("1.3.6.1.4.1.311.20.2.3"), derContext(0, true, derUtf8String(s))),
};

/** A Name from [type, value] RDNs (one attribute each; an array makes a multi-valued RDN). */
function name(...rdns: Array<[string, Uint8Array] | Array<[string, Uint8Array]>>): Uint8Array {
  return derSequence(
    ...rdns.map((rdn) => {
      const attrs = (Array.isArray(rdn[0]) ? rdn : [rdn]) as Array<[string, Uint8Array]>;
      return derSet(...attrs.map(([type, value]) => derSequence(derOid(type), value)));
    }),
  );
}

const root = await generateCertificateAuthority({ commonName: "NC Root" });
const store = TrustStore.fromPem(root.certPem);

/** An intermediate CA under `root` with the given nameConstraints. */
function constrainedCa(
  subtrees: { permitted?: Uint8Array[]; excluded?: Uint8Array[] },
  critical = true,
  commonName = "NC Constrained CA",
): Promise<GeneratedCertificate> {
  const parts: Uint8Array[] = [];
  const list = (names: Uint8Array[]) => names.map((n) => derSequence(n));
  if (subtrees.permitted) parts.push(derContext(0, true, ...list(subtrees.permitted)));
  if (subtrees.excluded) parts.push(derContext(1, true, ...list(subtrees.excluded)));
  return issueCertificate(root, {
    isCa: true,
    commonName,
    extraExtensions: [{ oid: OID.nameConstraints, critical, value: derSequence(...parts) }],
  });
}

/** A leaf under `ca` with exactly the given subjectAltName entries. */
function leafWith(
  ca: GeneratedCertificate,
  sans: Uint8Array[],
  commonName = "server.test",
): Promise<GeneratedCertificate> {
  return issueCertificate(ca, {
    commonName,
    extraExtensions: sans.length
      ? [{ oid: OID.subjectAltName, critical: false, value: derSequence(...sans) }]
      : [],
  });
}

const verify = (...chain: GeneratedCertificate[]) =>
  verifyServerChain(chain.map((c) => c.der), { trustStore: store });

// --- rfc822Name ------------------------------------------------------------------------------

Deno.test("rfc822Name: a mailbox, a host and a .domain constraint (RFC 5280 §4.2.1.10)", () => {
  // A particular mailbox: local part exact, host without regard to case (§7.5).
  ok(emailWithinSubtree("root@example.com", "root@example.com"));
  ok(emailWithinSubtree("root@EXAMPLE.com", "root@example.com"));
  ok(!emailWithinSubtree("Root@example.com", "root@example.com"));
  ok(!emailWithinSubtree("root@www.example.com", "root@example.com"));
  // Every mailbox on one host, not on its subdomains.
  ok(emailWithinSubtree("anyone@Example.COM", "example.com"));
  ok(!emailWithinSubtree("anyone@mail.example.com", "example.com"));
  ok(!emailWithinSubtree("anyone@badexample.com", "example.com"));
  // Every mailbox in a domain, not on the host named by the domain itself.
  ok(emailWithinSubtree("anyone@mail.example.com", ".example.com"));
  ok(emailWithinSubtree("anyone@a.b.example.com", ".EXAMPLE.com"));
  ok(!emailWithinSubtree("anyone@example.com", ".example.com"));
  ok(!emailWithinSubtree("anyone@badexample.com", ".example.com"));
  // A quoted local part may contain "@": the host is after the last one.
  ok(emailWithinSubtree('"a@b"@example.com', "example.com"));
  // Not a mailbox: within no subtree.
  ok(!isMailbox("example.com") && !isMailbox("@example.com") && !isMailbox("root@"));
  ok(!emailWithinSubtree("example.com", "example.com"));
});

Deno.test("rfc822Name: permitted subtrees in a chain", async () => {
  const ca = await constrainedCa({
    permitted: [gn.email(".example.com"), gn.email("ops@example.org")],
  });
  await verify(await leafWith(ca, [gn.email("a@mail.example.com")]), ca);
  await verify(await leafWith(ca, [gn.email("ops@EXAMPLE.org"), gn.dns("server.test")]), ca);
  await verify(await leafWith(ca, [gn.dns("server.test")]), ca); // no email: not constrained
  const host = await leafWith(ca, [gn.email("a@example.com")]);
  const err = await verify(host, ca).catch((e) => e);
  ok(err instanceof NameConstraintViolation, String(err));
  ok(err.message.includes('"a@example.com"') && err.message.includes("NC Constrained CA"));
  await rejects(
    verify(await leafWith(ca, [gn.email("OPS@example.org")]), ca),
    NameConstraintViolation,
  );
  await rejects(
    verify(await leafWith(ca, [gn.email("not-a-mailbox")]), ca),
    NameConstraintViolation,
  );
});

Deno.test("rfc822Name: excluded subtrees in a chain", async () => {
  const ca = await constrainedCa({ excluded: [gn.email("example.net")] });
  await rejects(
    verify(await leafWith(ca, [gn.email("x@example.net")]), ca),
    NameConstraintViolation,
  );
  await verify(await leafWith(ca, [gn.email("x@sub.example.net")]), ca);
});

Deno.test("rfc822Name: emailAddress attributes of the subject are constrained too", async () => {
  const generated = await constrainedCa({ permitted: [gn.email(".example.com")] });
  const ca = parseCertificate(generated.der);
  const leaf = parseCertificate((await leafWith(generated, [])).der);
  const withSubject = (email: string) => {
    const der = name([OID.organizationName, derUtf8String("usernet")], [
      OID.emailAddress,
      derIa5String(email),
    ]);
    return { ...leaf, subject: { der, text: `emailAddress=${email},O=usernet`, commonNames: [] } };
  };
  checkNameConstraints(withSubject("a@www.example.com"), ca.nameConstraints!, "CN=CA");
  throws(
    () => checkNameConstraints(withSubject("a@evil.test"), ca.nameConstraints!, "CN=CA"),
    NameConstraintViolation,
  );
});

// --- directoryName ---------------------------------------------------------------------------

Deno.test("directoryName: the constraint's RDNs must begin the name's; values compare folded", () => {
  const o = (v: string) => [OID.organizationName, derUtf8String(v)] as [string, Uint8Array];
  const cn = (v: string) => [OID.commonName, derUtf8String(v)] as [string, Uint8Array];
  const c = (v: string) => [OID.countryName, printable(v)] as [string, Uint8Array];
  const host = name(c("DE"), o("Example GmbH"), cn("www.example.com"));
  ok(directoryNameWithinSubtree(host, name()));
  ok(directoryNameWithinSubtree(host, name(c("DE"))));
  ok(directoryNameWithinSubtree(host, name(c("DE"), o("Example GmbH"))));
  ok(directoryNameWithinSubtree(host, host));
  // Case, string type and extra space do not matter (RFC 5280 §7.1, RFC 4518).
  ok(directoryNameWithinSubtree(host, name([OID.countryName, derUtf8String("de")])));
  ok(
    directoryNameWithinSubtree(
      host,
      name(c("DE"), [OID.organizationName, printable("  EXAMPLE   gmbh ")]),
    ),
  );
  // Order, values and types do.
  ok(!directoryNameWithinSubtree(host, name(o("Example GmbH"))));
  ok(!directoryNameWithinSubtree(host, name(c("FR"))));
  ok(!directoryNameWithinSubtree(host, name([OID.organizationalUnitName, printable("DE")])));
  ok(!directoryNameWithinSubtree(name(c("DE")), host));
  // A multi-valued RDN is a set: its order does not matter, its size does.
  const multi = name([o("Example"), cn("a")], cn("b"));
  ok(directoryNameWithinSubtree(multi, name([cn("A"), o("example")])));
  ok(!directoryNameWithinSubtree(multi, name(o("Example"))));
});

Deno.test("directoryName: values no decoder takes (UniversalString beyond Unicode, long strings) compare without throwing", () => {
  const o = (v: Uint8Array) => [OID.organizationName, v] as [string, Uint8Array];
  const host = name(o(derUtf8String("Example")));
  // A UniversalString character 0xFFFFFFFF is not Unicode: compared as its hex form.
  const beyond = name(o(derTlv(0x1c, new Uint8Array([0xff, 0xff, 0xff, 0xff]))));
  ok(!directoryNameWithinSubtree(host, beyond));
  ok(directoryNameWithinSubtree(beyond, beyond));
  // A 200,000-character PrintableString (one spread call would overflow the argument limit).
  const long = name(o(printable("x".repeat(200_000))));
  ok(directoryNameWithinSubtree(long, long));
  ok(!directoryNameWithinSubtree(host, long));
});

Deno.test("directoryName: permitted and excluded subtrees against the subject in a chain", async () => {
  const usernet = [OID.organizationName, printable("USERNET")] as [string, Uint8Array];
  const ca = await constrainedCa({
    permitted: [gn.directory(name(usernet, [OID.commonName, derUtf8String("server.test")]))],
  });
  await verify(await leafWith(ca, [gn.dns("server.test")], "server.test"), ca);
  const other = await leafWith(ca, [gn.dns("other.test")], "other.test");
  const err = await verify(other, ca).catch((e) => e);
  ok(err instanceof NameConstraintViolation, String(err));
  ok(err.message.includes("CN=other.test,O=usernet"), err.message);

  const excluding = await constrainedCa({
    excluded: [gn.directory(name(usernet, [OID.commonName, derUtf8String("blocked.test")]))],
  });
  await verify(await leafWith(excluding, [], "fine.test"), excluding);
  await rejects(
    verify(await leafWith(excluding, [], "blocked.test"), excluding),
    NameConstraintViolation,
  );
  // A directoryName in subjectAltName is constrained as well.
  const blockedAlt = name(usernet, [OID.commonName, derUtf8String("Blocked.test")]);
  await rejects(
    verify(await leafWith(excluding, [gn.directory(blockedAlt)], "fine.test"), excluding),
    NameConstraintViolation,
  );
});

Deno.test("directoryName: an intermediate's subject is constrained, a self-issued one's is not (RFC 5280 §6.1.3 (b))", async () => {
  const ca = await constrainedCa(
    {
      permitted: [
        gn.directory(
          name([OID.organizationName, derUtf8String("usernet")], [
            OID.commonName,
            derUtf8String("server.test"),
          ]),
        ),
      ],
    },
    true,
    "NC Dir CA",
  );
  // A sub CA named outside the permitted subtree is refused...
  const sub = await issueCertificate(ca, { isCa: true, commonName: "NC Sub CA" });
  await rejects(verify(await leafWith(sub, [], "server.test"), sub, ca), NameConstraintViolation);
  // ...but a self-issued CA (a key rollover: same name as its issuer) is skipped.
  const rollover = await issueCertificate(ca, { isCa: true, commonName: "NC Dir CA" });
  const { path } = await verify(await leafWith(rollover, [], "server.test"), rollover, ca);
  equal(path.length, 4);
});

// --- Forms that are not processed -------------------------------------------------------------

Deno.test("critical constraints on URI names refuse a certificate with a URI name", async () => {
  const ca = await constrainedCa({ permitted: [gn.uri(".example.com"), gn.dns("server.test")] });
  const err = await verify(
    await leafWith(ca, [gn.dns("server.test"), gn.uri("https://www.example.com/")]),
    ca,
  )
    .catch((e) => e);
  ok(err instanceof UnsupportedNameConstraint, String(err));
  ok(err instanceof UnsupportedCertificate);
  equal(err.form, "uniformResourceIdentifier");
  equal(err.constrainingCa, "CN=NC Constrained CA,O=usernet");
  ok(err.message.includes("https://www.example.com/"), err.message);
  // Without a URI name the constraint has nothing to apply to.
  await verify(await leafWith(ca, [gn.dns("server.test")]), ca);
});

Deno.test("non-critical constraints on URI names are ignored for URI names", async () => {
  const ca = await constrainedCa({ permitted: [gn.uri(".example.com")] }, false);
  await verify(await leafWith(ca, [gn.uri("https://evil.test/")]), ca);
});

Deno.test("critical constraints on otherName refuse a certificate with an otherName", async () => {
  const ca = await constrainedCa({ excluded: [gn.upn("@example.com")] });
  const err = await verify(await leafWith(ca, [gn.dns("server.test"), gn.upn("a@example.com")]), ca)
    .catch((e) => e);
  ok(err instanceof UnsupportedNameConstraint, String(err));
  equal(err.form, "otherName");
  await verify(await leafWith(ca, [gn.dns("server.test")]), ca);
});

Deno.test("the nameConstraints extension records whether it is critical", async () => {
  const critical = parseCertificate((await constrainedCa({ permitted: [gn.dns("a.test")] })).der);
  equal(critical.nameConstraints?.critical, true);
  const plain = parseCertificate(
    (await constrainedCa({ permitted: [gn.dns("a.test")] }, false)).der,
  );
  equal(plain.nameConstraints?.critical, false);
});
