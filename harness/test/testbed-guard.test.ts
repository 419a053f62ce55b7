import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { machineBusyPct, parseProcStatCpu, testbedVerdict, TestbedWindow } from '../measure/testbed-guard.js';

const STAT_A = 'cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\nintr 1 2 3\n';
const STAT_B = 'cpu  280 0 110 840 50 5 5 0 30 0\ncpu0 140 0 55 420 25 0 0 0 0 0\nintr 1 2 3\n';

describe('machine busy from /proc/stat', () => {
  it('counts user+nice+system+irq+softirq+steal as busy, idle+iowait as idle, guest not twice', () => {
    expect(parseProcStatCpu(STAT_A)).toEqual({ busy: 150, total: 1000 });
    expect(parseProcStatCpu(STAT_B)).toEqual({ busy: 400, total: 1290 });
    // 250 busy of 290 jiffies between the readings
    expect(machineBusyPct(parseProcStatCpu(STAT_A), parseProcStatCpu(STAT_B))).toBeCloseTo((250 / 290) * 100, 6);
    expect(() => parseProcStatCpu('intr 1\n')).toThrow(/cpu/);
  });
});

describe('testbedVerdict', () => {
  it('a shortfall of one call in a short window is quantisation, not a slow caller', () => {
    // 20 calls/s over 3 s: 58 attempts counted is 19.33 calls/s (< 97%) but only 2 calls short.
    expect(testbedVerdict({ offeredRateCps: 20, achievedRateCps: 59 / 3, windowS: 3 })).toBeUndefined();
    expect(testbedVerdict({ offeredRateCps: 20, achievedRateCps: 58 / 3, windowS: 3 })).toMatch(/^caller achieved 19.3 of 20/);
    expect(testbedVerdict({ offeredRateCps: 100, achievedRateCps: 96.9, windowS: 10 })).toMatch(/^caller achieved 96.9 of 100/);
  });

  it('binds above 90% machine busy, or below 97% of the offered rate achieved', () => {
    expect(testbedVerdict({ machineBusyPct: 90, offeredRateCps: 100, achievedRateCps: 97 })).toBeUndefined();
    expect(testbedVerdict({ machineBusyPct: 90.5, offeredRateCps: 100, achievedRateCps: 100 })).toBe('machine 91% busy (> 90%)');
    expect(testbedVerdict({ machineBusyPct: 20, offeredRateCps: 100, achievedRateCps: 96.9 })).toBe(
      'caller achieved 96.9 of 100 calls/s offered (< 97%)',
    );
    expect(testbedVerdict({ machineBusyPct: 95, offeredRateCps: 200, achievedRateCps: 150 })).toMatch(/^machine 95% busy .*; caller achieved 150\.0 of 200/);
    expect(testbedVerdict({ machineBusyPct: 20, offeredRateCps: 100, achievedRateCps: 100, captureDropped: 12 })).toBe('capture dropped 12 packets');
    expect(testbedVerdict({ machineBusyPct: 20, offeredRateCps: 100, achievedRateCps: 100, captureDropped: 0 })).toBeUndefined();
    // Unknown measures do not bind.
    expect(testbedVerdict({ offeredRateCps: 100 })).toBeUndefined();
  });

  it('a caller short of its rate while the budgeted proxy was throttled in >= 90% of periods is the proxy overloaded, not the test bed', () => {
    // Seen in a capacity search: 0.4 cores, 120 cps offered, 114.6 achieved, proxy throttled in every period.
    expect(testbedVerdict({ machineBusyPct: 49, offeredRateCps: 120, achievedRateCps: 114.6, windowS: 10, proxyThrottledPct: 100 })).toBeUndefined();
    expect(testbedVerdict({ machineBusyPct: 49, offeredRateCps: 120, achievedRateCps: 114.6, windowS: 10, proxyThrottledPct: 90 })).toBeUndefined();
    expect(testbedVerdict({ machineBusyPct: 49, offeredRateCps: 120, achievedRateCps: 114.6, windowS: 10, proxyThrottledPct: 89.9 })).toMatch(/^caller achieved 114\.6 of 120/);
    // A busy machine or a lossy capture still binds, saturated proxy or not.
    expect(testbedVerdict({ machineBusyPct: 95, offeredRateCps: 120, achievedRateCps: 114.6, windowS: 10, proxyThrottledPct: 100 })).toBe('machine 95% busy (> 90%)');
    expect(testbedVerdict({ machineBusyPct: 40, offeredRateCps: 120, achievedRateCps: 120, proxyThrottledPct: 100, captureDropped: 3 })).toBe('capture dropped 3 packets');
  });
});

describe('TestbedWindow', () => {
  const kids: ChildProcess[] = [];
  afterEach(() => {
    for (const k of kids.splice(0)) if (k.exitCode === null) k.kill('SIGKILL');
  });

  it('sums the CPU of the test bed processes and reads the machine over the same window', async () => {
    const spin = spawn(process.execPath, ['-e', 'const e = Date.now() + 3000; while (Date.now() < e) {}'], { stdio: 'ignore' });
    const idle = spawn('sleep', ['3'], { stdio: 'ignore' });
    kids.push(spin, idle);
    await new Promise((r) => setTimeout(r, 100));
    // Two windows at once: the spinner with the sleeper (and a pid that never existed), and the sleeper alone.
    const both = new TestbedWindow([spin.pid!, idle.pid!, 2 ** 22 + 999]);
    const quiet = new TestbedWindow([idle.pid!]);
    await Promise.all([both.start(), quiet.start()]);
    await new Promise((r) => setTimeout(r, 800));
    const [u, q] = await Promise.all([both.end(), quiet.end()]);
    expect(u.processes).toBe(2); // the pid that never existed is not counted
    // A spinning process gets a share of a core even on a busy machine; a sleeping one gets ~none.
    expect(u.testbedCpuPct).toBeGreaterThan(5);
    expect(u.testbedCpuPct).toBeLessThan(110);
    expect(q.testbedCpuPct).toBeLessThan(2);
    expect(u.testbedCpuPct).toBeGreaterThan(q.testbedCpuPct + 4);
    expect(u.machineBusyPct).toBeGreaterThan(0);
    expect(u.machineBusyPct).toBeLessThanOrEqual(100);
  });

  it('reads a given stat file (machine busy from its two readings)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-stat-'));
    try {
      const f = join(dir, 'stat');
      writeFileSync(f, STAT_A);
      const w = new TestbedWindow([], f);
      await w.start();
      writeFileSync(f, STAT_B);
      const u = await w.end();
      expect(u.machineBusyPct).toBeCloseTo((250 / 290) * 100, 6);
      expect(u.testbedCpuPct).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
