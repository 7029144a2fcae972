/**
 * A set of trust anchors (root certificates), indexed by subject name for chain building.
 *
 * @module
 */

import { toHex } from "../_bytes.ts";
import { type Certificate, parseCertificate } from "./certificate.ts";
import { decodePem } from "./pem.ts";

/**
 * Debian's system CA bundle.
 *
 * @example
 * ```ts
 * import { SYSTEM_BUNDLE_PATH } from "./trust_store.ts";
 * console.log(SYSTEM_BUNDLE_PATH); // /etc/ssl/certs/ca-certificates.crt
 * ```
 */
export const SYSTEM_BUNDLE_PATH = "/etc/ssl/certs/ca-certificates.crt";

/**
 * Trust anchors for server certificate verification.
 *
 * @example
 * ```ts ignore
 * import { TrustStore } from "./trust_store.ts";
 * const store = TrustStore.fromPem(await Deno.readTextFile("ca.pem"));
 * console.log(store.size);
 * ```
 */
export class TrustStore {
  readonly #bySubject = new Map<string, Certificate[]>();
  readonly #byDer = new Set<string>();
  /** Certificates from the input that could not be parsed (they are skipped). */
  skipped = 0;

  /** A store from PEM text (one or more CERTIFICATE blocks, or an array of such texts). */
  static fromPem(pem: string | string[]): TrustStore {
    const store = new TrustStore();
    for (const text of Array.isArray(pem) ? pem : [pem]) {
      for (const der of decodePem(text)) store.#addDer(der);
    }
    return store;
  }

  static #system: Promise<TrustStore> | undefined;

  /**
   * The system trust store from {@linkcode SYSTEM_BUNDLE_PATH}, read and parsed once per
   * process (needs read permission for that file).
   */
  static system(path = SYSTEM_BUNDLE_PATH): Promise<TrustStore> {
    if (path !== SYSTEM_BUNDLE_PATH) {
      return Deno.readTextFile(path).then((t) => TrustStore.fromPem(t));
    }
    TrustStore.#system ??= Deno.readTextFile(path).then((t) => TrustStore.fromPem(t));
    return TrustStore.#system;
  }

  #addDer(der: Uint8Array): void {
    try {
      this.add(parseCertificate(der));
    } catch {
      this.skipped++;
    }
  }

  /** Adds a trust anchor. */
  add(cert: Certificate): void {
    const key = toHex(cert.der);
    if (this.#byDer.has(key)) return;
    this.#byDer.add(key);
    const subject = toHex(cert.subject.der);
    const list = this.#bySubject.get(subject);
    if (list) list.push(cert);
    else this.#bySubject.set(subject, [cert]);
  }

  /** Number of trust anchors. */
  get size(): number {
    return this.#byDer.size;
  }

  /** Whether exactly this certificate is a trust anchor. */
  has(cert: Certificate): boolean {
    return this.#byDer.has(toHex(cert.der));
  }

  /** Anchors whose subject is `cert`'s issuer. */
  issuersOf(cert: Certificate): Certificate[] {
    return this.#bySubject.get(toHex(cert.issuer.der)) ?? [];
  }
}
