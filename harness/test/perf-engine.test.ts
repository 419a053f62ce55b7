// make perf: the summary (exact lines, medians, PASS/FAIL), the plan and its order, the floor's shape.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { POINT_COLUMNS, type PointRow } from '../records/columns.js';
import { perfSummary } from '../records/perf-summary.js';
import { FLOOR_SHAPES, designKey, floorShapeOf, perfConfig, perfDesigns, perfPlan, type PerfDesign } from '../plan/perf-plan.js';
import { appendFloor, readFloor, type FloorRow } from '../records/floor-csv.js';
import { floorShape, FloorError, receivedShare } from '../engine/floor-runner.js';
import { DEFAULT_CONFIG, validateConfig } from '../plan/bench-config.js';

const row = (target: string, mode: string, parse: string, n: number, rate: number, cpu: number, msgs: number | '' = '', status = 'ok', bound = 0): PointRow => {
  const r = Object.fromEntries(POINT_COLUMNS.map((c) => [c, ''])) as PointRow;
  return { ...r, target, mode, parse, group_size: n, offered_rate_cps: rate, cpu_us_per_call: cpu, msgs_per_call: msgs, status, testbed_bound: bound };
};
const floorRow = (trial: number, us: number, status = 'ok', sinks = 17): FloorRow => ({ trial, us_per_msg: us, status, sinks });
const designs = perfDesigns(50, ['forkbench', 'kamailio']);
const base = { floor: [] as FloorRow[], designs, headRate: 50, out: 'out', commit: 'abc123' };

