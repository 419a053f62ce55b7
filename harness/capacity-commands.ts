// `forkbench capacity` (one RFC 7502-style search), `capacity-sweep` (make capacity) and `perf`
// (make perf: the CPU-per-call ratios the project promises), all built on runPoint.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { ConfigError, DEFAULT_CONFIG, mergeConfig, pointId, validateConfig, type BenchConfig, type Mode, type SweepPoint, type Target } from './bench-config.js';
import { searchCapacity, type CapacityResult, type TrialRecord } from './capacity-search.js';
import { canCapture } from './capture.js';
import { CAPACITY_COLUMNS, SCHEMA_VERSION, type CapacityRow } from './columns.js';
import { runPoint } from './point-runner.js';
import { KAMAILIO_MAX_BRANCHES } from './kamailio.js';
import { preflight, PreflightError } from './preflight.js';
import { appendPoint, readPoints } from './results-csv.js';
import { collectMeta, readMeta, shellQuote, updateMeta, writeMeta } from './run-meta.js';
import { pinningFor, runSweep } from './sweep.js';
import { cpus } from 'node:os';
import { fail } from './cli-fail.js';

export interface CapacityRequest {
  target: Target;
  mode: Mode;
  groupSize: number;
  maxP95SetupMs: number;
  minSer: number;
  trialCalls: number;
  startRate: number;
  maxRate: number;
  resolution: number;
  maxTrials: number;
}

async function appendCapacity(file: string, row: CapacityRow): Promise<void> {
  const header = !existsSync(file);
  await appendFile(file, stringify([CAPACITY_COLUMNS.map((c) => row[c])], { header: false }).replace(/^/, header ? stringify([CAPACITY_COLUMNS as unknown as string[]]) : ''));
}

