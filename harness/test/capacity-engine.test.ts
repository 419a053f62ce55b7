// The capacity engine with a fake trial runner: what it asks of each trial, what it writes, and that
// a trial that cannot start aborts the search.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type SweepPoint } from '../plan/bench-config.js';
import { capacitySweepJobs, runCapacity, trialOutcome, type CapacityRequest, type TrialRunner } from '../engine/capacity-engine.js';
import { CAPACITY_COLUMNS } from '../records/columns.js';
import { SPEED_PROBE_REF_NS } from '../measure/speed-probe.js';
import { baseRow } from '../records/point-row.js';
import { readPoints } from '../records/results-csv.js';
import type { PointContext } from '../engine/point-runner.js';

const req: CapacityRequest = { target: 'forkbench', mode: 'distributed', groupSize: 8, maxP95SetupMs: 200, minSer: 1, trialCalls: 50, startRate: 10, maxRate: 100, resolution: 5, resolutionPct: 0, maxTrials: 12 };
const config = { ...DEFAULT_CONFIG, capture: false };

/** Passes below `knee` cps with a p95 of 10 ms, fails (SER 0.9) from it. */
function fakeTrials(knee: number, seen: { point: SweepPoint; ctx: PointContext }[]): TrialRunner {
  return async (point, ctx) => {
    seen.push({ point, ctx });
    const pass = point.rate < knee;
    // The host ran the speed probe 1.5x slower than the reference core in every trial.
    return { ...baseRow(point, ctx.config.warmupS), window_s: 5, ser: pass ? 1 : 0.9, setup_p95_us: 10_000, head_cpu_pct: 12.5, status: 'ok', speed_probe_ns: SPEED_PROBE_REF_NS * 1.5 };
  };
}

describe('runCapacity', () => {
  it('searches with fresh trial points and appends one capacity.csv row', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-capacity-'));
    const seen: { point: SweepPoint; ctx: PointContext }[] = [];
    const log: string[] = [];
    const result = await runCapacity(req, config, out, (s) => log.push(s), fakeTrials(33, seen));
    expect(result.capacityCps).toBe(30);
    expect(seen.map((s) => s.point.rate)).toEqual(result.trials.map((t) => t.rate));
    // Each trial: the mode's default parse, K fork nodes, its own folder, the request's calls, 1 s warm-up.
    expect(seen[0]!.point).toMatchObject({ target: 'forkbench', mode: 'distributed', parse: 'lazy', groupSize: 8, forkNodes: 2, trial: 1 });
    expect(seen[0]!.point.pointId).toBe('capacity/forkbench/distributed/lazy/n8/r10/t1');
    expect(seen[0]!.ctx.pointDir).toBe(join(out, 'trials', 'capacity_forkbench_distributed_lazy_n8_r10_t1'));
    expect(seen[0]!.ctx.config).toMatchObject({ calls: 50, warmupS: 3 });
    expect(new Set(seen.map((s) => s.point.trial)).size).toBe(seen.length);

    const csv = readFileSync(join(out, 'capacity.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(CAPACITY_COLUMNS.join(','));
    expect(csv).toHaveLength(2);
    const row = Object.fromEntries(CAPACITY_COLUMNS.map((c, i) => [c, csv[1]!.split(',')[i]]));
    expect(row).toMatchObject({ target: 'forkbench', mode: 'distributed', parse: 'lazy', group_size: '8', fork_nodes: '2', capacity_cps: '30', proving_setup_p95_us: '10000', proving_ser: '1', trials: String(result.trials.length) });
    // A host 1.5x slower than the reference core: 30 calls/s here is 45 on the reference core.
    expect(row).toMatchObject({ speed_probe_ns: String(SPEED_PROBE_REF_NS * 1.5), capacity_ref_cps: '45' });
    expect((await readPoints(join(out, 'capacity-trials.csv'))).length).toBe(result.trials.length);
    expect(log.at(-1)).toMatch(/^capacity forkbench\/distributed N=8: 30 calls\/s \(45 on the reference core\) \(proved by the trial at 30 cps: SER 1, p95 setup 10\.00 ms\)/);
    expect(log.filter((l) => l.includes('FAIL'))).not.toHaveLength(0);

    // A second search appends a row under the same header.
    await runCapacity({ ...req, mode: 'centralized' }, config, out, () => undefined, fakeTrials(1000, []));
    const again = readFileSync(join(out, 'capacity.csv'), 'utf8').trim().split('\n');
    expect(again).toHaveLength(3);
    expect(again[2]).toMatch(/^2,forkbench,centralized,full,8,0,100,/);
  });

  it('scales the capacity by the host speed over the whole search: the mean of every trial, not one trial', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-capacity-'));
    // The host is 1.5x slower than the reference core in the trials at 30 cps, 3x in all the others.
    const probes: number[] = [];
    const runner: TrialRunner = async (point, ctx) => {
      const probe = SPEED_PROBE_REF_NS * (point.rate === 30 ? 1.5 : 3);
      probes.push(probe);
      return { ...baseRow(point, ctx.config.warmupS), window_s: 5, ser: point.rate < 33 ? 1 : 0.9, setup_p95_us: 10_000, status: 'ok', speed_probe_ns: probe };
    };
    const result = await runCapacity(req, config, out, () => undefined, runner);
    expect(result.capacityCps).toBe(30);
    const mean = probes.reduce((x, y) => x + y, 0) / probes.length;
    expect(probes.length).toBe(result.trials.length);
    const csv = readFileSync(join(out, 'capacity.csv'), 'utf8').trim().split('\n');
    const row = Object.fromEntries(CAPACITY_COLUMNS.map((c, i) => [c, csv[1]!.split(',')[i]]));
    expect(row).toMatchObject({ speed_probe_ns: String(Math.round(mean)), capacity_ref_cps: String(Math.round((30 * mean) / SPEED_PROBE_REF_NS)) });
    expect(Number(row.capacity_ref_cps)).toBeGreaterThan(45); // not the 1.5x of the two trials at 30 cps alone
  });

  it('refuses, before any trial, a capacity.csv with other columns (an older forkbench\'s) instead of misaligning rows', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-capacity-'));
    writeFileSync(join(out, 'capacity.csv'), 'schema_version,target,mode,capacity_cps\n2,forkbench,centralized,10\n');
    const seen: { point: SweepPoint; ctx: PointContext }[] = [];
    await expect(runCapacity(req, config, out, () => undefined, fakeTrials(33, seen))).rejects.toThrow(/capacity\.csv has other columns .*use a new --out folder/);
    expect(seen).toHaveLength(0);
    expect(readFileSync(join(out, 'capacity.csv'), 'utf8')).toBe('schema_version,target,mode,capacity_cps\n2,forkbench,centralized,10\n');
  });

  it('a trial that cannot start aborts the search with its error, and no capacity row is written', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-capacity-'));
    let calls = 0;
    const broken: TrialRunner = async (point, ctx) => {
      calls++;
      return baseRow(point, ctx.config.warmupS, 'head exited at start: EADDRINUSE');
    };
    await expect(runCapacity(req, config, out, () => undefined, broken)).rejects.toThrow('trial at 10 cps could not run: head exited at start: EADDRINUSE');
    expect(calls).toBe(1);
    expect(() => readFileSync(join(out, 'capacity.csv'))).toThrow(/ENOENT/);
  });
});

