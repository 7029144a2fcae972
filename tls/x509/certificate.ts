/**
 * X.509 v3 certificate parsing (RFC 5280 §4): the fields and extensions path validation and
 * hostname matching need, read strictly from DER.
 *
 * @module
 */

import { bytesEqual, toHex } from "../_bytes.ts";
import { contextTag, type DerElement, DerError, DerReader, Tag } from "./der_reader.ts";
import { MalformedCertificate } from "./errors.ts";
import { ATTRIBUTE_NAMES, OID } from "./oid.ts";
import {
  type HashName,
  parsePublicKeyInfo,
  type PublicKeyInfo,
  type SignatureAlgorithm,
} from "./public_key.ts";

/** A distinguished name: its DER encoding (for exact comparison) and RFC 4514 text. */
export interface DistinguishedName {
  /** The Name's DER encoding. */
  der: Uint8Array;
  /** RFC 4514 text, e.g. `CN=example.com,O=Example`. */
  text: string;
  /** The commonName attribute values (informational only: never used for hostnames). */
  commonNames: string[];
}

/** A GeneralName from subjectAltName or nameConstraints (the kinds this library uses). */
export type GeneralName =
  | { kind: "dns"; value: string }
  | { kind: "ip"; value: Uint8Array }
  | { kind: "email"; value: string }
  | { kind: "uri"; value: string }
  | { kind: "directory"; value: Uint8Array }
  | { kind: "other"; tag: number };

/**
 * A nameConstraints extension (RFC 5280 §4.2.1.10): the base of each GeneralSubtree (minimum
 * and maximum are unused in the RFC 5280 profile).
 */
export interface NameConstraints {
  /** Permitted subtrees, if the extension lists any. */
  permitted: GeneralName[] | undefined;
  /** Excluded subtrees. */
  excluded: GeneralName[];
  /**
   * Whether the extension is marked critical. A critical extension constraining a name form
   * this verifier does not process rejects certificates that carry a name of that form.
   */
  critical: boolean;
}

/**
 * keyUsage bits (RFC 5280 §4.2.1.3).
 *
 * @example
 * ```ts ignore
 * import { KeyUsage } from "./certificate.ts";
 * if (cert.keyUsage !== undefined && !(cert.keyUsage & KeyUsage.keyCertSign)) console.log("not a CA key");
 * ```
 */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

/** A parsed X.509 certificate. Byte fields are views into `der`. */
export interface Certificate {
  /** The whole certificate. */
  der: Uint8Array;
  /** The TBSCertificate encoding (what the issuer signed). */
  tbs: Uint8Array;
  /** 1, 2 or 3. */
  version: number;
  /** Serial number bytes. */
  serialNumber: Uint8Array;
  /** The outer signature algorithm. */
  signatureAlgorithm: SignatureAlgorithm;
  /** The signature bytes. */
  signature: Uint8Array;
  /** Issuer name. */
  issuer: DistinguishedName;
  /** Subject name. */
  subject: DistinguishedName;
  /** Start of the validity period. */
  notBefore: Date;
  /** End of the validity period. */
  notAfter: Date;
  /** The subject public key. */
  publicKey: PublicKeyInfo;
  /** basicConstraints, if present. */
  basicConstraints: { ca: boolean; pathLength: number | undefined } | undefined;
  /** keyUsage bits ({@linkcode KeyUsage}), if present. */
  keyUsage: number | undefined;
  /** extendedKeyUsage OIDs, if present. */
  extKeyUsage: string[] | undefined;
  /** subjectAltName entries (empty if the extension is absent). */
  subjectAltNames: GeneralName[];
  /** nameConstraints, if present. */
  nameConstraints: NameConstraints | undefined;
  /** subjectKeyIdentifier, if present. */
  subjectKeyId: Uint8Array | undefined;
  /** authorityKeyIdentifier keyIdentifier, if present. */
  authorityKeyId: Uint8Array | undefined;
  /** OIDs of critical extensions this parser does not understand. */
  unknownCriticalExtensions: string[];
}

