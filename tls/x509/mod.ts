/**
 * X.509 for usernet's TLS client: a strict DER reader, certificate parsing, chain building
 * and verification against a trust store (RFC 5280 with Web PKI rules), hostname matching
 * (RFC 6125), and a small certificate generator for tests and demos.
 *
 * @example Verify a chain against the system trust store
 * ```ts ignore
 * import { TrustStore, verifyServerChain } from "./mod.ts";
 * const { leaf, path } = await verifyServerChain(derCertificates, {
 *   trustStore: await TrustStore.system(),
 *   serverName: "example.com",
 * });
 * console.log(leaf.subject.text, path.length);
 * ```
 *
 * @example Make a CA and a server certificate for `Deno.listenTls`
 * ```ts
 * import { generateCertificateAuthority, issueCertificate } from "./mod.ts";
 * const ca = await generateCertificateAuthority({ commonName: "Local CA" });
 * const { certPem, keyPem } = await issueCertificate(ca, {
 *   dnsNames: ["localhost"],
 *   ipAddresses: ["127.0.0.1"],
 * });
 * console.log(certPem.length > 0 && keyPem.length > 0); // true
 * ```
 *
 * @module
 */

export {
  type Certificate,
  type DistinguishedName,
  type GeneralName,
  KeyUsage,
  type NameConstraints,
  parseCertificate,
} from "./certificate.ts";
export { DerError, DerReader } from "./der_reader.ts";
export {
  BadCertificateSignature,
  CertificateError,
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
  UnsupportedNameConstraint,
  WeakAlgorithm,
} from "./errors.ts";
export {
  type CertificateAuthorityOptions,
  generateCertificateAuthority,
  type GeneratedCertificate,
  type GeneratedKeyType,
  type GenerateOptions,
  issueCertificate,
  type IssueOptions,
} from "./generate.ts";
export { certificateMatchesName, dnsNameMatches, parseIpAddress } from "./hostname.ts";
export { decodePem, encodePem } from "./pem.ts";
export { type PublicKeyInfo, type SignatureAlgorithm, verifySignature } from "./public_key.ts";
export { SYSTEM_BUNDLE_PATH, TrustStore } from "./trust_store.ts";
export {
  type ChainVerifyOptions,
  MIN_RSA_BITS,
  type VerifiedChain,
  verifyServerChain,
} from "./verify_chain.ts";
