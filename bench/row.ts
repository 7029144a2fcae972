/**
 * The shape every benchmark row module returns, and the small helpers they share: a rate
 * measurement that runs a function in growing batches until enough time has passed, and the
 * markdown table `bench/main.ts` prints.
 *
 * @module
 */

/** One line of the benchmark table: usernet next to a reference measured in the same run. */
export interface BenchRow {
  /** What was measured, e.g. `"checksum, 1500 B"`. */
  name: string;
  /** usernet's result, in `unit`. */
  usernet: number;
  /** The reference's result in the same unit, or `undefined` when it could not be measured. */
  reference: number | undefined;
  /** Who the reference is, e.g. `"C, gcc -O2 (FFI)"`. */
  referenceLabel: string;
  /** Unit of both numbers, e.g. `"GB/s"` or `"frames/s"`. */
  unit: string;
  /** Anything a reader must know to trust the row (why a reference is missing, conditions). */
  note?: string;
}

/**
 * Measures how many units per second `run(iterations)` does: calls it with doubling iteration
 * counts until one call takes at least `minMs`, after a warm-up call.
 *
 * @example
 * ```ts
 * import { measureRate } from "./row.ts";
 * const perSecond = measureRate((n) => { for (let i = 0; i < n; i++) Math.sqrt(i); }, 1, 20);
 * console.log(perSecond > 0); // true
 * ```
 */
export function measureRate(
  run: (iterations: number) => void,
  unitsPerIteration: number,
  minMs = 400,
): number {
  let iterations = 1;
  run(iterations); // warm-up: let the JIT see the code
  for (;;) {
    const start = performance.now();
    run(iterations);
    const elapsed = performance.now() - start;
    if (elapsed >= minMs) return (iterations * unitsPerIteration) / (elapsed / 1000);
    iterations = elapsed < 1
      ? iterations * 8
      : Math.ceil(iterations * Math.min(8, (minMs * 1.2) / elapsed));
  }
}

/** The middle value of `values` (the upper middle of an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** Formats a number with 3 significant digits and a k/M suffix for large values. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  if (value >= 1e6) return `${(value / 1e6).toPrecision(3)} M`;
  if (value >= 1e4) return `${(value / 1e3).toPrecision(3)} k`;
  // toPrecision(3) writes 1000..9999 in exponent form ("4.39e+3"): round to an integer instead.
  if (value >= 1000) return Math.round(value).toString();
  return value.toPrecision(3);
}

/**
 * The rows as a markdown table with a ratio column (usernet / reference).
 *
 * @example
 * ```ts
 * import { formatTable } from "./row.ts";
 * console.log(formatTable([{ name: "x", usernet: 2, reference: 1, referenceLabel: "y", unit: "GB/s" }]));
 * ```
 */
export function formatTable(rows: BenchRow[]): string {
  const lines = [
    "| benchmark | usernet | reference | ratio | reference is | notes |",
    "| --- | ---: | ---: | ---: | --- | --- |",
  ];
  for (const r of rows) {
    const ratio = r.reference ? `${(r.usernet / r.reference).toFixed(2)}x` : "–";
    lines.push(
      `| ${r.name} | ${formatNumber(r.usernet)} ${r.unit} | ${
        formatNumber(r.reference)
      } ${r.unit} | ${ratio} | ${r.referenceLabel} | ${r.note ?? ""} |`,
    );
  }
  return lines.join("\n");
}
