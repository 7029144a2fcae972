/**
 * Congestion control: slow start and congestion avoidance with NewReno (RFC 5681, RFC 6582),
 * or CUBIC (RFC 9438). Loss recovery itself (fast retransmit, SACK) lives in the control block;
 * these decide the window.
 *
 * @module
 */

/** The name of a congestion control algorithm. */
export type CongestionAlgorithm = "newreno" | "cubic";

/** A congestion controller: owns cwnd and ssthresh, in bytes. */
export interface CongestionControl {
  /** Algorithm name. */
  readonly name: CongestionAlgorithm;
  /** Congestion window, bytes. */
  cwnd: number;
  /** Slow start threshold, bytes. */
  ssthresh: number;
  /** New data acknowledged outside recovery. */
  onAck(ackedBytes: number, flightBefore: number, now: number, srtt: number | undefined): void;
  /** Entering fast recovery (3 duplicate ACKs or SACK loss detection). */
  onCongestion(flight: number, now: number): void;
  /** Retransmission timeout fired. */
  onTimeout(flight: number, now: number): void;
  /** Fast recovery ended (the recovery point was acknowledged). */
  onRecoveryExit(): void;
}

/** Initial window: min(10 × MSS, max(2 × MSS, 14600)) (RFC 6928 §2). */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}

/**
 * Whether the window was in use when `flightBefore` bytes were outstanding: only then may an
 * ACK grow it (RFC 7661's idea, as Linux's tcp_is_cwnd_limited does). In slow start the window
 * may run ahead of the flight by up to 2×, since it doubles each round trip; in congestion
 * avoidance the flight must fill it to within a segment. A sender held back by the
 * application or the peer's window thus does not build a window it never tested.
 */
function cwndLimited(cc: { cwnd: number; ssthresh: number; mss: number }, flightBefore: number) {
  if (cc.cwnd < cc.ssthresh) return 2 * flightBefore >= cc.cwnd;
  return flightBefore + cc.mss >= cc.cwnd;
}

/**
 * NewReno's window rules (RFC 5681 §3.1).
 *
 * @example
 * ```ts
 * import { NewReno } from "./congestion.ts";
 * const cc = new NewReno(1460);
 * cc.onAck(1460, 14600, 0, 10);
 * console.log(cc.cwnd); // 16060: slow start adds one MSS per MSS acknowledged
 * ```
 */
export class NewReno implements CongestionControl {
  readonly name = "newreno" as const;
  cwnd: number;
  ssthresh = Infinity;
  #avoidanceCredit = 0;

  /** @param mss sender maximum segment size */
  constructor(readonly mss: number) {
    this.cwnd = initialWindow(mss);
  }

  onAck(ackedBytes: number, flightBefore: number): void {
    if (!cwndLimited(this, flightBefore)) return;
    if (this.cwnd < this.ssthresh) {
      // Slow start (RFC 5681 §3.1 eq. 2, with appropriate byte counting L = 2 × SMSS).
      this.cwnd += Math.min(ackedBytes, 2 * this.mss);
    } else {
      // Congestion avoidance: one MSS per window of acknowledged bytes.
      this.#avoidanceCredit += ackedBytes;
      if (this.#avoidanceCredit >= this.cwnd) {
        this.#avoidanceCredit -= this.cwnd;
        this.cwnd += this.mss;
      }
    }
  }

