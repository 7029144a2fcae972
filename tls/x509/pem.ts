/**
 * PEM armour (RFC 7468): decode every block of a given label from text, and encode DER.
 *
 * @module
 */

/**
 * The DER contents of every `-----BEGIN <label>-----` block in `text`, in order.
 *
 * @example
 * ```ts
 * import { decodePem, encodePem } from "./pem.ts";
 * const pem = encodePem("CERTIFICATE", new Uint8Array([1, 2, 3]));
 * console.log(decodePem(pem, "CERTIFICATE")[0]); // Uint8Array [ 1, 2, 3 ]
 * ```
 */
export function decodePem(text: string, label = "CERTIFICATE"): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re = new RegExp(`-----BEGIN ${label}-----([^-]*)-----END ${label}-----`, "g");
  for (const m of text.matchAll(re)) {
    const b64 = m[1].replace(/\s+/g, "");
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    out.push(bytes);
  }
  return out;
}

/**
 * PEM text for DER bytes, with 64-character lines.
 *
 * @example
 * ```ts
 * import { encodePem } from "./pem.ts";
 * console.log(encodePem("PRIVATE KEY", new Uint8Array([0])));
 * ```
 */
export function encodePem(label: string, der: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < der.length; i++) bin += String.fromCharCode(der[i]);
  const b64 = btoa(bin);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
