// `forkbench compare`: the two modes side by side per group size and rate (median over trials),
// as data first (compareModes / compareRuns) and a terminal table second (formatTable).
import type { PointRow } from './columns.js';
import { marginalCost, type MarginalCost } from '../measure/marginal-cost.js';
import { median } from '../measure/percentiles.js';
import { defaultParse } from '../plan/bench-config.js';

export interface CompareRow {
  groupSize: number;
  rate: number;
  left: Metrics;
  right: Metrics;
  setupP95Ratio?: number; // left / right
  headCpuRatio?: number;
  cpuPerCallRatio?: number;
  msgsRatio?: number;
}

export interface Metrics {
  n: number; // trials
  setupP95Us?: number;
  headCpuPct?: number;
  cpuUsPerCall?: number;
  msgsPerCall?: number;
  ser?: number;
}

function num(v: string | number): number | undefined {
  const n = typeof v === 'number' ? v : v === '' ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function metricsOf(rows: PointRow[]): Metrics {
  const col = (c: keyof PointRow): number[] => rows.map((r) => num(r[c])).filter((x): x is number => x !== undefined);
  return {
    n: rows.length,
    setupP95Us: median(col('setup_p95_us')),
    headCpuPct: median(col('head_cpu_pct')),
    cpuUsPerCall: median(col('cpu_us_per_call')),
    msgsPerCall: median(col('msgs_per_call')),
    ser: median(col('ser')),
  };
}

const ratio = (a?: number, b?: number): number | undefined => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);

function pair(leftRows: PointRow[], rightRows: PointRow[]): CompareRow[] {
  const keys = new Set<string>();
  for (const r of [...leftRows, ...rightRows]) keys.add(`${r.group_size}/${r.offered_rate_cps}`);
  const out: CompareRow[] = [];
  for (const k of keys) {
    const [n, rate] = k.split('/').map(Number) as [number, number];
    const pick = (rows: PointRow[]): PointRow[] => rows.filter((r) => Number(r.group_size) === n && Number(r.offered_rate_cps) === rate);
    const left = metricsOf(pick(leftRows));
    const right = metricsOf(pick(rightRows));
    out.push({
      groupSize: n,
      rate,
      left,
      right,
      setupP95Ratio: ratio(left.setupP95Us, right.setupP95Us),
      headCpuRatio: ratio(left.headCpuPct, right.headCpuPct),
      cpuPerCallRatio: ratio(left.cpuUsPerCall, right.cpuUsPerCall),
      msgsRatio: ratio(left.msgsPerCall, right.msgsPerCall),
    });
  }
  return out.sort((a, b) => a.groupSize - b.groupSize || a.rate - b.rate);
}

const ok = (rows: PointRow[]): PointRow[] => rows.filter((r) => r.status === 'ok');

/**
 * The rows of one mode, one parse mode only: the given one if present, else whatever the run has.
 * Pooling full and lazy rows into one median would compare neither design.
 */
function ofMode(rows: PointRow[], mode: string, preferredParse: string): { rows: PointRow[]; parse: string } {
  const m = rows.filter((r) => r.mode === mode);
  const parses = [...new Set(m.map((r) => String(r.parse)))];
  const parse = parses.includes(preferredParse) ? preferredParse : (parses[0] ?? preferredParse);
  return { rows: m.filter((r) => String(r.parse) === parse), parse };
}

/** Centralized (left, full parse) vs distributed (right, lazy head) within one run, forkbench target. */
export function compareModes(rows: PointRow[]): { rows: CompareRow[]; leftParse: string; rightParse: string } {
  const fb = ok(rows).filter((r) => r.target === 'forkbench');
  const left = ofMode(fb, 'centralized', 'full');
  const right = ofMode(fb, 'distributed', 'lazy');
  return { rows: pair(left.rows, right.rows), leftParse: left.parse, rightParse: right.parse };
}

/** Run A (left) vs run B (right) for one mode (full parse centralized, lazy head distributed). */
export function compareRuns(a: PointRow[], b: PointRow[], mode: string): CompareRow[] {
  const parse = defaultParse('forkbench', mode);
  const m = (rows: PointRow[]): PointRow[] => ofMode(ok(rows).filter((r) => r.target === 'forkbench'), mode, parse).rows;
  return pair(m(a), m(b));
}

