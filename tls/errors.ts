/**
 * Error classes thrown by the TLS client. Each carries the alert that was sent to
 * (or received from) the peer, so a caller can tell "the server refused us" from
 * "we refused the server" and react to the specific cause.
 *
 * Certificate problems are reported with the X.509 error classes from
 * `./x509/errors.ts` (`CertificateExpired`, `HostnameMismatch`, ...).
 *
 * @module
 */

import { AlertDescription, alertName } from "./alert.ts";

/**
 * Base class of every TLS protocol error.
 *
 * @example
 * ```ts
 * import { TlsError } from "./errors.ts";
 * try {
 *   throw new TlsError("example", 80);
 * } catch (e) {
 *   if (e instanceof TlsError) console.log(e.alert); // 80
 * }
 * ```
 */
export class TlsError extends Error {
  /** The alert code associated with this error (sent or received), if any. */
  readonly alert: number | undefined;

  /** Creates the error with a message and an optional alert code. */
  constructor(message: string, alert?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsError";
    this.alert = alert;
  }
}

/**
 * The peer sent a fatal alert; `alert` is its code and `alertName` its name.
 *
 * @example
 * ```ts
 * import { TlsAlertReceived } from "./errors.ts";
 * const e = new TlsAlertReceived(40);
 * console.log(e.alertName, e.message); // handshake_failure ...
 * ```
 */
export class TlsAlertReceived extends TlsError {
  /** Name of the alert the peer sent, e.g. `handshake_failure`. */
  readonly alertName: string;

  /** Creates the error for alert `code`. */
  constructor(code: number) {
    super(`peer sent fatal alert ${alertName(code)} (${code})`, code);
    this.name = "TlsAlertReceived";
    this.alertName = alertName(code);
  }
}

/**
 * We detected a protocol violation and sent the fatal alert `alert` before giving up.
 * Subclasses name the most common causes.
 *
 * @example
 * ```ts
 * import { AlertDescription } from "./alert.ts";
 * import { TlsProtocolError } from "./errors.ts";
 * const e = new TlsProtocolError("bad thing", AlertDescription.illegal_parameter);
 * console.log(e.alert); // 47
 * ```
 */
export class TlsProtocolError extends TlsError {
  /** The alert code sent to the peer. */
  declare readonly alert: number;

  /** Creates the error with the alert to send. */
  constructor(message: string, alert: number, options?: ErrorOptions) {
    super(`${message} (alert ${alertName(alert)})`, alert, options);
    this.name = "TlsProtocolError";
  }
}

/**
 * A message arrived that is not allowed in the current state (alert `unexpected_message`).
 *
 * @example
 * ```ts
 * import { UnexpectedMessage } from "./errors.ts";
 * console.log(new UnexpectedMessage("Certificate before ServerHello").alert); // 10
 * ```
 */
export class UnexpectedMessage extends TlsProtocolError {
  /** Creates the error. */
  constructor(message: string) {
    super(message, AlertDescription.unexpected_message);
    this.name = "UnexpectedMessage";
  }
}

/**
 * A message could not be parsed (alert `decode_error`).
 *
 * @example
 * ```ts
 * import { DecodeError } from "./errors.ts";
 * console.log(new DecodeError("ServerHello too short").alert); // 50
 * ```
 */
export class DecodeError extends TlsProtocolError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, AlertDescription.decode_error, options);
    this.name = "DecodeError";
  }
}

/**
 * A record failed authentication: it was corrupted or forged (alert `bad_record_mac`).
 *
 * @example
 * ```ts
 * import { BadRecordMac } from "./errors.ts";
 * console.log(new BadRecordMac().alert); // 20
 * ```
 */
export class BadRecordMac extends TlsProtocolError {
  /** Creates the error. */
  constructor(message = "record failed authentication") {
    super(message, AlertDescription.bad_record_mac);
    this.name = "BadRecordMac";
  }
}

/**
 * A record exceeded the size limits of RFC 8446 §5.1/§5.2 (alert `record_overflow`).
 *
 * @example
 * ```ts
 * import { RecordOverflow } from "./errors.ts";
 * console.log(new RecordOverflow("record of 20000 bytes").alert); // 22
 * ```
 */
export class RecordOverflow extends TlsProtocolError {
  /** Creates the error. */
  constructor(message: string) {
    super(message, AlertDescription.record_overflow);
    this.name = "RecordOverflow";
  }
}

