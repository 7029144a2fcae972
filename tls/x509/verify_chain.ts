/**
 * Server certificate verification: builds a path from the server's certificate to a trust
 * anchor and validates it (RFC 5280 §6, with the Web PKI's stricter rules on algorithms and
 * names).
 *
 * The end-entity certificate must come first (RFC 8446 §4.4.2); the others may arrive in
 * any order and may include certificates that belong to no path. Path building tries every
 * candidate issuer (depth-first, anchors and matching key identifiers first) so cross-signed
 * and reissued intermediates work, with a bounded amount of work.
 *
 * @module
 */

import { bytesEqual, toHex } from "../_bytes.ts";
import { type Certificate, KeyUsage, parseCertificate } from "./certificate.ts";
import {
  BadCertificateSignature,
  CertificateError,
  CertificateExpired,
  CertificateNotYetValid,
  CertificateUsageNotAllowed,
  HostnameMismatch,
  MalformedCertificate,
  NotACertificateAuthority,
  PathLengthExceeded,
  UnknownIssuer,
  UnsupportedCertificate,
  WeakAlgorithm,
} from "./errors.ts";
import { certificateMatchesName, formatIpAddress } from "./hostname.ts";
import { checkNameConstraints } from "./name_constraints.ts";
import { OID } from "./oid.ts";
import { verifySignature } from "./public_key.ts";
import type { TrustStore } from "./trust_store.ts";

/**
 * Smallest RSA modulus accepted anywhere in a chain.
 *
 * @example
 * ```ts
 * import { MIN_RSA_BITS } from "./verify_chain.ts";
 * console.log(MIN_RSA_BITS); // 2048
 * ```
 */
export const MIN_RSA_BITS = 2048;

/** Options for {@linkcode verifyServerChain}. */
export interface ChainVerifyOptions {
  /** The trust anchors. */
  trustStore: TrustStore;
  /** The DNS name or IP address connected to; omit to skip the name check. */
  serverName?: string;
  /** Verification time (default: now). */
  now?: Date;
  /** Longest path, counting the leaf and the anchor (default 10). */
  maxPathLength?: number;
}

/** A validated path. */
export interface VerifiedChain {
  /** The server's certificate. */
  leaf: Certificate;
  /** Leaf first, trust anchor last (a single element when the leaf itself is trusted). */
  path: Certificate[];
  /**
   * Every certificate the server sent, parsed, in the order sent (leaf first). Extras that
   * are not well-formed certificates are left out: no path can use them.
   */
  certificates: Certificate[];
}

/** Limit on signature checks while searching for a path (hostile chains cannot make us spin). */
const MAX_SIGNATURE_CHECKS = 64;

/**
 * Verifies a server's certificate list (DER, leaf first) against a trust store.
 * Throws a {@linkcode CertificateError} subclass naming what is wrong.
 *
 * @example
 * ```ts ignore
 * import { verifyServerChain } from "./verify_chain.ts";
 * import { TrustStore } from "./trust_store.ts";
 * const { leaf } = await verifyServerChain(certs, {
 *   trustStore: await TrustStore.system(),
 *   serverName: "example.com",
 * });
 * console.log(leaf.subject.text);
 * ```
 */
export async function verifyServerChain(
  certificates: Uint8Array[],
  options: ChainVerifyOptions,
): Promise<VerifiedChain> {
  if (!certificates.length) throw new MalformedCertificate("server sent no certificate");
  const now = options.now ?? new Date();
  const sent = parseSentCertificates(certificates);
  const [leaf, ...intermediates] = sent;

  checkUsable(leaf, now);
  checkLeafUsage(leaf);

  const search = new PathSearch(
    options.trustStore,
    intermediates,
    now,
    options.maxPathLength ?? 10,
  );
  const path = await search.find([leaf]);

  if (options.serverName !== undefined && !certificateMatchesName(leaf, options.serverName)) {
    const names = leaf.subjectAltNames.flatMap((n) =>
      n.kind === "dns" ? [n.value] : n.kind === "ip" ? [formatIpAddress(n.value)] : []
    );
    throw new HostnameMismatch(options.serverName, names, leaf.subject.text);
  }
  return { leaf, path, certificates: sent };
}

