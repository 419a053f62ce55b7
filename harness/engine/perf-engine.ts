// make perf: the CPU-per-call ratios the project promises, from two small sweeps run side by side
// in one results folder. The summary is computed from points.csv rows by a pure function.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultParse, validateConfig, type BenchConfig, type Target } from '../plan/bench-config.js';
import type { PointRow } from '../records/columns.js';
import { mean } from '../measure/percentiles.js';
import { readPoints } from '../records/results-csv.js';
import { runSweep, type SweepEvent } from './sweep.js';
import type { Testbed } from '../testbed/hosts/testbed.js';

export interface PerfRequest {
  out: string;
  calls: number;
  /** Call rate of the head-scaling comparison (N=2 and N=32). */
  rate: number;
  targets: readonly Target[];
}

/** The two sweeps: N=16 at 100 cps (forkbench both modes and parses, and Kamailio), then the head at N=2 and 32. */
export function perfSweeps(req: PerfRequest): Partial<BenchConfig>[] {
  return [
    { targets: [...req.targets], modes: ['centralized', 'distributed'], parse: ['auto', 'lazy'], groupSizes: [16], rates: [100] },
    ...(req.targets.includes('forkbench') ? [{ targets: ['forkbench'] as Target[], modes: ['centralized', 'distributed'] as BenchConfig['modes'], groupSizes: [2, 32], rates: [req.rate] }] : []),
  ];
}

/** The perf report lines: CPU microseconds per successful call (mean over trials) and their ratios. */
export function perfSummary(rows: readonly PointRow[], rate: number, out: string): string[] {
  const ok = rows.filter((r) => r.status === 'ok');
  // Each mode at its default parse (full centralized, lazy head) unless asked otherwise.
  const cpu = (target: string, mode: string, n: number, r: number, parse: string = defaultParse(target, mode)): number | undefined =>
    mean(
      ok
        .filter((x) => x.target === target && x.mode === mode && x.parse === parse && Number(x.group_size) === n && Number(x.offered_rate_cps) === r)
        .map((x) => Number(x.cpu_us_per_call))
        .filter(Number.isFinite),
    );
  const fb = cpu('forkbench', 'centralized', 16, 100);
  const head16 = cpu('forkbench', 'distributed', 16, 100);
  const fbLazy = cpu('forkbench', 'centralized', 16, 100, 'lazy');
  const kam = cpu('kamailio', 'centralized', 16, 100);
  const c32 = cpu('forkbench', 'centralized', 32, rate);
  const d32 = cpu('forkbench', 'distributed', 32, rate);
  const d2 = cpu('forkbench', 'distributed', 2, rate);
  const fmt = (x: number | undefined): string => (x === undefined ? 'n/a' : x.toFixed(0));
  const ratio = (a?: number, b?: number): string => (a !== undefined && b !== undefined ? (a / b).toFixed(2) : 'n/a');
  return [
    `CPU microseconds per successful call (${out}/points.csv)`,
    `  forkbench centralized N=16 @100 cps: ${fmt(fb)}   kamailio N=16 @100 cps: ${fmt(kam)}   forkbench/kamailio = ${ratio(fb, kam)} (target <= 2.0)`,
    `  forkbench centralized with lazy parsing N=16 @100 cps: ${fmt(fbLazy)}   forkbench lazy/kamailio = ${ratio(fbLazy, kam)}`,
    `  distributed head N=16 @100 cps: ${fmt(head16)}   centralized/head = ${ratio(fb, head16)}`,
    `  centralized N=32 @${rate}: ${fmt(c32)}   distributed head N=32: ${fmt(d32)}   centralized/head = ${ratio(c32, d32)} (target >= 4)`,
    `  distributed head N=2 @${rate}: ${fmt(d2)}   head N=32 / head N=2 = ${ratio(d32, d2)} (target <= 1.30)`,
  ];
}

/** Runs (or resumes) the perf sweeps in req.out, writes perf.txt and returns its lines. */
export async function runPerf(req: PerfRequest, base: BenchConfig, opts: { argv?: string[]; signal?: AbortSignal; onEvent?: (e: SweepEvent) => void; testbed?: Testbed } = {}): Promise<{ lines: string[]; interrupted: boolean }> {
  for (const s of perfSweeps(req)) {
    const config = validateConfig({ ...base, parse: ['auto'], ...s, calls: req.calls, out: req.out });
    const r = await runSweep({ config, resume: true, argv: opts.argv, signal: opts.signal, onEvent: opts.onEvent, testbed: opts.testbed });
    if (r.interrupted) return { lines: [], interrupted: true };
  }
  const lines = perfSummary(await readPoints(join(req.out, 'points.csv')), req.rate, req.out);
  await writeFile(join(req.out, 'perf.txt'), lines.join('\n') + '\n');
  return { lines, interrupted: false };
}
