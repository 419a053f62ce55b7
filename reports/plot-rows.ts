// Flattens loaded runs into the rows the Vega-Lite specs plot (one object per CSV row, derived fields added).
// The specs aggregate (median, min, max over trials) themselves, so these rows stay one-per-trial.
import type { Capacity, OverloadLoad, Point, RunData } from './load-run.js';

/** The legend key of a point: the forkbench mode, or the other proxy's name (kamailio is its own series). */
export type Series = 'centralized' | 'distributed' | string;

export function seriesOf(row: { target: string; mode: string }): Series {
  return row.target === 'forkbench' ? row.mode : row.target;
}

export interface PointPlotRow {
  run: string;
  series: Series;
  target: string;
  mode: string;
  parse: string;
  combo: string; // ablation bar label, e.g. "centralized / full parse"
  group_size: number;
  offered_rate_cps: number;
  trial: number;
  setup_p50_ms: number | null;
  setup_p95_ms: number | null;
  head_cpu_pct: number | null;
  cpu_us_per_call: number | null;
  msgs_per_call: number | null;
  flagged: number;
  primary: boolean; // the mode's own parse (see primaryParse): figures 1-5 plot only these rows
}

export interface CapacityPlotRow {
  run: string;
  series: Series;
  parse: string;
  group_size: number;
  capacity_cps: number | null;
  /** Test-bed-bound searches (no capacity): the rate the proxy held before, drawn as a lower bound. */
  lower_bound_cps: number | null;
  primary: boolean;
}

const ms = (us: number | null): number | null => (us === null ? null : us / 1000);

export function comboOf(mode: string, parse: string): string {
  return `${mode} / ${parse} parse`;
}

// Figures 1-5 compare the two designs as designed: a plain proxy parses fully, the head parses lazily.
// The ablation figure shows the other two combinations. When a run has only one parse mode, that one is used.
const PREFERRED_PARSE: Record<string, readonly string[]> = {
  centralized: ['full', 'lazy'],
  distributed: ['lazy', 'full'],
};

/** For each target/mode of one run, the parse mode whose rows stand for that mode in figures 1-5. */
export function primaryParse(rows: readonly { target: string; mode: string; parse: string }[]): Map<string, string> {
  const present = new Map<string, Set<string>>();
  for (const r of rows) {
    const key = `${r.target}/${r.mode}`;
    if (!present.has(key)) present.set(key, new Set());
    (present.get(key) as Set<string>).add(r.parse);
  }
  const chosen = new Map<string, string>();
  for (const [key, parses] of present) {
    const mode = key.slice(key.indexOf('/') + 1);
    const order = key.startsWith('forkbench/') ? (PREFERRED_PARSE[mode] ?? []) : [];
    chosen.set(key, order.find((p) => parses.has(p)) ?? [...parses].sort()[0]);
  }
  return chosen;
}

const isPrimary = (chosen: Map<string, string>, r: { target: string; mode: string; parse: string }): boolean =>
  chosen.get(`${r.target}/${r.mode}`) === r.parse;

/** Only completed points are plotted; failed points are listed in the report instead. */
export function pointPlotRows(runs: readonly RunData[]): PointPlotRow[] {
  return runs.flatMap((run) => {
    const ok = run.points.filter((p) => p.status === 'ok');
    const chosen = primaryParse(ok);
    return ok.map((p: Point) => ({
        run: run.label,
        series: seriesOf(p),
        target: p.target,
        mode: p.mode,
        parse: p.parse,
        combo: comboOf(p.mode, p.parse),
        group_size: p.group_size as number,
        offered_rate_cps: p.offered_rate_cps as number,
        trial: p.trial as number,
        setup_p50_ms: ms(p.setup_p50_us),
        setup_p95_ms: ms(p.setup_p95_us),
        head_cpu_pct: p.head_cpu_pct,
        cpu_us_per_call: p.cpu_us_per_call,
        msgs_per_call: p.msgs_per_call,
        flagged: p.flagged ?? 0,
        primary: isPrimary(chosen, p),
      }));
  });
}

export function capacityPlotRows(runs: readonly RunData[]): CapacityPlotRow[] {
  return runs.flatMap((run) => {
    const rows = (run.capacity ?? []).filter((c: Capacity) => c.group_size !== null);
    const chosen = primaryParse(rows);
    return rows.map((c) => ({
        run: run.label,
        series: seriesOf(c),
        parse: c.parse,
        group_size: c.group_size as number,
        capacity_cps: c.capacity_cps,
        lower_bound_cps: c.capacity_cps === null && c.stop_reason === 'testbed-bound' ? (c.lower_bound_cps ?? null) : null,
        primary: isPrimary(chosen, c),
      }));
  });
}