/**
 * The server chose a value we did not offer or that is not allowed (alert `illegal_parameter`).
 *
 * @example
 * ```ts
 * import { IllegalParameter } from "./errors.ts";
 * console.log(new IllegalParameter("cipher suite not offered").alert); // 47
 * ```
 */
export class IllegalParameter extends TlsProtocolError {
  /** Creates the error. */
  constructor(message: string) {
    super(message, AlertDescription.illegal_parameter);
    this.name = "IllegalParameter";
  }
}

/**
 * The server tried to negotiate TLS 1.2 or older: either no `supported_versions` in its
 * ServerHello or a downgrade sentinel in ServerHello.random (RFC 8446 §4.1.3). This client
 * only speaks TLS 1.3 (alert `protocol_version` or `illegal_parameter`).
 *
 * @example
 * ```ts
 * import { ProtocolVersionRefused } from "./errors.ts";
 * console.log(new ProtocolVersionRefused("server chose TLS 1.2", 70).alert); // 70
 * ```
 */
export class ProtocolVersionRefused extends TlsProtocolError {
  /** Creates the error with the alert sent (`protocol_version` or `illegal_parameter`). */
  constructor(message: string, alert: number = AlertDescription.protocol_version) {
    super(message, alert);
    this.name = "ProtocolVersionRefused";
  }
}

/**
 * The server's Finished MAC or CertificateVerify signature did not verify
 * (alert `decrypt_error`): the handshake was tampered with or the server lacks the key.
 *
 * @example
 * ```ts
 * import { HandshakeSignatureInvalid } from "./errors.ts";
 * console.log(new HandshakeSignatureInvalid("server Finished mismatch").alert); // 51
 * ```
 */
export class HandshakeSignatureInvalid extends TlsProtocolError {
  /** Creates the error. */
  constructor(message: string) {
    super(message, AlertDescription.decrypt_error);
    this.name = "HandshakeSignatureInvalid";
  }
}

/**
 * A required extension is missing from the server's messages (alert `missing_extension`).
 *
 * @example
 * ```ts
 * import { MissingExtension } from "./errors.ts";
 * console.log(new MissingExtension("key_share").alert); // 109
 * ```
 */
export class MissingExtension extends TlsProtocolError {
  /** Creates the error naming the missing extension. */
  constructor(extension: string) {
    super(`server omitted required extension ${extension}`, AlertDescription.missing_extension);
    this.name = "MissingExtension";
  }
}

/**
 * The server sent an extension we did not offer or that is not allowed in that message
 * (alert `unsupported_extension`).
 *
 * @example
 * ```ts
 * import { UnsupportedExtension } from "./errors.ts";
 * console.log(new UnsupportedExtension("extension 0x0010 in ServerHello").alert); // 110
 * ```
 */
export class UnsupportedExtension extends TlsProtocolError {
  /** Creates the error. */
  constructor(message: string) {
    super(message, AlertDescription.unsupported_extension);
    this.name = "UnsupportedExtension";
  }
}

/**
 * The server selected an ALPN protocol we did not offer (alert `no_application_protocol`
 * is the server-side alert; a client reports `illegal_parameter`).
 *
 * @example
 * ```ts
 * import { AlpnMismatch } from "./errors.ts";
 * console.log(new AlpnMismatch("h3").message);
 * ```
 */
export class AlpnMismatch extends TlsProtocolError {
  /** Creates the error naming the protocol the server chose. */
  constructor(protocol: string) {
    super(`server selected ALPN protocol "${protocol}" we did not offer`, 47);
    this.name = "AlpnMismatch";
  }
}

/**
 * The connection ended without a `close_notify` alert: the data may be truncated
 * (RFC 8446 §6.1).
 *
 * @example
 * ```ts
 * import { TlsTruncated } from "./errors.ts";
 * console.log(new TlsTruncated().message);
 * ```
 */
export class TlsTruncated extends TlsError {
  /** Creates the error. */
  constructor(message = "transport closed without TLS close_notify; data may be truncated") {
    super(message);
    this.name = "TlsTruncated";
  }
}

/**
 * The TLS connection is closed (locally, or after a fatal error) and cannot be used.
 *
 * @example
 * ```ts
 * import { TlsClosed } from "./errors.ts";
 * console.log(new TlsClosed("write after close").message);
 * ```
 */
export class TlsClosed extends TlsError {
  /** Creates the error. */
  constructor(message = "TLS connection is closed", options?: ErrorOptions) {
    super(message, undefined, options);
    this.name = "TlsClosed";
  }
}