const HANDLED_EXTENSIONS = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.nameConstraints,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  // Policies are not processed (no policy OIDs are required by callers), which RFC 5280
  // §6.1 allows for a relying party with initial-any-policy.
  OID.certificatePolicies,
  OID.policyConstraints,
  OID.policyMappings,
  OID.inhibitAnyPolicy,
]);

/**
 * Parses a DER certificate. Throws {@linkcode MalformedCertificate} (with the DER error as
 * `cause`) for anything that is not a well-formed X.509 certificate.
 *
 * @example
 * ```ts ignore
 * import { parseCertificate } from "./certificate.ts";
 * const cert = parseCertificate(der);
 * console.log(cert.subject.text, cert.notAfter);
 * ```
 */
export function parseCertificate(der: Uint8Array): Certificate {
  try {
    return parse(der);
  } catch (e) {
    if (e instanceof MalformedCertificate) throw e;
    if (e instanceof DerError) {
      throw new MalformedCertificate(`malformed certificate: ${e.message}`, undefined, {
        cause: e,
      });
    }
    throw e;
  }
}

function parse(der: Uint8Array): Certificate {
  const outer = new DerReader(der);
  const certSeq = outer.sequence("Certificate");
  outer.end("Certificate");
  const tbsElement = certSeq.expect(Tag.SEQUENCE, "TBSCertificate");
  const outerAlg = certSeq.expect(Tag.SEQUENCE, "signatureAlgorithm");
  const { bytes: signature, unusedBits } = certSeq.bitString("signatureValue");
  certSeq.end("Certificate");
  if (unusedBits) throw new MalformedCertificate("signature with unused bits");

  const tbs = DerReader.of(tbsElement);
  let version = 1;
  const versionElement = tbs.optional(contextTag(0, true));
  if (versionElement) {
    const v = DerReader.of(versionElement);
    version = v.smallInteger("version") + 1;
    v.end("version");
    if (version === 1) throw new MalformedCertificate("explicit default version v1 is not DER");
    if (version > 3) throw new MalformedCertificate(`unknown certificate version ${version}`);
  }
  const serialNumber = tbs.integer("serialNumber");
  const innerAlg = tbs.expect(Tag.SEQUENCE, "signature");
  if (!bytesEqual(innerAlg.raw, outerAlg.raw)) {
    throw new MalformedCertificate("signature algorithm differs inside and outside TBS");
  }
  const issuer = parseName(tbs.expect(Tag.SEQUENCE, "issuer"));
  const validity = tbs.sequence("validity");
  const notBefore = validity.time("notBefore");
  const notAfter = validity.time("notAfter");
  validity.end("validity");
  const subject = parseName(tbs.expect(Tag.SEQUENCE, "subject"));
  const publicKey = parsePublicKeyInfo(tbs.expect(Tag.SEQUENCE, "subjectPublicKeyInfo").raw);
  tbs.optional(contextTag(1, false)); // issuerUniqueID
  tbs.optional(contextTag(2, false)); // subjectUniqueID

  const cert: Certificate = {
    der,
    tbs: tbsElement.raw,
    version,
    serialNumber,
    signatureAlgorithm: parseSignatureAlgorithm(outerAlg),
    signature,
    issuer,
    subject,
    notBefore,
    notAfter,
    publicKey,
    basicConstraints: undefined,
    keyUsage: undefined,
    extKeyUsage: undefined,
    subjectAltNames: [],
    nameConstraints: undefined,
    subjectKeyId: undefined,
    authorityKeyId: undefined,
    unknownCriticalExtensions: [],
  };

  const extsElement = tbs.optional(contextTag(3, true));
  tbs.end("TBSCertificate");
  if (extsElement) {
    if (version !== 3) throw new MalformedCertificate("extensions in a non-v3 certificate");
    const wrapper = DerReader.of(extsElement);
    const exts = wrapper.sequence("Extensions");
    wrapper.end("Extensions");
    if (exts.done) throw new MalformedCertificate("empty Extensions");
    const seen = new Set<string>();
    while (!exts.done) {
      const ext = exts.sequence("Extension");
      const oid = ext.oid("extnID");
      // DER forbids encoding the DEFAULT FALSE, but some issuers do; accept it.
      const critical = ext.peekTag() === Tag.BOOLEAN ? ext.boolean("critical") : false;
      const value = ext.octetString("extnValue");
      ext.end("Extension");
      if (seen.has(oid)) throw new MalformedCertificate(`duplicate extension ${oid}`);
      seen.add(oid);
      parseExtension(cert, oid, value, critical);
      if (critical && !HANDLED_EXTENSIONS.has(oid)) cert.unknownCriticalExtensions.push(oid);
    }
  }
  return cert;
}

