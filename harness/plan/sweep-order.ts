// Interleaved trials (issue 10): repeats run A B A B ... across designs, not as blocks, so a drift of
// the shared machine over time (another job, thermal state) falls on every design alike instead of
// looking like a design difference. Within one cell (group size x rate) the order is trial 1 of
// every design, then trial 2 of every design, and so on; cells keep the order of the config.
import type { SweepPoint } from './bench-config.js';

/** The design a point measures: everything but the cell (N, rate) and the trial. */
export function designOf(p: Pick<SweepPoint, 'target' | 'mode' | 'parse'>): string {
  return `${p.target}/${p.mode}/${p.parse}`;
}

export function interleavedOrder(points: readonly SweepPoint[]): SweepPoint[] {
  const cells = new Map<string, SweepPoint[]>();
  for (const p of points) {
    const key = `${p.groupSize}/${p.rate}`;
    const list = cells.get(key);
    if (list) list.push(p);
    else cells.set(key, [p]);
  }
  const out: SweepPoint[] = [];
  for (const list of cells.values()) {
    const designs = [...new Set(list.map(designOf))];
    const trials = [...new Set(list.map((p) => p.trial))].sort((a, b) => a - b);
    for (const t of trials) for (const d of designs) out.push(...list.filter((p) => p.trial === t && designOf(p) === d));
  }
  return out;
}
