// `forkbench soak` and `forkbench overload`: flags in, the engines (soak.ts, overload.ts) called,
// results printed. Bad flags: one line naming the fix, exit 2 (cli-fail).
import { cpus } from 'node:os';
import type { Command } from 'commander';
import { ConfigError, DEFAULT_CONFIG, mergeConfig, validateConfig, type BenchConfig, type Mode } from '../plan/bench-config.js';
import { canCapture } from '../measure/capture.js';
import { runCapacity } from '../engine/capacity-engine.js';
import { fail } from './cli-fail.js';
import { runPoint } from '../engine/point-runner.js';
import { preflight, PreflightError } from '../testbed/preflight.js';
import { collectMeta, gitInfo, readMeta, shellQuote, updateMeta, writeMeta } from '../records/run-meta.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { capacityFromCsv, formatOverloadTable, OverloadError, overloadOrder, runOverload, TIMELY_MS } from '../faults/overload.js';
import { renderSoakFigure } from '../faults/soak-figure.js';
import { formatSoakSummary, runSoak, SoakError, SOAK_DEFAULTS } from '../faults/soak.js';

function number(v: string | undefined, flag: string, fallback?: number): number {
  if (v === undefined) {
    if (fallback === undefined) fail(`${flag} is required`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isFinite(n)) fail(`${flag} "${v}" is not a number: give e.g. ${flag} 10`);
  return n;
}

function mode(v: string | undefined): Mode {
  const m = v ?? 'centralized';
  if (m !== 'centralized' && m !== 'distributed') fail(`unknown mode "${m}": use centralized or distributed`);
  return m;
}

interface SoakFlags {
  minutes?: string;
  groupSize?: string;
  rate?: string;
  mode?: string;
  forkNodes?: string;
  sampleS?: string;
  drainS?: string;
  out?: string;
  basePort?: string;
  proxyArgs?: string;
  figure?: boolean;
}

interface OverloadFlags {
  groupSize?: string;
  capacity?: string;
  capacityFrom?: string;
  multiples?: string;
  durationS?: string;
  mode?: string;
  maxTransactions?: string;
  out?: string;
  basePort?: string;
  capture?: boolean;
  cpuBudget?: string;
}

export function registerFaultCommands(program: Command): void {
  program
    .command('soak')
    .description('steady group calls for M minutes; samples RSS, heap, tables and CPU of the proxy into <out>/soak.csv and draws them over time')
    .requiredOption('--minutes <m>', 'how long calls are placed')
    .requiredOption('--group-size <n>', 'members per group')
    .requiredOption('--rate <cps>', 'calls per second')
    .option('--mode <mode>', 'centralized | distributed', 'centralized')
    .option('--fork-nodes <k>', 'fork nodes in distributed mode', '2')
    .option('--sample-s <s>', 'seconds between samples', String(SOAK_DEFAULTS.sampleS))
    .option('--drain-s <s>', 'after the last call, wait at most this long for the tables to empty', String(SOAK_DEFAULTS.drainS))
    .option('--out <dir>', 'results folder', SOAK_DEFAULTS.out)
    .option('--base-port <port>', 'first port the soak uses', String(SOAK_DEFAULTS.basePort))
    .option('--proxy-args <args>', 'extra flags for the proxy processes, space-separated (e.g. "--t1 100")')
    .option('--no-figure', 'do not render soak-over-time.{vl.json,svg,png}')
    .action(async (f: SoakFlags) => {
      const o = {
        ...SOAK_DEFAULTS,
        minutes: number(f.minutes, '--minutes'),
        groupSize: number(f.groupSize, '--group-size'),
        rate: number(f.rate, '--rate'),
        mode: mode(f.mode),
        forkNodes: number(f.forkNodes, '--fork-nodes', 2),
        sampleS: number(f.sampleS, '--sample-s', SOAK_DEFAULTS.sampleS),
        drainS: number(f.drainS, '--drain-s', SOAK_DEFAULTS.drainS),
        out: f.out ?? SOAK_DEFAULTS.out,
        basePort: number(f.basePort, '--base-port', SOAK_DEFAULTS.basePort),
        proxyArgs: (f.proxyArgs ?? '').split(' ').filter(Boolean),
      };
      try {
        const c = validateConfig(mergeConfig(DEFAULT_CONFIG, {}, { modes: [o.mode], groupSizes: [o.groupSize], rates: [o.rate], basePort: o.basePort, capture: false, out: o.out }));
        await preflight(c);
        const r = await runSoak(o, (s) => console.log(s));
        console.log(formatSoakSummary(r.summary));
        if (f.figure !== false && r.rows.length > 0) {
          const fig = await renderSoakFigure(o.out, `forkbench soak --minutes ${o.minutes} --group-size ${o.groupSize} --rate ${o.rate} (${o.mode}), ${cpus().length} cores`);
          console.log(`figure: ${fig.png} (spec ${fig.spec})`);
        }
        console.log(`samples: ${r.csv}`);
      } catch (e) {
        if (e instanceof SoakError || e instanceof ConfigError || e instanceof PreflightError) fail(e.message);
        throw e;
      }
    });

  program
    .command('overload')
    .description('drive the proxy at 1x, 2x and 4x its capacity; goodput (answered calls/s, and those answered within 200 ms) and 503s/s per load into <out>/overload.csv')
    .requiredOption('--group-size <n>', 'members per group')
    .option('--capacity <cps>', 'the capacity in calls/s, one mode only (default: found first by an RFC 7502 search, as forkbench capacity)')
    .option('--capacity-from <capacity.csv>', "each mode's capacity from a capacity.csv found under the same --cpu-budget (e.g. results/reference/capacity.csv)")
    .option('--multiples <list>', 'loads as multiples of the capacity', '1,2,4')
    .option('--duration-s <s>', 'measured seconds per load', '20')
    .option('--mode <list>', 'centralized, distributed, or both: centralized,distributed (one after the other)', 'centralized')
    .option('--max-transactions <n>', "the proxy's --max-transactions (its overload threshold)")
    .option('--out <dir>', 'results folder', 'results/overload')
    .option('--base-port <port>', 'first port a point uses')
    .option('--no-capture', 'no tcpdump: SIPp figures (503s then come from the proxy-side counts only)')
    .option('--cpu-budget <cores>', 'CPU quota per proxy process, in cores (cgroup, 10 ms period), so the proxy saturates before the test bed')
    .action(async (f: OverloadFlags) => {
      const modes = [...new Set((f.mode ?? 'centralized').split(',').map((x) => mode(x.trim())))];
      const groupSize = number(f.groupSize, '--group-size');
      const multiples = (f.multiples ?? '1,2,4').split(',').map(Number);
      if (multiples.some((x) => !Number.isFinite(x) || x <= 0)) fail(`--multiples "${f.multiples}" must be numbers above 0, e.g. --multiples 1,2,4`);
      const durationS = number(f.durationS, '--duration-s', 20);
      if (durationS <= 0) fail('--duration-s must be above 0');
      if (f.capacity !== undefined && f.capacityFrom !== undefined) fail('--capacity and --capacity-from both given: keep one');
      if (f.capacity !== undefined && modes.length > 1) fail('--capacity is one number for one mode: with several modes give --capacity-from FILE, or neither (each mode is searched)');
      const out = f.out ?? 'results/overload';
      let config: BenchConfig;
      try {
        config = validateConfig(
          mergeConfig(DEFAULT_CONFIG, {}, {
            modes,
            groupSizes: [groupSize],
            out,
            capture: f.capture !== false,
            ...(f.basePort ? { basePort: Number(f.basePort) } : {}),
            ...(f.cpuBudget !== undefined ? { cpuBudget: Number(f.cpuBudget) } : {}),
          }),
        );
        await preflight(config);
      } catch (e) {
        if (e instanceof ConfigError || e instanceof PreflightError) fail(e.message);
        throw e;
      }
      let capacityText: string | undefined;
      if (f.capacityFrom !== undefined) {
        try {
          capacityText = await readFile(f.capacityFrom, 'utf8');
        } catch (e) {
          fail(`--capacity-from ${f.capacityFrom}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)}): give a capacity.csv, e.g. results/reference/capacity.csv`);
        }
      }
      const capacities = new Map<Mode, number | undefined>();
      for (const m of modes) {
        if (f.capacity !== undefined) {
          const c = number(f.capacity, '--capacity');
          if (c <= 0) fail('--capacity must be above 0');
          capacities.set(m, c);
        } else if (capacityText !== undefined) {
          try {
            capacities.set(m, capacityFromCsv(capacityText, f.capacityFrom ?? '', { mode: m, groupSize, cpuBudget: config.cpuBudget }));
          } catch (e) {
            if (e instanceof OverloadError) fail(e.message);
            throw e;
          }
        } else capacities.set(m, undefined);
      }
      const capture = config.capture && (await canCapture()).ok;
      if (!existsSync(join(out, 'meta.json'))) await writeMeta(out, await collectMeta({ config }));
      for (const m of modes) {
        let capacity = capacities.get(m);
        if (capacity === undefined) {
          console.log(`overload: no --capacity given; searching for it first (N=${groupSize}, ${m})`);
          const res = await runCapacity(
            { target: 'forkbench', mode: m, groupSize, maxP95SetupMs: TIMELY_MS, minSer: 1, trialCalls: 300, startRate: 25, maxRate: 1000, resolution: 10, resolutionPct: 0, maxTrials: 9 },
            { ...config, modes: [m] },
            out,
            (s) => console.log(s),
          );
          capacity = res.capacityCps;
          if (!capacity) fail('the capacity search found no passing rate: check the capacity trials in ' + join(out, 'capacity-trials.csv'));
        }
        const startedAt = new Date().toISOString();
        console.log(`overload ${m}: capacity ${capacity} calls/s; loads ${overloadOrder(multiples).map((x) => `${x}x`).join(', ')}, ${durationS} s each`);
        let rows;
        try {
          rows = await runOverload({ mode: m, groupSize, capacityCps: capacity, multiples, durationS, maxTransactions: f.maxTransactions ? number(f.maxTransactions, '--max-transactions') : undefined }, { ...config, modes: [m] }, out, runPoint, {
            capture,
            log: (s) => console.log(s),
          });
        } catch (e) {
          if (e instanceof OverloadError) fail(e.message);
          throw e;
        }
        // The goodput figure names the run that produced its data: commit, command, budget.
        const [prev, git] = await Promise.all([readMeta(out), gitInfo()]);
        const runs = (Array.isArray(prev.overloadRuns) ? prev.overloadRuns : []) as unknown[];
        const entry = {
          command: shellQuote(process.argv),
          startedAt,
          endedAt: new Date().toISOString(),
          gitCommit: git.gitCommit,
          gitDirty: git.gitDirty,
          capacityCps: capacity,
          capacitySource: f.capacity !== undefined ? '--capacity' : f.capacityFrom ?? 'search',
          multiples,
          durationS,
          mode: m,
          groupSize,
          maxTransactions: f.maxTransactions ?? null,
          cpuBudgetCores: config.cpuBudget,
        };
        await updateMeta(out, { overloadRuns: [...runs, entry] });
        console.log(formatOverloadTable(rows));
      }
      console.log(`rows: ${join(out, 'overload.csv')}`);
    });
}
