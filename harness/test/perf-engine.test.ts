// make perf's summary from points.csv rows, and which sweeps it runs.
import { describe, expect, it } from 'vitest';
import { POINT_COLUMNS, type PointRow } from '../records/columns.js';
import { perfSummary, perfSweeps } from '../engine/perf-engine.js';

const row = (target: string, mode: string, parse: string, n: number, rate: number, cpu: number, status = 'ok'): PointRow => {
  const r = Object.fromEntries(POINT_COLUMNS.map((c) => [c, ''])) as PointRow;
  return { ...r, target, mode, parse, group_size: n, offered_rate_cps: rate, cpu_us_per_call: cpu, status };
};

describe('perfSummary', () => {
  it('CPU per call per configuration (mean over trials, failed points left out) and the ratios', () => {
    const rows = [
      row('forkbench', 'centralized', 'full', 16, 100, 400),
      row('forkbench', 'centralized', 'full', 16, 100, 600), // second trial: mean 500
      row('forkbench', 'centralized', 'full', 16, 100, 9999, 'failed'),
      row('forkbench', 'centralized', 'lazy', 16, 100, 300),
      row('kamailio', 'centralized', 'n/a', 16, 100, 250),
      row('forkbench', 'distributed', 'lazy', 16, 100, 100),
      row('forkbench', 'distributed', 'full', 16, 100, 7777), // not the head's default parse
      row('forkbench', 'centralized', 'full', 32, 50, 800),
      row('forkbench', 'distributed', 'lazy', 32, 50, 110),
      row('forkbench', 'distributed', 'lazy', 2, 50, 100),
    ];
    expect(perfSummary(rows, 50, 'out')).toEqual([
      'CPU microseconds per successful call (out/points.csv)',
      '  forkbench centralized N=16 @100 cps: 500   kamailio N=16 @100 cps: 250   forkbench/kamailio = 2.00 (target <= 2.0)',
      '  forkbench centralized with lazy parsing N=16 @100 cps: 300   forkbench lazy/kamailio = 1.20',
      '  distributed head N=16 @100 cps: 100   centralized/head = 5.00',
      '  centralized N=32 @50: 800   distributed head N=32: 110   centralized/head = 7.27 (target >= 4)',
      '  distributed head N=2 @50: 100   head N=32 / head N=2 = 1.10 (target <= 1.30)',
    ]);
  });

  it('says n/a where a configuration has no row (forkbench-only runs)', () => {
    const lines = perfSummary([row('forkbench', 'centralized', 'full', 16, 100, 500)], 100, 'o');
    expect(lines[1]).toBe('  forkbench centralized N=16 @100 cps: 500   kamailio N=16 @100 cps: n/a   forkbench/kamailio = n/a (target <= 2.0)');
  });
});

describe('perfSweeps', () => {
  it('N=16 at 100 cps with every target asked for, then the head at N=2 and 32', () => {
    const s = perfSweeps({ out: 'o', calls: 10, rate: 70, targets: ['forkbench', 'kamailio'] });
    expect(s).toEqual([
      { targets: ['forkbench', 'kamailio'], modes: ['centralized', 'distributed'], parse: ['auto', 'lazy'], groupSizes: [16], rates: [100] },
      { targets: ['forkbench'], modes: ['centralized', 'distributed'], groupSizes: [2, 32], rates: [70] },
    ]);
    expect(perfSweeps({ out: 'o', calls: 10, rate: 70, targets: ['forkbench'] })[0]!.targets).toEqual(['forkbench']);
  });
});
