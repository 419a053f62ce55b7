// The lines `forkbench perf` prints and writes to perf.txt: per cell the median CPU per call of the
// ok trials (min-max beside it), the bare-relay floor, then every issue-9 target with its measured
// ratio (of medians), the target and PASS/FAIL. Pure: rows in, lines out.
import type { PointRow } from './columns.js';
import type { FloorRow } from './floor-csv.js';
import { max, median, min } from '../measure/percentiles.js';
import { FLOOR_SHAPES, designKey, floorShapeOf, type PerfDesign } from '../plan/perf-plan.js';

export interface PerfSummaryInput {
  rows: readonly PointRow[];
  floor: readonly FloorRow[];
  designs: readonly PerfDesign[];
  headRate: number;
  out: string;
  /** The run's commit from meta.json, e.g. "41e16b8c... (dirty)". */
  commit: string;
}

interface Cell {
  cpu: number[]; // cpu_us_per_call of the ok trials
  perMsg: number[]; // cpu_us_per_call / messages per call of the ok trials
  total: number; // trials in points.csv, ok or not
  bound: number; // ok trials the test-bed guard flagged
}

/** Kamailio has no message counters: its tm relays every 180, so a call is 7N + 6 messages. */
const kamailioMsgsPerCall = (n: number): number => 7 * n + 6;

function cellOf(rows: readonly PointRow[], d: PerfDesign): Cell {
  const mine = rows.filter((x) => x.target === d.target && x.mode === d.mode && x.parse === d.parse && Number(x.group_size) === d.n && Number(x.offered_rate_cps) === d.rate);
  const ok = mine.filter((x) => x.status === 'ok' && Number.isFinite(Number(x.cpu_us_per_call)) && x.cpu_us_per_call !== '');
  const perMsg = ok.flatMap((x) => {
    const msgs = x.msgs_per_call !== '' && Number(x.msgs_per_call) > 0 ? Number(x.msgs_per_call) : d.target === 'kamailio' ? kamailioMsgsPerCall(d.n) : NaN;
    return Number.isFinite(msgs) ? [Number(x.cpu_us_per_call) / msgs] : [];
  });
  return { cpu: ok.map((x) => Number(x.cpu_us_per_call)), perMsg, total: mine.length, bound: ok.filter((x) => Number(x.testbed_bound) === 1).length };
}

const label = (d: PerfDesign): string => (d.target === 'kamailio' ? `kamailio ${d.mode}` : `forkbench ${d.mode === 'distributed' ? 'head' : d.mode} ${d.parse}`);
const at = (n: number, rate: number): string => `N=${n} @${rate} cps`;
const fmt = (x: number | undefined, digits: number): string => (x === undefined ? 'n/a' : x.toFixed(digits));
const spread = (xs: readonly number[], digits: number): string => (xs.length ? ` [${fmt(min(xs), digits)}-${fmt(max(xs), digits)}]` : '');

/** "a / b unit = r (target op t) PASS|FAIL"; the verdict is on the printed (2-decimal) ratio so the two agree. */
function check(name: string, a: number | undefined, b: number | undefined, digits: number, unit: string, op: '<=' | '>=' | 'none', target = '', note = ''): string {
  const r = a !== undefined && b !== undefined && b > 0 ? Number((a / b).toFixed(2)) : undefined;
  const verdict = op === 'none' ? '' : r === undefined ? ' NO DATA' : (op === '<=' ? r <= Number(target) : r >= Number(target)) ? ' PASS' : ' FAIL';
  const goal = op === 'none' ? `(no target${note ? `; ${note}` : ''})` : `(target ${op} ${target})`;
  return `  ${name}: ${fmt(a, digits)} / ${fmt(b, digits)}${unit} = ${r === undefined ? 'n/a' : r.toFixed(2)} ${goal}${verdict}`;
}

