import { describe, expect, it } from 'vitest';
import { compareModes, compareRuns, formatTable } from '../records/compare.js';
import type { PointRow } from '../records/columns.js';

function row(mode: string, parse: string, n: number, rate: number, cpu: number, p95: number, trial = 1): PointRow {
  return {
    target: 'forkbench', mode, parse, group_size: n, offered_rate_cps: rate, trial, status: 'ok',
    head_cpu_pct: cpu, cpu_us_per_call: cpu * 100, setup_p95_us: p95, msgs_per_call: mode === 'centralized' ? 5 * n + 10 : 22, ser: 1,
  } as unknown as PointRow;
}

describe('compare', () => {
  const rows = [
    row('centralized', 'full', 32, 100, 40, 30_000, 1),
    row('centralized', 'full', 32, 100, 50, 34_000, 2),
    row('centralized', 'lazy', 32, 100, 10, 1_000), // another parse mode: must not be pooled in
    row('distributed', 'lazy', 32, 100, 10, 31_000),
    row('distributed', 'full', 32, 100, 99, 99_000),
    { ...row('distributed', 'lazy', 32, 100, 1, 1), status: 'failed' } as PointRow,
  ];

  it('pairs centralized (full parse) with the lazy head per N and rate, medians over trials', () => {
    const c = compareModes(rows);
    expect([c.leftParse, c.rightParse]).toEqual(['full', 'lazy']);
    expect(c.rows).toHaveLength(1);
    const r = c.rows[0]!;
    expect(r.left.n).toBe(2);
    expect(r.right.n).toBe(1); // the failed row is left out
    expect(r.headCpuRatio).toBeCloseTo(45 / 10);
    expect(r.setupP95Ratio).toBeCloseTo(32_000 / 31_000);
    expect(r.msgsRatio).toBeCloseTo(170 / 22);
  });

  it('compares two runs mode by mode and prints a table with the ratios', () => {
    const b = rows.map((r) => ({ ...r, head_cpu_pct: Number(r.head_cpu_pct) * 2 }) as PointRow);
    const c = compareRuns(rows, b, 'distributed');
    expect(c[0]!.headCpuRatio).toBeCloseTo(0.5, 1);
    const text = formatTable(compareModes(rows).rows, 'central', 'distrib');
    expect(text).toContain('4.50x');
    expect(text.split('\n')[2]).toMatch(/^\s*32\s+100/);
  });
});
