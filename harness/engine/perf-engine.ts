// make perf: the issue-9 ratios from one results folder. The plan (plan/perf-plan.ts) runs every
// point 3 times, trial-major; right after each trial of a floor-shape point (centralized N=16 @100,
// head N=32 @50) the bare UDP relay runs with that point's traffic shape (engine/floor-runner.ts). The summary is a pure function of
// points.csv and floor.csv (records/perf-summary.ts).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateConfig, type BenchConfig, type SweepPoint, type Target } from '../plan/bench-config.js';
import { FLOOR_SHAPES, FLOOR_WARMUP_S, FLOOR_WINDOW_S, PERF_TRIALS, designKey, floorShapeOf, perfConfig, perfDesigns, perfPlan, type PerfDesign } from '../plan/perf-plan.js';
import type { PointRow } from '../records/columns.js';
import { appendFloor, readFloor, type FloorRow } from '../records/floor-csv.js';
import { perfSummary } from '../records/perf-summary.js';
import { completedPointIds, readPoints } from '../records/results-csv.js';
import { readMeta } from '../records/run-meta.js';
import type { Testbed } from '../testbed/hosts/testbed.js';
import { floorShape, receivedShare, runFloorTrial, type FloorPorts, type MessageCounts } from './floor-runner.js';
import { pointTiming } from './point-runner.js';
import { runSweep, type SweepEvent } from './sweep.js';

export interface PerfRequest {
  out: string;
  calls: number;
  /** Call rate of the head-scaling comparison (head at N=2 and N=64). */
  rate: number;
  targets: readonly Target[];
}

export interface PerfOptions {
  argv?: string[];
  signal?: AbortSignal;
  onEvent?: (e: SweepEvent) => void;
  testbed?: Testbed;
  log?: (line: string) => void;
}

/** Estimated seconds, as bench estimates a sweep (sending time + 6 s a point), plus the floor trials. */
export function perfEtaS(points: readonly SweepPoint[], config: BenchConfig, floorTrials: number): number {
  return points.reduce((s, p) => s + pointTiming(config, p.rate).sendS + 6, 0) + floorTrials * (FLOOR_WARMUP_S + FLOOR_WINDOW_S + 2);
}

type Shaped = Pick<SweepPoint, 'target' | 'mode' | 'parse' | 'groupSize' | 'rate'>;

/** The floor shape this point is, if any. */
const shapeOf = (p: Shaped): PerfDesign | undefined => FLOOR_SHAPES.find((d) => p.target === d.target && p.mode === d.mode && p.parse === d.parse && p.groupSize === d.n && p.rate === d.rate);

/** The shape point's row of this trial, or (it failed) of another ok trial. */
function shapeRow(rows: readonly PointRow[], shape: PerfDesign, trial: number): PointRow | undefined {
  const ok = rows.filter((r) => r.status === 'ok' && shapeOf({ target: r.target as Target, mode: r.mode as SweepPoint['mode'], parse: r.parse as SweepPoint['parse'], groupSize: Number(r.group_size), rate: Number(r.offered_rate_cps) }) === shape);
  return ok.find((r) => Number(r.trial) === trial) ?? ok[0];
}

const floorKey = (shape: PerfDesign, trial: number): string => `${designKey(shape)}/t${trial}`;

