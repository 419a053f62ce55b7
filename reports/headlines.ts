// Headline sentences computed from a run's data; when data is missing they say so plainly.
import type { Capacity, Point, RunData } from './load-run.js';
import { primaryParse } from './plot-rows.js';
import { median as medianOf } from '../harness/measure/percentiles.js';

const median = (xs: readonly number[]): number | null => medianOf(xs) ?? null;
const values = (rows: readonly Point[], col: 'cpu_us_per_call' | 'setup_p95_us' | 'msgs_per_call'): number[] =>
  rows.map((r) => r[col]).filter((v): v is number => v !== null);
const fmt = (x: number): string => String(x >= 100 ? Math.round(x) : Number(x.toPrecision(x >= 10 ? 3 : 2)));

/** "6.1x less" / "1.3x more" comparing b (the new design) against a (the baseline), or "the same". */
function ratioWords(a: number, b: number, less: string, more: string): string {
  if (a <= 0 || b <= 0) return `${more === 'higher' ? 'is' : 'uses'} ${fmt(b)} vs ${fmt(a)}`;
  if (Math.abs(a / b - 1) < 0.05) return `is about the same (${fmt(b)} vs ${fmt(a)})`;
  return a > b ? `${fmt(a / b)}x ${less}` : `${fmt(b / a)}x ${more}`;
}

/** Completed forkbench points of one mode in the parse mode figures 1-5 use. */
function primaryRows(run: RunData): Map<string, Point[]> {
  const ok = run.points.filter((p) => p.status === 'ok' && p.target === 'forkbench');
  const chosen = primaryParse(ok);
  const byMode = new Map<string, Point[]>();
  for (const p of ok) {
    if (chosen.get(`forkbench/${p.mode}`) !== p.parse) continue;
    byMode.set(p.mode, [...(byMode.get(p.mode) ?? []), p]);
  }
  return byMode;
}

function cpuAndDelay(run: RunData, preferredRate: number | null): string {
  const byMode = primaryRows(run);
  const cen = byMode.get('centralized') ?? [];
  const dis = byMode.get('distributed') ?? [];
  if (cen.length === 0 || dis.length === 0) {
    return `No head-to-head comparison: the run has no completed ${cen.length === 0 ? 'centralized' : 'distributed'} forkbench points.`;
  }
  const key = (p: Point) => `${p.group_size}/${p.offered_rate_cps}`;
  const disKeys = new Set(dis.map(key));
  const common = cen.filter((p) => disKeys.has(key(p)));
  if (common.length === 0) return 'No head-to-head comparison: no group size and rate has completed points in both modes.';
  const n = Math.max(...common.map((p) => p.group_size as number));
  const rates = [...new Set(common.filter((p) => p.group_size === n).map((p) => p.offered_rate_cps as number))];
  const rate = preferredRate !== null && rates.includes(preferredRate) ? preferredRate : Math.max(...rates);
  const at = (rows: Point[]) => rows.filter((p) => p.group_size === n && p.offered_rate_cps === rate);
  const [c, d] = [at(cen), at(dis)];
  const parts: string[] = [];
  const cpuC = median(values(c, 'cpu_us_per_call'));
  const cpuD = median(values(d, 'cpu_us_per_call'));
  const dlyC = median(values(c, 'setup_p95_us'));
  const dlyD = median(values(d, 'setup_p95_us'));
  const cpu =
    cpuC !== null && cpuD !== null
      ? `the distributed head uses ${ratioWords(cpuC, cpuD, 'less', 'more')} CPU per call than the centralized proxy (${fmt(cpuD)} vs ${fmt(cpuC)} µs)`
      : 'CPU per call is missing for one of the modes';
  parts.push(cpu);
  parts.push(
    dlyC !== null && dlyD !== null
      ? `its p95 setup delay is ${ratioWords(dlyC, dlyD, 'lower', 'higher')} (${fmt(dlyD / 1000)} vs ${fmt(dlyC / 1000)} ms)`
      : 'p95 setup delay is missing for one of the modes',
  );
  const parse = `centralized ${c[0].parse} parse, distributed ${d[0].parse} parse; median of ${c.length} and ${d.length} trials`;
  return `At N=${n} and ${rate} calls/s ${parts[0]}, and ${parts[1]} (${parse}).`;
}

