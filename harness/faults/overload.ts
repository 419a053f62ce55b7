// `forkbench overload`: the proxy driven at 1x, 2x and 4x its capacity. A proxy that holds under
// overload keeps answering about as many calls per second as at capacity, in time (timely goodput:
// answered within the capacity criterion's 200 ms), and refuses the rest cheaply (503); one that
// collapses answers fewer and fewer, or answers them all but seconds late. Each multiple is one
// fresh point (processes started and stopped) run by the ordinary point runner; the row per multiple
// goes to overload.csv. A benchmark, not a test: its numbers are reported, never asserted.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { parse } from 'csv-parse/sync';
import { defaultParse, pointId, type BenchConfig, type Mode, type SweepPoint } from '../plan/bench-config.js';
import { TRIAL_WARMUP_S } from '../plan/capacity-search.js';
import type { PointContext } from '../engine/point-runner.js';
import { launchProxy, readCounters } from '../testbed/targets/proxy-launcher.js';
import type { PointInput } from '../records/results-csv.js';
import { callsAnsweredWithin, type PointMeasurements } from '../records/point-row.js';
import type { ProxyTarget } from '../testbed/targets/index.js';
import { OVERLOAD_COLUMNS } from '../records/columns.js';

export { OVERLOAD_COLUMNS };

export interface OverloadRequest {
  mode: Mode;
  groupSize: number;
  capacityCps: number;
  multiples: number[]; // e.g. [1, 2, 4]
  durationS: number; // measured seconds per multiple
  maxTransactions?: number; // the proxy's --max-transactions (its overload threshold)
  timelyMs?: number; // a call answered within this setup delay counts as timely (default TIMELY_MS)
}

/** The capacity criterion's p95 bound: a call answered later than this is not counted as timely. */
export const TIMELY_MS = 200;


export type OverloadRow = Record<(typeof OVERLOAD_COLUMNS)[number], number | string>;

/** The calls of a load's window answered within boundMs of setup delay. */
export interface TimelyCount {
  calls: number;
  boundMs: number;
}

/** Goodput and timely goodput at 1x (the lowest multiple when 1x is not run): what the others are compared with. */
export interface OverloadBase {
  goodput: number;
  timely?: number;
}

/** One overload row from a point's row: pure, tested on its own. */
export function overloadRow(load: { multiple: number; capacityCps: number }, row: PointInput, base?: OverloadBase, timely?: TimelyCount): OverloadRow {
  const { multiple } = load;
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const windowS = num(row.window_s);
  const answered = num(row.calls_succeeded);
  const failed = num(row.calls_failed) ?? 0;
  const causes = Object.fromEntries(
    String(row.fail_causes ?? '')
      .split(';')
      .filter(Boolean)
      .map((kv) => {
        const [k, v] = kv.split(':');
        return [k, Number(v)];
      }),
  ) as Record<string, number>;
  const r503 = causes['503'] ?? 0;
  const goodput = windowS && answered !== undefined ? answered / windowS : undefined;
  const offered = num(row.offered_rate_cps) ?? 0;
  const achieved = num(row.achieved_rate_cps);
  const reasons: string[] = [];
  // The caller (SIPp) shares the machine: when it cannot even place the calls, the proxy was not offered the load.
  if (achieved !== undefined && achieved < 0.9 * offered) reasons.push(`the caller placed ${achieved.toFixed(1)} of ${offered} calls/s: the test bed, not the proxy, limited the load`);
  if (row.flagged === 1 && row.flag_reason) reasons.push(String(row.flag_reason));
  const r2 = (x: number | undefined): number | string => (x === undefined ? '' : Math.round(x * 100) / 100);
  const timelyCps = windowS && timely ? timely.calls / windowS : undefined;
  const ratio = goodput !== undefined && base?.goodput ? goodput / base.goodput : undefined;
  const timelyRatio = timelyCps !== undefined && base?.timely ? timelyCps / base.timely : undefined;
  const held = timelyRatio ?? (timely ? undefined : ratio);
  return {
    multiple,
    mode: row.mode ?? '',
    group_size: row.group_size ?? '',
    cpu_budget_cores: row.cpu_budget_cores ?? '',
    capacity_cps: load.capacityCps,
    offered_cps: offered,
    achieved_cps: achieved ?? '',
    window_s: windowS ?? '',
    calls_attempted: answered !== undefined ? answered + failed : '',
    calls_answered: answered ?? '',
    goodput_cps: r2(goodput),
    timely_bound_ms: timely?.boundMs ?? '',
    timely_cps: r2(timelyCps),
    rejected_503: r503,
    rejected_503_per_s: windowS ? r2(r503 / windowS) : '',
    other_failures: failed - r503,
    ser: row.ser ?? '',
    setup_p95_us: row.setup_p95_us ?? '',
    goodput_vs_1x: r2(ratio),
    timely_vs_1x: r2(timelyRatio),
    // Below 1x the load itself is a fraction of the base: hold that fraction, not all of it.
    holds: held === undefined ? '' : held >= 0.8 * Math.min(1, multiple) ? 1 : 0,
    status: row.status ?? 'failed',
    flagged: reasons.length ? 1 : 0,
    flag_reason: reasons.join('; '),
    error: String(row.error ?? '').replace(/\s+/g, ' '),
  };
}