/**
 * Parses the certificate list a server sent, in its order: the leaf (first; throws when it
 * does not parse) and every extra that parses. Extras that cannot be parsed cannot be on a
 * path and are left out.
 *
 * @example
 * ```ts ignore
 * import { parseSentCertificates } from "./verify_chain.ts";
 * const [leaf, ...extras] = parseSentCertificates(certificateDers);
 * ```
 */
export function parseSentCertificates(certificates: Uint8Array[]): Certificate[] {
  const sent = [parseCertificate(certificates[0])];
  for (const der of certificates.slice(1)) {
    try {
      sent.push(parseCertificate(der));
    } catch {
      // Extra certificates that cannot be parsed cannot be on the path; ignore them.
    }
  }
  return sent;
}

/** Whether `cert` is self-issued: its subject and issuer are the same name (RFC 5280 §6.1). */
function isSelfIssued(cert: Certificate): boolean {
  return bytesEqual(cert.subject.der, cert.issuer.der);
}

class PathSearch {
  #checks = 0;
  constructor(
    readonly store: TrustStore,
    readonly intermediates: Certificate[],
    readonly now: Date,
    readonly maxLength: number,
  ) {}

  /** Extends `path` (whose last element still needs an issuer) to a trust anchor. */
  async find(path: Certificate[]): Promise<Certificate[]> {
    const cert = path[path.length - 1];
    if (this.store.has(cert)) return path;
    if (path.length >= this.maxLength) {
      throw new UnknownIssuer(cert.issuer.text, cert.subject.text);
    }
    const candidates = this.#candidates(cert, path);
    if (!candidates.length) throw new UnknownIssuer(cert.issuer.text, cert.subject.text);
    let firstError: unknown;
    for (const { issuer, anchor } of candidates) {
      try {
        this.#checkIssuer(issuer, path);
        await this.#checkSignature(cert, issuer);
        checkUsable(issuer, this.now);
        if (anchor) return [...path, issuer];
        return await this.find([...path, issuer]);
      } catch (e) {
        if (!(e instanceof CertificateError)) throw e;
        firstError ??= e;
      }
    }
    throw firstError;
  }

  #candidates(cert: Certificate, path: Certificate[]) {
    const seen = new Set(path.map((c) => toHex(c.der)));
    const out: { issuer: Certificate; anchor: boolean; score: number }[] = [];
    const score = (issuer: Certificate, anchor: boolean) =>
      (anchor ? 2 : 0) +
      (cert.authorityKeyId && issuer.subjectKeyId &&
          bytesEqual(cert.authorityKeyId, issuer.subjectKeyId)
        ? 1
        : 0);
    for (const issuer of this.store.issuersOf(cert)) {
      out.push({ issuer, anchor: true, score: score(issuer, true) });
      seen.add(toHex(issuer.der));
    }
    for (const issuer of this.intermediates) {
      const key = toHex(issuer.der);
      if (seen.has(key) || !bytesEqual(issuer.subject.der, cert.issuer.der)) continue;
      seen.add(key);
      out.push({ issuer, anchor: false, score: score(issuer, false) });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  /** CA status, pathLenConstraint, extended key usage and name constraints of an issuer. */
  #checkIssuer(issuer: Certificate, path: Certificate[]): void {
    const subject = issuer.subject.text;
    const bc = issuer.basicConstraints;
    // A v1 certificate (no extensions) can only be trusted as an anchor, where RFC 5280
    // §6.1 treats it as a CA; anything v3 must say cA = TRUE.
    if (!bc?.ca && !(issuer.version === 1 && this.store.has(issuer))) {
      throw new NotACertificateAuthority(
        subject,
        bc ? "basicConstraints cA is FALSE" : "no basicConstraints",
      );
    }
    if (issuer.keyUsage !== undefined && !(issuer.keyUsage & KeyUsage.keyCertSign)) {
      throw new NotACertificateAuthority(subject, "keyUsage lacks keyCertSign");
    }
    // Intermediate CAs between this issuer and the leaf (self-issued ones do not count).
    const below = path.slice(1).filter((c) => !isSelfIssued(c)).length;
    if (bc?.pathLength !== undefined && below > bc.pathLength) {
      throw new PathLengthExceeded(subject, bc.pathLength, below);
    }
    if (
      issuer.extKeyUsage &&
      !issuer.extKeyUsage.includes(OID.serverAuth) &&
      !issuer.extKeyUsage.includes(OID.anyExtendedKeyUsage)
    ) {
      throw new CertificateUsageNotAllowed(
        "issuing CA's extendedKeyUsage lacks serverAuth",
        subject,
      );
    }
    if (issuer.nameConstraints) {
      // RFC 5280 §6.1.3 (b): every certificate below, except self-issued ones that are not
      // the leaf (a CA's reissue or key rollover certificate).
      for (const [i, c] of path.entries()) {
        if (i > 0 && isSelfIssued(c)) continue;
        checkNameConstraints(c, issuer.nameConstraints, subject);
      }
    }
  }

