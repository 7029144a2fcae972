/**
 * A one-line transfer progress meter in the style of OpenSSH's scp/sftp:
 * `name   45%   12MB  10.2MB/s   00:03 ETA`. Shared by `deno task sftp` (and a future
 * `deno task fetch`). Time and output are injectable, so it is testable without a terminal.
 *
 * @module
 */

/** Where and when the meter draws. */
export interface ProgressOptions {
  /** Writes text without a newline (default: stdout). */
  write?: (text: string) => void;
  /** Milliseconds clock (default `performance.now`). */
  now?: () => number;
  /** Line width in columns (default: the terminal's, else 80). */
  columns?: number;
  /** Least milliseconds between redraws (default 100). */
  intervalMs?: number;
}

/**
 * Bytes as OpenSSH prints them: 1024-based, at most 4 digits, unit letter (`812KB`, `12MB`).
 *
 * @example
 * ```ts
 * import { formatBytes } from "./_progress.ts";
 * console.log(formatBytes(12_345_678)); // "11.8MB"
 * ```
 */
export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const text = u === 0 || v >= 100 ? String(Math.round(v)) : v.toFixed(1);
  return text + units[u];
}

/**
 * Seconds as `MM:SS` or `H:MM:SS`; `--:--` when unknown.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./_progress.ts";
 * console.log(formatDuration(3725)); // "1:02:05"
 * ```
 */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0
    ? `${h}:${String(m).padStart(2, "0")}:${sec}`
    : `${String(m).padStart(2, "0")}:${sec}`;
}

/** What one line of the meter shows. */
export interface ProgressState {
  /** Label (file name), cut from the left to fit. */
  label: string;
  /** Bytes done. */
  done: number;
  /** Bytes in all, when known. */
  total?: number;
  /** Smoothed bytes per second. */
  rate: number;
  /** Elapsed seconds (shown instead of the ETA once finished). */
  elapsed: number;
  /** Whether the transfer has finished. */
  finished?: boolean;
}

/**
 * Formats one meter line of exactly `columns` characters (or the stats alone when narrow).
 *
 * @example
 * ```ts
 * import { formatProgress } from "./_progress.ts";
 * console.log(formatProgress({ label: "a.iso", done: 50, total: 100, rate: 10, elapsed: 5 }, 60));
 * ```
 */
export function formatProgress(state: ProgressState, columns: number): string {
  const pct = state.total ? Math.min(100, Math.floor((state.done / state.total) * 100)) : undefined;
  const eta = state.finished ? formatDuration(state.elapsed) + "    " : formatDuration(
    state.total !== undefined && state.rate > 0
      ? (state.total - state.done) / state.rate
      : undefined,
  ) + " ETA";
  const stats = ` ${pct === undefined ? "   " : String(pct).padStart(3)}% ${
    formatBytes(state.done).padStart(7)
  } ${(formatBytes(state.rate) + "/s").padStart(9)}   ${eta.padStart(8)}`;
  const room = columns - stats.length;
  if (room < 4) return stats.trimStart();
  const label = state.label.length > room - 1
    ? "…" + state.label.slice(state.label.length - (room - 2))
    : state.label;
  return label.padEnd(room) + stats;
}

/**
 * A live meter for one transfer: call `update(done)` as bytes move and `finish()` at the end.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "./_progress.ts";
 * let out = "";
 * let t = 0;
 * const bar = new ProgressBar("file.bin", 1000, { write: (s) => (out += s), now: () => t });
 * t = 1000;
 * bar.update(500);
 * bar.finish();
 * ```
 */
export class ProgressBar {
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #columns: number;
  readonly #interval: number;
  readonly #start: number;
  #last = -Infinity;
  #sampleAt: number;
  #sampleBytes = 0;
  #rate = 0;
  #done = 0;
  #finished = false;

  /** Starts a meter for `label` with `total` bytes (undefined when unknown). */
  constructor(label: string, total: number | undefined, options: ProgressOptions = {}) {
    this.#label = label;
    this.#total = total;
    const encoder = new TextEncoder();
    this.#write = options.write ?? ((s) => Deno.stdout.writeSync(encoder.encode(s)));
    this.#now = options.now ?? (() => performance.now());
    let columns = options.columns;
    if (columns === undefined) {
      try {
        columns = Deno.consoleSize().columns;
      } catch {
        columns = 80;
      }
    }
    this.#columns = Math.max(20, columns);
    this.#interval = options.intervalMs ?? 100;
    this.#start = this.#now();
    this.#sampleAt = this.#start;
  }

  /** Bytes per second, smoothed over the last few seconds. */
  get rate(): number {
    return this.#rate;
  }

  /** Records `done` bytes and redraws if the interval has passed. */
  update(done: number): void {
    if (this.#finished) return;
    this.#done = done;
    const now = this.#now();
    const dt = now - this.#sampleAt;
    if (dt >= 250) {
      const instant = ((done - this.#sampleBytes) * 1000) / dt;
      // Exponential smoothing (as OpenSSH's progressmeter.c does) with a fast start.
      this.#rate = this.#rate === 0 ? instant : this.#rate * 0.7 + instant * 0.3;
      this.#sampleAt = now;
      this.#sampleBytes = done;
    }
    if (now - this.#last >= this.#interval) {
      this.#last = now;
      this.#draw(false);
    }
  }

  /** Draws the final line (average rate, elapsed time) and ends it with a newline. */
  finish(done = this.#done): void {
    if (this.#finished) return;
    this.#done = done;
    const elapsed = (this.#now() - this.#start) / 1000;
    this.#rate = elapsed > 0 ? done / elapsed : 0;
    this.#draw(true);
    this.#finished = true;
    this.#write("\n");
  }

  #draw(finished: boolean): void {
    const line = formatProgress({
      label: this.#label,
      done: this.#done,
      total: this.#total,
      rate: this.#rate,
      elapsed: (this.#now() - this.#start) / 1000,
      finished,
    }, this.#columns);
    this.#write("\r" + line);
  }
}