function parseExtension(
  cert: Certificate,
  oid: string,
  value: Uint8Array,
  critical: boolean,
): void {
  const r = new DerReader(value);
  switch (oid) {
    case OID.basicConstraints: {
      const seq = r.sequence("BasicConstraints");
      const ca = seq.peekTag() === Tag.BOOLEAN ? seq.boolean("cA") : false;
      const pathLength = seq.done ? undefined : seq.smallInteger("pathLenConstraint");
      seq.end("BasicConstraints");
      cert.basicConstraints = { ca, pathLength };
      break;
    }
    case OID.keyUsage: {
      const { bytes } = r.bitString("KeyUsage");
      let bits = 0;
      for (let i = 0; i < Math.min(bytes.length * 8, 9); i++) {
        if (bytes[i >> 3] & (0x80 >> (i & 7))) bits |= 1 << i;
      }
      cert.keyUsage = bits;
      break;
    }
    case OID.extKeyUsage: {
      const seq = r.sequence("ExtKeyUsageSyntax");
      const oids: string[] = [];
      while (!seq.done) oids.push(seq.oid("KeyPurposeId"));
      if (!oids.length) throw new MalformedCertificate("empty extendedKeyUsage");
      cert.extKeyUsage = oids;
      break;
    }
    case OID.subjectAltName: {
      const seq = r.sequence("SubjectAltName");
      while (!seq.done) cert.subjectAltNames.push(parseGeneralName(seq.read()));
      if (!cert.subjectAltNames.length) throw new MalformedCertificate("empty subjectAltName");
      break;
    }
    case OID.nameConstraints: {
      const seq = r.sequence("NameConstraints");
      const subtrees = (tag: number) => {
        const e = seq.optional(tag);
        if (!e) return undefined;
        const list = DerReader.of(e);
        const names: GeneralName[] = [];
        while (!list.done) {
          const sub = list.sequence("GeneralSubtree");
          names.push(parseGeneralName(sub.read()));
          // minimum/maximum are unused in the RFC 5280 profile; skip them.
          while (!sub.done) sub.read();
        }
        return names;
      };
      const permitted = subtrees(contextTag(0, true));
      const excluded = subtrees(contextTag(1, true)) ?? [];
      seq.end("NameConstraints");
      cert.nameConstraints = { permitted, excluded, critical };
      break;
    }
    case OID.subjectKeyIdentifier:
      cert.subjectKeyId = r.octetString("SubjectKeyIdentifier");
      break;
    case OID.authorityKeyIdentifier: {
      const seq = r.sequence("AuthorityKeyIdentifier");
      const keyId = seq.optional(contextTag(0, false));
      cert.authorityKeyId = keyId?.value;
      while (!seq.done) seq.read();
      break;
    }
    default:
      return;
  }
  r.end(`extension ${oid}`);
}

/** Parses one GeneralName (RFC 5280 §4.2.1.6). */
export function parseGeneralName(e: DerElement): GeneralName {
  const ascii = () => {
    for (const b of e.value) {
      if (b > 0x7e || b < 0x20) throw new MalformedCertificate("non-printable IA5String name");
    }
    return String.fromCharCode(...e.value);
  };
  switch (e.tag) {
    case contextTag(1, false):
      return { kind: "email", value: ascii() };
    case contextTag(2, false):
      return { kind: "dns", value: ascii() };
    case contextTag(6, false):
      return { kind: "uri", value: ascii() };
    case contextTag(7, false):
      return { kind: "ip", value: e.value };
    case contextTag(4, true):
      return { kind: "directory", value: e.value };
    default:
      return { kind: "other", tag: e.tag };
  }
}

