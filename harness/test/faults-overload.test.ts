// forkbench overload: the row arithmetic (goodput, 503/s, the 20% criterion, the test-bed flag) and
// a tiny run through the CLI with the real proxy and SIPp that checks the shape of its output, not
// its speed (a benchmark is never a timed test). Ports 27000-27099.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { capacityFromCsv, OVERLOAD_COLUMNS, overloadOrder, overloadRow, formatOverloadTable } from '../faults/overload.js';
import type { PointInput } from '../records/results-csv.js';
import { packageRoot } from '../testbed/system.js';

const point = (o: Partial<PointInput>): PointInput => ({ point_id: 'x', offered_rate_cps: 100, achieved_rate_cps: 100, window_s: 10, calls_succeeded: 900, calls_failed: 100, fail_causes: '503:80;timeout:20', ser: 0.9, status: 'ok', flagged: 0, flag_reason: '', ...o }) as PointInput;

describe('overloadRow', () => {
  it('goodput = answered per second; 503s apart from other failures; ratio against the base', () => {
    const r = overloadRow({ multiple: 2, capacityCps: 100 }, point({}), { goodput: 100 });
    expect(r.goodput_cps).toBe(90);
    expect(r.rejected_503).toBe(80);
    expect(r.rejected_503_per_s).toBe(8);
    expect(r.other_failures).toBe(20);
    expect(r.calls_attempted).toBe(1000);
    expect(r.goodput_vs_1x).toBe(0.9);
    expect(r.holds).toBe(1);
    expect(overloadRow({ multiple: 4, capacityCps: 100 }, point({ calls_succeeded: 700 }), { goodput: 100 }).holds).toBe(0);
  });
  it('holds on timely goodput: every call answered but late is not held', () => {
    // 2x: all 900 calls answered (goodput 0.9x of the base), but only 300 within 200 ms.
    const r = overloadRow({ multiple: 2, capacityCps: 100 }, point({}), { goodput: 100, timely: 95 }, { calls: 300, boundMs: 200 });
    expect(r.goodput_vs_1x).toBe(0.9);
    expect(r.timely_cps).toBe(30);
    expect(r.timely_bound_ms).toBe(200);
    expect(r.timely_vs_1x).toBe(0.32);
    expect(r.holds).toBe(0);
    expect(overloadRow({ multiple: 2, capacityCps: 100 }, point({}), { goodput: 100, timely: 95 }, { calls: 850, boundMs: 200 }).holds).toBe(1);
    // Below 1x the proxy holds when it answers in time the share of the base that was offered.
    expect(overloadRow({ multiple: 0.5, capacityCps: 100 }, point({ calls_succeeded: 500 }), { goodput: 100, timely: 100 }, { calls: 500, boundMs: 200 }).holds).toBe(1);
    expect(overloadRow({ multiple: 0.5, capacityCps: 100 }, point({ calls_succeeded: 500 }), { goodput: 100, timely: 100 }, { calls: 350, boundMs: 200 }).holds).toBe(0);
    // A timely count with no timely base (nothing in time at 1x) says nothing either way.
    expect(overloadRow({ multiple: 2, capacityCps: 100 }, point({}), { goodput: 100 }, { calls: 850, boundMs: 200 }).holds).toBe('');
  });
  it('flags a point whose caller could not offer the load (the test bed, not the proxy)', () => {
    const r = overloadRow({ multiple: 4, capacityCps: 100 }, point({ offered_rate_cps: 400, achieved_rate_cps: 250 }), { goodput: 100 });
    expect(r.flagged).toBe(1);
    expect(r.flag_reason).toMatch(/test bed/);
    expect(overloadRow({ multiple: 1, capacityCps: 100 }, point({})).flagged).toBe(0);
  });
  it('a point that did not complete is failed with its reason, and has no ratio to hold', () => {
    const r = overloadRow({ multiple: 4, capacityCps: 100 }, point({ status: 'failed', error: 'caller did not finish within the 63 s\ndeadline' }), { goodput: 100 });
    expect(r).toMatchObject({ status: 'failed', error: 'caller did not finish within the 63 s deadline' });
  });
  it('records the terms of the load: mode, N, budget and the capacity it is a multiple of', () => {
    const r = overloadRow({ multiple: 2, capacityCps: 50 }, point({ mode: 'distributed', group_size: 8, cpu_budget_cores: 0.2 }), { goodput: 100 });
    expect(r).toMatchObject({ multiple: 2, mode: 'distributed', group_size: 8, cpu_budget_cores: 0.2, capacity_cps: 50 });
  });
  it('runs 1x first (the base), then the other loads ascending; the lowest is the base when 1x is not asked for', () => {
    expect(overloadOrder([4, 0.5, 2, 1])).toEqual([1, 0.5, 2, 4]);
    expect(overloadOrder([4, 2, 2])).toEqual([2, 4]);
    expect(overloadOrder([])).toEqual([]);
  });
  it('takes a mode\'s capacity from a capacity.csv, and refuses one found under another budget', () => {
    const csv = [
      'target,mode,parse,group_size,capacity_cps,stop_reason,cpu_budget_cores',
      'forkbench,centralized,full,8,93,resolution,0.2',
      'forkbench,distributed,lazy,8,131,resolution,0.2',
      'kamailio,centralized,n/a,8,168,resolution,0.2',
      'forkbench,centralized,full,32,,testbed-bound,0.2',
    ].join('\n');
    expect(capacityFromCsv(csv, 'c.csv', { mode: 'centralized', groupSize: 8, cpuBudget: 0.2 })).toBe(93);
    expect(capacityFromCsv(csv, 'c.csv', { mode: 'distributed', groupSize: 8, cpuBudget: 0.2 })).toBe(131);
    expect(() => capacityFromCsv(csv, 'c.csv', { mode: 'centralized', groupSize: 8, cpuBudget: 0.4 })).toThrow(/under 0.2 CPU budget, not 0.4: give --cpu-budget 0.2/);
    expect(() => capacityFromCsv(csv, 'c.csv', { mode: 'centralized', groupSize: 32, cpuBudget: 0.2 })).toThrow(/no capacity \(stopped: testbed-bound\)/);
    expect(() => capacityFromCsv(csv, 'c.csv', { mode: 'centralized', groupSize: 16, cpuBudget: 0.2 })).toThrow(/no forkbench centralized row at N = 16/);
  });
  it('prints one table line per load', () => {
    const t = formatOverloadTable([overloadRow({ multiple: 1, capacityCps: 100 }, point({})), overloadRow({ multiple: 2, capacityCps: 100 }, point({}), { goodput: 90 })]);
    expect(t.split('\n')).toHaveLength(4);
    expect(t).toContain('| 2x |');
  });
});

