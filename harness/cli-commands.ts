// `forkbench bench`, `compare`, `capacity` and `perf`: flags in, engine calls, printing out.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, DEFAULT_CONFIG, loadConfigFile, mergeConfig, validateConfig, type BenchConfig } from './bench-config.js';
import { compareModes, compareRuns, formatTable } from './compare.js';
import { makeReporter } from './progress.js';
import { preflight, PreflightError } from './preflight.js';
import { readPoints } from './results-csv.js';
import { readMeta } from './run-meta.js';
import { runSweep } from './sweep.js';
import { registerCapacityCommands } from './capacity-commands.js';
import { fail } from './cli-fail.js';
import { openTestbed, type Testbed } from './testbed.js';
import { TopologyError } from './topology.js';
import { externalOptions, registerExternalCommands } from './external-commands.js';
import { ExternalTargetError } from './external-target.js';
import type { ExternalOptions } from './targets/external.js';

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
    .option('--relay-180 <policy>', 'fork nodes relay the first 180 per call, or all')
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
      let config: BenchConfig;
      try {
        config = await resolveBenchConfig(flags);
        await preflight(config);
      } catch (e) {
        if (e instanceof ConfigError || e instanceof PreflightError) fail(e.message);
        throw e;
      }
      let testbed: Testbed | undefined;
      let external: ExternalOptions | undefined;
      try {
        external = externalOptions(config.targets, flags);
        testbed = await openTestbed(flags.topology, config);
      } catch (e) {
        if (e instanceof TopologyError || e instanceof ExternalTargetError) fail(e.message);
        throw e;
      }
      const report = makeReporter({ json: flags.json ?? false, tty: process.stdout.isTTY === true, log: (s) => console.log(s) });
      const result = await runSweep({ config, resume: flags.resume ?? false, argv: process.argv, onEvent: report, testbed, external }).finally(() => testbed?.close());
      if (result.completed === 0 && !result.interrupted) console.log('nothing to run: every point is already in points.csv');
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
        return;
      }
      const rowsB = await load(b);
      for (const mode of ['centralized', 'distributed']) {
        console.log(`\n${mode}: ${a} (A) vs ${b} (B)\n`);
        console.log(formatTable(compareRuns(rowsA, rowsB, mode), 'A', 'B'));
      }
    });

  registerCapacityCommands(program);
  registerExternalCommands(program);
}
