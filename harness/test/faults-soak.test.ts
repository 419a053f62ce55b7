// forkbench soak: the sampler's arithmetic (CPU share, RSS slope, summary), and a tiny soak through
// the CLI with the real proxy and real SIPp (15 s of calls, a sample every 2 s, short proxy timers
// so the tables drain in seconds). Ports 26900-26999.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuPct, slope, SOAK_COLUMNS, summarizeSoak, type SoakRow } from '../faults/soak-sampler.js';
import { readSoakCsv } from '../faults/soak-figure.js';
import { validateSoak, SOAK_DEFAULTS, SoakError } from '../faults/soak.js';
import { leftovers, runCli } from './cli-child.js';

const row = (t: number, phase: 'calls' | 'drain', rss: number, table = 5): SoakRow =>
  ({ ...Object.fromEntries(SOAK_COLUMNS.map((c) => [c, 0])), t_s: t, phase, rss_kb: rss, heap_used_kb: rss / 4, transaction_table: table, active_transactions: table ? 1 : 0, forks_active: 0 }) as SoakRow;

describe('soak arithmetic', () => {
  it('slope is the least-squares slope; undefined without two points', () => {
    expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2);
    expect(slope([{ x: 1, y: 1 }])).toBeUndefined();
    expect(slope([{ x: 1, y: 1 }, { x: 1, y: 2 }])).toBeUndefined();
  });
  it('cpuPct: ticks over wall time, % of one core', () => {
    expect(cpuPct({ cpuTicks: 100, rssKb: 0 }, { cpuTicks: 150, rssKb: 0 }, 1000, 100)).toBe(50);
    expect(cpuPct(undefined, { cpuTicks: 1, rssKb: 0 }, 1000, 100)).toBe(0);
  });
  it('summary: slope over the last two thirds of the calling phase (kB/min), tables at the end', () => {
    // Warm-up jump in the first third must not count; then +60 kB per minute.
    const rows = [row(0, 'calls', 1000), row(60, 'calls', 5000), row(120, 'calls', 5000), row(180, 'calls', 5060), row(240, 'calls', 5120), row(300, 'calls', 5180), row(330, 'drain', 5180, 0)];
    const s = summarizeSoak(rows);
    expect(s.slopeFromS).toBe(120);
    expect(s.rssSlopeKbPerMin).toBeCloseTo(60, 5);
    expect(s.drained).toBe(true);
    expect(s.tablesAtEnd?.transactionTable).toBe(0);
    expect(summarizeSoak([...rows.slice(0, -1), row(330, 'drain', 5180, 3)]).drained).toBe(false);
  });
  it('validates its options with the fix', () => {
    const ok = { ...SOAK_DEFAULTS, minutes: 1, groupSize: 4, rate: 10 };
    expect(validateSoak(ok)).toBe(ok);
    expect(() => validateSoak({ ...ok, minutes: 0 })).toThrow(SoakError);
    expect(() => validateSoak({ ...ok, groupSize: 0 })).toThrow(/--group-size/);
    expect(() => validateSoak({ ...ok, rate: -1 })).toThrow(/--rate/);
  });
});

describe('forkbench soak (tiny, real proxy and SIPp)', () => {
  it('samples every interval into soak.csv, drains, draws the figure and leaves no process', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-soak-'));
    const r = await runCli(['soak', '--minutes', '0.25', '--group-size', '4', '--rate', '20', '--sample-s', '2', '--drain-s', '20', '--base-port', '26900', '--proxy-args', '--t1 100 --t4 500 --timer-d 500', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'soak.csv'), 'utf8').split('\n')[0]).toBe(SOAK_COLUMNS.join(','));
    const rows = await readSoakCsv(join(out, 'soak.csv'));
    const calls = rows.filter((x) => x.phase === 'calls');
    // 15 s of calls sampled every 2 s: about 7 samples, then the drain.
    expect(calls.length).toBeGreaterThanOrEqual(5);
    expect(calls.length).toBeLessThanOrEqual(9);
    expect(rows.at(-1)!.phase).toBe('drain');
    for (const x of rows) {
      expect(Number(x.rss_kb)).toBeGreaterThan(10_000);
      expect(Number(x.heap_used_kb)).toBeGreaterThan(1_000);
      expect(typeof x.cpu_pct).toBe('number');
    }
    // Calls were in flight while calls were placed, and every table is empty at the end.
    expect(Math.max(...calls.map((x) => Number(x.transaction_table)))).toBeGreaterThan(0);
    const last = rows.at(-1)!;
    expect([last.transaction_table, last.active_transactions, last.forks_active]).toEqual([0, 0, 0]);
    expect(last.calls_succeeded).toBe(300);
    expect(r.stdout).toMatch(/RSS slope -?\d+(\.\d)? kB\/min/);
    expect(r.stdout).toContain('(drained)');
    for (const ext of ['vl.json', 'svg', 'png']) expect(existsSync(join(out, `soak-over-time.${ext}`)), ext).toBe(true);
    const spec = JSON.parse(readFileSync(join(out, 'soak-over-time.vl.json'), 'utf8')) as { data: { values: unknown[] } };
    expect(spec.data.values).toHaveLength(rows.length);
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { soakSummary: { drained: boolean }; config: { soak: { minutes: number } } };
    expect(meta.soakSummary.drained).toBe(true);
    expect(meta.config.soak.minutes).toBe(0.25);
    expect(leftovers(out)).toBe('');
  });

  it('a bad flag: one line naming the fix, exit 2', async () => {
    const r = await runCli(['soak', '--minutes', '0', '--group-size', '4', '--rate', '20']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--minutes');
  });
});