describe('perfSummary', () => {
  it('medians of the ok trials with min-max, every issue-9 ratio with its target and verdict, the commit on top', () => {
    const rows = [
      // centralized full N=16: 3 trials, median 3000 (a failed one left out)
      row('forkbench', 'centralized', 'full', 16, 100, 2800, 100),
      row('forkbench', 'centralized', 'full', 16, 100, 3000, 100),
      row('forkbench', 'centralized', 'full', 16, 100, 3500, 100),
      row('forkbench', 'centralized', 'full', 16, 100, 99999, 100, 'failed'),
      row('forkbench', 'centralized', 'lazy', 16, 100, 2000, 100),
      row('forkbench', 'centralized', 'lazy', 16, 100, 2100, 100),
      row('forkbench', 'distributed', 'lazy', 16, 100, 700),
      row('forkbench', 'distributed', 'full', 16, 100, 1000),
      row('kamailio', 'centralized', 'n/a', 16, 100, 2236),
      row('forkbench', 'centralized', 'full', 32, 50, 6000),
      row('forkbench', 'centralized', 'lazy', 32, 50, 4500),
      row('forkbench', 'distributed', 'lazy', 32, 50, 1000),
      row('forkbench', 'distributed', 'full', 32, 50, 1200),
      row('forkbench', 'centralized', 'full', 32, 100, 5000, '', 'ok', 1),
      row('forkbench', 'distributed', 'lazy', 32, 100, 800),
      row('forkbench', 'distributed', 'lazy', 2, 50, 1000),
      row('forkbench', 'distributed', 'lazy', 64, 50, 1300),
    ];
    // The failed trial's K is not reported: only the ok trials' K went into the floor.
    const floor = [floorRow(1, 2), floorRow(2, 1.5), floorRow(3, 2.5), floorRow(4, 0.1, 'failed', 1)];
    expect(perfSummary({ ...base, rows, floor })).toEqual([
      'forkbench perf at commit abc123 (out)',
      'CPU us per successful call of the proxy under test (distributed: the head), median of the ok trials [min-max]',
      '  forkbench centralized full N=16 @100 cps: 3000 [2800-3500], 3/4 trials ok',
      '  forkbench centralized lazy N=16 @100 cps: 2050 [2000-2100], 2/2 trials ok',
      '  forkbench head lazy N=16 @100 cps: 700 [700-700], 1/1 trials ok',
      '  forkbench head full N=16 @100 cps: 1000 [1000-1000], 1/1 trials ok',
      '  kamailio centralized N=16 @100 cps: 2236 [2236-2236], 1/1 trials ok',
      '  forkbench centralized full N=32 @50 cps: 6000 [6000-6000], 1/1 trials ok',
      '  forkbench centralized lazy N=32 @50 cps: 4500 [4500-4500], 1/1 trials ok',
      '  forkbench head lazy N=32 @50 cps: 1000 [1000-1000], 1/1 trials ok',
      '  forkbench head full N=32 @50 cps: 1200 [1200-1200], 1/1 trials ok',
      '  forkbench centralized full N=32 @100 cps: 5000 [5000-5000], 1/1 trials ok, 1 test-bed bound',
      '  forkbench head lazy N=32 @100 cps: 800 [800-800], 1/1 trials ok',
      '  forkbench head lazy N=2 @50 cps: 1000 [1000-1000], 1/1 trials ok',
      '  forkbench head lazy N=64 @50 cps: 1300 [1300-1300], 1/1 trials ok',
      '  bare UDP relay floor (traffic of forkbench/centralized/full/n16/r100, 17 peer processes, each sending 1/K of the input): 2.00 us per message [1.50-2.50], 3/4 trials ok',
      '  bare UDP relay floor (traffic of forkbench/distributed/lazy/n32/r50, n/a peer processes, each sending 1/K of the input): n/a us per message, 0/0 trials ok',
      'issue 9 targets (ratios of the medians)',
      '  forkbench centralized full / kamailio, CPU per call, N=16 @100 cps: 3000 / 2236 us = 1.34 (target <= 1.0) FAIL',
      '  forkbench centralized lazy / kamailio, CPU per call, N=16 @100 cps: 2050 / 2236 us = 0.92 (target <= 1.0) PASS',
      '  lazy / full, centralized, CPU per call, N=16 @100 cps: 2050 / 3000 us = 0.68 (target <= 0.75) PASS',
      '  lazy / full, centralized, CPU per call, N=32 @50 cps: 4500 / 6000 us = 0.75 (target <= 0.75) PASS',
      '  lazy / full, distributed head, CPU per call, N=16 @100 cps: 700 / 1000 us = 0.70 (target <= 0.75) PASS',
      '  lazy / full, distributed head, CPU per call, N=32 @50 cps: 1000 / 1200 us = 0.83 (target <= 0.75) FAIL',
      '  centralized full / head lazy, CPU per call, N=32 @50 cps: 6000 / 1000 us = 6.00 (target >= 6) PASS',
      '  centralized full / head lazy, CPU per call, N=32 @100 cps: 5000 / 800 us = 6.25 (target >= 6) PASS',
      '  head N=64 / head N=2, CPU per call, @50 cps: 1300 / 1000 us = 1.30 (target <= 1.30) PASS',
      '  forkbench centralized full CPU per message / floor, N=16 @100 cps: 30.00 / 2.00 us = 15.00 (target <= 1.5) FAIL',
      '  forkbench centralized lazy CPU per message / floor, N=16 @100 cps: 20.50 / 2.00 us = 10.25 (target <= 1.5) FAIL',
      '  kamailio centralized CPU per message / floor, N=16 @100 cps: 18.95 / 2.00 us = 9.47 (no target; 118 messages per call, 7N+6)',
      "  forkbench head lazy CPU per message / its floor, N=32 @50 cps: n/a / n/a us = n/a (no target; the relay at the head's own traffic: K fork nodes + the caller)",
    ]);
  });

  it('says n/a and NO DATA where a cell or the floor has no ok trial (forkbench-only runs)', () => {
    const lines = perfSummary({ ...base, designs: perfDesigns(50, ['forkbench']), rows: [row('forkbench', 'centralized', 'full', 16, 100, 500, 118, 'failed')] });
    expect(lines[2]).toBe('  forkbench centralized full N=16 @100 cps: n/a, 0/1 trials ok');
    expect(lines).toContain('  bare UDP relay floor (traffic of forkbench/centralized/full/n16/r100, n/a peer processes, each sending 1/K of the input): n/a us per message, 0/0 trials ok');
    expect(lines).toContain('  forkbench centralized full / kamailio, CPU per call, N=16 @100 cps: n/a / n/a us = n/a (target <= 1.0) NO DATA');
    expect(lines.some((l) => l.startsWith('  kamailio centralized N=16'))).toBe(false);
  });

  it('takes the median of an even count as the mean of the middle two, and of per-trial CPU per message', () => {
    const rows = [row('forkbench', 'centralized', 'full', 16, 100, 1000, 100), row('forkbench', 'centralized', 'full', 16, 100, 3000, 200), row('forkbench', 'centralized', 'full', 16, 100, 2000, 100), row('forkbench', 'centralized', 'full', 16, 100, 4000, 100)];
    const lines = perfSummary({ ...base, rows, floor: [floorRow(1, 10)] });
    expect(lines[2]).toBe('  forkbench centralized full N=16 @100 cps: 2500 [1000-4000], 4/4 trials ok');
    expect(lines).toContain('  bare UDP relay floor (traffic of forkbench/centralized/full/n16/r100, 17 peer processes, each sending 1/K of the input): 10.00 us per message [10.00-10.00], 1/1 trials ok');
    // per message: 10, 15, 20, 40 -> median 17.5
    expect(lines).toContain('  forkbench centralized full CPU per message / floor, N=16 @100 cps: 17.50 / 10.00 us = 1.75 (target <= 1.5) FAIL');
  });

  it("gives the head a floor of its own traffic: floor rows go to the shape their shape_point names (rows without one are the centralized one's)", () => {
    const rows = [row('forkbench', 'distributed', 'lazy', 32, 50, 1980, 22), row('forkbench', 'distributed', 'lazy', 32, 50, 2200, 22), row('forkbench', 'centralized', 'full', 16, 100, 3000, 100)];
    const floor: FloorRow[] = [
      floorRow(1, 10),
      { ...floorRow(1, 30, 'ok', 3), shape_point: 'forkbench/distributed/lazy/n32/r50/t1' },
      { ...floorRow(2, 50, 'ok', 3), shape_point: 'forkbench/distributed/lazy/n32/r50/t2' },
      { trial: 3, status: 'failed', shape_point: 'forkbench/distributed/lazy/n32/r50/t3' },
    ];
    const lines = perfSummary({ ...base, rows, floor });
    expect(lines).toContain('  bare UDP relay floor (traffic of forkbench/centralized/full/n16/r100, 17 peer processes, each sending 1/K of the input): 10.00 us per message [10.00-10.00], 1/1 trials ok');
    expect(lines).toContain('  bare UDP relay floor (traffic of forkbench/distributed/lazy/n32/r50, 3 peer processes, each sending 1/K of the input): 40.00 us per message [30.00-50.00], 2/3 trials ok');
    // per message 90 and 100 -> median 95, over the head's own floor of 40
    expect(lines).toContain("  forkbench head lazy CPU per message / its floor, N=32 @50 cps: 95.00 / 40.00 us = 2.38 (no target; the relay at the head's own traffic: K fork nodes + the caller)");
    expect(lines).toContain('  forkbench centralized full CPU per message / floor, N=16 @100 cps: 30.00 / 10.00 us = 3.00 (target <= 1.5) FAIL');
  });
});