export function formatTable(rows: CompareRow[], leftName: string, rightName: string): string {
  const f = (x: number | undefined, d = 1): string => (x === undefined ? '-' : x.toFixed(d));
  const fx = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(2)}x`);
  const header = ['N', 'cps', `p95 setup ms ${leftName}`, rightName, 'ratio', `head CPU % ${leftName}`, rightName, 'ratio', `us/call ${leftName}`, rightName, 'ratio', `msgs/call ${leftName}`, rightName, 'ratio'];
  const body = rows.map((r) => [
    String(r.groupSize),
    String(r.rate),
    f(r.left.setupP95Us !== undefined ? r.left.setupP95Us / 1000 : undefined, 2),
    f(r.right.setupP95Us !== undefined ? r.right.setupP95Us / 1000 : undefined, 2),
    fx(r.setupP95Ratio),
    f(r.left.headCpuPct),
    f(r.right.headCpuPct),
    fx(r.headCpuRatio),
    f(r.left.cpuUsPerCall, 0),
    f(r.right.cpuUsPerCall, 0),
    fx(r.cpuPerCallRatio),
    f(r.left.msgsPerCall),
    f(r.right.msgsPerCall),
    fx(r.msgsRatio),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), '', `ratio = ${leftName} / ${rightName} (median over trials; > 1 means ${rightName} is lower)`].join('\n');
}

// ---- Marginal cost (issue 10): slope of CPU against achieved rate over a sweep's rates ----


export interface MarginalRow {
  target: string;
  mode: string;
  parse: string;
  groupSize: number;
  rates: number[]; // offered rates the fit used
  head?: MarginalCost; // central proxy or head
  total?: MarginalCost; // head + fork nodes
  idleCpuPct?: number; // median measured idle CPU of the proxy/head (column head_idle_cpu_pct), when the run has it
}

/** One fit per design and group size, over the completed rows' achieved rates (all trials). */
export function marginalCosts(rows: PointRow[]): MarginalRow[] {
  const groups = new Map<string, PointRow[]>();
  for (const r of ok(rows)) {
    const k = `${r.target}/${r.mode}/${r.parse}/${r.group_size}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: MarginalRow[] = [];
  for (const [k, rs] of groups) {
    const [target, mode, parse, n] = k.split('/') as [string, string, string, string];
    const sample = (col: keyof PointRow) =>
      rs
        .map((r) => ({ achievedRateCps: num(r.achieved_rate_cps) ?? NaN, cpuPct: num(r[col]) ?? NaN }))
        .filter((s) => Number.isFinite(s.achievedRateCps) && Number.isFinite(s.cpuPct));
    const row: MarginalRow = { target, mode, parse, groupSize: Number(n), rates: [...new Set(rs.map((r) => Number(r.offered_rate_cps)))].sort((a, b) => a - b) };
    const head = marginalCost(sample('head_cpu_pct'));
    const total = marginalCost(sample('total_cpu_pct'));
    if (head) row.head = head;
    if (total) row.total = total;
    const idle = median(rs.map((r) => num((r as Record<string, string | number>).head_idle_cpu_pct ?? '')).filter((x): x is number => x !== undefined));
    if (idle !== undefined) row.idleCpuPct = idle;
    out.push(row);
  }
  return out.sort((a, b) => a.target.localeCompare(b.target) || a.mode.localeCompare(b.mode) || a.parse.localeCompare(b.parse) || a.groupSize - b.groupSize);
}

export function formatMarginal(rows: MarginalRow[]): string {
  const f = (m: MarginalCost | undefined): string =>
    m === undefined ? '-' : `${m.marginalUsPerCall.toFixed(0)} ± ${m.marginalStdErrUs === undefined ? '?' : m.marginalStdErrUs.toFixed(0)}`;
  const header = ['design', 'N', 'rates', 'marginal us/call (head)', 'fixed % (fit)', 'idle % (measured)', 'marginal us/call (total)'];
  const body = rows.map((r) => [
    `${r.target}/${r.mode}/${r.parse}`,
    String(r.groupSize),
    r.rates.join(','),
    f(r.head),
    r.head ? r.head.fixedCpuPct.toFixed(2) : '-',
    r.idleCpuPct === undefined ? '-' : r.idleCpuPct.toFixed(2),
    f(r.total),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    'marginal = slope of CPU time against achieved calls/s (least squares over every completed trial, ± standard error; ? = two rates only)',
  ].join('\n');
}
