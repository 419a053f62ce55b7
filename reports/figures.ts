// The six paper figures: which spec file, which data set, and the caption line that says how to read it.
export type Dataset = 'points' | 'capacity' | 'load';

export interface FigureDef {
  name: string; // spec file reports/specs/<name>.vl.json and output file stem
  dataset: Dataset;
  usesRate: boolean; // drawn at one fixed offered rate (spec parameter "rate")
  /** How to read the figure; rate is the fixed rate when usesRate. */
  reading(rate: number | null): string; // "\n" starts a new caption line
}

const MEDIAN = 'line = median of trials, bar = min-max';
const PRIMARY = 'centralized = full parse, distributed = lazy-parsing head';

export const FIGURES: readonly FigureDef[] = [
  {
    name: 'setup-delay-vs-group-size',
    dataset: 'points',
    usesRate: true,
    reading: (rate) => `at ${rate ?? '?'} calls/s offered; ${MEDIAN}; ${PRIMARY}`,
  },
  { name: 'cpu-vs-rate', dataset: 'points', usesRate: false, reading: () => `${MEDIAN}; ${PRIMARY}` },
  { name: 'setup-delay-vs-rate', dataset: 'points', usesRate: false, reading: () => `${MEDIAN}; ${PRIMARY}` },
  {
    name: 'messages-per-call',
    dataset: 'points',
    usesRate: false,
    reading: () => `all rates pooled; ${MEDIAN}; ${PRIMARY}`,
  },
  {
    name: 'capacity-vs-group-size',
    dataset: 'capacity',
    usesRate: false,
    reading: () =>
      `from capacity.csv: highest rate holding the run's SER and p95 criteria; ${PRIMARY}\ncross = the search stopped test bed bound, drawn at the rate the proxy held before (a lower bound, no capacity)`,
  },
  {
    name: 'proxy-delay-vs-load',
    dataset: 'load',
    usesRate: false,
    reading: () =>
      'N = 8 and 32; fan-out = caller\'s INVITE in -> last branch INVITE out (every leg captured), ringing = caller\'s INVITE -> first 180; ' +
      'line = median of ok trials; hollow marks = every trial: circle ok, triangle calls failed, diamond test bed bound, cross point failed (on the floor: no value)',
  },
  {
    name: 'goodput-vs-load',
    dataset: 'load',
    usesRate: false,
    reading: () =>
      'points under a CPU budget only (budgeted sweep points, forkbench overload loads); solid = answered calls/s (median of trials), ' +
      'dashed = answered within 200 ms (overload loads), dotted = 503s/s, grey dashed = offered;\n' +
      'marks: circle ok, triangle calls failed, diamond test bed bound, cross point failed',
  },
  {
    name: 'ablation',
    dataset: 'points',
    usesRate: true,
    reading: (rate) =>
      `at ${rate ?? '?'} calls/s offered; dark = centralized, orange = distributed; solid = full parse, pale = lazy parse; rule = min-max of trials`,
  },
];