describe('perf plan', () => {
  it('the cells each ratio needs, Kamailio only when asked for', () => {
    const key = (d: PerfDesign): string => `${d.target}/${d.mode}/${d.parse}/n${d.n}/r${d.rate}`;
    expect(designs.map(key)).toEqual([
      'forkbench/centralized/full/n16/r100',
      'forkbench/centralized/lazy/n16/r100',
      'forkbench/distributed/lazy/n16/r100',
      'forkbench/distributed/full/n16/r100',
      'kamailio/centralized/n/a/n16/r100',
      'forkbench/centralized/full/n32/r50',
      'forkbench/centralized/lazy/n32/r50',
      'forkbench/distributed/lazy/n32/r50',
      'forkbench/distributed/full/n32/r50',
      'forkbench/centralized/full/n32/r100',
      'forkbench/distributed/lazy/n32/r100',
      'forkbench/distributed/lazy/n2/r50',
      'forkbench/distributed/lazy/n64/r50',
    ]);
    expect(perfDesigns(70, ['forkbench']).some((d) => d.target === 'kamailio')).toBe(false);
    expect(perfDesigns(70, ['forkbench']).slice(-1)[0]).toEqual({ target: 'forkbench', mode: 'distributed', parse: 'lazy', n: 64, rate: 70 });
  });

  it('two floor shapes, the centralized N=16 @100 point and the head N=32 @50 point; a floor row finds its shape by its point id', () => {
    expect(FLOOR_SHAPES.map(designKey)).toEqual(['forkbench/centralized/full/n16/r100', 'forkbench/distributed/lazy/n32/r50']);
    expect(floorShapeOf('forkbench/distributed/lazy/n32/r50/t2')).toBe(FLOOR_SHAPES[1]);
    expect(floorShapeOf('forkbench/centralized/full/n16/r100/t1')).toBe(FLOOR_SHAPES[0]);
    expect(floorShapeOf('')).toBe(FLOOR_SHAPES[0]); // floor.csv of a run before the head had a floor
    expect(floorShapeOf(undefined)).toBe(FLOOR_SHAPES[0]);
    for (const f of FLOOR_SHAPES) expect(designs.map(designKey)).toContain(designKey(f));
  });

  it('3 trials, trial-major: every design once before any design twice', () => {
    const pts = perfPlan(designs.slice(0, 2), 2);
    expect(pts.map((p) => p.pointId)).toEqual([
      'forkbench/centralized/full/n16/r100/t1',
      'forkbench/centralized/lazy/n16/r100/t1',
      'forkbench/centralized/full/n16/r100/t2',
      'forkbench/centralized/lazy/n16/r100/t2',
      'forkbench/centralized/full/n16/r100/t3',
      'forkbench/centralized/lazy/n16/r100/t3',
    ]);
    expect(perfPlan([designs[2]!], 2)[0]!.forkNodes).toBe(2);
    expect(pts[0]!.forkNodes).toBe(0);
  });

  it('a valid sweep config covering every design', () => {
    const c = validateConfig(perfConfig({ ...DEFAULT_CONFIG }, designs, 500, 'o'));
    expect(c).toMatchObject({ targets: ['forkbench', 'kamailio'], groupSizes: [16, 32, 2, 64], rates: [100, 50], repeat: 3, calls: 500, out: 'o' });
  });
});