describe('trialOutcome', () => {
  const p: SweepPoint = { pointId: 'x', target: 'forkbench', mode: 'centralized', parse: 'full', groupSize: 2, forkNodes: 0, rate: 10, trial: 1 };
  it('reads SER, p95 and status; a failed point is a failed trial with its error', () => {
    expect(trialOutcome({ ...baseRow(p, 1), window_s: 5, ser: 0.98, setup_p95_us: 1234, status: 'ok', head_cpu_pct: 3 }, 10)).toEqual({ ser: 0.98, setupP95Us: 1234, ok: true, detail: 'cpu 3%' });
    expect(trialOutcome({ ...baseRow(p, 1, 'caller did not finish'), window_s: 5, ser: '', setup_p95_us: '' }, 10)).toEqual({ ser: 0, setupP95Us: Number.POSITIVE_INFINITY, ok: false, detail: 'caller did not finish' });
  });
});

describe('capacitySweepJobs', () => {
  it('both forkbench modes per N, Kamailio capped at 30 branches, only the targets asked for', () => {
    expect(capacitySweepJobs([2, 32], ['forkbench', 'kamailio'])).toEqual([
      { target: 'forkbench', mode: 'centralized', groupSize: 2 },
      { target: 'forkbench', mode: 'distributed', groupSize: 2 },
      { target: 'kamailio', mode: 'centralized', groupSize: 2 },
      { target: 'forkbench', mode: 'centralized', groupSize: 32 },
      { target: 'forkbench', mode: 'distributed', groupSize: 32 },
      { target: 'kamailio', mode: 'centralized', groupSize: 30 },
    ]);
    expect(capacitySweepJobs([8], ['forkbench']).map((j) => j.target)).toEqual(['forkbench', 'forkbench']);
  });
});
