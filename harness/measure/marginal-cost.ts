// Marginal cost (issue 10): CPU per call at a low rate carries each process's fixed cost (a Node
// process burns a few tenths of a % of a core doing nothing), so CPU per call falls with the rate.
// The marginal cost is the slope of CPU time per second against the achieved call rate over a
// sweep's rates (least squares), reported with its standard error; the intercept is the fixed cost.

export interface LinearFit {
  n: number;
  slope: number; // dy/dx
  intercept: number;
  slopeStdErr: number | undefined; // undefined with fewer than 3 points (no degrees of freedom)
  r2: number | undefined;
}

/** Ordinary least squares y = intercept + slope x; undefined with fewer than 2 distinct x. */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit | undefined {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return undefined;
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    syy += (ys[i]! - my) ** 2;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < n; i++) sse += (ys[i]! - intercept - slope * xs[i]!) ** 2;
  const slopeStdErr = n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : undefined;
  const r2 = syy > 0 ? 1 - sse / syy : undefined;
  return { n, slope, intercept, slopeStdErr, r2 };
}

export interface CostSample {
  achievedRateCps: number;
  cpuPct: number; // % of one core over the window
}

export interface MarginalCost {
  points: number;
  marginalUsPerCall: number; // slope: CPU µs per additional call
  marginalStdErrUs: number | undefined;
  fixedCpuPct: number; // intercept: CPU at zero calls, % of one core (the fit's idle estimate)
  r2: number | undefined;
}

/** The slope of CPU (µs per second) against achieved calls/s; undefined with < 2 distinct rates. */
export function marginalCost(samples: readonly CostSample[]): MarginalCost | undefined {
  const ok = samples.filter((s) => Number.isFinite(s.achievedRateCps) && Number.isFinite(s.cpuPct));
  // % of one core -> µs of CPU per second: 1% = 10,000 µs/s.
  const fit = linearFit(
    ok.map((s) => s.achievedRateCps),
    ok.map((s) => s.cpuPct * 10_000),
  );
  if (!fit) return undefined;
  return { points: fit.n, marginalUsPerCall: fit.slope, marginalStdErrUs: fit.slopeStdErr, fixedCpuPct: fit.intercept / 10_000, r2: fit.r2 };
}
