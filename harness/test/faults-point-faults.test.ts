// The point runner's fault plumbing without processes: the plan from a config, a killed fork node's
// CPU left out of the row (flagged), and the faults.csv row with SIPp retransmission counts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SweepPoint } from '../plan/bench-config.js';
import { validateConfig, mergeConfig, DEFAULT_CONFIG, ConfigError } from '../plan/bench-config.js';
import type { WindowSample } from '../measure/cpu-sampler.js';
import { appendFaultRow, faultPlan, FAULT_COLUMNS, hasFaults, writeFaultOutcome } from '../faults/point-faults.js';
import { buildPointRow } from '../records/point-row.js';
import type { PointInput } from '../records/results-csv.js';

describe('faultPlan and the config', () => {
  it('no faults by default; --loss and --kill-fork-node parsed', () => {
    expect(hasFaults(faultPlan(DEFAULT_CONFIG))).toBe(false);
    expect(faultPlan({ loss: '5:all', killForkNode: '30%:1' })).toEqual({ loss: { pct: 5, legs: 'all' }, kill: { at: { fraction: 0.3 }, node: 1 } });
  });
  it('validateConfig refuses a bad spec, and a kill without fork nodes, naming the fix', () => {
    expect(() => validateConfig(mergeConfig(DEFAULT_CONFIG, {}, { loss: '5:wires' }))).toThrow(ConfigError);
    expect(() => validateConfig(mergeConfig(DEFAULT_CONFIG, {}, { modes: ['centralized'], killForkNode: '50%' }))).toThrow(/add distributed to --modes/);
    expect(validateConfig(mergeConfig(DEFAULT_CONFIG, {}, { loss: '5', killForkNode: '10s:2' })).loss).toBe('5');
  });
});

const cpu = (cpuUs: number): WindowSample => ({ ok: true, pid: 1, pids: [1], cpuUs, wallUs: 5_000_000, cpuPct: cpuUs / 50_000, peakRssKb: 1, rssKb: 1 });
const point: SweepPoint = { pointId: 'p', target: 'forkbench', mode: 'distributed', parse: 'lazy', groupSize: 4, forkNodes: 2, rate: 20, trial: 1 };

describe('a killed fork node in the row', () => {
  const m = {
    point,
    warmupS: 1,
    window: { startUs: 0, endUs: 5_000_000 },
    sippStats: { successfulCalls: 3, failedCalls: 0, totalCalls: 3, retransmissions: 0, failuresByCause: {}, responseTimeMs: {}, raw: {} },
    sippRtt: [1, 1, 1].map((ms) => ({ dateMs: 1, responseTimeMs: ms, rtdName: 'setup' })),
    counters: {},
  };
  it('without the mark, a gone fork node fails the point; with it, its CPU is left out and the row flagged', () => {
    const gone: WindowSample = { ok: false, pid: 2, error: 'process 2 is gone' };
    const failed = buildPointRow({ ...m, cpu: { central: cpu(100_000), forkNodes: [cpu(50_000), gone] } });
    expect(failed.status).toBe('failed');
    const row = buildPointRow({ ...m, cpu: { central: cpu(100_000), forkNodes: [cpu(50_000), gone] }, killedForkNodes: [1] });
    expect(row.status).toBe('ok');
    expect(row.flagged).toBe(1);
    expect(row.flag_reason).toContain('fork node 2 killed');
    expect(row.forknodes_cpu_pct).toBe(1);
  });
});

describe('faults.csv', () => {
  it('one row per point with faults: the loss counts, the SIPp retransmissions, the kill', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-faults-'));
    const dir = join(out, 'points', 'p');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    const stat = (retrans: number): string => `SuccessfulCall(C);FailedCall(C);TotalCallCreated;Retransmissions(C)\n10;0;10;${retrans}\n`;
    writeFileSync(join(dir, 'caller_stat.csv'), stat(4));
    writeFileSync(join(dir, 'member-01_stat.csv'), stat(2));
    writeFileSync(join(dir, 'member-02_stat.csv'), stat(3));
    const row = { point_id: 'p', calls_attempted: 10, calls_succeeded: 9, ser: 0.9, fail_causes: 'timeout:1' } as PointInput;
    await appendFaultRow(out, dir, row); // no faults.json: nothing
    expect(() => readFileSync(join(out, 'faults.csv'))).toThrow();
    await writeFaultOutcome(dir, { loss: { pct: 5, legs: 'all', dropped: 7, passed: 93, table: 'forkbench_1' }, kill: { node: 2, pid: 9, plannedAtS: 3, firedAtS: 3.0123 } });
    await appendFaultRow(out, dir, row);
    await appendFaultRow(out, dir, row);
    const lines = readFileSync(join(out, 'faults.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe(FAULT_COLUMNS.join(','));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('p,5,all,7,93,10,9,0.9,timeout:1,4,5,2,3,3.012');
  });
});
