/**
 * Server identity checks (RFC 6125 §6, RFC 9525): the name we connected to is matched against
 * the certificate's subjectAltName DNS names and IP addresses. The subject common name is never
 * used (no CN fallback).
 *
 * Wildcards follow RFC 6125 §6.4.3 as browsers apply it: only a complete left-most label `*`
 * is a wildcard, it matches exactly one non-empty label, and it needs at least two labels after
 * it (`*.com` matches nothing). Wildcards never match IP addresses.
 *
 * @module
 */

import { bytesEqual } from "../_bytes.ts";
import type { Certificate, GeneralName } from "./certificate.ts";

/**
 * Parses an IPv4 dotted quad or an IPv6 address (optionally in brackets, with `::` and an
 * embedded IPv4 tail). Returns the 4 or 16 address bytes, or `undefined` if `text` is not an
 * IP address literal.
 *
 * @example
 * ```ts
 * import { parseIpAddress } from "./hostname.ts";
 * console.log(parseIpAddress("127.0.0.1")); // Uint8Array [ 127, 0, 0, 1 ]
 * console.log(parseIpAddress("[::1]")?.length); // 16
 * console.log(parseIpAddress("example.com")); // undefined
 * ```
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  const t = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(t)) {
    const parts = t.split(".").map(Number);
    if (
      parts.some((p, i) => p > 255 || (t.split(".")[i].length > 1 && t.split(".")[i][0] === "0"))
    ) {
      return undefined;
    }
    return new Uint8Array(parts);
  }
  if (!t.includes(":") || !/^[0-9a-fA-F:.]+$/.test(t)) return undefined;
  const halves = t.split("::");
  if (halves.length > 2) return undefined;
  const words = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const groups = s.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIpAddress(g);
        if (!v4 || v4.length !== 4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = words(halves[0]);
  const tail = halves.length === 2 ? words(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Lower-cases and drops one trailing dot; returns undefined for names that are not DNS-like. */
function normalizeDns(name: string): string | undefined {
  let n = name.toLowerCase();
  if (n.endsWith(".")) n = n.slice(0, -1);
  if (!n || n.length > 253) return undefined;
  const labels = n.split(".");
  if (labels.some((l) => !l || l.length > 63)) return undefined;
  return n;
}

/**
 * Whether a subjectAltName DNS name (the "presented identifier", which may be a wildcard)
 * matches the host name we connected to (the "reference identifier").
 *
 * @example
 * ```ts
 * import { dnsNameMatches } from "./hostname.ts";
 * console.log(dnsNameMatches("*.example.com", "www.example.com")); // true
 * console.log(dnsNameMatches("*.example.com", "a.b.example.com")); // false
 * console.log(dnsNameMatches("*.com", "example.com")); // false
 * ```
 */
export function dnsNameMatches(presented: string, reference: string): boolean {
  const ref = normalizeDns(reference);
  const pat = normalizeDns(presented);
  if (!ref || !pat || ref.includes("*")) return false;
  if (!/^[a-z0-9_.-]+$/.test(ref)) return false;
  if (!pat.includes("*")) return pat === ref;
  const patLabels = pat.split(".");
  // Only a whole left-most "*" label, and no other wildcard anywhere.
  if (patLabels[0] !== "*" || patLabels.slice(1).some((l) => l.includes("*"))) return false;
  if (patLabels.length < 3) return false;
  const refLabels = ref.split(".");
  if (refLabels.length !== patLabels.length) return false;
  // IDNA A-labels must not be matched by a wildcard (RFC 6125 §6.4.3).
  if (refLabels[0].startsWith("xn--")) return false;
  return refLabels.slice(1).join(".") === patLabels.slice(1).join(".");
}

/**
 * Whether the certificate is valid for `serverName` (a DNS name or IP address literal), by
 * its subjectAltName only.
 *
 * @example
 * ```ts ignore
 * import { certificateMatchesName } from "./hostname.ts";
 * if (!certificateMatchesName(cert, "example.com")) throw new Error("wrong certificate");
 * ```
 */
export function certificateMatchesName(cert: Certificate, serverName: string): boolean {
  return namesMatch(cert.subjectAltNames, serverName);
}

/** The same check over a list of GeneralNames. */
export function namesMatch(names: GeneralName[], serverName: string): boolean {
  const ip = parseIpAddress(serverName);
  if (ip) return names.some((n) => n.kind === "ip" && bytesEqual(n.value, ip));
  return names.some((n) => n.kind === "dns" && dnsNameMatches(n.value, serverName));
}

/** Human-readable text of an IP address (for error messages). */
export function formatIpAddress(ip: Uint8Array): string {
  if (ip.length === 4) return ip.join(".");
  if (ip.length !== 16) return `<${ip.length}-byte address>`;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((ip[i] << 8) | ip[i + 1]).toString(16));
  return words.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
