// `forkbench capacity` (one RFC 7502-style search), `capacity-sweep` (make capacity) and `perf`
// (make perf): flags in, engine calls (capacity-engine.ts, perf-engine.ts), printing out.
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, mergeConfig, validateConfig, type BenchConfig, type Target } from '../plan/bench-config.js';
import { capacitySweepJobs, recordCapacityRun, runCapacity, type CapacityRequest } from '../engine/capacity-engine.js';
import { runPerf } from '../engine/perf-engine.js';
import { preflight } from '../testbed/preflight.js';
import { shellQuote } from '../records/run-meta.js';
import { fail } from './cli-fail.js';
import { runPoint } from '../engine/point-runner.js';
import { openTestbed } from '../testbed/hosts/testbed.js';
import { handleInterrupts } from '../testbed/processes.js';

/** The config every trial shares; preflight checks only the tools the given targets need. */
async function baseConfig(out: string, targets: Target[], flags: { pin?: boolean; capture?: boolean; basePort?: string; cpuBudget?: string }): Promise<BenchConfig> {
  // A ConfigError or PreflightError ends the command through the CLI's one error path (exit 2).
  const c = validateConfig(
    mergeConfig(DEFAULT_CONFIG, {}, { out, pin: flags.pin ?? false, capture: flags.capture !== false, ...(flags.basePort ? { basePort: Number(flags.basePort) } : {}), ...(flags.cpuBudget !== undefined ? { cpuBudget: Number(flags.cpuBudget) } : {}), targets, groupSizes: [32] }),
  );
  await preflight(c);
  return c;
}

function positiveNumber(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) fail(`${flag} "${v}" must be a positive number`);
  return n;
}

/** --resolution-pct: 0 (off) up to, not including, 100. */
function percentFlag(v: string, flag: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 100) fail(`${flag} "${v}" must be a percentage from 0 (off) to below 100, e.g. 5`);
  return n;
}

/** make capacity's relative resolution: 5 % of the failing rate below 200 calls/s, 10 calls/s above. */
const SWEEP_RESOLUTION_PCT = 5;

/** --trial-calls: "auto" (0: a 10 s window, or 1,000 calls when that comes sooner) or a count. */
function trialCallsFlag(v: string): number {
  return v === 'auto' ? 0 : positiveNumber(v, '--trial-calls');
}

const BUDGET_HELP = 'CPU quota per process under test, in cores (cgroup, 10 ms period), e.g. 0.2';