/** forkbench's proxy (or head + fork nodes) with the overload threshold given, as a point target. */
export function overloadTarget(mode: Mode, maxTransactions?: number): ProxyTarget {
  const extraArgs = maxTransactions ? ['--max-transactions', String(maxTransactions)] : [];
  return {
    name: `forkbench ${mode} (overload)`,
    async start(s) {
      const { layout, point } = s;
      const nodes = [];
      try {
        for (let i = 0; i < point.forkNodes; i++) {
          nodes.push(
            await launchProxy({ role: 'fork-node', port: layout.forkNodePorts[i]!, metricsPort: layout.forkNodeMetricsPorts[i]!, groupsFile: s.groupsFile, parse: 'full', shard: `${i + 1}/${point.forkNodes}`, relay180: s.relay180, cpuList: s.pinning?.forkNodes, extraArgs }),
          );
        }
        const central = await launchProxy({
          role: mode === 'distributed' ? 'head' : 'centralized',
          port: layout.proxyPort,
          metricsPort: layout.metricsPort,
          groupsFile: s.groupsFile,
          parse: point.parse === 'lazy' ? 'lazy' : 'full',
          forkNodePorts: layout.forkNodePorts,
          relay180: s.relay180, // the same policy as every other forking proxy under test (issue 10)
          cpuList: s.pinning?.proxy,
          extraArgs,
        });
        const all = [central, ...nodes];
        return {
          sipAddress: `127.0.0.1:${layout.proxyPort}`,
          processes: all.map((p, i) => ({ role: i === 0 ? ('central' as const) : ('fork-node' as const), name: p.child.name, pid: p.child.pid, tree: false })),
          readCounters: () => readCounters(central.metricsUrl),
          stop: async () => {
            await Promise.allSettled(all.map((p) => p.child.stop()));
          },
        };
      } catch (e) {
        await Promise.allSettled(nodes.map((n) => n.child.stop()));
        throw e;
      }
    },
  };
}

export type PointRunner = (point: SweepPoint, ctx: PointContext) => Promise<PointInput>;

/** overload.csv's header line, and a check that an existing file has it (appending to another layout would garble it). */
const OVERLOAD_HEADER = stringify([[...OVERLOAD_COLUMNS]]);

export class OverloadError extends Error {}

async function checkOverloadHeader(csv: string): Promise<void> {
  if (!existsSync(csv)) return;
  const first = (await readFile(csv, 'utf8')).split('\n', 1)[0] ?? '';
  if (first !== '' && `${first}\n` !== OVERLOAD_HEADER) {
    throw new OverloadError(`${csv} has other columns (written by an older forkbench): move it away or give another --out`);
  }
}

/** The order the loads run in: 1x first (the base the others are compared with; the lowest when 1 is not listed), then the rest ascending. */
export function overloadOrder(multiples: readonly number[]): number[] {
  const sorted = [...new Set(multiples)].sort((a, b) => a - b);
  const base = sorted.includes(1) ? 1 : sorted[0];
  return base === undefined ? [] : [base, ...sorted.filter((m) => m !== base)];
}

