// The issue-10 columns of the row builder: terms and budget, throttling, idle CPU, the test-bed
// guard, capture integrity and the proxy's own delay.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SweepPoint } from '../plan/bench-config.js';
import type { WindowSample } from '../measure/cpu-sampler.js';
import { readPcap } from '../measure/pcap.js';
import { buildPointRow, type PointMeasurements } from '../records/point-row.js';

const cpu = (cpuUs: number, wallUs: number): WindowSample => ({ ok: true, pid: 1, pids: [1], cpuUs, wallUs, cpuPct: (cpuUs / wallUs) * 100, peakRssKb: 1, rssKb: 1 });
const { packets, stats } = readPcap(readFileSync(join(__dirname, 'fixtures', 'centralized-n4.pcap')));
const first = packets[0]!.tsUs;
const last = packets[packets.length - 1]!.tsUs;
// The recorded run: 11 calls at 5 calls/s; the window covers them all.
const point: SweepPoint = { pointId: 'x', target: 'forkbench', mode: 'centralized', parse: 'full', groupSize: 4, forkNodes: 0, rate: 5, trial: 1 };
const windowUs = { startUs: first, endUs: first + 2_200_000 };

function m(over: Partial<PointMeasurements> = {}): PointMeasurements {
  return {
    point,
    warmupS: 0,
    window: windowUs,
    sippStats: { successfulCalls: 11, failedCalls: 0, totalCalls: 11, retransmissions: 0, failuresByCause: {}, responseTimeMs: {}, raw: {} },
    sippRtt: [],
    capture: { packets, callerPort: 41024, truncated: false, proxyPorts: [41000], tcpdump: { captured: stats.records, droppedByKernel: 0 }, records: stats.records },
    cpu: { central: cpu(20_000, 2_200_000), forkNodes: [] },
    counters: {},
    terms: { relay180: 'all', forkNodeParse: '', cpuBudgetCores: 0.2 },
    throttle: { start: { nrPeriods: 100, nrThrottled: 10, throttledUs: 0 }, end: { nrPeriods: 300, nrThrottled: 60, throttledUs: 9 } },
    idleCpuPct: 0.42,
    testbed: { testbedCpuPct: 35.5, machineBusyPct: 40.04, processes: 7 },
    ...over,
  };
}

describe('issue-10 columns of buildPointRow', () => {
  it('records terms, budget, throttling, idle CPU, the test bed, and the proxy\'s own delay from the recorded capture', () => {
    expect(last).toBeGreaterThan(first);
    const row = buildPointRow(m());
    expect(row).toMatchObject({
      relay_180: 'all',
      forknode_parse: '',
      cpu_budget_cores: 0.2,
      head_throttled_pct: 25, // 50 of 200 periods
      head_idle_cpu_pct: 0.42,
      testbed_cpu_pct: 35.5,
      machine_busy_pct: 40,
      testbed_bound: 0,
      capture_dropped: 0,
      capture_truncated: 0,
      sipp_failed_calls: 0,
      flagged: 0,
      status: 'ok',
    });
    expect(row.calls_succeeded).toBe(11);
    for (const c of ['fanout', 'ring_transit', 'answer_transit'] as const) {
      const [p50, p95, p99] = [row[`${c}_p50_us`], row[`${c}_p95_us`], row[`${c}_p99_us`]] as number[];
      expect(p50).toBeGreaterThan(0);
      expect(p50).toBeLessThanOrEqual(p95!);
      expect(p95).toBeLessThanOrEqual(p99!);
    }
  });

  it('a busy machine or a caller short of the offered rate is test bed bound: flagged, not a failed point', () => {
    const busy = buildPointRow(m({ testbed: { testbedCpuPct: 150, machineBusyPct: 95, processes: 7 } }));
    expect(busy).toMatchObject({ testbed_bound: 1, flagged: 1, status: 'ok', flag_reason: 'test bed bound: machine 95% busy (> 90%)' });
    const slow = buildPointRow(m({ point: { ...point, rate: 10 } }));
    expect(slow.testbed_bound).toBe(1);
    expect(slow.flag_reason).toMatch(/^test bed bound: caller achieved 5\.0 of 10 calls\/s offered/);
  });

  it('flags kernel drops and a disagreement with SIPp\'s failed calls, with both numbers', () => {
    const row = buildPointRow(
      m({
        sippStats: { successfulCalls: 9, failedCalls: 2, totalCalls: 11, retransmissions: 0, failuresByCause: {}, responseTimeMs: {}, raw: {} },
        capture: { ...m().capture!, tcpdump: { captured: stats.records, droppedByKernel: 3 } },
      }),
    );
    expect(row.capture_dropped).toBe(3);
    // A capture that lost packets is the test bed's limit: its outcome is not the proxy's.
    expect(row.testbed_bound).toBe(1);
    expect(row.flag_reason).toBe('capture dropped 3 packets (kernel); failed calls: capture 0, SIPp 2; test bed bound: capture dropped 3 packets');
  });
});
