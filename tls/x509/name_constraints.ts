/**
 * Name constraints (RFC 5280 §4.2.1.10, applied as in §6.1.3 (b)): dNSName, iPAddress,
 * rfc822Name and directoryName subtrees are processed. A critical nameConstraints extension
 * that constrains another form (uniformResourceIdentifier, otherName, x400Address,
 * ediPartyName, registeredID) rejects any certificate below it that carries a name of that
 * form, as §4.2.1.10 requires; a non-critical one is ignored for those forms.
 *
 * The names of a certificate are its subjectAltName entries, its subject (a directoryName,
 * when not empty) and the emailAddress attributes of its subject (rfc822Names: §4.2.1.10
 * requires this for certificates without subjectAltName; like OpenSSL, it is done always).
 *
 * @module
 */

import {
  type Certificate,
  type GeneralName,
  type NameConstraints,
  readRdns,
} from "./certificate.ts";
import { DerError, DerReader } from "./der_reader.ts";
import {
  MalformedCertificate,
  NameConstraintViolation,
  UnsupportedNameConstraint,
} from "./errors.ts";
import { formatIpAddress } from "./hostname.ts";
import { ATTRIBUTE_NAMES, OID } from "./oid.ts";

/**
 * Whether DNS name `name` is within the subtree `constraint` (`example.com` covers itself and
 * its subdomains; `.example.com` only subdomains).
 *
 * @example
 * ```ts
 * import { dnsWithinSubtree } from "./name_constraints.ts";
 * console.log(dnsWithinSubtree("www.example.com", "example.com")); // true
 * console.log(dnsWithinSubtree("badexample.com", "example.com")); // false
 * ```
 */
export function dnsWithinSubtree(name: string, constraint: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, "");
  const c = constraint.toLowerCase().replace(/\.$/, "");
  if (c === "") return true;
  if (c.startsWith(".")) return n.endsWith(c);
  return n === c || n.endsWith("." + c);
}

/**
 * Whether IP address `ip` is within `constraint` (address followed by mask, 8 or 32 bytes).
 *
 * @example
 * ```ts
 * import { ipWithinSubtree } from "./name_constraints.ts";
 * const net = new Uint8Array([10, 0, 0, 0, 255, 0, 0, 0]);
 * console.log(ipWithinSubtree(new Uint8Array([10, 1, 2, 3]), net)); // true
 * ```
 */
export function ipWithinSubtree(ip: Uint8Array, constraint: Uint8Array): boolean {
  if (constraint.length !== 2 * ip.length) return false;
  for (let i = 0; i < ip.length; i++) {
    const mask = constraint[ip.length + i];
    if ((ip[i] & mask) !== (constraint[i] & mask)) return false;
  }
  return true;
}

/**
 * Whether `email` is a mailbox (`local@host`, both parts non-empty) that name constraints
 * can be applied to.
 *
 * @example
 * ```ts
 * import { isMailbox } from "./name_constraints.ts";
 * console.log(isMailbox("root@example.com"), isMailbox("example.com")); // true false
 * ```
 */
export function isMailbox(email: string): boolean {
  const at = email.lastIndexOf("@");
  return at > 0 && at < email.length - 1;
}

/**
 * Whether the Internet mail address `email` is within the rfc822Name subtree `constraint`
 * (RFC 5280 §4.2.1.10): a whole address (`root@example.com`) names one mailbox, a host
 * (`example.com`) every mailbox on that host, and a leading period (`.example.com`) every
 * mailbox on hosts in that domain but not on the host itself. The local part is compared
 * exactly, host names without regard to case (RFC 5280 §7.5).
 *
 * @example
 * ```ts
 * import { emailWithinSubtree } from "./name_constraints.ts";
 * console.log(emailWithinSubtree("root@mail.example.com", ".example.com")); // true
 * console.log(emailWithinSubtree("root@example.com", ".example.com")); // false
 * console.log(emailWithinSubtree("Root@EXAMPLE.com", "root@example.com")); // false (local part)
 * ```
 */
