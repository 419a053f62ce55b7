// `forkbench bench`, `compare`, `capacity` and `perf`: flags in, engine calls, printing out.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, loadConfigFile, mergeConfig, validateConfig, type BenchConfig } from '../plan/bench-config.js';
import { compareModes, compareRuns, formatMarginal, formatTable, marginalCosts } from '../records/compare.js';
import { makeReporter } from './progress.js';
import { preflight } from '../testbed/preflight.js';
import { readPoints } from '../records/results-csv.js';
import { readMeta } from '../records/run-meta.js';
import { runSweep } from '../engine/sweep.js';
import { registerCapacityCommands } from './capacity-commands.js';
import { fail } from './cli-fail.js';
import { handleInterrupts } from '../testbed/processes.js';
import { registerFaultCommands } from './fault-commands.js';
import { openTestbed } from '../testbed/hosts/testbed.js';
import { externalOptions, registerExternalCommands } from './external-commands.js';

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
const nums = (v: string): number[] => list(v).map(Number);

interface BenchFlags {
  config?: string;
  modes?: string;
  targets?: string;
  parse?: string;
  groupSizes?: string;
  rates?: string;
  calls?: string;
  repeat?: string;
  warmup?: string;
  forkNodes?: string;
  ringMs?: string;
  holdMs?: string;
  out?: string;
  basePort?: string;
  pin?: boolean;
  capture?: boolean;
  relay180?: string;
  cpuBudget?: string;
  loss?: string;
  killForkNode?: string;
  resume?: boolean;
  json?: boolean;
  topology?: string;
  proxy?: string;
  targetPid?: string;
  targetMetrics?: string;
}

/** Flags as a partial config: only what was given, so the file and the defaults fill the rest. */
export function flagsToConfig(f: BenchFlags): Partial<BenchConfig> {
  const c: Partial<Record<keyof BenchConfig, unknown>> = {};
  if (f.modes !== undefined) c.modes = list(f.modes);
  if (f.targets !== undefined) c.targets = list(f.targets);
  if (f.parse !== undefined) c.parse = list(f.parse);
  if (f.groupSizes !== undefined) c.groupSizes = nums(f.groupSizes);
  if (f.rates !== undefined) c.rates = nums(f.rates);
  if (f.calls !== undefined) c.calls = Number(f.calls);
  if (f.repeat !== undefined) c.repeat = Number(f.repeat);
  if (f.warmup !== undefined) c.warmupS = Number(f.warmup);
  if (f.forkNodes !== undefined) c.forkNodes = Number(f.forkNodes);
  if (f.ringMs !== undefined) c.ringMs = Number(f.ringMs);
  if (f.holdMs !== undefined) c.holdMs = Number(f.holdMs);
  if (f.out !== undefined) c.out = f.out;
  if (f.basePort !== undefined) c.basePort = Number(f.basePort);
  if (f.pin) c.pin = true;
  if (f.capture === false) c.capture = false;
  if (f.relay180 !== undefined) c.relay180 = f.relay180;
  if (f.cpuBudget !== undefined) c.cpuBudget = Number(f.cpuBudget);
  if (f.loss !== undefined) c.loss = f.loss;
  if (f.killForkNode !== undefined) c.killForkNode = f.killForkNode;
  return c as Partial<BenchConfig>;
}

/** --config file, then flags; with --resume and no file, the interrupted run's own config. */
export async function resolveBenchConfig(f: BenchFlags): Promise<BenchConfig> {
  let base: Partial<BenchConfig> = {};
  if (f.config) base = await loadConfigFile(f.config);
  else if (f.resume && f.out && existsSync(join(f.out, 'meta.json'))) base = (await readMeta(f.out)).config as Partial<BenchConfig>;
  return validateConfig(mergeConfig(DEFAULT_CONFIG, base, flagsToConfig(f)));
}

