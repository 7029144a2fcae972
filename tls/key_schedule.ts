/**
 * The TLS 1.3 key schedule (RFC 8446 §7.1): HKDF-Expand-Label, Derive-Secret and the chain
 * early secret → handshake secret → master secret, plus Finished keys and traffic-secret
 * updates. Pure functions of their inputs; the transcript hashes are passed in.
 *
 * @module
 */

import { expand, extract } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import type { TlsHash } from "./cipher_suite.ts";

const encoder = new TextEncoder();

/**
 * HKDF-Expand-Label(Secret, Label, Context, Length) with the "tls13 " prefix (RFC 8446 §7.1).
 *
 * @example
 * ```ts
 * import { sha256 } from "@noble/hashes/sha2.js";
 * import { hkdfExpandLabel } from "./key_schedule.ts";
 * const key = hkdfExpandLabel(sha256, new Uint8Array(32), "key", new Uint8Array(0), 16);
 * console.log(key.length); // 16
 * ```
 */
export function hkdfExpandLabel(
  hash: TlsHash,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const fullLabel = encoder.encode("tls13 " + label);
  const info = new Uint8Array(2 + 1 + fullLabel.length + 1 + context.length);
  info[0] = length >>> 8;
  info[1] = length & 0xff;
  info[2] = fullLabel.length;
  info.set(fullLabel, 3);
  info[3 + fullLabel.length] = context.length;
  info.set(context, 4 + fullLabel.length);
  return expand(hash, secret, info, length);
}

/**
 * Derive-Secret(Secret, Label, Messages) given the transcript hash of Messages.
 *
 * @example
 * ```ts
 * import { sha256 } from "@noble/hashes/sha2.js";
 * import { deriveSecret } from "./key_schedule.ts";
 * const s = deriveSecret(sha256, new Uint8Array(32), "derived", sha256(new Uint8Array(0)));
 * console.log(s.length); // 32
 * ```
 */
export function deriveSecret(
  hash: TlsHash,
  secret: Uint8Array,
  label: string,
  transcriptHash: Uint8Array,
): Uint8Array {
  return hkdfExpandLabel(hash, secret, label, transcriptHash, hash.outputLen);
}

/**
 * HKDF-Extract(salt, IKM).
 *
 * @example
 * ```ts
 * import { sha256 } from "@noble/hashes/sha2.js";
 * import { hkdfExtract } from "./key_schedule.ts";
 * console.log(hkdfExtract(sha256, new Uint8Array(32), new Uint8Array(32)).length); // 32
 * ```
 */
export function hkdfExtract(hash: TlsHash, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return extract(hash, ikm, salt);
}

/**
 * The finished_key for a base key (a handshake traffic secret or a PSK binder key) and the
 * Finished verify_data over a transcript hash (RFC 8446 §4.4.4).
 *
 * @example
 * ```ts
 * import { sha256 } from "@noble/hashes/sha2.js";
 * import { finishedVerifyData } from "./key_schedule.ts";
 * console.log(finishedVerifyData(sha256, new Uint8Array(32), new Uint8Array(32)).length); // 32
 * ```
 */
export function finishedVerifyData(
  hash: TlsHash,
  baseKey: Uint8Array,
  transcriptHash: Uint8Array,
): Uint8Array {
  const finishedKey = hkdfExpandLabel(hash, baseKey, "finished", new Uint8Array(0), hash.outputLen);
  return hmac(hash, finishedKey, transcriptHash);
}

/**
 * application_traffic_secret_N+1 from application_traffic_secret_N (RFC 8446 §7.2).
 *
 * @example
 * ```ts
 * import { sha256 } from "@noble/hashes/sha2.js";
 * import { nextTrafficSecret } from "./key_schedule.ts";
 * console.log(nextTrafficSecret(sha256, new Uint8Array(32)).length); // 32
 * ```
 */
export function nextTrafficSecret(hash: TlsHash, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, secret, "traffic upd", new Uint8Array(0), hash.outputLen);
}