export function emailWithinSubtree(email: string, constraint: string): boolean {
  if (!isMailbox(email)) return false;
  const at = email.lastIndexOf("@");
  const local = email.slice(0, at);
  const host = normalizeHost(email.slice(at + 1));
  if (constraint === "") return true;
  const cAt = constraint.lastIndexOf("@");
  if (cAt >= 0) {
    return local === constraint.slice(0, cAt) && host === normalizeHost(constraint.slice(cAt + 1));
  }
  const c = normalizeHost(constraint);
  if (c.startsWith(".")) return host.length > c.length && host.endsWith(c);
  return host === c;
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

/** One attribute of a distinguished name: its type and value as text and compared. */
interface NameAttribute {
  type: string;
  text: string;
  /** Compared form: type and value after RFC 4518-style case and space folding. */
  key: string;
}

/**
 * The RDNs of a Name (DER), first RDN first. Each RDN's attributes are sorted by their
 * compared form, so multi-valued RDNs compare as sets (X.501 §9.3).
 */
function nameRdns(nameDer: Uint8Array): NameAttribute[][] {
  try {
    const outer = new DerReader(nameDer);
    const seq = outer.sequence("Name");
    outer.end("Name");
    return readRdns(seq).map((rdn) =>
      rdn.map(({ type, text }): NameAttribute => ({
        type,
        text,
        key: `${type}=${foldAttributeValue(text)}`,
      })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    );
  } catch (e) {
    if (e instanceof DerError) {
      throw new MalformedCertificate(`malformed directoryName: ${e.message}`, undefined, {
        cause: e,
      });
    }
    throw e;
  }
}

/**
 * Case and space folding of attribute values for comparison (RFC 5280 §7.1 with the
 * caseIgnoreMatch preparation of RFC 4518 §2: compatibility normalization, case folding,
 * leading and trailing space removed, inner runs of space reduced to one).
 */
function foldAttributeValue(text: string): string {
  return text.normalize("NFKC").toLowerCase().trim().replace(/\s+/g, " ");
}

function rdnsText(rdns: NameAttribute[][]): string {
  return rdns.map((rdn) =>
    rdn.map((a) => `${ATTRIBUTE_NAMES[a.type] ?? a.type}=${a.text}`).join("+")
  )
    .reverse().join(",");
}

/**
 * Whether the distinguished name `name` is within the directoryName subtree `constraint`
 * (both the DER of a Name): the constraint's RDNs must begin the name's RDNs (RFC 5280
 * §4.2.1.10), attribute values compared without regard to case, string type or extra space
 * (RFC 5280 §7.1).
 *
 * @example
 * ```ts
 * import { directoryNameWithinSubtree } from "./name_constraints.ts";
 * import { derOid, derSequence, derSet, derUtf8String } from "./der_writer.ts";
 * const rdn = (oid: string, v: string) => derSet(derSequence(derOid(oid), derUtf8String(v)));
 * const org = derSequence(rdn("2.5.4.10", "Example"));
 * const host = derSequence(rdn("2.5.4.10", "EXAMPLE"), rdn("2.5.4.3", "www.example.com"));
 * console.log(directoryNameWithinSubtree(host, org)); // true: O=Example begins the name
 * ```
 */
export function directoryNameWithinSubtree(name: Uint8Array, constraint: Uint8Array): boolean {
  return rdnsWithin(nameRdns(name), nameRdns(constraint));
}

function rdnsWithin(name: NameAttribute[][], constraint: NameAttribute[][]): boolean {
  if (constraint.length > name.length) return false;
  return constraint.every((rdn, i) =>
    rdn.length === name[i].length && rdn.every((a, j) => a.key === name[i][j].key)
  );
}

/** The RFC 5280 §4.2.1.6 field names of the GeneralName forms. */
const FORM_NAMES: Record<number, string> = {
  0: "otherName",
  1: "rfc822Name",
  2: "dNSName",
  3: "x400Address",
  4: "directoryName",
  5: "ediPartyName",
  6: "uniformResourceIdentifier",
  7: "iPAddress",
  8: "registeredID",
};

/** The form of a GeneralName, as its context tag number. */
function formOf(name: GeneralName): number {
  switch (name.kind) {
    case "email":
      return 1;
    case "dns":
      return 2;
    case "directory":
      return 4;
    case "uri":
      return 6;
    case "ip":
      return 7;
    case "other":
      return name.tag & 0x1f;
  }
}

function describe(name: GeneralName): string {
  switch (name.kind) {
    case "dns":
    case "email":
    case "uri":
      return name.value;
    case "ip":
      return formatIpAddress(name.value);
    case "directory":
      return rdnsText(nameRdns(name.value));
    case "other":
      return `[${FORM_NAMES[name.tag & 0x1f] ?? `tag ${name.tag & 0x1f}`}]`;
  }
}

function within(name: GeneralName, subtree: GeneralName): boolean {
  switch (name.kind) {
    case "dns":
      return subtree.kind === "dns" && dnsWithinSubtree(name.value, subtree.value);
    case "ip":
      return subtree.kind === "ip" && ipWithinSubtree(name.value, subtree.value);
    case "email":
      return subtree.kind === "email" && emailWithinSubtree(name.value, subtree.value);
    case "directory":
      return subtree.kind === "directory" &&
        directoryNameWithinSubtree(name.value, subtree.value);
    default:
      return false;
  }
}

/** The names of `cert` that constraints apply to (RFC 5280 §4.2.1.10, §6.1.3 (b)). */
function constrainedNames(cert: Certificate): GeneralName[] {
  const names = [...cert.subjectAltNames];
  const subject = nameRdns(cert.subject.der);
  if (subject.length) {
    names.push({ kind: "directory", value: cert.subject.der });
    for (const rdn of subject) {
      for (const a of rdn) {
        if (a.type === OID.emailAddress) names.push({ kind: "email", value: a.text });
      }
    }
  }
  return names;
}

/**
 * Checks the names of `cert` against `constraints` from CA `constrainingCa` (RFC 5280
 * §4.2.1.10). Throws {@linkcode NameConstraintViolation} on the first name outside the
 * permitted subtrees of its form or inside an excluded one, and
 * {@linkcode UnsupportedNameConstraint} when the extension is critical and constrains a form
 * this verifier does not process that `cert` has a name of.
 *
 * @example
 * ```ts ignore
 * import { checkNameConstraints } from "./name_constraints.ts";
 * checkNameConstraints(leaf, ca.nameConstraints!, ca.subject.text);
 * ```
 */
export function checkNameConstraints(
  cert: Certificate,
  constraints: NameConstraints,
  constrainingCa: string,
): void {
  for (const name of constrainedNames(cert)) {
    const form = formOf(name);
    const sameForm = (s: GeneralName) => formOf(s) === form;
    const excluded = constraints.excluded.filter(sameForm);
    const permitted = (constraints.permitted ?? []).filter(sameForm);
    if (!excluded.length && !permitted.length) continue;
    if (name.kind === "uri" || name.kind === "other") {
      if (!constraints.critical) continue;
      const formName = FORM_NAMES[form] ?? `GeneralName [${form}]`;
      throw new UnsupportedNameConstraint(
        formName,
        describe(name),
        constrainingCa,
        cert.subject.text,
      );
    }
    // An address that is not a mailbox cannot be placed in or out of a subtree.
    const malformed = name.kind === "email" && !isMailbox(name.value);
    if (
      malformed ||
      excluded.some((s) => within(name, s)) ||
      (permitted.length && !permitted.some((s) => within(name, s)))
    ) {
      throw new NameConstraintViolation(describe(name), constrainingCa, cert.subject.text);
    }
  }
}