  async #checkSignature(cert: Certificate, issuer: Certificate): Promise<void> {
    const alg = cert.signatureAlgorithm;
    const subject = cert.subject.text;
    if (alg.kind === "unsupported") {
      if (/MD5/.test(alg.algorithm)) throw new WeakAlgorithm(`${alg.algorithm} signature`, subject);
      throw new UnsupportedCertificate(`signature algorithm ${alg.algorithm}`, subject);
    }
    if (alg.kind !== "ed25519" && alg.hash === "SHA-1") {
      throw new WeakAlgorithm(`SHA-1 signature`, subject);
    }
    checkKeyStrength(issuer);
    if (++this.#checks > MAX_SIGNATURE_CHECKS) {
      throw new UnknownIssuer(cert.issuer.text, `${subject} (path search gave up)`);
    }
    if (!(await verifySignature(issuer.publicKey, alg, cert.tbs, cert.signature))) {
      throw new BadCertificateSignature(
        subject,
        `signature by "${issuer.subject.text}" does not verify`,
      );
    }
  }
}

/** Validity period, key strength and critical extensions of any certificate on the path. */
function checkUsable(cert: Certificate, now: Date): void {
  const subject = cert.subject.text;
  if (now < cert.notBefore) throw new CertificateNotYetValid(subject, cert.notBefore, now);
  if (now > cert.notAfter) throw new CertificateExpired(subject, cert.notAfter, now);
  if (cert.unknownCriticalExtensions.length) {
    throw new UnsupportedCertificate(
      `critical extension(s) ${cert.unknownCriticalExtensions.join(", ")}`,
      subject,
    );
  }
  checkKeyStrength(cert);
}

function checkKeyStrength(cert: Certificate): void {
  const key = cert.publicKey;
  if (key.kind === "unsupported") {
    throw new UnsupportedCertificate(`public key algorithm ${key.algorithm}`, cert.subject.text);
  }
  if (key.kind === "rsa" && key.bits < MIN_RSA_BITS) {
    throw new WeakAlgorithm(
      `RSA key of ${key.bits} bits (minimum ${MIN_RSA_BITS})`,
      cert.subject.text,
    );
  }
}

/** keyUsage and extendedKeyUsage of the server's own certificate (RFC 5280 §4.2.1.3, .12). */
function checkLeafUsage(leaf: Certificate): void {
  const subject = leaf.subject.text;
  if (leaf.keyUsage !== undefined && !(leaf.keyUsage & KeyUsage.digitalSignature)) {
    throw new CertificateUsageNotAllowed("keyUsage lacks digitalSignature", subject);
  }
  if (
    leaf.extKeyUsage &&
    !leaf.extKeyUsage.includes(OID.serverAuth) &&
    !leaf.extKeyUsage.includes(OID.anyExtendedKeyUsage)
  ) {
    throw new CertificateUsageNotAllowed("extendedKeyUsage lacks serverAuth", subject);
  }
}