/** One capacity search: every trial is a fresh point (processes started and stopped). */
export async function runCapacity(req: CapacityRequest, config: BenchConfig, out: string, log: (s: string) => void): Promise<CapacityResult> {
  const capture = config.capture && (await canCapture()).ok;
  const pinning = config.pin ? pinningFor(cpus().length) : undefined;
  const parse = req.target === 'kamailio' ? 'n/a' : req.mode === 'distributed' ? 'lazy' : 'full';
  const forkNodes = req.mode === 'distributed' ? config.forkNodes : 0;
  let trialNo = 0;
  const trialConfig: BenchConfig = { ...config, calls: req.trialCalls, warmupS: 1 };
  const result = await searchCapacity(
    { startRate: req.startRate, maxRate: req.maxRate, stepFactor: 2, resolution: req.resolution, minSer: req.minSer, maxP95SetupMs: req.maxP95SetupMs, maxTrials: req.maxTrials },
    async (rate) => {
      trialNo++;
      const base = { target: req.target, mode: req.mode, parse, groupSize: req.groupSize, rate, trial: trialNo } as const;
      const point: SweepPoint = { ...base, pointId: `capacity/${pointId(base)}`, forkNodes };
      const row = await runPoint(point, { config: trialConfig, pointDir: join(out, 'trials', point.pointId.replace(/\//g, '_')), capture, pinning });
      await appendPoint(join(out, 'capacity-trials.csv'), row);
      // A trial that never measured (the proxy did not start) is not a capacity result: stop.
      if (row.window_s === undefined) throw new Error(`trial at ${rate} cps could not run: ${row.error}`);
      const ser = typeof row.ser === 'number' ? row.ser : 0;
      const p95 = typeof row.setup_p95_us === 'number' ? row.setup_p95_us : Number.POSITIVE_INFINITY;
      return { ser, setupP95Us: p95, ok: row.status === 'ok', detail: row.status === 'ok' ? `cpu ${row.head_cpu_pct}%` : String(row.error) };
    },
    (t: TrialRecord) =>
      log(
        `  trial ${req.target}/${req.mode} N=${req.groupSize} at ${t.rate} cps: ${t.pass ? 'pass' : 'FAIL'} (SER ${t.ser}, p95 setup ${Number.isFinite(t.setupP95Us) ? (t.setupP95Us / 1000).toFixed(2) : '-'} ms${t.detail ? `, ${t.detail}` : ''})`,
      ),
  );
  const p = result.provingTrial;
  await appendCapacity(join(out, 'capacity.csv'), {
    schema_version: SCHEMA_VERSION,
    target: req.target,
    mode: req.mode,
    parse,
    group_size: req.groupSize,
    fork_nodes: forkNodes,
    capacity_cps: result.capacityCps ?? '',
    resolution_cps: req.resolution,
    max_p95_setup_ms: req.maxP95SetupMs,
    min_ser: req.minSer,
    trial_calls: req.trialCalls,
    proving_setup_p95_us: p && Number.isFinite(p.setupP95Us) ? Math.round(p.setupP95Us) : '',
    proving_ser: p ? p.ser : '',
    trials: result.trials.length,
  });
  log(
    `capacity ${req.target}/${req.mode} N=${req.groupSize}: ${result.capacityCps} calls/s` +
      (p ? ` (proved by the trial at ${p.rate} cps: SER ${p.ser}, p95 setup ${(p.setupP95Us / 1000).toFixed(2)} ms)` : '') +
      `; ${result.stoppedBecause}`,
  );
  return result;
}

/** Note a capacity command in the run's meta.json (created if absent), beside whatever produced the run. */
async function recordCapacityRun(out: string, config: BenchConfig, entry: { command: string; startedAt: string; endedAt?: string }): Promise<void> {
  if (!existsSync(join(out, 'meta.json'))) await writeMeta(out, await collectMeta({ config, argv: process.argv }));
  const meta = await readMeta(out);
  const runs = (Array.isArray(meta.capacityRuns) ? meta.capacityRuns : []) as { command: string; startedAt: string }[];
  const others = runs.filter((r) => !(r.command === entry.command && r.startedAt === entry.startedAt));
  await updateMeta(out, { capacityRuns: [...others, entry] });
}

async function baseConfig(out: string, flags: { pin?: boolean; capture?: boolean; basePort?: string }): Promise<BenchConfig> {
  try {
    const c = validateConfig(
      mergeConfig(DEFAULT_CONFIG, {}, { out, pin: flags.pin ?? false, capture: flags.capture !== false, ...(flags.basePort ? { basePort: Number(flags.basePort) } : {}), targets: ['forkbench', 'kamailio'], groupSizes: [32] }),
    );
    await preflight(c);
    return c;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof PreflightError) fail(e.message);
    throw e;
  }
}

function positiveNumber(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) fail(`${flag} "${v}" must be a positive number`);
  return n;
}

export function registerCapacityCommands(program: Command): void {
  program
    .command('capacity')
    .description('find the highest call rate whose whole trial holds (RFC 7502-style step-up then binary search)')
    .option('--mode <mode>', 'centralized | distributed', 'centralized')
    .option('--target <target>', 'forkbench | kamailio', 'forkbench')
    .requiredOption('--group-size <n>', 'members per group')
    .option('--max-p95-setup-ms <ms>', 'criterion: p95 setup delay bound', '200')
    .option('--min-ser <ratio>', 'criterion: Session Establishment Ratio floor', '1.0')
    .option('--trial-calls <n>', 'calls per trial', '2000')
    .option('--start-rate <cps>', 'first trial rate', '20')
    .option('--max-rate <cps>', 'never try above this rate', '1000')
    .option('--resolution <cps>', 'stop when pass and fail are this close', '5')
    .option('--max-trials <n>', 'bound on the number of trials', '12')
    .option('--out <dir>', 'results folder (capacity.csv is appended)', 'results/capacity')
    .option('--base-port <port>', 'first port a trial uses')
    .option('--pin', 'pin roles to cores (taskset)')
    .option('--no-capture', 'no tcpdump: SIPp delays')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const mode = o.mode as string;
      const target = o.target as string;
      if (mode !== 'centralized' && mode !== 'distributed') fail(`unknown mode "${mode}": use centralized or distributed`);
      if (target !== 'forkbench' && target !== 'kamailio') fail(`unknown target "${target}": use forkbench or kamailio`);
      if (target === 'kamailio' && mode !== 'centralized') fail('kamailio runs only as a centralized proxy: use --mode centralized');
      const out = o.out as string;
      const config = await baseConfig(out, o as { pin?: boolean; capture?: boolean; basePort?: string });
      await mkdir(out, { recursive: true });
      const entry = { command: shellQuote(process.argv), startedAt: new Date().toISOString() };
      await recordCapacityRun(out, config, entry);
      await runCapacity(
        {
          target,
          mode,
          groupSize: positiveNumber(o.groupSize as string, '--group-size'),
          maxP95SetupMs: positiveNumber(o.maxP95SetupMs as string, '--max-p95-setup-ms'),
          minSer: positiveNumber(o.minSer as string, '--min-ser'),
          trialCalls: positiveNumber(o.trialCalls as string, '--trial-calls'),
          startRate: positiveNumber(o.startRate as string, '--start-rate'),
          maxRate: positiveNumber(o.maxRate as string, '--max-rate'),
          resolution: positiveNumber(o.resolution as string, '--resolution'),
          maxTrials: positiveNumber(o.maxTrials as string, '--max-trials'),
        },
        config,
        out,
        (s) => console.log(s),
      );
      await recordCapacityRun(out, config, { ...entry, endedAt: new Date().toISOString() });
    });

  program
    .command('capacity-sweep')
    .description('make capacity: capacity for N in {2, 8, 32}, both modes and Kamailio (Kamailio forks at most 30 branches, so it runs N=30 for 32)')
    .option('--out <dir>', 'results folder', 'results/capacity')
    .option('--group-sizes <list>', 'group sizes', '2,8,32')
    .option('--trial-calls <n>', 'calls per trial', '300')
    .option('--max-p95-setup-ms <ms>', 'criterion', '200')
    .option('--pin', 'pin roles to cores (taskset)')
    .action(async (o: { out: string; groupSizes: string; trialCalls: string; maxP95SetupMs: string; pin?: boolean }) => {
      const config = await baseConfig(o.out, o);
      await mkdir(o.out, { recursive: true });
      // Beside a sweep's results (the reference run), record the search without replacing its meta.
      const entry = { command: shellQuote(process.argv), startedAt: new Date().toISOString() };
      await recordCapacityRun(o.out, config, entry);
      const sizes = o.groupSizes.split(',').map(Number);
      const started = Date.now();
      for (const n of sizes) {
        const jobs: [Target, Mode, number][] = [
          ['forkbench', 'centralized', n],
          ['forkbench', 'distributed', n],
          ['kamailio', 'centralized', Math.min(n, KAMAILIO_MAX_BRANCHES)],
        ];
        for (const [target, mode, size] of jobs) {
          await runCapacity(
            { target, mode, groupSize: size, maxP95SetupMs: Number(o.maxP95SetupMs), minSer: 1, trialCalls: Number(o.trialCalls), startRate: 25, maxRate: 800, resolution: 10, maxTrials: 9 },
            config,
            o.out,
            (s) => console.log(s),
          );
        }
      }
      await recordCapacityRun(o.out, config, { ...entry, endedAt: new Date().toISOString() });
      console.log(`capacity sweep done in ${((Date.now() - started) / 60000).toFixed(1)} min: ${o.out}/capacity.csv; render with forkbench report ${o.out}`);
    });

  program
    .command('perf')
    .description('make perf: forkbench vs Kamailio CPU per call (N=16, 100 cps, with the distributed head beside them) and the head at N=2 and N=32')
    .option('--out <dir>', 'results folder', 'results/perf')
    .option('--calls <n>', 'measured calls per point', '1000')
    .option('--rate <cps>', 'call rate of the head-scaling comparison', '100')
    .action(async (o: { out: string; calls: string; rate: string }) => {
      const base = await baseConfig(o.out, {});
      const calls = Number(o.calls);
      const sweeps: Partial<BenchConfig>[] = [
        { targets: ['forkbench', 'kamailio'], modes: ['centralized', 'distributed'], parse: ['auto', 'lazy'], groupSizes: [16], rates: [100] },
        { targets: ['forkbench'], modes: ['centralized', 'distributed'], groupSizes: [2, 32], rates: [Number(o.rate)] },
      ];
      for (const s of sweeps) {
        const config = validateConfig({ ...base, parse: ['auto'], ...s, calls, out: o.out });
        await runSweep({ config, resume: true, argv: process.argv, onEvent: (e) => e.kind === 'point-done' && console.log(`  ${e.point.pointId}: ${e.row.status}, ${e.row.cpu_us_per_call} us/call, SER ${e.row.ser}`) });
      }
      const rows = (await readPoints(join(o.out, 'points.csv'))).filter((r) => r.status === 'ok');
      // Each mode at its default parse (full centralized, lazy head) unless asked otherwise.
      const cpu = (target: string, mode: string, n: number, rate: number, parse = target === 'kamailio' ? 'n/a' : mode === 'distributed' ? 'lazy' : 'full'): number | undefined => {
        const r = rows.filter((x) => x.target === target && x.mode === mode && x.parse === parse && Number(x.group_size) === n && Number(x.offered_rate_cps) === rate);
        const v = r.map((x) => Number(x.cpu_us_per_call)).filter(Number.isFinite);
        return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
      };
      const rate = Number(o.rate);
      const fb = cpu('forkbench', 'centralized', 16, 100);
      const head16 = cpu('forkbench', 'distributed', 16, 100);
      const fbLazy = cpu('forkbench', 'centralized', 16, 100, 'lazy');
      const kam = cpu('kamailio', 'centralized', 16, 100);
      const c32 = cpu('forkbench', 'centralized', 32, rate);
      const d32 = cpu('forkbench', 'distributed', 32, rate);
      const d2 = cpu('forkbench', 'distributed', 2, rate);
      const fmt = (x: number | undefined): string => (x === undefined ? 'n/a' : x.toFixed(0));
      const r = (a?: number, b?: number): string => (a !== undefined && b !== undefined ? (a / b).toFixed(2) : 'n/a');
      const lines = [
        `CPU microseconds per successful call (${o.out}/points.csv)`,
        `  forkbench centralized N=16 @100 cps: ${fmt(fb)}   kamailio N=16 @100 cps: ${fmt(kam)}   forkbench/kamailio = ${r(fb, kam)} (target <= 2.0)`,
        `  forkbench centralized with lazy parsing N=16 @100 cps: ${fmt(fbLazy)}   forkbench lazy/kamailio = ${r(fbLazy, kam)}`,
        `  distributed head N=16 @100 cps: ${fmt(head16)}   centralized/head = ${r(fb, head16)}`,
        `  centralized N=32 @${rate}: ${fmt(c32)}   distributed head N=32: ${fmt(d32)}   centralized/head = ${r(c32, d32)} (target >= 4)`,
        `  distributed head N=2 @${rate}: ${fmt(d2)}   head N=32 / head N=2 = ${r(d32, d2)} (target <= 1.30)`,
      ];
      console.log(lines.join('\n'));
      await writeFile(join(o.out, 'perf.txt'), lines.join('\n') + '\n');
    });
}