describe('forkbench overload (tiny, real proxy and SIPp)', () => {
  it('runs 1x and 2x of each mode\'s capacity from a capacity.csv and writes one overload.csv row per mode and load', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-overload-'));
    const capacityCsv = join(out, 'given-capacity.csv');
    writeFileSync(capacityCsv, 'target,mode,parse,group_size,capacity_cps,stop_reason,cpu_budget_cores\nforkbench,centralized,full,2,20,resolution,\nforkbench,distributed,lazy,2,15,resolution,\n');
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const args = ['overload', '--group-size', '2', '--mode', 'centralized,distributed', '--capacity-from', capacityCsv, '--multiples', '2,1', '--duration-s', '3', '--base-port', '27000', '--out', out];
      const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'forkbench.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    expect(rows.map((x) => `${x.mode} ${x.multiple} ${x.offered_cps} ${x.capacity_cps}`)).toEqual(['centralized 1 20 20', 'centralized 2 40 20', 'distributed 1 15 15', 'distributed 2 30 15']);
    for (const x of rows) {
      expect(x.status).toBe('ok');
      expect(x.group_size).toBe('2');
      expect(Number(x.goodput_cps)).toBeGreaterThan(0);
      expect(x.rejected_503_per_s).toMatch(/^\d+(\.\d+)?$/);
      // Far below capacity every answered call is in time: the timely count is the answered count.
      expect(x.timely_bound_ms).toBe('200');
      expect(x.timely_cps).toBe(x.goodput_cps);
    }
    expect(rows.filter((x) => x.multiple === '1').map((x) => [x.goodput_vs_1x, x.timely_vs_1x])).toEqual([['1', '1'], ['1', '1']]);
    expect(r.stdout).toMatch(/\| 2x \| 40 \|/);
    expect(r.stdout).toMatch(/\| 2x \| 30 \|/);
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { overloadRuns: { capacityCps: number; multiples: number[]; mode: string; capacitySource: string; command: string; gitCommit: string | null }[] };
    expect(meta.overloadRuns.map((e) => [e.mode, e.capacityCps, e.capacitySource])).toEqual([['centralized', 20, capacityCsv], ['distributed', 15, capacityCsv]]);
    expect(meta.overloadRuns[0]!.command).toMatch(/overload --group-size 2 --mode centralized,distributed/);
    expect(meta.overloadRuns[0]).toHaveProperty('gitCommit');
  });
});
