/**
 * Certificate verification errors. Each names one cause a user can act on: renew an expired
 * certificate, add the issuing CA to the trust store, fix the server name, and so on.
 *
 * @module
 */

/**
 * Base class of every certificate verification error. `subject` names the certificate
 * that failed (its distinguished name), when known.
 *
 * @example
 * ```ts
 * import { CertificateError, CertificateExpired } from "./errors.ts";
 * const e = new CertificateExpired("CN=example.com", new Date(0), new Date());
 * console.log(e instanceof CertificateError); // true
 * ```
 */
export class CertificateError extends Error {
  /** Distinguished name of the certificate the error is about, if known. */
  readonly subject: string | undefined;

  /** Creates the error. */
  constructor(message: string, subject?: string, options?: ErrorOptions) {
    super(subject ? `${message} [certificate ${subject}]` : message, options);
    this.name = "CertificateError";
    this.subject = subject;
  }
}

/**
 * The certificate could not be parsed, or breaks a structural rule of RFC 5280.
 *
 * @example
 * ```ts
 * import { MalformedCertificate } from "./errors.ts";
 * console.log(new MalformedCertificate("bad DER").name); // "MalformedCertificate"
 * ```
 */
export class MalformedCertificate extends CertificateError {
  /** Creates the error. */
  constructor(message: string, subject?: string, options?: ErrorOptions) {
    super(message, subject, options);
    this.name = "MalformedCertificate";
  }
}

/**
 * The certificate's notAfter is in the past.
 *
 * @example
 * ```ts
 * import { CertificateExpired } from "./errors.ts";
 * const e = new CertificateExpired("CN=a", new Date("2020-01-01"), new Date("2024-01-01"));
 * console.log(e.notAfter.toISOString());
 * ```
 */
export class CertificateExpired extends CertificateError {
  /** When the certificate expired. */
  readonly notAfter: Date;
  /** The verification time. */
  readonly now: Date;

  /** Creates the error. */
  constructor(subject: string, notAfter: Date, now: Date) {
    super(`certificate expired at ${notAfter.toISOString()} (now ${now.toISOString()})`, subject);
    this.name = "CertificateExpired";
    this.notAfter = notAfter;
    this.now = now;
  }
}

/**
 * The certificate's notBefore is in the future (or the local clock is wrong).
 *
 * @example
 * ```ts
 * import { CertificateNotYetValid } from "./errors.ts";
 * const e = new CertificateNotYetValid("CN=a", new Date("2099-01-01"), new Date());
 * console.log(e.notBefore.getUTCFullYear()); // 2099
 * ```
 */
export class CertificateNotYetValid extends CertificateError {
  /** When the certificate becomes valid. */
  readonly notBefore: Date;
  /** The verification time. */
  readonly now: Date;

  /** Creates the error. */
  constructor(subject: string, notBefore: Date, now: Date) {
    super(
      `certificate is not valid before ${notBefore.toISOString()} (now ${now.toISOString()})`,
      subject,
    );
    this.name = "CertificateNotYetValid";
    this.notBefore = notBefore;
    this.now = now;
  }
}

/**
 * The certificate is not valid for the name we connected to. `names` lists the names it
 * is valid for (subjectAltName DNS names and IP addresses).
 *
 * @example
 * ```ts
 * import { HostnameMismatch } from "./errors.ts";
 * const e = new HostnameMismatch("example.org", ["example.com"], "CN=example.com");
 * console.log(e.hostname, e.names); // example.org [ "example.com" ]
 * ```
 */
export class HostnameMismatch extends CertificateError {
  /** The name we connected to. */
  readonly hostname: string;
  /** The names the certificate is valid for. */
  readonly names: string[];

  /** Creates the error. */
  constructor(hostname: string, names: string[], subject?: string) {
    super(
      `certificate is not valid for "${hostname}"; it is valid for ${
        names.length ? names.join(", ") : "no DNS names or IP addresses"
      }`,
      subject,
    );
    this.name = "HostnameMismatch";
    this.hostname = hostname;
    this.names = names;
  }
}

/**
 * No trusted issuer was found for the chain: the server's CA is not in the trust store, or
 * the server did not send its intermediate certificates.
 *
 * @example
 * ```ts
 * import { UnknownIssuer } from "./errors.ts";
 * console.log(new UnknownIssuer("CN=Some CA", "CN=example.com").issuer); // "CN=Some CA"
 * ```
 */
export class UnknownIssuer extends CertificateError {
  /** Distinguished name of the issuer that could not be found. */
  readonly issuer: string;

  /** Creates the error. */
  constructor(issuer: string, subject?: string) {
    super(`no trusted certificate for issuer "${issuer}"`, subject);
    this.name = "UnknownIssuer";
    this.issuer = issuer;
  }
}

/**
 * A certificate's signature does not verify with its issuer's public key.
 *
 * @example
 * ```ts
 * import { BadCertificateSignature } from "./errors.ts";
 * console.log(new BadCertificateSignature("CN=a").name); // "BadCertificateSignature"
 * ```
 */
export class BadCertificateSignature extends CertificateError {
  /** Creates the error. */
  constructor(subject?: string, message = "certificate signature does not verify") {
    super(message, subject);
    this.name = "BadCertificateSignature";
  }
}

