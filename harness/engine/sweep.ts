// The sweep engine: every point of the config in turn, one row appended per finished point,
// resumable, interruptible. Printing is left to the caller through `onEvent`.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { sweepPoints, type BenchConfig, type SweepPoint } from '../plan/bench-config.js';
import { canCapture } from '../measure/capture.js';
import { interleavedOrder } from '../plan/sweep-order.js';
import { runPoint, pointTiming } from './point-runner.js';
import { appendFaultRow } from '../faults/point-faults.js';
import { stopAll } from '../testbed/processes.js';
import { appendPoint, completedPointIds, type PointInput } from '../records/results-csv.js';
import { collectMeta, shellQuote, updateMeta, writeMeta, readMeta } from '../records/run-meta.js';
import type { Pinning } from '../testbed/targets/index.js';
import type { Testbed } from '../testbed/hosts/testbed.js';
import type { ExternalOptions } from '../testbed/targets/external.js';

export type SweepEvent =
  | { kind: 'start'; total: number; todo: number; skipped: number; captureNote?: string; etaS: number }
  | { kind: 'point-start'; index: number; total: number; point: SweepPoint }
  | { kind: 'point-done'; index: number; total: number; point: SweepPoint; row: PointInput; failuresSoFar: number }
  | { kind: 'done'; out: string; completed: number; failed: number; interrupted: boolean; pointsInFile: number; total: number; resumeCommand: string };

export interface SweepOptions {
  config: BenchConfig;
  resume: boolean;
  argv?: string[];
  /** Aborting it (Ctrl-C) stops the current point; finished points stay in points.csv. */
  signal?: AbortSignal;
  onEvent?: (e: SweepEvent) => void;
  /** --targets external: the proxy's address and CPU source. */
  external?: ExternalOptions;
  /** --topology netns | FILE (opened by the caller, which also closes it). */
  testbed?: Testbed;
  /** The points to run, in this order, instead of every point of the config interleaved (perf's plan). */
  points?: readonly SweepPoint[];
  /** Runs after each finished point is written (perf's floor trial beside its proxy point). */
  afterPoint?: (point: SweepPoint, row: PointInput) => Promise<void>;
}

/** CPU lists for --pin: proxy/head alone on core 0, everything else on the other cores. */
export function pinningFor(cores: number): Pinning | undefined {
  if (cores < 2) return undefined;
  const rest = cores === 2 ? '1' : `1-${cores - 1}`;
  return { proxy: '0', forkNodes: rest, load: rest };
}

/** The command that continues a run: the same command line with --resume (added once). */
export function resumeCommandFor(argv: readonly string[]): string {
  return shellQuote(argv.includes('--resume') ? argv : [...argv, '--resume']);
}

export function pointDirName(p: SweepPoint): string {
  return p.pointId.replace(/\//g, '_');
}

export async function runSweep(opts: SweepOptions): Promise<{ out: string; completed: number; failed: number; interrupted: boolean }> {
  const { config } = opts;
  const out = config.out;
  const pointsFile = join(out, 'points.csv');
  await mkdir(out, { recursive: true });
  const done = opts.resume && existsSync(pointsFile) ? completedPointIds(pointsFile) : new Set<string>();
  // Repeats interleaved A B A B across designs, so the machine's drift falls on every design alike.
  const all = opts.points ? [...opts.points] : interleavedOrder(sweepPoints(config));
  const todo = all.filter((p) => !done.has(p.pointId));

  let capture = config.capture;
  let captureNote: string | undefined;
  if (capture) {
    const can = await canCapture();
    if (!can.ok) {
      capture = false;
      captureNote = `no packet capture (${can.reason}): delays come from SIPp's 1 ms timers, column delay_source=sipp`;
    }
  }
  const pinning = config.pin ? pinningFor(cpus().length) : undefined;
  if (opts.resume && existsSync(join(out, 'meta.json'))) {
    const prev = await readMeta(out);
    await updateMeta(out, { resumedAt: [...((prev.resumedAt as string[] | undefined) ?? []), new Date().toISOString()], endedAt: null });
  } else {
    await writeMeta(out, await collectMeta({ config, argv: opts.argv, pinning: pinning ?? (config.pin ? 'requested, but fewer than 2 cores' : undefined) }));
  }

  // Where each role runs (per point also in points/<id>/placement.json).
  await updateMeta(out, { topology: opts.testbed ? opts.testbed.describe() : { source: 'local' } });
  const etaS = todo.reduce((s, p) => s + pointTiming(config, p.rate).sendS + 6, 0);
  opts.onEvent?.({ kind: 'start', total: all.length, todo: todo.length, skipped: all.length - todo.length, captureNote, etaS });
  let failed = 0;
  let completed = 0;
  for (const [i, point] of todo.entries()) {
    if (opts.signal?.aborted) break;
    opts.onEvent?.({ kind: 'point-start', index: i + 1, total: todo.length, point });
    // A PointError (a port in use) propagates: the next point would fail the same way.
    const pointDir = join(out, 'points', pointDirName(point));
    const row: PointInput = await runPoint(point, { config, pointDir, capture, pinning, signal: opts.signal, testbed: opts.testbed, external: opts.external });
    if (opts.signal?.aborted && row.status !== 'ok') break; // an interrupted point is not a result
    await appendPoint(pointsFile, row);
    await appendFaultRow(out, pointDir, row);
    completed++;
    if (row.status !== 'ok') failed++;
    opts.onEvent?.({ kind: 'point-done', index: i + 1, total: todo.length, point, row, failuresSoFar: failed });
    if (opts.afterPoint && !opts.signal?.aborted) await opts.afterPoint(point, row);
  }
  await stopAll();
  const interrupted = opts.signal?.aborted ?? false;
  const pointsInFile = done.size + completed;
  const resumeCommand = resumeCommandFor(opts.argv ?? process.argv);
  const endedAt = new Date().toISOString();
  // The last word on the run: whether it is complete, and if not, how far it got and how to go on.
  await updateMeta(out, { endedAt, interrupted, ...(interrupted ? { interruptedAt: endedAt, pointsDone: pointsInFile, pointsTotal: all.length, resumeCommand } : { interruptedAt: null, resumeCommand: null }) });
  opts.onEvent?.({ kind: 'done', out, completed, failed, interrupted, pointsInFile, total: all.length, resumeCommand });
  return { out, completed, failed, interrupted };
}