function targetList(v: string): Target[] {
  const list = v.split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of list) if (t !== 'forkbench' && t !== 'kamailio') fail(`unknown target "${t}" in --targets: use forkbench and/or kamailio`);
  if (list.length === 0) fail('--targets is empty: name forkbench and/or kamailio');
  return list as Target[];
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
    .option('--trial-calls <n>', 'measured calls per trial, or auto (10 s, or 1,000 calls when sooner)', 'auto')
    .option('--cpu-budget <cores>', BUDGET_HELP)
    .option('--start-rate <cps>', 'first trial rate', '20')
    .option('--max-rate <cps>', 'never try above this rate', '1000')
    .option('--resolution <cps>', 'stop when pass and fail are this close', '5')
    .option('--resolution-pct <pct>', 'or this % of the failing rate, when that is closer (0: off)', '5')
    .option('--max-trials <n>', 'bound on the number of trials', '12')
    .option('--out <dir>', 'results folder (capacity.csv is appended)', 'results/capacity')
    .option('--base-port <port>', 'first port a trial uses')
    .option('--pin', 'pin roles to cores (taskset)')
    .option('--no-capture', 'no tcpdump: SIPp delays')
    .option('--topology <local|netns|file>', 'where each role runs (see bench --topology)')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const mode = o.mode as string;
      const target = o.target as string;
      if (mode !== 'centralized' && mode !== 'distributed') fail(`unknown mode "${mode}": use centralized or distributed`);
      if (target !== 'forkbench' && target !== 'kamailio') fail(`unknown target "${target}": use forkbench or kamailio`);
      // Every flag is checked before anything is written or started.
      const req: CapacityRequest = {
        target,
        mode,
        groupSize: positiveNumber(o.groupSize as string, '--group-size'),
        maxP95SetupMs: positiveNumber(o.maxP95SetupMs as string, '--max-p95-setup-ms'),
        minSer: positiveNumber(o.minSer as string, '--min-ser'),
        trialCalls: trialCallsFlag(o.trialCalls as string),
        startRate: positiveNumber(o.startRate as string, '--start-rate'),
        maxRate: positiveNumber(o.maxRate as string, '--max-rate'),
        resolution: positiveNumber(o.resolution as string, '--resolution'),
        resolutionPct: percentFlag(o.resolutionPct as string, '--resolution-pct'),
        maxTrials: positiveNumber(o.maxTrials as string, '--max-trials'),
      };
      const out = o.out as string;
      const config = await baseConfig(out, [target], o as { pin?: boolean; capture?: boolean; basePort?: string; cpuBudget?: string });
      await mkdir(out, { recursive: true });
      const entry = { command: shellQuote(process.argv), startedAt: new Date().toISOString() };
      const testbed = await openTestbed(o.topology as string | undefined, config);
      await recordCapacityRun(out, config, entry);
      await runCapacity(
        req,
        config,
        out,
        (s) => console.log(s),
        testbed ? (point, ctx) => runPoint(point, { ...ctx, testbed }) : undefined,
      ).finally(() => testbed?.close());
      await recordCapacityRun(out, config, { ...entry, endedAt: new Date().toISOString() });
    });

  program
    .command('capacity-sweep')
    .description('make capacity: capacity for N in {2, 8, 32}, both modes and Kamailio (Kamailio forks at most 30 branches, so it runs N=30 for 32)')
    .option('--out <dir>', 'results folder', 'results/capacity')
    .option('--group-sizes <list>', 'group sizes', '2,8,32')
    .option('--targets <list>', 'forkbench,kamailio', 'forkbench,kamailio')
    .option('--trial-calls <n>', 'measured calls per trial, or auto (10 s, or 1,000 calls when sooner)', 'auto')
    .option('--max-p95-setup-ms <ms>', 'criterion', '200')
    .option('--base-port <port>', 'first port a trial uses')
    .option('--cpu-budget <cores>', BUDGET_HELP)
    .option('--pin', 'pin roles to cores (taskset)')
    .action(async (o: { out: string; groupSizes: string; targets: string; trialCalls: string; maxP95SetupMs: string; basePort?: string; pin?: boolean; cpuBudget?: string }) => {
      const targets = targetList(o.targets);
      const sizes = o.groupSizes.split(',').map((v) => positiveNumber(v, '--group-sizes'));
      const criteria = { maxP95SetupMs: positiveNumber(o.maxP95SetupMs, '--max-p95-setup-ms'), trialCalls: trialCallsFlag(o.trialCalls) };
      const config = await baseConfig(o.out, targets, o);
      await mkdir(o.out, { recursive: true });
      // Beside a sweep's results (the reference run), record the search without replacing its meta.
      const entry = { command: shellQuote(process.argv), startedAt: new Date().toISOString() };
      await recordCapacityRun(o.out, config, entry);
      const started = Date.now();
      for (const job of capacitySweepJobs(sizes, targets)) {
        await runCapacity(
          { ...job, ...criteria, minSer: 1, startRate: 25, maxRate: 800, resolution: 10, resolutionPct: SWEEP_RESOLUTION_PCT, maxTrials: 12 },
          config,
          o.out,
          (s) => console.log(s),
        );
      }
      await recordCapacityRun(o.out, config, { ...entry, endedAt: new Date().toISOString() });
      console.log(`capacity sweep done in ${((Date.now() - started) / 60000).toFixed(1)} min: ${o.out}/capacity.csv; render with forkbench report ${o.out}`);
    });

  program
    .command('perf')
    .description('make perf: the issue-9 CPU ratios (forkbench vs Kamailio, lazy vs full, centralized vs head, head N=64 vs N=2, proxy vs a bare UDP relay), medians of 3 interleaved trials')
    .option('--out <dir>', 'results folder (an existing one is resumed: points already in points.csv are kept)', 'results/perf')
    .option('--calls <n>', 'measured calls per point', '500')
    .option('--rate <cps>', 'call rate of the head-scaling comparison (head at N=2 and N=64)', '50')
    .option('--targets <list>', 'forkbench,kamailio (without kamailio the forkbench/kamailio ratios print n/a)', 'forkbench,kamailio')
    .option('--base-port <port>', 'first port a point uses (the bare relay uses base+90 and +91, its N+1 sinks base+92 up: to base+108 at N=16)')
    .option('--cpu-budget <cores>', BUDGET_HELP)
    .option('--topology <local|netns|file>', 'where each role runs (see bench --topology; the bare relay runs on 127.0.0.1)')
    .action(async (o: { out: string; calls: string; rate: string; targets: string; basePort?: string; cpuBudget?: string; topology?: string }) => {
      const targets = targetList(o.targets);
      const req = { out: o.out, calls: positiveNumber(o.calls, '--calls'), rate: positiveNumber(o.rate, '--rate'), targets };
      const base = await baseConfig(o.out, targets, o);
      const testbed = await openTestbed(o.topology, { ...base, modes: ['centralized', 'distributed'] });
      // Ctrl-C: the current point (or floor trial) stops, its processes with it; finished points stay.
      const interrupt = new AbortController();
      let signal: 'SIGINT' | 'SIGTERM' = 'SIGINT';
      const off = handleInterrupts((sig) => {
        signal = sig;
        interrupt.abort();
      });
      const { lines, interrupted } = await runPerf(req, base, {
        testbed,
        argv: process.argv,
        signal: interrupt.signal,
        log: (s) => console.log(s),
        onEvent: (e) => e.kind === 'point-done' && console.log(`  [${e.index}/${e.total}] ${e.point.pointId}: ${e.row.status}, ${e.row.cpu_us_per_call} us/call, SER ${e.row.ser}${e.row.status === 'ok' ? '' : `, ${e.row.error}`}`),
      }).finally(async () => {
        off();
        await testbed?.close();
      });
      if (interrupted) {
        console.log(`interrupted: finished points are kept in ${o.out}; run the same command again to go on`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      console.log(lines.join('\n'));
    });
}