/**
 * The rate figure 1 and the ablation are drawn at: the offered rate with the most completed forkbench points
 * (ties go to the lower rate, which is more likely to be below every knee).
 */
export function pickFixedRate(rows: readonly PointPlotRow[]): number | null {
  const counts = new Map<number, number>();
  for (const r of rows) if (r.target === 'forkbench') counts.set(r.offered_rate_cps, (counts.get(r.offered_rate_cps) ?? 0) + 1);
  let best: number | null = null;
  for (const [rate, count] of counts) {
    const bestCount = best === null ? -1 : (counts.get(best) as number);
    if (count > bestCount || (count === bestCount && rate < (best as number))) best = rate;
  }
  return best;
}

// ---- Every point, failed and test-bed-bound ones included (issue 10: never dropped, own mark) ----

/** How a point fared: drawn with its own mark in the load figures. */
export type PointStatus = 'ok' | 'calls failed' | 'test bed bound' | 'point failed';

export function pointStatusOf(p: Pick<Point, 'status' | 'ser' | 'testbed_bound'>): PointStatus {
  if (p.status !== 'ok') return 'point failed';
  if (p.testbed_bound === 1) return 'test bed bound';
  if (p.ser !== null && p.ser < 1) return 'calls failed';
  return 'ok';
}

export interface LoadPlotRow {
  run: string;
  series: Series;
  group_size: number;
  offered_rate_cps: number;
  trial: number;
  point_status: PointStatus;
  metric: string; // which delay, for the delay figure's panels
  value_ms: number | null; // null: the point has no value (drawn at the panel's floor)
  goodput_cps: number | null; // answered calls per second of the window
  timely_cps: number | null; // answered within the overload run's bound (200 ms) per second; null for sweep points
  rejected_503_cps: number | null; // 503 (overload) answers per second of the window
  cpu_budget_cores: number | null;
}

const DELAY_METRICS = [
  ['fan-out p50', 'fanout_p50_us'],
  ['fan-out p95', 'fanout_p95_us'],
  ['ringing p50', 'ringing_p50_us'],
  ['ringing p95', 'ringing_p95_us'],
] as const;

function count503(failCauses: string): number {
  const m = /(?:^|;)503:(\d+)/.exec(failCauses);
  return m ? Number(m[1]) : 0;
}

/** Rows of the load figures: every point of the primary parse, in every state; one row per delay metric. */
export function loadPlotRows(runs: readonly RunData[]): LoadPlotRow[] {
  return runs.flatMap((run) => {
    const chosen = primaryParse(run.points);
    return run.points
      .filter((p) => isPrimary(chosen, p) && p.group_size !== null && p.offered_rate_cps !== null)
      .flatMap((p) => {
        const win = p.window_s !== null && p.window_s > 0 ? p.window_s : null;
        const base = {
          run: run.label,
          series: seriesOf(p),
          group_size: p.group_size as number,
          offered_rate_cps: p.offered_rate_cps as number,
          trial: p.trial as number,
          point_status: pointStatusOf(p),
          goodput_cps: win !== null && p.calls_succeeded !== null ? p.calls_succeeded / win : null,
          timely_cps: null,
          rejected_503_cps: win !== null ? count503(p.fail_causes) / win : null,
          cpu_budget_cores: p.cpu_budget_cores ?? null,
        };
        return DELAY_METRICS.map(([metric, col]) => ({ ...base, metric, value_ms: ms(p[col] ?? null) }));
      });
  });
}

/** How a load of an overload run fared: the same marks as a sweep point's. */
export function overloadStatusOf(o: Pick<OverloadLoad, 'status' | 'ser' | 'flag_reason'>): PointStatus {
  if (o.status !== 'ok') return 'point failed';
  if (/test bed/.test(o.flag_reason)) return 'test bed bound';
  if (o.ser !== null && o.ser < 1) return 'calls failed';
  return 'ok';
}

/** The goodput figure's rows from overload.csv (forkbench overload): one per mode, N and load. */
export function overloadPlotRows(runs: readonly RunData[]): LoadPlotRow[] {
  return runs.flatMap((run) =>
    (run.overload ?? [])
      .filter((o) => o.group_size !== null && o.offered_cps !== null && o.mode !== '')
      .map((o) => ({
        run: run.label,
        series: seriesOf({ target: 'forkbench', mode: o.mode }),
        group_size: o.group_size as number,
        offered_rate_cps: o.offered_cps as number,
        trial: 1,
        point_status: overloadStatusOf(o),
        metric: 'fan-out p50', // the goodput figure keeps one row per point, this one
        value_ms: null,
        goodput_cps: o.status === 'ok' ? o.goodput_cps : null,
        timely_cps: o.status === 'ok' ? o.timely_cps : null,
        rejected_503_cps: o.rejected_503_per_s,
        cpu_budget_cores: o.cpu_budget_cores,
      })),
  );
}
