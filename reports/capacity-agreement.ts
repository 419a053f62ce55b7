// Two capacity runs side by side (issue 10: "two runs from clean clones agree within 10 %"): per
// search (target, mode, N), run B over run A for the measured capacity and for the capacity on the
// reference core (capacity_ref_cps: scaled by each run's speed probe, so a slower stretch of the
// shared host does not read as a slower proxy). Pure: rows in, rows and a table out.
import type { Capacity } from './load-run.js';

/** Two runs agree on a search when B is within this fraction of A. */
export const AGREEMENT_TOLERANCE = 0.1;

export interface AgreementRow {
  search: string; // "forkbench centralized N=8"
  a?: number;
  b?: number;
  ratio?: number; // b / a
  aRef?: number;
  bRef?: number;
  refRatio?: number;
  agrees?: boolean; // measured capacity within the tolerance
  refAgrees?: boolean; // reference-core capacity within the tolerance
  note?: string; // why a search has no ratio (missing in one run, no number stated)
}

const key = (c: Capacity): string => `${c.target} ${c.mode} N=${c.group_size}`;
const within = (ratio: number | undefined, tol: number): boolean | undefined => (ratio === undefined ? undefined : Math.abs(ratio - 1) <= tol + 1e-9);
const ratioOf = (a: number | null | undefined, b: number | null | undefined): number | undefined => (a && b && a > 0 ? b / a : undefined);

/** One row per search in either run, in run A's order (then B's extras). */
export function capacityAgreement(a: readonly Capacity[], b: readonly Capacity[], tol = AGREEMENT_TOLERANCE): AgreementRow[] {
  const byKey = (rows: readonly Capacity[]): Map<string, Capacity> => new Map(rows.map((r) => [key(r), r]));
  const ma = byKey(a);
  const mb = byKey(b);
  const keys = [...new Set([...ma.keys(), ...mb.keys()])];
  return keys.map((k) => {
    const ra = ma.get(k);
    const rb = mb.get(k);
    const row: AgreementRow = { search: k };
    if (!ra || !rb) return { ...row, note: `only in run ${ra ? 'A' : 'B'}` };
    row.a = ra.capacity_cps ?? undefined;
    row.b = rb.capacity_cps ?? undefined;
    row.aRef = ra.capacity_ref_cps ?? undefined;
    row.bRef = rb.capacity_ref_cps ?? undefined;
    row.ratio = ratioOf(row.a, row.b);
    row.refRatio = ratioOf(row.aRef, row.bRef);
    row.agrees = within(row.ratio, tol);
    row.refAgrees = within(row.refRatio, tol);
    if (row.ratio === undefined) row.note = `no capacity in run ${row.a ? 'B' : 'A'} (${(row.a ? rb : ra).stop_reason})`;
    return row;
  });
}

const cell = (v: number | undefined, digits = 0): string => (v === undefined ? '-' : v.toFixed(digits));
const pct = (r: number | undefined): string => (r === undefined ? '-' : `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(0)} %`);

/** A terminal table and the two tallies: how many searches agree, measured and on the reference core. */
export function formatAgreement(rows: readonly AgreementRow[], tol = AGREEMENT_TOLERANCE): string {
  const header = ['search', 'A cps', 'B cps', 'B/A', 'A ref', 'B ref', 'B/A ref'];
  const body = rows.map((r) => [r.search, cell(r.a), cell(r.b), pct(r.ratio), cell(r.aRef), cell(r.bRef), pct(r.refRatio) + (r.note ? `  (${r.note})` : '')]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const tally = (pick: (r: AgreementRow) => boolean | undefined): string => `${rows.filter((r) => pick(r) === true).length} of ${rows.length}`;
  return [
    line(header),
    ...body.map(line),
    '',
    `within ${Math.round(tol * 100)} %: ${tally((r) => r.agrees)} measured, ${tally((r) => r.refAgrees)} on the reference core (capacity_ref_cps)`,
  ].join('\n');
}
