// The load figures (issue 10): every point is drawn, failed and test-bed-bound ones with their own
// mark; the caption names the run (commit, command), the budget and the number of trials.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderFigures, type RenderedFigure } from '../build-figures.js';
import { loadRuns } from '../load-run.js';
import { capacityPlotRows, loadPlotRows, pointStatusOf } from '../plot-rows.js';
import { countMarkItems } from './svg-inspect.js';

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
});