/**
 * A certificate used as an issuer is not a CA (no basicConstraints cA, or keyUsage without
 * keyCertSign).
 *
 * @example
 * ```ts
 * import { NotACertificateAuthority } from "./errors.ts";
 * console.log(new NotACertificateAuthority("CN=leaf", "no basicConstraints").name);
 * ```
 */
export class NotACertificateAuthority extends CertificateError {
  /** Creates the error. */
  constructor(subject: string, why: string) {
    super(`certificate is used as an issuer but is not a CA: ${why}`, subject);
    this.name = "NotACertificateAuthority";
  }
}

/**
 * The chain uses an algorithm or key too weak to trust: SHA-1 or MD5 signatures, RSA keys
 * below 2048 bits.
 *
 * @example
 * ```ts
 * import { WeakAlgorithm } from "./errors.ts";
 * console.log(new WeakAlgorithm("SHA-1 signature", "CN=a").message);
 * ```
 */
export class WeakAlgorithm extends CertificateError {
  /** Creates the error naming the weak algorithm. */
  constructor(what: string, subject?: string) {
    super(`refusing weak algorithm: ${what}`, subject);
    this.name = "WeakAlgorithm";
  }
}

/**
 * A CA's pathLenConstraint allows fewer intermediate CAs than the chain has.
 *
 * @example
 * ```ts
 * import { PathLengthExceeded } from "./errors.ts";
 * console.log(new PathLengthExceeded("CN=CA", 0, 1).message);
 * ```
 */
export class PathLengthExceeded extends CertificateError {
  /** Creates the error. */
  constructor(subject: string, allowed: number, actual: number) {
    super(`pathLenConstraint ${allowed} exceeded by ${actual} intermediate CA(s)`, subject);
    this.name = "PathLengthExceeded";
  }
}

/**
 * A name in the chain falls outside a CA's permitted subtrees or inside its excluded
 * subtrees (RFC 5280 §4.2.1.10).
 *
 * @example
 * ```ts
 * import { NameConstraintViolation } from "./errors.ts";
 * console.log(new NameConstraintViolation("evil.com", "CN=CA").name);
 * ```
 */
export class NameConstraintViolation extends CertificateError {
  /**
   * Creates the error naming the offending name, the constraining CA and, optionally, the
   * certificate that carries the name.
   */
  constructor(name: string, constrainingCa: string, subject?: string) {
    super(`name "${name}" violates the name constraints of ${constrainingCa}`, subject);
    this.name = "NameConstraintViolation";
  }
}

/**
 * The certificate's keyUsage or extendedKeyUsage does not allow TLS server authentication.
 *
 * @example
 * ```ts
 * import { CertificateUsageNotAllowed } from "./errors.ts";
 * console.log(new CertificateUsageNotAllowed("no serverAuth EKU", "CN=a").name);
 * ```
 */
export class CertificateUsageNotAllowed extends CertificateError {
  /** Creates the error. */
  constructor(why: string, subject?: string) {
    super(`certificate usage does not allow TLS server authentication: ${why}`, subject);
    this.name = "CertificateUsageNotAllowed";
  }
}

/**
 * The certificate uses a feature this verifier does not implement: an unknown critical
 * extension, an unsupported key type or signature algorithm.
 *
 * @example
 * ```ts
 * import { UnsupportedCertificate } from "./errors.ts";
 * console.log(new UnsupportedCertificate("critical extension 1.2.3", "CN=a").name);
 * ```
 */
export class UnsupportedCertificate extends CertificateError {
  /** Creates the error. */
  constructor(what: string, subject?: string) {
    super(`unsupported certificate feature: ${what}`, subject);
    this.name = "UnsupportedCertificate";
  }
}

/**
 * A CA's critical nameConstraints extension constrains a name form this verifier does not
 * process (URI, otherName, x400Address, ediPartyName, registeredID), and a certificate below
 * it carries a name of that form. RFC 5280 §4.2.1.10 then requires rejecting the certificate.
 *
 * @example
 * ```ts
 * import { UnsupportedCertificate, UnsupportedNameConstraint } from "./errors.ts";
 * const e = new UnsupportedNameConstraint("uniformResourceIdentifier", "https://a.test/", "CN=CA", "CN=a");
 * console.log(e instanceof UnsupportedCertificate, e.form); // true uniformResourceIdentifier
 * ```
 */
export class UnsupportedNameConstraint extends UnsupportedCertificate {
  /** The GeneralName form (RFC 5280 §4.2.1.6 field name), e.g. `uniformResourceIdentifier`. */
  readonly form: string;
  /** Distinguished name of the CA whose constraints could not be processed. */
  readonly constrainingCa: string;

  /** Creates the error naming the form, the certificate's name of that form and the CA. */
  constructor(form: string, name: string, constrainingCa: string, subject?: string) {
    super(
      `critical name constraints of ${constrainingCa} on ${form} names, which this verifier ` +
        `does not process, while the certificate has the ${form} name ${name}`,
      subject,
    );
    this.name = "UnsupportedNameConstraint";
    this.form = form;
    this.constrainingCa = constrainingCa;
  }
}