/** One floor trial with the traffic of a shape point; a failure is a failed floor.csv row, not a thrown error. */
async function floorTrial(out: string, shape: PerfDesign, trial: number, forkNodes: number, ports: FloorPorts, opts: PerfOptions): Promise<void> {
  const base: FloorRow = { trial, shape_point: floorKey(shape, trial), status: 'failed' };
  let row: FloorRow;
  try {
    const r = shapeRow(await readPoints(join(out, 'points.csv')), shape, trial);
    if (!r) throw new Error(`no ok ${designKey(shape)} point to copy the traffic shape from`);
    const pid = String(r.point_id);
    const counters = (file: string): Promise<MessageCounts> => readFile(join(out, 'points', pid.replace(/\//g, '_'), file), 'utf8').then((t) => JSON.parse(t) as MessageCounts);
    const share = receivedShare(await counters('head-metrics.json'), await counters('head-metrics-start.json'));
    // The proxy's distinct peers: a centralized proxy's N members and its caller; a head's K fork nodes and the caller.
    const peers = shape.mode === 'distributed' ? forkNodes + 1 : Number(r.group_size) + 1;
    const fs = floorShape(pid, Number(r.msgs_per_call), Number(r.achieved_rate_cps), share, peers);
    Object.assign(base, { shape_point: pid, in_rate_dps: Math.round(fs.inRate), copies: Number(fs.copies.toFixed(4)), sinks: fs.peers });
    const f = await runFloorTrial({ shape: fs, ports, warmupS: FLOOR_WARMUP_S, windowS: FLOOR_WINDOW_S, signal: opts.signal });
    row = {
      ...base,
      window_s: Number(f.windowS.toFixed(3)),
      received: f.received,
      sent: f.sent,
      cpu_us: f.cpuUs,
      us_per_msg: Number(f.usPerMsg.toFixed(3)),
      generated: f.generated,
      relay_received: f.relayReceived,
      relay_sent: f.relaySent,
      sink_received: f.sinkReceived,
      status: 'ok',
    };
  } catch (e) {
    if (opts.signal?.aborted) return; // an interrupted trial is not a result
    row = { ...base, error: (e as Error).message };
  }
  await appendFloor(join(out, 'floor.csv'), row);
  opts.log?.(row.status === 'ok' ? `  floor ${designKey(shape)} #${trial}: ${row.us_per_msg} us per message (${row.in_rate_dps} datagrams/s in, ${row.copies} sends each to ${row.sinks} processes, ${row.received} in + ${row.sent} out)` : `  floor ${designKey(shape)} #${trial}: FAILED: ${row.error}`);
}

/** Runs (or resumes) the perf plan in req.out, writes perf.txt and floor.csv, returns the summary lines. */
export async function runPerf(req: PerfRequest, base: BenchConfig, opts: PerfOptions = {}): Promise<{ lines: string[]; interrupted: boolean }> {
  const designs = perfDesigns(req.rate, req.targets);
  const config = validateConfig(perfConfig(base, designs, req.calls, req.out));
  const points = perfPlan(designs, config.forkNodes);
  const pointsFile = join(req.out, 'points.csv');
  const floorFile = join(req.out, 'floor.csv');
  const done = existsSync(pointsFile) ? completedPointIds(pointsFile) : new Set<string>();
  const floorDone = new Set((await readFloor(floorFile)).map((r) => floorKey(floorShapeOf(r.shape_point), Number(r.trial))));
  const shapes = FLOOR_SHAPES.filter((f) => designs.some((d) => shapeOf({ ...d, groupSize: d.n }) === f));
  const trials = Array.from({ length: PERF_TRIALS }, (_, i) => i + 1);
  const floorTodo = shapes.flatMap((f) => trials.filter((t) => !floorDone.has(floorKey(f, t)))).length;
  const todo = points.filter((p) => !done.has(p.pointId));
  const resumed = points.length - todo.length;
  opts.log?.(
    `forkbench perf: ${todo.length} points (${designs.length} designs x ${PERF_TRIALS} interleaved trials, ${config.calls} calls each)${resumed ? `, ${resumed} already in ${pointsFile}` : ''} and ${floorTodo} bare-relay floor trials, about ${Math.ceil(perfEtaS(todo, config, floorTodo) / 60)} min`,
  );
  // Floor ports above the block a point uses (base .. base+84 at N=64); the sinks from base+92 up
  // (base+108 for the 17 peers at N=16).
  const ports: FloorPorts = { relay: config.basePort + 90, control: config.basePort + 91, sinkBase: config.basePort + 92 };
  const r = await runSweep({
    config,
    resume: true,
    points,
    argv: opts.argv,
    signal: opts.signal,
    onEvent: opts.onEvent,
    testbed: opts.testbed,
    afterPoint: async (p) => {
      const shape = shapeOf(p);
      if (!shape || floorDone.has(floorKey(shape, p.trial))) return;
      await floorTrial(req.out, shape, p.trial, config.forkNodes, ports, opts);
      floorDone.add(floorKey(shape, p.trial));
    },
  });
  if (r.interrupted) return { lines: [], interrupted: true };
  // Floor trials not run beside their point (resumed run, or the point failed).
  for (const shape of shapes) {
    for (const t of trials) {
      if (opts.signal?.aborted) return { lines: [], interrupted: true };
      if (!floorDone.has(floorKey(shape, t))) await floorTrial(req.out, shape, t, config.forkNodes, ports, opts);
    }
  }
  const meta = await readMeta(req.out).catch(() => undefined);
  const commit = meta?.forkbench.gitCommit ? `${meta.forkbench.gitCommit}${meta.forkbench.gitDirty ? ' (dirty)' : ''}` : 'unknown';
  const lines = perfSummary({ rows: await readPoints(pointsFile), floor: await readFloor(floorFile), designs, headRate: req.rate, out: req.out, commit });
  await writeFile(join(req.out, 'perf.txt'), lines.join('\n') + '\n');
  return { lines, interrupted: false };
}
