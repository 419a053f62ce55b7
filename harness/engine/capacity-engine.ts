// Capacity (RFC 7502 style): one search per (target, mode, N), each trial a fresh point run by the
// point runner; results appended to capacity.csv, trials to capacity-trials.csv. No printing here:
// progress goes through `log`.
import { appendFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { defaultParse, pointId, type BenchConfig, type Mode, type SweepPoint, type Target } from '../plan/bench-config.js';
import { MIN_TRIAL_CALLS, TRIAL_WARMUP_S, searchCapacity, trialCallsFor, type CapacityResult, type TrialOutcome, type TrialRecord } from '../plan/capacity-search.js';
import { canCapture } from '../measure/capture.js';
import { CAPACITY_COLUMNS, SCHEMA_VERSION, type CapacityRow } from '../records/columns.js';
import { KAMAILIO_MAX_BRANCHES } from '../testbed/targets/kamailio-launcher.js';
import { runPoint, type PointContext } from './point-runner.js';
import { appendPoint, type PointInput } from '../records/results-csv.js';
import { collectMeta, gitInfo, readMeta, updateMeta, writeMeta } from '../records/run-meta.js';
import { pinningFor } from './sweep.js';
import { capacityAtReference, meanSample } from '../measure/speed-probe.js';

export interface CapacityRequest {
  target: Target;
  mode: Mode;
  groupSize: number;
  maxP95SetupMs: number;
  minSer: number;
  trialCalls: number; // measured calls per trial; 0 = auto: a 10 s window, or 1,000 calls when that comes sooner
  startRate: number;
  maxRate: number;
  resolution: number;
  resolutionPct: number; // finer resolution at low rates: this % of the first failing rate (0: off)
  maxTrials: number;
}

/** Runs one trial point; the default is the real point runner (tests may pass their own). */
export type TrialRunner = (point: SweepPoint, ctx: PointContext) => Promise<PointInput>;

const CAPACITY_HEADER = stringify([CAPACITY_COLUMNS as unknown as string[]]);

/** True when capacity.csv has rows already; a file with other columns (an older forkbench's) is refused, not misaligned. */
function checkCapacityFile(file: string): boolean {
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (existing.length > 0 && `${existing.split('\n', 1)[0]}\n` !== CAPACITY_HEADER) {
    throw new Error(`${file} has other columns (written by a different forkbench version): use a new --out folder`);
  }
  return existing.length > 0;
}

async function appendCapacity(file: string, row: CapacityRow): Promise<void> {
  const header = checkCapacityFile(file) ? '' : CAPACITY_HEADER;
  await appendFile(file, header + stringify([CAPACITY_COLUMNS.map((c) => row[c])]));
}

/** A trial row as the search sees it; a trial that never measured (nothing started) throws: the search cannot go on. */
export function trialOutcome(row: PointInput, rate: number): TrialOutcome {
  if (row.window_s === undefined) throw new Error(`trial at ${rate} cps could not run: ${row.error}`);
  const ser = typeof row.ser === 'number' ? row.ser : 0;
  const p95 = typeof row.setup_p95_us === 'number' ? row.setup_p95_us : Number.POSITIVE_INFINITY;
  const o: TrialOutcome = { ser, setupP95Us: p95, ok: row.status === 'ok', detail: row.status === 'ok' ? `cpu ${row.head_cpu_pct}%` : String(row.error) };
  if (typeof row.achieved_rate_cps === 'number') o.achievedRate = row.achieved_rate_cps;
  if (row.testbed_bound === 1) {
    const why = /test bed bound: (.*)$/.exec(String(row.flag_reason ?? ''));
    o.testbedBound = why ? why[1]! : 'test bed bound';
  }
  return o;
}

/** Measured calls of a trial at `rate`: the request's, or (auto) the shortest trial the rules accept. */
export function trialCallsAt(req: Pick<CapacityRequest, 'trialCalls'>, rate: number): number {
  return req.trialCalls > 0 ? req.trialCalls : Math.min(trialCallsFor(rate), MIN_TRIAL_CALLS);
}

/** One capacity search: every trial is a fresh point (processes started and stopped). */
export async function runCapacity(req: CapacityRequest, config: BenchConfig, out: string, log: (s: string) => void, runTrial: TrialRunner = runPoint): Promise<CapacityResult> {
  checkCapacityFile(join(out, 'capacity.csv')); // before the search, not after its minutes of trials
  const capture = config.capture && (await canCapture()).ok;
  const pinning = config.pin ? pinningFor(cpus().length) : undefined;
  const parse = defaultParse(req.target, req.mode);
  const forkNodes = req.mode === 'distributed' ? config.forkNodes : 0;
  let trialNo = 0;
  const speeds: number[] = []; // each trial's speed_probe_ns: the host's speed over the search
  const trialConfig = (rate: number): BenchConfig => ({ ...config, calls: trialCallsAt(req, rate), warmupS: TRIAL_WARMUP_S });
  const result = await searchCapacity(
    { startRate: req.startRate, maxRate: req.maxRate, stepFactor: 2, resolution: req.resolution, resolutionPct: req.resolutionPct, minSer: req.minSer, maxP95SetupMs: req.maxP95SetupMs, maxTrials: req.maxTrials },
    async (rate) => {
      trialNo++;
      const base = { target: req.target, mode: req.mode, parse, groupSize: req.groupSize, rate, trial: trialNo } as const;
      const point: SweepPoint = { ...base, pointId: `capacity/${pointId(base)}`, forkNodes };
      const row = await runTrial(point, { config: trialConfig(rate), pointDir: join(out, 'trials', point.pointId.replace(/\//g, '_')), capture, pinning });
      await appendPoint(join(out, 'capacity-trials.csv'), row);
      if (typeof row.speed_probe_ns === 'number') speeds.push(row.speed_probe_ns);
      return trialOutcome(row, rate);
    },
    (t: TrialRecord) =>
      log(
        `  ${t.confirmation ? 'confirm' : 'trial'} ${req.target}/${req.mode} N=${req.groupSize} at ${t.rate} cps: ${t.testbedBound ? 'TEST BED BOUND' : t.pass ? 'pass' : 'FAIL'} (achieved ${t.achievedRate ?? '-'}, SER ${t.ser}, p95 setup ${Number.isFinite(t.setupP95Us) ? (t.setupP95Us / 1000).toFixed(2) : '-'} ms${t.detail ? `, ${t.detail}` : ''})`,
      ),
  );
  const p = result.provingTrial;
  const speed = meanSample(speeds);
  const atRef = result.capacityCps !== undefined ? capacityAtReference(result.capacityCps, speed) : undefined;
  await appendCapacity(join(out, 'capacity.csv'), {
    schema_version: SCHEMA_VERSION,
    target: req.target,
    mode: req.mode,
    parse,
    group_size: req.groupSize,
    fork_nodes: forkNodes,
    capacity_cps: result.capacityCps ?? '',
    resolution_cps: req.resolution,
    resolution_pct: req.resolutionPct,
    max_p95_setup_ms: req.maxP95SetupMs,
    min_ser: req.minSer,
    trial_calls: req.trialCalls,
    proving_setup_p95_us: p && Number.isFinite(p.setupP95Us) ? Math.round(p.setupP95Us) : '',
    proving_ser: p ? p.ser : '',
    trials: result.trials.length,
    stop_reason: result.stopReason,
    confirmed: result.confirmed ? 1 : 0,
    proving_achieved_cps: p?.achievedRate ?? '',
    trial_window_s: p ? Math.round((trialCallsAt(req, p.rate) / p.rate) * 10) / 10 : '',
    cpu_budget_cores: config.cpuBudget > 0 ? config.cpuBudget : '',
    lower_bound_cps: result.lowerBoundCps ?? '',
    speed_probe_ns: speed !== undefined ? Math.round(speed) : '',
    capacity_ref_cps: atRef ?? '',
  });
  log(
    `capacity ${req.target}/${req.mode} N=${req.groupSize}: ${result.capacityCps === undefined ? `none (test bed bound${result.lowerBoundCps ? `; held ${result.lowerBoundCps} calls/s before` : ''})` : `${result.capacityCps} calls/s${atRef !== undefined ? ` (${atRef} on the reference core)` : ''}`}` +
      (p ? ` (proved by the trial at ${p.rate} cps: SER ${p.ser}, p95 setup ${(p.setupP95Us / 1000).toFixed(2)} ms)` : '') +
      `; ${result.stoppedBecause}`,
  );
  return result;
}

/** Note a capacity command in the run's meta.json (created if absent), beside whatever produced the run. */
export async function recordCapacityRun(out: string, config: BenchConfig, entry: { command: string; startedAt: string; endedAt?: string }): Promise<void> {
  if (!existsSync(join(out, 'meta.json'))) await writeMeta(out, await collectMeta({ config, argv: process.argv }));
  const meta = await readMeta(out);
  const runs = (Array.isArray(meta.capacityRuns) ? meta.capacityRuns : []) as { command: string; startedAt: string }[];
  const others = runs.filter((r) => !(r.command === entry.command && r.startedAt === entry.startedAt));
  // The capacity figure names the run that produced its data: the commit and budget of this search.
  const git = await gitInfo();
  await updateMeta(out, { capacityRuns: [...others, { ...entry, gitCommit: git.gitCommit, gitDirty: git.gitDirty, cpuBudgetCores: config.cpuBudget }] });
}

/** make capacity's searches: per group size both forkbench modes, then Kamailio (at most 30 branches). */
export function capacitySweepJobs(sizes: readonly number[], targets: readonly Target[]): { target: Target; mode: Mode; groupSize: number }[] {
  const jobs: { target: Target; mode: Mode; groupSize: number }[] = [];
  for (const n of sizes) {
    if (targets.includes('forkbench')) jobs.push({ target: 'forkbench', mode: 'centralized', groupSize: n }, { target: 'forkbench', mode: 'distributed', groupSize: n });
    if (targets.includes('kamailio')) jobs.push({ target: 'kamailio', mode: 'centralized', groupSize: Math.min(n, KAMAILIO_MAX_BRANCHES) });
  }
  return jobs;
}