  onCongestion(flight: number): void {
    this.ssthresh = Math.max(flight / 2, 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.#avoidanceCredit = 0;
  }

  onTimeout(flight: number): void {
    this.ssthresh = Math.max(flight / 2, 2 * this.mss);
    this.cwnd = this.mss; // loss window (RFC 5681 §3.1)
    this.#avoidanceCredit = 0;
  }

  onRecoveryExit(): void {
    this.cwnd = Math.max(this.ssthresh, 2 * this.mss);
  }
}

/** CUBIC constants (RFC 9438 §4.1, §4.2). */
const CUBIC_C = 0.4;
const CUBIC_BETA = 0.7;

/**
 * CUBIC (RFC 9438): a cubic window growth function of the time since the last congestion event,
 * with the Reno-friendly region and fast convergence.
 *
 * @example
 * ```ts
 * import { Cubic } from "./congestion.ts";
 * const cc = new Cubic(1460);
 * cc.onCongestion(100 * 1460, 0);
 * console.log(cc.cwnd); // 102200: β = 0.7
 * ```
 */
export class Cubic implements CongestionControl {
  readonly name = "cubic" as const;
  cwnd: number;
  ssthresh = Infinity;
  /** Window before the last reduction, in segments. */
  #wMax = 0;
  #wLastMax = 0;
  /** Start of the current congestion avoidance epoch, ms; -1 when not in one. */
  #epochStart = -1;
  #k = 0;
  /** Reno-friendly estimate, in segments (RFC 9438 §4.3). */
  #wEst = 0;
  #originPoint = 0;

  /** @param mss sender maximum segment size */
  constructor(readonly mss: number) {
    this.cwnd = initialWindow(mss);
  }

  onAck(ackedBytes: number, flightBefore: number, now: number, srtt: number | undefined): void {
    if (!cwndLimited(this, flightBefore)) return;
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(ackedBytes, 2 * this.mss);
      return;
    }
    const mss = this.mss;
    const cwndSegments = this.cwnd / mss;
    if (this.#epochStart < 0) {
      this.#epochStart = now;
      if (cwndSegments < this.#wMax) {
        this.#k = Math.cbrt((this.#wMax - cwndSegments) / CUBIC_C);
        this.#originPoint = this.#wMax;
      } else {
        this.#k = 0;
        this.#originPoint = cwndSegments;
      }
      this.#wEst = cwndSegments;
    }
    const rtt = (srtt ?? 100) / 1000;
    const t = (now - this.#epochStart) / 1000 + rtt;
    const target = this.#originPoint + CUBIC_C * (t - this.#k) ** 3;
    // Reno-friendly region (RFC 9438 §4.3): α_cubic = 3(1−β)/(1+β).
    const alpha = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);
    this.#wEst += alpha * (ackedBytes / mss) / cwndSegments;
    let next: number;
    if (this.#wEst > target) {
      next = this.#wEst;
    } else {
      // Concave/convex region: grow by (target − cwnd)/cwnd per ACKed segment, capped at 1.5×.
      const capped = Math.min(target, 1.5 * cwndSegments);
      next = cwndSegments +
        Math.max(0, ((capped - cwndSegments) / cwndSegments) * (ackedBytes / mss));
    }
    this.cwnd = Math.max(this.cwnd, Math.floor(next * mss));
  }

  onCongestion(flight: number, _now: number): void {
    const segments = Math.max(this.cwnd, flight) / this.mss;
    // Fast convergence (RFC 9438 §4.7).
    this.#wLastMax = segments < this.#wLastMax ? segments * (1 + CUBIC_BETA) / 2 : segments;
    this.#wMax = this.#wLastMax;
    this.ssthresh = Math.max(Math.floor(this.cwnd * CUBIC_BETA), 2 * this.mss);
    this.cwnd = this.ssthresh;
    this.#epochStart = -1;
  }

  onTimeout(flight: number, now: number): void {
    this.onCongestion(flight, now);
    this.cwnd = this.mss;
  }

  onRecoveryExit(): void {
    this.cwnd = Math.max(this.ssthresh, 2 * this.mss);
  }
}

/**
 * Creates the named congestion controller.
 *
 * @example
 * ```ts
 * import { createCongestionControl } from "./congestion.ts";
 * console.log(createCongestionControl("cubic", 1460).name); // "cubic"
 * ```
 */
export function createCongestionControl(
  algorithm: CongestionAlgorithm,
  mss: number,
): CongestionControl {
  return algorithm === "cubic" ? new Cubic(mss) : new NewReno(mss);
}
