// The load figures (issue 10): every point is drawn, failed and test-bed-bound ones with their own
// mark; the caption names the run (commit, command), the budget and the number of trials.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stringify } from 'csv-stringify/sync';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderFigures, type RenderedFigure } from '../build-figures.js';
import { loadRuns } from '../load-run.js';
import { capacityPlotRows, loadPlotRows, overloadPlotRows, pointStatusOf } from '../plot-rows.js';
import { OVERLOAD_COLUMNS } from '../../harness/records/columns.js';
import { countMarkGroups, countMarkItems } from './svg-inspect.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/budget-run', import.meta.url));
let figs: Map<string, RenderedFigure>;

beforeAll(async () => {
  const { figures } = await renderFigures(loadRuns([FIXTURE]));
  figs = new Map(figures.map((f) => [f.name, f]));
});

describe('load figures', () => {
  it('keeps every point, each with its status', () => {
    const rows = loadPlotRows(loadRuns([FIXTURE]));
    const perPoint = new Map(rows.map((r) => [`${r.series}/${r.offered_rate_cps}`, r.point_status]));
    expect(Object.fromEntries(perPoint)).toEqual({
      'centralized/50': 'ok',
      'distributed/50': 'ok',
      'centralized/100': 'calls failed',
      'distributed/100': 'test bed bound',
      'distributed/200': 'point failed',
    });
    expect(rows).toHaveLength(5 * 4); // one row per delay metric
    const overloaded = rows.find((r) => r.offered_rate_cps === 100 && r.series === 'centralized')!;
    expect(overloaded.rejected_503_cps).toBeGreaterThan(0);
    expect(overloaded.goodput_cps).toBeLessThan(100);
    expect(pointStatusOf({ status: 'ok', ser: 1, testbed_bound: null })).toBe('ok');
  });

  it('capacity: a test-bed-bound search is drawn as a lower-bound cross, not dropped and not as a capacity', () => {
    const rows = capacityPlotRows(loadRuns([FIXTURE]));
    const bound = rows.find((r) => r.series === 'distributed')!;
    expect(bound).toMatchObject({ capacity_cps: null, lower_bound_cps: 60 });
    expect(rows.filter((r) => r.lower_bound_cps !== null)).toHaveLength(1);
    const f = figs.get('capacity-vs-group-size')!;
    expect(f.empty).toBe(false);
    // Two capacities (centralized, Kamailio) as symbols, and the bound search as one cross.
    expect(countMarkItems(f.svg, 'symbol')).toBe(3);
    expect(f.svg).toContain('cross = the search stopped test bed bound');
  });

  for (const name of ['proxy-delay-vs-load', 'goodput-vs-load']) {
    it(`${name}: drawn, every status in the legend, caption names run, command, budget and trials`, () => {
      const f = figs.get(name)!;
      expect(f.empty).toBe(false);
      expect(f.warnings).toEqual([]);
      for (const label of ['ok', 'calls failed', 'test bed bound', 'point failed']) expect(f.svg, label).toContain(`>${label}</text>`);
      expect(f.svg).toContain('CPU budget: 0.2 cores per process; 1 trial(s) per point, 5 trials drawn');
      expect(f.svg).toMatch(/forkbench 0\.1\.0 @ [0-9a-f]{7}/);
      expect(f.svg).toContain('command: forkbench bench --modes centralized,distributed --group-sizes 8 --rates 50 --calls 300 --warmup 1 --cpu-budget 0.2');
    });
  }

  it('a run without a budget gets a goodput note, not an empty plot', async () => {
    const { figures } = await renderFigures(loadRuns([fileURLToPath(new URL('./fixtures/run-a', import.meta.url))]));
    const g = figures.find((f) => f.name === 'goodput-vs-load')!;
    expect(g.empty).toBe(true);
    expect(g.svg).toContain('no points under a CPU budget in this run');
  });

  it('goodput: the loads of forkbench overload runs (overload.csv) are drawn, answered in 200 ms beside answered, captioned with the overload command', async () => {
    // A run without a budget (no budgeted sweep point) plus two overload runs: centralized and distributed at N = 8.
    const dir = mkdtempSync(join(tmpdir(), 'forkbench-overload-fig-'));
    cpSync(fileURLToPath(new URL('./fixtures/run-a', import.meta.url)), dir, { recursive: true });
    const row = (o: Record<string, string | number>): string => stringify([OVERLOAD_COLUMNS.map((c) => o[c] ?? '')]).trimEnd();
    const loads = [
      { mode: 'centralized', multiple: 1, offered_cps: 90, goodput_cps: 89, timely_cps: 88, rejected_503_per_s: 0, ser: 1, status: 'ok', flagged: 0, flag_reason: '' },
      { mode: 'centralized', multiple: 2, offered_cps: 180, goodput_cps: 170, timely_cps: 20, rejected_503_per_s: 0, ser: 1, status: 'ok', flagged: 0, flag_reason: '' },
      { mode: 'centralized', multiple: 4, offered_cps: 360, goodput_cps: 120, timely_cps: 5, rejected_503_per_s: 40, ser: 0.6, status: 'ok', flagged: 0, flag_reason: '' },
      { mode: 'distributed', multiple: 1, offered_cps: 130, goodput_cps: 129, timely_cps: 129, rejected_503_per_s: 0, ser: 1, status: 'ok', flagged: 0, flag_reason: '' },
      { mode: 'distributed', multiple: 4, offered_cps: 520, goodput_cps: 300, timely_cps: 0, rejected_503_per_s: 0, ser: 1, status: 'ok', flagged: 1, flag_reason: 'the caller placed 400.0 of 520 calls/s: the test bed, not the proxy, limited the load' },
      { mode: 'distributed', multiple: 2, offered_cps: 260, goodput_cps: '', timely_cps: '', rejected_503_per_s: '', ser: '', status: 'failed', flagged: 0, flag_reason: '', error: 'caller did not finish within the 153 s deadline (hung SIPp killed)' },
    ].map((o) => row({ ...o, group_size: 8, cpu_budget_cores: 0.2, capacity_cps: o.mode === 'centralized' ? 90 : 130, timely_bound_ms: 200 }));
    writeFileSync(join(dir, 'overload.csv'), [OVERLOAD_COLUMNS.join(','), ...loads].join('\n') + '\n');
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    const entry = (mode: string, capacityCps: number) => ({ command: `/usr/bin/node /x/bin/forkbench.js overload --mode centralized,distributed --group-size 8 --cpu-budget 0.2`, startedAt: '2026-12-07T07:00:00Z', gitCommit: 'abcdef1234567', cpuBudgetCores: 0.2, mode, groupSize: 8, capacityCps });
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, overloadRuns: [entry('centralized', 90), entry('distributed', 130)] }));

    const runs = loadRuns([dir]);
    const rows = overloadPlotRows(runs);
    expect(rows.map((r) => `${r.series} ${r.offered_rate_cps} ${r.point_status}`)).toEqual([
      'centralized 90 ok',
      'centralized 180 ok',
      'centralized 360 calls failed',
      'distributed 130 ok',
      'distributed 520 test bed bound',
      'distributed 260 point failed',
    ]);
    expect(rows.find((r) => r.offered_rate_cps === 180)).toMatchObject({ goodput_cps: 170, timely_cps: 20, cpu_budget_cores: 0.2 });
    const { figures } = await renderFigures(runs);
    const g = figures.find((f) => f.name === 'goodput-vs-load')!;
    expect(g.empty).toBe(false);
    expect(g.rows).toBe(6);
    for (const label of ['ok', 'calls failed', 'test bed bound', 'point failed']) expect(g.svg, label).toContain(`>${label}</text>`);
    // Lines: offered, then answered, answered in 200 ms (dashed 7,3) and 503s, one per mode.
    expect(countMarkGroups(g.svg, 'line')).toBe(1 + 3 * 2);
    expect(g.svg.match(/stroke-dasharray="7,3"/g)).toHaveLength(2);
    expect(g.svg).toContain('overload run @ abcdef1 · 0.2 cores per process · centralized N = 8, 1x = 90 calls/s · 2026-12-07: forkbench overload --mode centralized,distributed');
    expect(g.svg).toContain('overload run @ abcdef1 · 0.2 cores per process · distributed N = 8, 1x = 130 calls/s');
    expect(g.svg).not.toContain('command: forkbench bench'); // no sweep point drawn: the sweep's command would not be this figure's
  });
});

