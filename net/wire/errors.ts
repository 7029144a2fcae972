/**
 * Typed parse errors for the wire formats.
 *
 * Parsers return one of these instead of throwing, so a bad frame costs no exception and no
 * allocation: each reason has one shared instance. The stack counts drops by `reason`.
 *
 * @module
 */

/** Why a header could not be parsed. */
export type WireErrorReason =
  | "truncated"
  | "bad-version"
  | "bad-header-length"
  | "bad-total-length"
  | "bad-checksum"
  | "bad-option"
  | "unsupported"
  | "bad-address";

/**
 * A frame or header that failed validation.
 *
 * @example Check a parse result
 * ```ts
 * import { parseIpv4 } from "./ipv4.ts";
 * import { WireError } from "./errors.ts";
 * const result = parseIpv4(new Uint8Array(10));
 * if (result instanceof WireError) console.log(result.layer, result.reason); // "ipv4" "truncated"
 * ```
 */
export class WireError extends Error {
  /**
   * Creates the error; prefer the shared instance from `wireError()`.
   * @param layer the protocol whose header was bad @param reason what was wrong
   */
  constructor(readonly layer: string, readonly reason: WireErrorReason) {
    super(`${layer}: ${reason.replaceAll("-", " ")}`);
    this.name = "WireError";
  }
}

const cache = new Map<string, WireError>();

/**
 * The shared instance for a layer and reason (created once, so the receive path does not
 * allocate for bad frames).
 *
 * @example
 * ```ts
 * import { wireError } from "./errors.ts";
 * const e = wireError("udp", "bad-checksum");
 * console.log(e.message); // "udp: bad checksum"
 * ```
 */
export function wireError(layer: string, reason: WireErrorReason): WireError {
  const key = `${layer}/${reason}`;
  let e = cache.get(key);
  if (!e) {
    e = new WireError(layer, reason);
    cache.set(key, e);
  }
  return e;
}
