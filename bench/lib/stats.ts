/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Rounds to `digits` decimals (figures are printed and stored rounded). */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Per-second rate of `count` items done in `ms` milliseconds, to a whole number. */
export function rate(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