describe('floor shape', () => {
  it('datagrams in per second and sends per datagram from a proxy point', () => {
    const share = receivedShare({ received: { INVITE: 10, '180': 160, '200': 170, '487': 150, ACK: 10, BYE: 10 }, sent: { INVITE: 160, '100': 10, '180': 10, '200': 20, CANCEL: 150, ACK: 160, BYE: 10 } });
    expect(share).toBeCloseTo(510 / 1030, 12);
    const s = floorShape('p', 103, 100, share, 17);
    expect(s.inRate).toBeCloseTo(103 * 100 * (510 / 1030), 9);
    expect(s.copies).toBeCloseTo(520 / 510, 12);
    expect(s.peers).toBe(17);
    expect(() => floorShape('p', 0, 100, 0.5, 17)).toThrow(FloorError);
    expect(() => floorShape('p', 100, 100, receivedShare({ received: {}, sent: {} }), 17)).toThrow(/no traffic shape from p/);
    for (const k of [0, 1.5, 129, Number.NaN]) expect(() => floorShape('p', 103, 100, 0.5, k)).toThrow(/peers is not a whole number/);
  });

  it('the split over the window: counters at its end minus at its start', () => {
    const start = { received: { INVITE: 100, '180': 1000 }, sent: { INVITE: 3000, '180': 100 } };
    const end = { received: { INVITE: 110, '180': 1160 }, sent: { INVITE: 3160, '180': 110 } };
    expect(receivedShare(end, start)).toBeCloseTo(170 / 340, 12);
    expect(receivedShare(start, start)).toBeNaN();
  });
});

describe('floor.csv', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  it('appends rows under one header and reads them back typed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'floor-csv-'));
    const f = join(dir, 'floor.csv');
    await appendFloor(f, { trial: 1, shape_point: 'a/b', sinks: 17, us_per_msg: 1.25, status: 'ok' });
    await appendFloor(f, { trial: 2, status: 'failed', error: 'port 1, in use\nsecond line' });
    const rows = await readFloor(f);
    expect(rows.map((r) => [r.trial, r.shape_point, r.sinks, r.us_per_msg, r.status, r.error])).toEqual([
      [1, 'a/b', 17, 1.25, 'ok', ''],
      [2, '', '', '', 'failed', 'port 1, in use second line'],
    ]);
  });
});