function messages(run: RunData): string {
  const byMode = primaryRows(run);
  const cen = byMode.get('centralized') ?? [];
  const dis = byMode.get('distributed') ?? [];
  const dn = new Set(dis.map((p) => p.group_size));
  const ns = cen.map((p) => p.group_size as number).filter((n) => dn.has(n));
  if (ns.length === 0) return 'No messages-per-call comparison: no group size has completed points in both modes.';
  const n = Math.max(...ns);
  const mc = median(values(cen.filter((p) => p.group_size === n), 'msgs_per_call'));
  const md = median(values(dis.filter((p) => p.group_size === n), 'msgs_per_call'));
  if (mc === null || md === null) return `No messages-per-call comparison at N=${n}: msgs_per_call is empty.`;
  return `At N=${n} the centralized proxy handles ${fmt(mc)} SIP messages per call, the distributed head ${fmt(md)}.`;
}

function capacity(run: RunData): string {
  if (run.capacity === null) return 'No capacity data in this run (no capacity.csv).';
  const chosen = primaryParse(run.capacity);
  const rows = run.capacity.filter((c) => chosen.get(`${c.target}/${c.mode}`) === c.parse && c.capacity_cps !== null);
  const of = (target: string, mode: string | null, n: number): number | null =>
    median(
      rows
        .filter((c: Capacity) => c.target === target && (mode === null || c.mode === mode) && c.group_size === n)
        .map((c) => c.capacity_cps as number),
    );
  const ns = [...new Set(rows.map((c) => c.group_size as number))].filter(
    (n) => of('forkbench', 'centralized', n) !== null && of('forkbench', 'distributed', n) !== null,
  );
  if (ns.length === 0) return 'No capacity comparison: capacity.csv has no group size searched in both modes.';
  const n = Math.max(...ns);
  const c = of('forkbench', 'centralized', n) as number;
  const d = of('forkbench', 'distributed', n) as number;
  const k = of('kamailio', null, n);
  const ratio = c > 0 ? ` (${fmt(d / c)}x)` : '';
  const kam = k === null ? '' : `; Kamailio holds ${fmt(k)} calls/s`;
  return `At N=${n} the distributed design holds ${fmt(d)} calls/s against ${fmt(c)} calls/s centralized${ratio}${kam}.`;
}

function ablation(run: RunData, rate: number | null): string {
  const ok = run.points.filter((p) => p.status === 'ok' && p.target === 'forkbench' && p.offered_rate_cps === rate);
  const cell = (mode: string, parse: string, n: number) =>
    median(values(ok.filter((p) => p.mode === mode && p.parse === parse && p.group_size === n), 'cpu_us_per_call'));
  const ns = [...new Set(ok.map((p) => p.group_size as number))].filter(
    (n) => ['centralized', 'distributed'].every((m) => ['full', 'lazy'].every((p) => cell(m, p, n) !== null)),
  );
  if (ns.length === 0) return `No ablation: not all four mode x parse combinations have completed points at ${rate ?? '?'} calls/s.`;
  const n = Math.max(...ns);
  const base = cell('centralized', 'full', n) as number;
  const pct = (x: number) => `${Math.round((100 * (base - x)) / base)}%`;
  return (
    `Ablation at N=${n}, ${rate} calls/s, head CPU per call against centralized/full parse (${fmt(base)} µs): ` +
    `lazy parsing alone saves ${pct(cell('centralized', 'lazy', n) as number)}, distributed forking alone ` +
    `${pct(cell('distributed', 'full', n) as number)}, both together ${pct(cell('distributed', 'lazy', n) as number)}.`
  );
}

/** The headline sentences of one run, in reading order. */
export function headlines(run: RunData, rate: number | null): string[] {
  return [cpuAndDelay(run, rate), capacity(run), messages(run), ablation(run, rate)];
}