/** Parses a Name into its DER and RFC 4514 text. */
function parseName(e: DerElement): DistinguishedName {
  const rdns: string[] = [];
  const commonNames: string[] = [];
  for (const rdn of readRdns(DerReader.of(e))) {
    const parts: string[] = [];
    for (const { type, text } of rdn) {
      if (type === OID.commonName) commonNames.push(text);
      parts.push(`${ATTRIBUTE_NAMES[type] ?? type}=${escapeRdnValue(text)}`);
    }
    rdns.push(parts.join("+"));
  }
  return { der: e.raw, text: rdns.reverse().join(","), commonNames };
}

/**
 * The RelativeDistinguishedNames of a Name, first RDN first, read from `seq` (the contents
 * of the Name's SEQUENCE): each attribute's type OID and its value as text
 * ({@linkcode attributeValueText}). An empty RDN is a {@linkcode MalformedCertificate}.
 *
 * @example
 * ```ts
 * import { readRdns } from "./certificate.ts";
 * import { DerReader } from "./der_reader.ts";
 * import { derOid, derSequence, derSet, derUtf8String } from "./der_writer.ts";
 * const name = derSequence(derSet(derSequence(derOid("2.5.4.3"), derUtf8String("a"))));
 * console.log(readRdns(new DerReader(name).sequence("Name"))); // [[{ type: "2.5.4.3", text: "a" }]]
 * ```
 */
export function readRdns(seq: DerReader): { type: string; text: string }[][] {
  const rdns: { type: string; text: string }[][] = [];
  while (!seq.done) {
    const set = DerReader.of(seq.expect(Tag.SET, "RelativeDistinguishedName"));
    if (set.done) throw new MalformedCertificate("empty RelativeDistinguishedName");
    const rdn: { type: string; text: string }[] = [];
    while (!set.done) {
      const atv = set.sequence("AttributeTypeAndValue");
      const type = atv.oid("type");
      const value = atv.read();
      atv.end("AttributeTypeAndValue");
      rdn.push({ type, text: attributeValueText(value) });
    }
    rdns.push(rdn);
  }
  return rdns;
}

/**
 * The text of a distinguished-name attribute value: the decoded string for the directory
 * string types (RFC 5280 §4.1.2.4), or `#` and the hex of the whole encoding otherwise
 * (RFC 4514 §2.4).
 *
 * @example
 * ```ts
 * import { attributeValueText } from "./certificate.ts";
 * import { DerReader } from "./der_reader.ts";
 * const e = new DerReader(new Uint8Array([0x13, 0x02, 0x55, 0x53])).read(); // PrintableString
 * console.log(attributeValueText(e)); // "US"
 * ```
 */
export function attributeValueText(e: DerElement): string {
  const v = e.value;
  switch (e.tag) {
    case Tag.UTF8String:
      return new TextDecoder("utf-8", { fatal: false }).decode(v);
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.TeletexString: {
      // In chunks: spreading a long value into one call overflows the argument limit.
      let s = "";
      for (let i = 0; i < v.length; i += 4096) {
        s += String.fromCharCode(...v.subarray(i, i + 4096));
      }
      return s;
    }
    case Tag.BMPString: {
      let s = "";
      for (let i = 0; i + 1 < v.length; i += 2) s += String.fromCharCode((v[i] << 8) | v[i + 1]);
      return s;
    }
    case Tag.UniversalString: {
      let s = "";
      for (let i = 0; i + 3 < v.length; i += 4) {
        const c = ((v[i] << 24) | (v[i + 1] << 16) | (v[i + 2] << 8) | v[i + 3]) >>> 0;
        // Not a Unicode scalar value: keep the value as hex, as for types we do not decode.
        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return `#${toHex(e.raw)}`;
        s += String.fromCodePoint(c);
      }
      return s;
    }
    default:
      return `#${toHex(e.raw)}`;
  }
}