/** Runs every multiple in turn; appends each row to <out>/overload.csv and returns them. */
export async function runOverload(req: OverloadRequest, config: BenchConfig, out: string, runPoint: PointRunner, opts: { capture: boolean; log?: (s: string) => void; signal?: AbortSignal }): Promise<OverloadRow[]> {
  await mkdir(out, { recursive: true });
  const csv = join(out, 'overload.csv');
  await checkOverloadHeader(csv);
  const rows: OverloadRow[] = [];
  const target = overloadTarget(req.mode, req.maxTransactions);
  const parse = defaultParse('forkbench', req.mode) as 'full' | 'lazy';
  const timelyMs = req.timelyMs ?? TIMELY_MS;
  const order = overloadOrder(req.multiples);
  let base: OverloadBase | undefined;
  for (const multiple of order) {
    if (opts.signal?.aborted) break;
    const rate = Math.round(req.capacityCps * multiple * 100) / 100;
    const p = { target: 'forkbench', mode: req.mode, parse, groupSize: req.groupSize, rate, trial: 1 } as const;
    const point: SweepPoint = { ...p, pointId: `overload/x${multiple}/${pointId(p)}`, forkNodes: req.mode === 'distributed' ? config.forkNodes : 0 };
    const calls = Math.max(1, Math.round(rate * req.durationS));
    const pointConfig: BenchConfig = { ...config, calls, warmupS: TRIAL_WARMUP_S };
    let timely: TimelyCount | undefined;
    const onMeasurements = (m: PointMeasurements): void => {
      const calls = callsAnsweredWithin(m, timelyMs * 1000);
      timely = calls === undefined ? undefined : { calls, boundMs: timelyMs };
    };
    // One folder per mode, N and load: several overload runs can share a results folder.
    const pointDir = join(out, 'points', `overload-${req.mode}-n${req.groupSize}-x${multiple}`);
    // Past the knee the calls queue: draining (multiple - 1) x duration of backlog at about the
    // capacity outlasts the point runner's usual 45 s margin. Calls rung but never answered end
    // only at the proxy's Timer C (180 s); a point that still has them fails and says so.
    const deadlineMarginS = 45 + Math.max(0, multiple - 1) * req.durationS * 2;
    const row = await runPoint(point, { config: pointConfig, pointDir, capture: opts.capture, signal: opts.signal, target, onMeasurements, deadlineMarginS });
    const o = overloadRow({ multiple, capacityCps: req.capacityCps }, row, base, timely);
    if (base === undefined && multiple === order[0] && typeof o.goodput_cps === 'number') {
      base = { goodput: o.goodput_cps, timely: typeof o.timely_cps === 'number' && o.timely_cps > 0 ? o.timely_cps : undefined };
      o.goodput_vs_1x = 1;
      if (base.timely !== undefined) o.timely_vs_1x = 1;
      o.holds = 1;
    }
    rows.push(o);
    await appendFile(csv, (existsSync(csv) ? '' : OVERLOAD_HEADER) + stringify([OVERLOAD_COLUMNS.map((c) => o[c])]));
    opts.log?.(
      `  x${multiple} (${rate} calls/s offered): goodput ${o.goodput_cps} calls/s (${o.goodput_vs_1x}x of x${order[0]}), within ${timelyMs} ms ${o.timely_cps} calls/s (${o.timely_vs_1x}x), 503 ${o.rejected_503_per_s}/s, other failures ${o.other_failures}, SER ${o.ser}${o.flagged ? ` [flagged: ${o.flag_reason}]` : ''}${o.status !== 'ok' ? ` [${row.error}]` : ''}`,
    );
  }
  return rows;
}

/**
 * A mode's capacity from a capacity.csv (e.g. the reference run's), so overload can skip its own
 * search. The budget must be the one the capacity was found under: another budget is another proxy.
 */
export function capacityFromCsv(text: string, file: string, want: { mode: Mode; groupSize: number; cpuBudget: number }): number {
  const rows = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  const match = rows.filter((r) => r.target === 'forkbench' && r.mode === want.mode && Number(r.group_size) === want.groupSize);
  const last = match.at(-1);
  if (!last) throw new OverloadError(`${file} has no forkbench ${want.mode} row at N = ${want.groupSize}: run forkbench capacity for it, or give --capacity`);
  const cps = Number(last.capacity_cps);
  if (last.capacity_cps === '' || !(cps > 0)) throw new OverloadError(`${file}: forkbench ${want.mode} at N = ${want.groupSize} has no capacity (stopped: ${last.stop_reason || 'unknown'}): give --capacity`);
  const budget = Number(last.cpu_budget_cores || 0);
  if (budget !== want.cpuBudget) {
    throw new OverloadError(`${file}: forkbench ${want.mode} at N = ${want.groupSize} was found under ${budget || 'no'} CPU budget, not ${want.cpuBudget || 'none'}: give --cpu-budget ${budget || 0}`);
  }
  return cps;
}

export function formatOverloadTable(rows: readonly OverloadRow[]): string {
  const head = ['load', 'offered/s', 'achieved/s', 'goodput/s', 'vs 1x', 'timely/s', 'vs 1x', '503/s', 'other fail', 'SER', 'p95 setup ms', 'flag'];
  const lines = rows.map((r) => [
    `${r.multiple}x`,
    r.offered_cps,
    r.achieved_cps,
    r.goodput_cps,
    r.goodput_vs_1x,
    r.timely_cps,
    r.timely_vs_1x,
    r.rejected_503_per_s,
    r.other_failures,
    r.ser,
    typeof r.setup_p95_us === 'number' ? (r.setup_p95_us / 1000).toFixed(1) : '',
    r.flagged ? 'flagged' : '',
  ]);
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...lines.map((l) => `| ${l.join(' | ')} |`)].join('\n');
}

/** The overload rows of an earlier run (for the notes and re-printing). */
export async function readOverloadCsv(out: string): Promise<string> {
  return readFile(join(out, 'overload.csv'), 'utf8');
}
