// What `forkbench perf` runs (issue 9): the cells its ratios need, each design of a cell 3 times,
// in trial-major order (trial 1 of every point, then trial 2, ...) so a drift of the shared machine
// falls on both sides of every ratio alike, also on ratios across cells (head N=64 / N=2).
import { pointId, type BenchConfig, type SweepPoint, type Target } from './bench-config.js';

export const PERF_TRIALS = 3;
/** The floor trial: warm-up, then the measured window (seconds). */
export const FLOOR_WARMUP_S = 1;
export const FLOOR_WINDOW_S = 10; // 10 ms CPU ticks: about 1-2% of the relay's CPU over 10 s

/** One design of one cell: what a perf point measures, without the trial. */
export interface PerfDesign {
  target: 'forkbench' | 'kamailio';
  mode: 'centralized' | 'distributed';
  parse: 'full' | 'lazy' | 'n/a';
  n: number;
  rate: number;
}

const fb = (mode: PerfDesign['mode'], parse: 'full' | 'lazy', n: number, rate: number): PerfDesign => ({ target: 'forkbench', mode, parse, n, rate });

/**
 * The points whose traffic the bare relay copies, each for a floor of its own: the centralized proxy
 * at N=16 @100 (N members + the caller as peers) and the head at N=32 @50 (its K fork nodes + the
 * caller). A datagram's cost depends on how often the process is woken, so the head, at a tenth of
 * the centralized proxy's message rate, gets the floor of its own traffic, not the centralized one.
 */
export const FLOOR_SHAPES: readonly PerfDesign[] = [fb('centralized', 'full', 16, 100), fb('distributed', 'lazy', 32, 50)];

/** "forkbench/centralized/full/n16/r100": a design as point ids spell it, without the trial. */
export const designKey = (d: Pick<PerfDesign, 'target' | 'mode' | 'parse' | 'n' | 'rate'>): string => `${d.target}/${d.mode}/${d.parse}/n${d.n}/r${d.rate}`;

/** The floor shape a floor.csv row belongs to, from its shape_point (a point id); rows of older runs had only the centralized one. */
export function floorShapeOf(shapePoint: string | number | undefined): PerfDesign {
  const key = String(shapePoint ?? '').replace(/\/t\d+$/, '');
  return FLOOR_SHAPES.find((d) => designKey(d) === key) ?? FLOOR_SHAPES[0]!;
}

/**
 * The designs, cell by cell: N=16 @100 (both modes x both parses, and Kamailio); N=32 @50 (both x both:
 * lazy/full at N=32, and centralized/head); N=32 @100 (centralized/head); the head at N=2 and N=64
 * @headRate. Lazy/full at N=32 is taken at 50 calls/s, where two cores still carry the centralized point.
 */
export function perfDesigns(headRate: number, targets: readonly Target[]): PerfDesign[] {
  const both = (n: number, rate: number): PerfDesign[] => [fb('centralized', 'full', n, rate), fb('centralized', 'lazy', n, rate), fb('distributed', 'lazy', n, rate), fb('distributed', 'full', n, rate)];
  const list: PerfDesign[] = [
    ...both(16, 100),
    { target: 'kamailio', mode: 'centralized', parse: 'n/a', n: 16, rate: 100 },
    ...both(32, 50),
    fb('centralized', 'full', 32, 100),
    fb('distributed', 'lazy', 32, 100),
    fb('distributed', 'lazy', 2, headRate),
    fb('distributed', 'lazy', 64, headRate),
  ];
  return list.filter((d) => targets.includes(d.target));
}

/** Every point, trial-major: A B C ... A B C ... */
export function perfPlan(designs: readonly PerfDesign[], forkNodes: number, trials = PERF_TRIALS): SweepPoint[] {
  const out: SweepPoint[] = [];
  for (let trial = 1; trial <= trials; trial++) {
    for (const d of designs) {
      const base = { target: d.target, mode: d.mode, parse: d.parse, groupSize: d.n, rate: d.rate, trial } as const;
      out.push({ pointId: pointId(base), ...base, forkNodes: d.mode === 'distributed' ? forkNodes : 0 });
    }
  }
  return out;
}

/** The sweep config the plan's points run with (validated by the caller). */
export function perfConfig(base: BenchConfig, designs: readonly PerfDesign[], calls: number, out: string): BenchConfig {
  const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];
  return {
    ...base,
    targets: uniq(designs.map((d) => d.target)),
    modes: uniq(designs.map((d) => d.mode)),
    parse: ['full', 'lazy'],
    groupSizes: uniq(designs.map((d) => d.n)),
    rates: uniq(designs.map((d) => d.rate)),
    repeat: PERF_TRIALS,
    calls,
    out,
  };
}
