// Summary statistics for delay and load figures. Percentiles use the nearest-rank method
// (no interpolation): the p-th percentile of n sorted values is the value at 1-based rank
// ceil(p/100 * n), so every reported percentile is a value that was actually measured.
// Empty input gives undefined rather than NaN so a CSV cell stays empty instead of "NaN".

export function mean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export function max(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}

export function min(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let m = Infinity;
  for (const v of values) if (v < m) m = v;
  return m;
}

/** Nearest-rank percentile of already sorted (ascending) values; p in [0, 100]. */
export function percentileSorted(sorted: readonly number[], p: number): number | undefined {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0..100`);
  const n = sorted.length;
  if (n === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[rank - 1];
}

/** Nearest-rank percentile; p in [0, 100]. Does not modify `values`. */
export function percentile(values: readonly number[], p: number): number | undefined {
  return percentileSorted(sortNumbers(values), p);
}

/** Median: the middle value, or the mean of the two middle values of an even count. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = sortNumbers(values);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

export function sortNumbers(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export interface Summary {
  count: number;
  mean?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  max?: number;
}

/** count, mean, nearest-rank p50/p95/p99 and max of `values` (one sort). */
export function summarize(values: readonly number[]): Summary {
  const sorted = sortNumbers(values);
  return {
    count: sorted.length,
    mean: mean(sorted),
    p50: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : undefined,
  };
}
