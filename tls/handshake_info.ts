/**
 * Facts about a completed handshake, for logs and verbose timelines.
 *
 * @module
 */

import type { CipherSuiteName } from "./cipher_suite.ts";
import type { NamedGroupName } from "./key_exchange.ts";
import type { Certificate } from "./x509/certificate.ts";

/** The server certificate, summarized. */
export interface PeerCertificateInfo {
  /** Subject distinguished name (RFC 4514 text). */
  subject: string;
  /** Issuer distinguished name. */
  issuer: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** subjectAltName DNS names and IP addresses. */
  altNames: string[];
  /** Public key, e.g. `ECDSA P-256` or `RSA 2048`. */
  publicKey: string;
  /** SHA-256 of the certificate DER, hex. */
  sha256Fingerprint: string;
  /** Number of certificates in the validated path, leaf and anchor included (0 if unverified). */
  pathLength: number;
}

/** One step of the handshake, with milliseconds since the handshake started. */
export interface HandshakeEvent {
  /** What happened, e.g. `ClientHello sent`, `ServerHello received`. */
  event: string;
  /** Milliseconds since the handshake started. */
  atMs: number;
}

/** Negotiated parameters and facts of a completed TLS handshake. */
export interface TlsHandshakeInfo {
  /** Always `TLSv1.3`. */
  protocol: "TLSv1.3";
  /** The negotiated cipher suite. */
  cipherSuite: CipherSuiteName;
  /** The key exchange group. */
  group: NamedGroupName;
  /** The ALPN protocol the server selected, if any. */
  alpnProtocol: string | undefined;
  /** Whether the session was resumed with a PSK (ticket). */
  resumed: boolean;
  /** Whether the server sent a HelloRetryRequest. */
  helloRetryRequest: boolean;
  /** The server's CertificateVerify signature scheme (undefined when resumed). */
  signatureScheme: string | undefined;
  /** The server name we sent (SNI) and verified. */
  serverName: string;
  /** The server's certificate (for resumed sessions: from the original handshake). */
  peerCertificate: PeerCertificateInfo | undefined;
  /**
   * The whole certificate list the server sent (RFC 8446 §4.4.2), in the order it sent it,
   * leaf first: each parsed, with its DER in `der`. Extras after the leaf that are not
   * well-formed certificates are left out (no path can use them). For resumed sessions:
   * those of the original handshake.
   */
  peerCertificates: readonly Certificate[];
  /** Whether the certificate chain was verified (false with `insecureSkipVerify`). */
  verified: boolean;
  /** Handshake duration in milliseconds, from ClientHello to client Finished. */
  durationMs: number;
  /** Timeline of handshake steps. */
  timeline: HandshakeEvent[];
}
