import { describe, expect, it } from 'vitest';
import type { PointRow } from '../records/columns.js';
import { formatMarginal, marginalCosts } from '../records/compare.js';
import { linearFit, marginalCost } from '../measure/marginal-cost.js';

describe('linearFit', () => {
  it('recovers an exact line, and gives the slope standard error of a noisy one', () => {
    const f = linearFit([50, 100, 200], [5, 9, 17])!;
    expect(f.slope).toBeCloseTo(0.08, 10);
    expect(f.intercept).toBeCloseTo(1, 10);
    expect(f.slopeStdErr).toBeCloseTo(0, 10);
    expect(f.r2).toBeCloseTo(1, 10);
    // y = 2x + noise (+1, -1, +1, -1): se = sqrt(SSE/(n-2)/Sxx)
    const g = linearFit([1, 2, 3, 4], [3, 3, 7, 7])!;
    expect(g.slope).toBeCloseTo(1.6, 10);
    const sse = [3, 3, 7, 7].reduce((a, y, i) => a + (y - (g.intercept + g.slope * (i + 1))) ** 2, 0);
    expect(g.slopeStdErr).toBeCloseTo(Math.sqrt(sse / 2 / 5), 10);
    expect(linearFit([5, 5], [1, 2])).toBeUndefined();
    expect(linearFit([1, 2], [1, 2])!.slopeStdErr).toBeUndefined();
  });
});

describe('marginalCost', () => {
  it('separates the fixed cost from the cost per call (the reference run\'s falling CPU per call)', () => {
    // A process idling at 3% of a core that costs 900 µs per call: CPU per call falls with rate,
    // 1500, 1200, 1050 µs at 50/100/200 calls/s, but the marginal cost is 900 at every rate.
    const samples = [50, 100, 200].map((r) => ({ achievedRateCps: r, cpuPct: 3 + (r * 900) / 10_000 }));
    expect(samples.map((s) => Math.round((s.cpuPct * 10_000) / s.achievedRateCps))).toEqual([1500, 1200, 1050]);
    const m = marginalCost(samples)!;
    expect(m.marginalUsPerCall).toBeCloseTo(900, 6);
    expect(m.fixedCpuPct).toBeCloseTo(3, 6);
    expect(m.points).toBe(3);
  });
});

describe('marginalCosts over a run', () => {
  const row = (mode: string, parse: string, n: number, rate: number, achieved: number, head: number, total: number, status = 'ok'): PointRow =>
    ({ target: 'forkbench', mode, parse, group_size: n, offered_rate_cps: rate, achieved_rate_cps: achieved, head_cpu_pct: head, total_cpu_pct: total, status }) as unknown as PointRow;
  it('fits per design and N over achieved rates, leaving failed rows out', () => {
    const rows = [
      row('centralized', 'full', 8, 50, 50, 2 + 50 * 0.05, 2 + 50 * 0.05),
      row('centralized', 'full', 8, 100, 99, 2 + 99 * 0.05, 2 + 99 * 0.05),
      row('centralized', 'full', 8, 200, 198, 2 + 198 * 0.05, 2 + 198 * 0.05),
      row('centralized', 'full', 8, 400, 10, 99, 99, 'failed'),
      row('distributed', 'lazy', 8, 50, 50, 1 + 50 * 0.01, 4 + 50 * 0.06),
      row('distributed', 'lazy', 8, 100, 100, 1 + 100 * 0.01, 4 + 100 * 0.06),
    ];
    const m = marginalCosts(rows);
    expect(m.map((r) => `${r.mode}/${r.groupSize}`)).toEqual(['centralized/8', 'distributed/8']);
    expect(m[0]!.rates).toEqual([50, 100, 200]);
    expect(m[0]!.head!.marginalUsPerCall).toBeCloseTo(500, 6);
    expect(m[0]!.head!.fixedCpuPct).toBeCloseTo(2, 6);
    expect(m[1]!.head!.marginalUsPerCall).toBeCloseTo(100, 6);
    expect(m[1]!.total!.marginalUsPerCall).toBeCloseTo(600, 6);
    expect(m[1]!.head!.marginalStdErrUs).toBeUndefined(); // two rates: no error estimate
    const text = formatMarginal(m);
    expect(text).toMatch(/forkbench\/centralized\/full\s+8\s+50,100,200\s+500 ± 0\s+2\.00/);
    expect(text).toMatch(/100 ± \?/);
  });
});