export function registerHarnessCommands(program: Command): void {
  program
    .command('bench')
    .description('sweep modes x group sizes x call rates; one row per point in <out>/points.csv')
    .option('--config <file>', 'JSON sweep config (flags override it)')
    .option('--modes <list>', 'centralized,distributed')
    .option('--targets <list>', 'forkbench,kamailio,external (external: a proxy you run, see --proxy)')
    .option('--parse <list>', 'auto,full,lazy (auto: lazy for the distributed head, full for centralized)')
    .option('--group-sizes <list>', 'e.g. 2,8,32')
    .option('--rates <list>', 'calls per second, e.g. 20,50,100')
    .option('--calls <n>', 'measured calls per point (after the warm-up)')
    .option('--repeat <n>', 'trials per point, fresh processes each time')
    .option('--warmup <s>', 'seconds of calls before the measured window')
    .option('--fork-nodes <k>', 'fork nodes in distributed mode')
    .option('--ring-ms <ms>', 'how long members ring before the answerer answers')
    .option('--hold-ms <ms>', 'call duration after the answer')
    .option('--relay-180 <policy>', 'first | all: every forking proxy under test (centralized, head, fork nodes) relays the first 180 per call, or all (default first)')
    .option('--cpu-budget <cores>', 'CPU quota per process under test, in cores (cgroup, 10 ms period), e.g. 0.2')
    .option('--loss <pct[:legs]>', 'drop PCT% of the datagrams on the member legs (members, default) or on every leg (all), with nftables (root); see <out>/faults.csv')
    .option('--kill-fork-node <when[:node]>', 'SIGKILL a fork node during each distributed point: seconds after the first call (10s) or a share of the calling time (50%); node defaults to the last')
    .option('--base-port <port>', 'first UDP/TCP port a point uses')
    .option('--out <dir>', 'results folder')
    .option('--pin', 'pin proxy/head, fork nodes and load generators to separate cores (taskset)')
    .option('--no-capture', 'no tcpdump: delays from SIPp (1 ms resolution)')
    .option('--topology <local|netns|file>', 'where each role runs: local (default), netns (one network namespace per role, needs root) or a topology JSON file')
    .option('--proxy <host:port>', 'target external: the SIP address of your proxy (see external-files)')
    .option('--target-pid <pid>', 'target external: its CPU from this process (and children) on the host where "proxy" is placed')
    .option('--target-metrics <url>', 'target external: its CPU from process_cpu_seconds_total at this Prometheus endpoint')
    .option('--resume', 'run only the points missing from <out>/points.csv')
    .option('--json', 'print each finished row as a JSON line')
    .action(async (flags: BenchFlags) => {
      // A ConfigError, PreflightError, TopologyError or ExternalTargetError ends the command through
      // the CLI's one error path (exit 2).
      const config = await resolveBenchConfig(flags);
      await preflight(config);
      const external = externalOptions(config.targets, flags);
      const testbed = await openTestbed(flags.topology, config);
      const report = makeReporter({ json: flags.json ?? false, tty: process.stdout.isTTY === true, log: (s) => console.log(s), warn: (s) => console.error(s) });
      // Ctrl-C ends the current point (its processes stopped), keeps the finished ones, then exits 130.
      const interrupt = new AbortController();
      let signal: 'SIGINT' | 'SIGTERM' = 'SIGINT';
      const off = handleInterrupts((sig) => {
        signal = sig;
        interrupt.abort();
      });
      const result = await runSweep({ config, resume: flags.resume ?? false, argv: process.argv, signal: interrupt.signal, onEvent: report, testbed, external }).finally(() => testbed?.close());
      off();
      if (result.interrupted) process.exit(signal === 'SIGINT' ? 130 : 143);
      if (result.completed === 0) console.log('nothing to run: every point is already in points.csv');
    });

  program
    .command('compare')
    .description('centralized vs distributed side by side per group size and rate (or run A vs run B)')
    .argument('<runA>', 'results folder')
    .argument('[runB]', 'second results folder: compare the two runs mode by mode')
    .action(async (a: string, b: string | undefined) => {
      const load = async (dir: string) => {
        const file = join(dir, 'points.csv');
        if (!existsSync(file)) fail(`${file} does not exist: run forkbench bench --out ${dir} first`);
        try {
          return await readPoints(file);
        } catch (e) {
          fail((e as Error).message);
        }
      };
      const rowsA = await load(a);
      if (!b) {
        const c = compareModes(rowsA);
        console.log(`${a}: centralized (${c.leftParse} parse) vs distributed (${c.rightParse}-parsing head), forkbench\n`);
        console.log(formatTable(c.rows, 'central', 'distrib'));
        console.log(`\nMarginal cost (CPU per additional call) and fixed cost, per design and N:\n\n${formatMarginal(marginalCosts(rowsA))}`);
        return;
      }
      const rowsB = await load(b);
      for (const mode of ['centralized', 'distributed']) {
        console.log(`\n${mode}: ${a} (A) vs ${b} (B)\n`);
        console.log(formatTable(compareRuns(rowsA, rowsB, mode), 'A', 'B'));
      }
    });

  registerCapacityCommands(program);
  registerFaultCommands(program);
  registerExternalCommands(program);
}
