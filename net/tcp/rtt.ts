/**
 * Retransmission timeout computation (RFC 6298).
 *
 * @module
 */

/** Bounds of the retransmission timeout. */
export interface RtoBounds {
  /** Initial RTO before any sample, ms (RFC 6298 §2.1: 1 s). */
  initial: number;
  /** Lower bound, ms (RFC 6298 says 1 s; Linux uses 200 ms, which we follow). */
  min: number;
  /** Upper bound, ms (RFC 6298 §2.5: at least 60 s). */
  max: number;
}

/** Defaults, Linux-like. */
export const DEFAULT_RTO_BOUNDS: RtoBounds = { initial: 1000, min: 200, max: 120_000 };

/**
 * SRTT/RTTVAR estimator and the RTO with exponential backoff.
 *
 * @example
 * ```ts
 * import { RttEstimator } from "./rtt.ts";
 * const rtt = new RttEstimator();
 * rtt.sample(100);
 * console.log(rtt.rto); // 300 (SRTT 100 + 4 × RTTVAR 50)
 * ```
 */
export class RttEstimator {
  /** Smoothed RTT, ms; undefined before the first sample. */
  srtt: number | undefined;
  /** RTT variation, ms. */
  rttvar = 0;
  /** Backoff shift applied to the base RTO after timeouts (RFC 6298 §5.5). */
  backoff = 0;
  readonly #bounds: RtoBounds;
  /** Clock granularity G (RFC 6298 §2), ms. */
  readonly #granularity = 1;

  /** Creates an estimator with no samples yet.
   * @param bounds RTO limits */
  constructor(bounds: RtoBounds = DEFAULT_RTO_BOUNDS) {
    this.#bounds = bounds;
  }

  /** Feeds one RTT measurement (RFC 6298 §2.2–2.3; α = 1/8, β = 1/4). */
  sample(rttMs: number): void {
    const r = Math.max(0, rttMs);
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.backoff = 0;
  }

  /** The base RTO without backoff. */
  get baseRto(): number {
    if (this.srtt === undefined) return this.#bounds.initial;
    const rto = this.srtt + Math.max(this.#granularity, 4 * this.rttvar);
    return Math.min(this.#bounds.max, Math.max(this.#bounds.min, rto));
  }

  /** The current RTO with backoff applied. */
  get rto(): number {
    return Math.min(this.#bounds.max, this.baseRto * 2 ** this.backoff);
  }

  /** Doubles the RTO after a timeout (RFC 6298 §5.5). */
  backOff(): void {
    if (this.baseRto * 2 ** this.backoff < this.#bounds.max) this.backoff++;
  }
}
