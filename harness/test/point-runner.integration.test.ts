// runPoint with a target of the test's own (the target interface as hosts/external proxies will use
// it): a proxy that swallows every INVITE, so the caller hangs and the point's deadline must end it.
// Ports 26800-26849 on 127.0.0.1. The second test runs the real proxy and SIPp under a CPU budget.
import { createSocket, type Socket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type SweepPoint } from '../plan/bench-config.js';
import { pointTiming, runPoint } from '../engine/point-runner.js';
import type { ProxyTarget } from '../testbed/targets/index.js';
import { detectCgroups, liveCgroups } from '../testbed/cgroup.js';

/** Processes whose command line names `dir` (SIPp runs with its files there); pgrep missing fails. */
function running(dir: string): string {
  try {
    return execFileSync('pgrep', ['-a', '-f', dir], { encoding: 'utf8' }).trim();
  } catch (e) {
    if ((e as { status?: number }).status === 1) return '';
    throw e;
  }
}

describe('runPoint', () => {
  it('a hung caller is killed at the point deadline and the point is recorded as failed with the reason', async () => {
    let sock: Socket | undefined;
    let received = 0;
    let stopped = 0;
    const blackhole: ProxyTarget = {
      name: 'blackhole',
      async start(s) {
        sock = createSocket('udp4');
        sock.on('message', () => received++);
        await new Promise<void>((r) => sock!.bind(s.layout.proxyPort, '127.0.0.1', () => r()));
        return {
          sipAddress: `127.0.0.1:${s.layout.proxyPort}`,
          processes: [{ role: 'central', name: 'test runner', pid: process.pid, tree: false }],
          readCounters: async () => undefined,
          stop: async () => {
            stopped++;
            await new Promise<void>((r) => sock!.close(() => r()));
          },
        };
      },
    };
    const config = { ...DEFAULT_CONFIG, calls: 10, warmupS: 1, rates: [10], basePort: 26800, capture: false };
    const point: SweepPoint = { pointId: 'blackhole/centralized/full/n2/r10/t1', target: 'forkbench', mode: 'centralized', parse: 'full', groupSize: 2, forkNodes: 0, rate: 10, trial: 1 };
    const pointDir = mkdtempSync(join(tmpdir(), 'forkbench-hung-'));
    const { deadlineS } = pointTiming(config, 10, 3);
    expect(Math.round(deadlineS)).toBe(5); // 20 calls at 10 cps + ring and hold + 3 s
    const row = await runPoint(point, { config, pointDir, capture: false, target: blackhole, deadlineMarginS: 3 });
    expect(row.status).toBe('failed');
    expect(row.error).toBe('caller did not finish within the 5 s deadline (hung SIPp killed)');
    // It measured its window (the row is a result with its failures, not "could not run").
    expect(row.window_s).toBeGreaterThan(0);
    expect(row.ser).toBe(0);
    expect(received).toBeGreaterThanOrEqual(20); // the caller did send (INVITEs and their retransmissions)
    expect(stopped).toBe(1);
    expect(running(pointDir)).toBe('');
  });

  it('under --cpu-budget the quota holds over the measured window (its CFS periods are counted) and the group is gone after', async () => {
    const cg = detectCgroups();
    if (!cg.ok) throw new Error(`needs cgroups and root: ${cg.reason}`);
    const config = { ...DEFAULT_CONFIG, calls: 30, warmupS: 1, rates: [15], basePort: 26810, capture: false, cpuBudget: 0.2 };
    const point: SweepPoint = { pointId: 'forkbench/centralized/full/n2/r15/t1', target: 'forkbench', mode: 'centralized', parse: 'full', groupSize: 2, forkNodes: 0, rate: 15, trial: 1 };
    const pointDir = mkdtempSync(join(tmpdir(), 'forkbench-budget-'));
    const row = await runPoint(point, { config, pointDir, capture: false });
    expect(row.status).toBe('ok');
    expect(row.cpu_budget_cores).toBe(0.2);
    // Throttling is read from the group's periods between window start and end: a number only if
    // the quota was in force then (a group without a quota counts no periods).
    expect(typeof row.head_throttled_pct).toBe('number');
    // The host's speed was probed beside the proxy over the window.
    expect(row.speed_probe_ns).toBeGreaterThan(1_000);
    expect(liveCgroups()).toEqual([]);
    expect(running(pointDir)).toBe('');
  });
});