/**
 * The key schedule of one connection. Call the stages in order: construct with the PSK
 * (or none), {@linkcode KeySchedule.handshake} with the (EC)DHE secret and the CH..SH hash,
 * then {@linkcode KeySchedule.application} with the CH..server Finished hash, and finally
 * {@linkcode KeySchedule.resumption} with the CH..client Finished hash.
 *
 * @example
 * ```ts
 * import { sha256 } from "@noble/hashes/sha2.js";
 * import { KeySchedule } from "./key_schedule.ts";
 * const ks = new KeySchedule(sha256);
 * const hs = ks.handshake(new Uint8Array(32), sha256(new Uint8Array(0)));
 * console.log(hs.clientSecret.length); // 32
 * ```
 */
export class KeySchedule {
  readonly #hash: TlsHash;
  /** The early secret (RFC 8446 §7.1). */
  readonly earlySecret: Uint8Array;
  #handshakeSecret: Uint8Array | undefined;
  #masterSecret: Uint8Array | undefined;

  /** Starts the schedule from `psk`, or from zeros when there is no PSK. */
  constructor(hash: TlsHash, psk?: Uint8Array) {
    this.#hash = hash;
    const zeros = new Uint8Array(hash.outputLen);
    this.earlySecret = hkdfExtract(hash, zeros, psk ?? zeros);
  }

  /** The PSK binder key for resumption PSKs ("res binder"). */
  resumptionBinderKey(): Uint8Array {
    return deriveSecret(this.#hash, this.earlySecret, "res binder", this.#hash(new Uint8Array(0)));
  }

  /** Mixes in the (EC)DHE shared secret; returns the handshake traffic secrets. */
  handshake(
    sharedSecret: Uint8Array,
    helloHash: Uint8Array,
  ): { handshakeSecret: Uint8Array; clientSecret: Uint8Array; serverSecret: Uint8Array } {
    const h = this.#hash;
    const derived = deriveSecret(h, this.earlySecret, "derived", h(new Uint8Array(0)));
    const hs = hkdfExtract(h, derived, sharedSecret);
    this.#handshakeSecret = hs;
    return {
      handshakeSecret: hs,
      clientSecret: deriveSecret(h, hs, "c hs traffic", helloHash),
      serverSecret: deriveSecret(h, hs, "s hs traffic", helloHash),
    };
  }

  /** Derives the master secret and the application traffic secrets. */
  application(serverFinishedHash: Uint8Array): {
    masterSecret: Uint8Array;
    clientSecret: Uint8Array;
    serverSecret: Uint8Array;
    exporterSecret: Uint8Array;
  } {
    const h = this.#hash;
    if (!this.#handshakeSecret) throw new Error("KeySchedule.application() before handshake()");
    const derived = deriveSecret(h, this.#handshakeSecret, "derived", h(new Uint8Array(0)));
    const ms = hkdfExtract(h, derived, new Uint8Array(h.outputLen));
    this.#masterSecret = ms;
    return {
      masterSecret: ms,
      clientSecret: deriveSecret(h, ms, "c ap traffic", serverFinishedHash),
      serverSecret: deriveSecret(h, ms, "s ap traffic", serverFinishedHash),
      exporterSecret: deriveSecret(h, ms, "exp master", serverFinishedHash),
    };
  }

  /** The resumption master secret, from the hash through the client Finished. */
  resumption(clientFinishedHash: Uint8Array): Uint8Array {
    if (!this.#masterSecret) throw new Error("KeySchedule.resumption() before application()");
    return deriveSecret(this.#hash, this.#masterSecret, "res master", clientFinishedHash);
  }
}

/**
 * The PSK for a ticket: HKDF-Expand-Label(resumption_master_secret, "resumption",
 * ticket_nonce, Hash.length) (RFC 8446 §4.6.1).
 *
 * @example
 * ```ts
 * import { sha256 } from "@noble/hashes/sha2.js";
 * import { ticketPsk } from "./key_schedule.ts";
 * console.log(ticketPsk(sha256, new Uint8Array(32), new Uint8Array([0])).length); // 32
 * ```
 */
export function ticketPsk(
  hash: TlsHash,
  resumptionMasterSecret: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  return hkdfExpandLabel(hash, resumptionMasterSecret, "resumption", nonce, hash.outputLen);
}
