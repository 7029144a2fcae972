/**
 * TLS alert descriptions (RFC 8446 §6) and their names.
 *
 * @module
 */

/**
 * Alert description codes used by TLS 1.3 (RFC 8446 §6).
 *
 * @example
 * ```ts
 * import { AlertDescription } from "./alert.ts";
 * console.log(AlertDescription.bad_certificate); // 42
 * ```
 */
export const AlertDescription = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  record_overflow: 22,
  handshake_failure: 40,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  illegal_parameter: 47,
  unknown_ca: 48,
  access_denied: 49,
  decode_error: 50,
  decrypt_error: 51,
  protocol_version: 70,
  insufficient_security: 71,
  internal_error: 80,
  inappropriate_fallback: 86,
  user_canceled: 90,
  missing_extension: 109,
  unsupported_extension: 110,
  unrecognized_name: 112,
  bad_certificate_status_response: 113,
  unknown_psk_identity: 115,
  certificate_required: 116,
  no_application_protocol: 120,
} as const;

/** One of the alert names of {@linkcode AlertDescription}. */
export type AlertName = keyof typeof AlertDescription;

const names = new Map<number, string>(
  Object.entries(AlertDescription).map(([name, code]) => [code, name]),
);

/**
 * The name of an alert code, or `alert(N)` for codes this library does not know.
 *
 * @example
 * ```ts
 * import { alertName } from "./alert.ts";
 * console.log(alertName(48)); // "unknown_ca"
 * ```
 */
export function alertName(code: number): string {
  return names.get(code) ?? `alert(${code})`;
}
