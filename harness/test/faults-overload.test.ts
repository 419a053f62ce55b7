// forkbench overload: the row arithmetic (goodput, 503/s, the 20% criterion, the test-bed flag) and
// a tiny run through the CLI with the real proxy and SIPp that checks the shape of its output, not
// its speed (a benchmark is never a timed test). Ports 27000-27099.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { OVERLOAD_COLUMNS, overloadRow, formatOverloadTable } from '../faults/overload.js';
import type { PointInput } from '../records/results-csv.js';
import { packageRoot } from '../testbed/system.js';

const point = (o: Partial<PointInput>): PointInput => ({ point_id: 'x', offered_rate_cps: 100, achieved_rate_cps: 100, window_s: 10, calls_succeeded: 900, calls_failed: 100, fail_causes: '503:80;timeout:20', ser: 0.9, status: 'ok', flagged: 0, flag_reason: '', ...o }) as PointInput;

describe('overloadRow', () => {
  it('goodput = answered per second; 503s apart from other failures; ratio against the base', () => {
    const r = overloadRow(2, point({}), { goodput: 100 });
    expect(r.goodput_cps).toBe(90);
    expect(r.rejected_503).toBe(80);
    expect(r.rejected_503_per_s).toBe(8);
    expect(r.other_failures).toBe(20);
    expect(r.calls_attempted).toBe(1000);
    expect(r.goodput_vs_1x).toBe(0.9);
    expect(r.holds).toBe(1);
    expect(overloadRow(4, point({ calls_succeeded: 700 }), { goodput: 100 }).holds).toBe(0);
  });
  it('holds on timely goodput: every call answered but late is not held', () => {
    // 2x: all 900 calls answered (goodput 0.9x of the base), but only 300 within 200 ms.
    const r = overloadRow(2, point({}), { goodput: 100, timely: 95 }, { calls: 300, boundMs: 200 });
    expect(r.goodput_vs_1x).toBe(0.9);
    expect(r.timely_cps).toBe(30);
    expect(r.timely_bound_ms).toBe(200);
    expect(r.timely_vs_1x).toBe(0.32);
    expect(r.holds).toBe(0);
    expect(overloadRow(2, point({}), { goodput: 100, timely: 95 }, { calls: 850, boundMs: 200 }).holds).toBe(1);
    // A timely count with no timely base (nothing in time at 1x) says nothing either way.
    expect(overloadRow(2, point({}), { goodput: 100 }, { calls: 850, boundMs: 200 }).holds).toBe('');
  });
  it('flags a point whose caller could not offer the load (the test bed, not the proxy)', () => {
    const r = overloadRow(4, point({ offered_rate_cps: 400, achieved_rate_cps: 250 }), { goodput: 100 });
    expect(r.flagged).toBe(1);
    expect(r.flag_reason).toMatch(/test bed/);
    expect(overloadRow(1, point({})).flagged).toBe(0);
  });
  it('prints one table line per load', () => {
    const t = formatOverloadTable([overloadRow(1, point({})), overloadRow(2, point({}), { goodput: 90 })]);
    expect(t.split('\n')).toHaveLength(4);
    expect(t).toContain('| 2x |');
  });
});

describe('forkbench overload (tiny, real proxy and SIPp)', () => {
  it('runs 1x and 2x of a given capacity and writes one overload.csv row per load', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-overload-'));
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'forkbench.js'), 'overload', '--group-size', '2', '--capacity', '20', '--multiples', '1,2', '--duration-s', '3', '--base-port', '27000', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(out, 'overload.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe(OVERLOAD_COLUMNS.join(','));
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows.map((x) => x.multiple)).toEqual(['1', '2']);
    expect(rows.map((x) => x.offered_cps)).toEqual(['20', '40']);
    for (const x of rows) {
      expect(x.status).toBe('ok');
      expect(Number(x.goodput_cps)).toBeGreaterThan(0);
      expect(x.rejected_503_per_s).toMatch(/^\d+(\.\d+)?$/);
      // Far below capacity every answered call is in time: the timely count is the answered count.
      expect(x.timely_bound_ms).toBe('200');
      expect(x.timely_cps).toBe(x.goodput_cps);
    }
    expect(rows[0]!.goodput_vs_1x).toBe('1');
    expect(rows[0]!.timely_vs_1x).toBe('1');
    expect(r.stdout).toMatch(/\| 2x \| 40 \|/);
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { overloadRuns: { capacityCps: number; multiples: number[] }[] };
    expect(meta.overloadRuns[0]).toMatchObject({ capacityCps: 20, multiples: [1, 2] });
  });
});
