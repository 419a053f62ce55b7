// Turns the spec files into the figures of one or more runs (data inlined, rate fixed, captions, styling).
import { FIGURES, type FigureDef } from './figures.js';
import { capacityProvenanceLines, overloadProvenanceLines, provenanceLines } from './caption.js';
import type { RunData } from './load-run.js';
import { capacityPlotRows, loadPlotRows, overloadPlotRows, pickFixedRate, pointPlotRows, type CapacityPlotRow, type LoadPlotRow, type PointPlotRow } from './plot-rows.js';
import { clone, colourByRun, restrictDomains, setAxisValues, setData, setParam, setSubtitle, type JsonObject } from './spec-patch.js';
import { dejavuFontFiles, loadSpec, specToSvg, svgToPng } from './render.js';

export interface FigureOptions {
  rate?: number; // fixed offered rate for figures 1 and 6; default: the rate with the most points
}

export interface FigureSpec {
  name: string;
  spec: JsonObject; // Vega-Lite with the run's data inlined
  rows: number; // data rows the figure was given
  empty: boolean; // true when there was nothing to plot and the figure is a note
}

export interface RenderedFigure extends FigureSpec {
  svg: string;
  png: Buffer;
  width: number; // PNG pixels
  height: number;
  warnings: string[];
}

const distinct = (values: readonly number[]): number[] => [...new Set(values)].sort((a, b) => a - b);

/** A figure with nothing to plot still renders: its title, caption and a plain note saying why. */
function noteSpec(template: JsonObject, note: string): JsonObject {
  return {
    $schema: template.$schema,
    title: template.title,
    data: { values: [{ note }] },
    mark: { type: 'text', fontSize: 14, color: '#444' },
    encoding: { text: { field: 'note', type: 'nominal' } },
    width: 420,
    height: 120,
    config: template.config,
  };
}

function figureRows(def: FigureDef, points: PointPlotRow[], capacity: CapacityPlotRow[], load: LoadPlotRow[], overload: LoadPlotRow[], rate: number | null) {
  if (def.dataset === 'capacity') return capacity;
  if (def.dataset === 'load') {
    // The figures' own filters, applied here too so that an empty figure says why. Goodput: sweep
    // points under a budget, and the loads of forkbench overload runs (overload.csv).
    return def.name === 'goodput-vs-load' ? [...load.filter((r) => r.cpu_budget_cores !== null), ...overload] : load.filter((r) => r.group_size === 8 || r.group_size === 32);
  }
  return def.usesRate ? points.filter((r) => r.offered_rate_cps === rate) : points;
}

/** Budget and trial count of a load figure's data, for its caption. */
export function loadTerms(rows: readonly LoadPlotRow[]): string {
  const budgets = [...new Set(rows.map((r) => r.cpu_budget_cores))].map((b) => (b === null ? 'none' : `${b} cores per process`));
  const perCell = new Map<string, Set<number>>();
  for (const r of rows) {
    const k = `${r.run}/${r.series}/${r.group_size}/${r.offered_rate_cps}`;
    perCell.set(k, (perCell.get(k) ?? new Set()).add(r.trial));
  }
  const counts = [...perCell.values()].map((s) => s.size);
  const trials = counts.length === 0 ? '0' : Math.min(...counts) === Math.max(...counts) ? String(counts[0]) : `${Math.min(...counts)}-${Math.max(...counts)}`;
  const points = new Set(rows.map((r) => `${r.run}/${r.series}/${r.group_size}/${r.offered_rate_cps}/${r.trial}`)).size;
  return `CPU budget: ${budgets.join(', ') || 'none'}; ${trials} trial(s) per point, ${points} trials drawn`;
}

/**
 * Whose run a figure's caption names: the capacity commands for the capacity figure; for the
 * goodput figure the overload commands when overload.csv feeds it (and the sweep's too when
 * budgeted sweep points are drawn beside them); the sweep otherwise.
 */
function figureProvenance(def: FigureDef, sweep: string[], capacity: string[], overload: string[], sweepPointsToo: boolean): string[] {
  if (def.dataset === 'capacity') return capacity;
  if (def.name === 'goodput-vs-load' && overload.length > 0) return sweepPointsToo ? [...overload, ...sweep] : overload;
  return sweep;
}

export function buildFigureSpecs(runs: readonly RunData[], options: FigureOptions = {}): { figures: FigureSpec[]; rate: number | null } {
  const points = pointPlotRows(runs);
  const capacity = capacityPlotRows(runs);
  const load = loadPlotRows(runs);
  const overload = overloadPlotRows(runs);
  const rate = options.rate ?? pickFixedRate(points);
  const caption = provenanceLines(runs);
  const capacityCaption = capacityProvenanceLines(runs);
  const overloadCaption = overload.length > 0 ? overloadProvenanceLines(runs) : [];
  const labels = runs.map((r) => r.label);
  const figures = FIGURES.map((def): FigureSpec => {
    const template = loadSpec(def.name);
    const rows = figureRows(def, points, capacity, load, overload, rate);
    const spec = clone(template);
    setSubtitle(spec, [...def.reading(rate).split('\n'), ...(def.dataset === 'load' ? [loadTerms(rows as LoadPlotRow[])] : []), ...figureProvenance(def, caption, capacityCaption, overloadCaption, overload.length > 0 && rows.length > overload.length)]);
    if (rows.length === 0) {
      const why =
        def.dataset === 'capacity'
          ? 'no capacity data in this run (no capacity.csv: run `forkbench capacity` to add it)'
          : def.name === 'goodput-vs-load'
            ? 'no points under a CPU budget in this run (run forkbench overload --mode centralized,distributed --cpu-budget CORES --multiples 0.5,1,2,4 --out <this run>)'
            : def.name === 'proxy-delay-vs-load'
              ? 'no points at N = 8 or 32 in this run'
              : def.usesRate
            ? `no completed points at ${rate ?? '?'} calls/s`
            : 'no completed points in this run';
      return { name: def.name, spec: noteSpec(spec, why), rows: 0, empty: true };
    }
    setData(spec, def.dataset, rows);
    if (def.usesRate && rate !== null) setParam(spec, 'rate', rate);
    restrictDomains(spec, 'series', new Set(rows.map((r) => r.series)));
    if (def.dataset === 'load') restrictDomains(spec, 'point_status', new Set((rows as LoadPlotRow[]).map((r) => r.point_status)));
    restrictDomains(spec, 'mode', new Set(rows.map((r) => r.series)));
    setAxisValues(spec, 'group_size', distinct(rows.map((r) => r.group_size)));
    if (def.dataset === 'points') setAxisValues(spec, 'offered_rate_cps', distinct(points.map((r) => r.offered_rate_cps)));
    if (runs.length > 1) colourByRun(spec, labels);
    return { name: def.name, spec, rows: rows.length, empty: false };
  });
  return { figures, rate };
}

export async function renderFigures(runs: readonly RunData[], options: FigureOptions = {}): Promise<{ figures: RenderedFigure[]; rate: number | null }> {
  const fontFiles = dejavuFontFiles(); // fail before any rendering when the font is missing
  const { figures, rate } = buildFigureSpecs(runs, options);
  const rendered: RenderedFigure[] = [];
  for (const fig of figures) {
    const { svg, warnings } = await specToSvg(fig.spec);
    const { png, width, height } = svgToPng(svg, { fontFiles });
    rendered.push({ ...fig, svg, png, width, height, warnings });
  }
  return { figures: rendered, rate };
}