function escapeRdnValue(s: string): string {
  return s.replace(/([,+"\\<>;])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ");
}

const HASHES: Record<string, HashName> = {
  [OID.sha1]: "SHA-1",
  [OID.sha256]: "SHA-256",
  [OID.sha384]: "SHA-384",
  [OID.sha512]: "SHA-512",
};

/** Maps an AlgorithmIdentifier for a signature to a {@linkcode SignatureAlgorithm}. */
export function parseSignatureAlgorithm(e: DerElement): SignatureAlgorithm {
  const r = DerReader.of(e);
  const oid = r.oid("algorithm");
  const params = r.done ? undefined : r.read();
  r.end("AlgorithmIdentifier");
  const noParams = (nullAllowed: boolean) => {
    if (!params) return;
    if (nullAllowed && params.tag === Tag.NULL && params.value.length === 0) return;
    throw new MalformedCertificate(`unexpected parameters for signature algorithm ${oid}`);
  };
  switch (oid) {
    case OID.sha256WithRsa:
      noParams(true);
      return { kind: "rsa-pkcs1", hash: "SHA-256" };
    case OID.sha384WithRsa:
      noParams(true);
      return { kind: "rsa-pkcs1", hash: "SHA-384" };
    case OID.sha512WithRsa:
      noParams(true);
      return { kind: "rsa-pkcs1", hash: "SHA-512" };
    case OID.sha1WithRsa:
      noParams(true);
      return { kind: "rsa-pkcs1", hash: "SHA-1" };
    case OID.ecdsaWithSha256:
      noParams(false);
      return { kind: "ecdsa", hash: "SHA-256" };
    case OID.ecdsaWithSha384:
      noParams(false);
      return { kind: "ecdsa", hash: "SHA-384" };
    case OID.ecdsaWithSha512:
      noParams(false);
      return { kind: "ecdsa", hash: "SHA-512" };
    case OID.ecdsaWithSha1:
      noParams(false);
      return { kind: "ecdsa", hash: "SHA-1" };
    case OID.ed25519:
      noParams(false);
      return { kind: "ed25519" };
    case OID.rsassaPss:
      return parsePssParams(params);
    case OID.md5WithRsa:
      return { kind: "unsupported", algorithm: "MD5 with RSA" };
    default:
      return { kind: "unsupported", algorithm: oid };
  }
}

/** RSASSA-PSS-params (RFC 4055 §3.1), all fields with their SHA-1 defaults. */
function parsePssParams(params: DerElement | undefined): SignatureAlgorithm {
  if (!params || params.tag !== Tag.SEQUENCE) {
    throw new MalformedCertificate("RSASSA-PSS without parameters");
  }
  const r = DerReader.of(params);
  let hash: HashName = "SHA-1";
  let mgfHash: HashName = "SHA-1";
  let saltLength = 20;
  const hashAlg = (outer: DerReader): HashName => {
    const a = outer.sequence("HashAlgorithm");
    const oid = a.oid("hash");
    if (!a.done) a.null("hash parameters");
    a.end("HashAlgorithm");
    outer.end("HashAlgorithm");
    const h = HASHES[oid];
    if (!h) throw new MalformedCertificate(`unknown PSS hash ${oid}`);
    return h;
  };
  const h = r.optional(contextTag(0, true));
  if (h) hash = hashAlg(DerReader.of(h));
  const mgf = r.optional(contextTag(1, true));
  if (mgf) {
    const m = DerReader.of(mgf).sequence("MaskGenAlgorithm");
    if (m.oid("mgf") !== OID.mgf1) throw new MalformedCertificate("PSS with a non-MGF1 mask");
    mgfHash = hashAlg(m);
  }
  const salt = r.optional(contextTag(2, true));
  if (salt) {
    const s = DerReader.of(salt);
    saltLength = s.smallInteger("saltLength");
    s.end("saltLength");
  }
  const trailer = r.optional(contextTag(3, true));
  if (trailer) {
    const t = DerReader.of(trailer);
    if (t.smallInteger("trailerField") !== 1) throw new MalformedCertificate("PSS trailer != 1");
  }
  r.end("RSASSA-PSS-params");
  if (mgfHash !== hash) throw new MalformedCertificate("PSS with different MGF1 and message hash");
  return { kind: "rsa-pss", hash, saltLength };
}
