/**
 * Name constraints (RFC 5280 §4.2.1.10) for the name forms a TLS server is identified by:
 * dNSName and iPAddress. Other forms in a constraint are ignored, as most TLS verifiers do.
 *
 * @module
 */

import type { Certificate, GeneralName, NameConstraints } from "./certificate.ts";
import { NameConstraintViolation } from "./errors.ts";
import { formatIpAddress } from "./hostname.ts";

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

function within(name: GeneralName, subtree: GeneralName): boolean | undefined {
  if (name.kind === "dns" && subtree.kind === "dns") {
    return dnsWithinSubtree(name.value, subtree.value);
  }
  if (name.kind === "ip" && subtree.kind === "ip") {
    return ipWithinSubtree(name.value, subtree.value);
  }
  return undefined; // different forms: the constraint does not apply
}

/**
 * Checks the DNS and IP names of `cert` against `constraints` from CA `constrainingCa`;
 * throws {@linkcode NameConstraintViolation} on the first name outside the permitted subtrees
 * or inside an excluded one.
 *
 * @example
 * ```ts ignore
 * checkNameConstraints(leaf, ca.nameConstraints!, ca.subject.text);
 * ```
 */
export function checkNameConstraints(
  cert: Certificate,
  constraints: NameConstraints,
  constrainingCa: string,
): void {
  for (const name of cert.subjectAltNames) {
    if (name.kind !== "dns" && name.kind !== "ip") continue;
    const text = name.kind === "dns" ? name.value : formatIpAddress(name.value);
    if (constraints.excluded.some((s) => within(name, s) === true)) {
      throw new NameConstraintViolation(text, constrainingCa);
    }
    const relevant = (constraints.permitted ?? []).filter((s) => s.kind === name.kind);
    if (relevant.length && !relevant.some((s) => within(name, s) === true)) {
      throw new NameConstraintViolation(text, constrainingCa);
    }
  }
}