export function perfSummary(input: PerfSummaryInput): string[] {
  const { rows, designs, headRate } = input;
  const cells = new Map(designs.map((d) => [d, cellOf(rows, d)]));
  const find = (target: PerfDesign['target'], mode: PerfDesign['mode'], parse: PerfDesign['parse'], n: number, rate: number): Cell | undefined =>
    [...cells.entries()].find(([d]) => d.target === target && d.mode === mode && d.parse === parse && d.n === n && d.rate === rate)?.[1];
  const cpu = (c: Cell | undefined): number | undefined => median(c?.cpu ?? []);
  const perMsg = (c: Cell | undefined): number | undefined => median(c?.perMsg ?? []);

  const lines = [
    `forkbench perf at commit ${input.commit} (${input.out})`,
    'CPU us per successful call of the proxy under test (distributed: the head), median of the ok trials [min-max]',
  ];
  for (const [d, c] of cells) {
    const bound = c.bound ? `, ${c.bound} test-bed bound` : '';
    lines.push(`  ${label(d)} ${at(d.n, d.rate)}: ${fmt(median(c.cpu), 0)}${spread(c.cpu, 0)}, ${c.cpu.length}/${c.total} trials ok${bound}`);
  }
  // One floor per shape present in the plan; a floor row belongs to the shape its shape_point names.
  const shapes = FLOOR_SHAPES.filter((f) => designs.some((d) => designKey(d) === designKey(f)));
  const floors = new Map<PerfDesign, number | undefined>();
  for (const shape of shapes) {
    const mine = input.floor.filter((f) => floorShapeOf(f.shape_point) === shape);
    const okFloor = mine.filter((f) => f.status === 'ok' && typeof f.us_per_msg === 'number');
    const floorUs = okFloor.map((f) => Number(f.us_per_msg));
    floors.set(shape, median(floorUs));
    // K as recorded by the ok trials (one value unless floor.csv mixes runs), n/a without one.
    const ks = [...new Set(okFloor.map((f) => f.sinks).filter((k): k is number => typeof k === 'number'))].sort((a, b) => a - b);
    const peers = `${ks.length ? ks.join('/') : 'n/a'} peer processes, each sending 1/K of the input`;
    lines.push(`  bare UDP relay floor (traffic of ${designKey(shape)}, ${peers}): ${fmt(median(floorUs), 2)} us per message${spread(floorUs, 2)}, ${okFloor.length}/${mine.length} trials ok`);
  }
  const floor = floors.get(FLOOR_SHAPES[0]!);
  const headFloor = floors.get(FLOOR_SHAPES[1]!);

  const n16 = (parse: PerfDesign['parse'], mode: PerfDesign['mode'] = 'centralized'): Cell | undefined => find('forkbench', mode, parse, 16, 100);
  const kam = find('kamailio', 'centralized', 'n/a', 16, 100);
  lines.push('issue 9 targets (ratios of the medians)');
  for (const parse of ['full', 'lazy'] as const) {
    lines.push(check(`forkbench centralized ${parse} / kamailio, CPU per call, ${at(16, 100)}`, cpu(n16(parse)), cpu(kam), 0, ' us', '<=', '1.0'));
  }
  for (const mode of ['centralized', 'distributed'] as const) {
    for (const [n, rate] of [[16, 100], [32, 50]] as const) {
      const name = `lazy / full, ${mode === 'distributed' ? 'distributed head' : 'centralized'}, CPU per call, ${at(n, rate)}`;
      lines.push(check(name, cpu(find('forkbench', mode, 'lazy', n, rate)), cpu(find('forkbench', mode, 'full', n, rate)), 0, ' us', '<=', '0.75'));
    }
  }
  for (const rate of [50, 100]) {
    lines.push(check(`centralized full / head lazy, CPU per call, ${at(32, rate)}`, cpu(find('forkbench', 'centralized', 'full', 32, rate)), cpu(find('forkbench', 'distributed', 'lazy', 32, rate)), 0, ' us', '>=', '6'));
  }
  lines.push(check(`head N=64 / head N=2, CPU per call, @${headRate} cps`, cpu(find('forkbench', 'distributed', 'lazy', 64, headRate)), cpu(find('forkbench', 'distributed', 'lazy', 2, headRate)), 0, ' us', '<=', '1.30'));
  for (const parse of ['full', 'lazy'] as const) {
    lines.push(check(`forkbench centralized ${parse} CPU per message / floor, ${at(16, 100)}`, perMsg(n16(parse)), floor, 2, ' us', '<=', '1.5'));
  }
  lines.push(check(`kamailio centralized CPU per message / floor, ${at(16, 100)}`, perMsg(kam), floor, 2, ' us', 'none', '', `${kamailioMsgsPerCall(16)} messages per call, 7N+6`));
  if (shapes.includes(FLOOR_SHAPES[1]!)) {
    const h = FLOOR_SHAPES[1]!;
    lines.push(check(`forkbench head ${h.parse} CPU per message / its floor, ${at(h.n, h.rate)}`, perMsg(find(h.target, h.mode, h.parse, h.n, h.rate)), headFloor, 2, ' us', 'none', '', "the relay at the head's own traffic: K fork nodes + the caller"));
  }
  return lines;
}
