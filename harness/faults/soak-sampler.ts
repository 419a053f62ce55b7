// One soak.csv row every few seconds: memory and CPU of the proxy processes from /proc, table sizes
// and heap from the proxy's /metrics.json, calls so far from the caller's SIPp statistics. Reading
// and arithmetic are split so the arithmetic (CPU share, RSS slope) is tested without processes.
import { readFile } from 'node:fs/promises';
import { clockTicksPerSecond, parseProcStat, parseProcStatusMem } from '../measure/cpu-sampler.js';
import { readSippStatFile } from '../measure/sipp-stats.js';

export const SOAK_COLUMNS = [
  't_s', // seconds since the first call
  'phase', // calls (the caller is placing calls) | drain (after the last call, waiting for the tables to empty)
  'rss_kb', // central proxy (or head) VmRSS
  'heap_used_kb', // its V8 heap in use (from /metrics.json heapUsedBytes; empty if the proxy does not say)
  'cpu_pct', // its CPU over the last interval, % of one core
  'forknodes_rss_kb', // sum over fork nodes (0 centralized)
  'forknodes_cpu_pct',
  'transaction_table', // transactions held, completed ones waiting on timers included
  'active_transactions',
  'forks_active',
  'timers_pending',
  'calls_forked', // the proxy's counter
  'calls_succeeded', // the caller's SuccessfulCall(C)
  'calls_failed', // the caller's FailedCall(C)
] as const;

export type SoakColumn = (typeof SOAK_COLUMNS)[number];
export type SoakRow = Record<SoakColumn, number | string>;

export interface ProcReading {
  cpuTicks: number;
  rssKb: number;
}

export async function readProc(pid: number): Promise<ProcReading | undefined> {
  try {
    const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
    const s = parseProcStat(stat);
    return { cpuTicks: s.utimeTicks + s.stimeTicks, rssKb: parseProcStatusMem(status).rssKb };
  } catch {
    return undefined; // gone
  }
}

/** CPU share of one core between two readings `wallMs` apart. */
export function cpuPct(before: ProcReading | undefined, after: ProcReading | undefined, wallMs: number, ticksPerS: number): number {
  if (!before || !after || wallMs <= 0) return 0;
  return Math.round(((after.cpuTicks - before.cpuTicks) / ticksPerS / (wallMs / 1000)) * 10000) / 100;
}

/** Least-squares slope of y against x (per unit of x); undefined with fewer than 2 distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  return sxx === 0 ? undefined : sxy / sxx;
}

interface MetricsJson {
  transactionTable?: number;
  activeTransactions?: number;
  forksActive?: number;
  timersPending?: number;
  callsForked?: number;
  heapUsedBytes?: number;
}

export interface SamplerTargets {
  centralPid: number;
  forkNodePids: readonly number[];
  metricsUrl: string;
  callerStatFile: string;
}

/** Keeps the previous /proc readings so each row's CPU covers the interval since the last one. */
export class SoakSampler {
  private prev = new Map<number, ProcReading | undefined>();
  private prevAt = 0;
  private readonly t0: number;

  constructor(private readonly targets: SamplerTargets, t0Ms: number) {
    this.t0 = t0Ms;
  }

  /** Baseline readings: the first row's CPU counts from here. */
  async prime(): Promise<void> {
    for (const pid of [this.targets.centralPid, ...this.targets.forkNodePids]) this.prev.set(pid, await readProc(pid));
    this.prevAt = Date.now();
  }

  async sample(phase: 'calls' | 'drain'): Promise<SoakRow> {
    const ticks = await clockTicksPerSecond();
    const now = Date.now();
    const wall = now - this.prevAt;
    const read = async (pid: number): Promise<{ rssKb: number; cpu: number }> => {
      const r = await readProc(pid);
      const cpu = cpuPct(this.prev.get(pid), r, wall, ticks);
      this.prev.set(pid, r);
      return { rssKb: r?.rssKb ?? 0, cpu };
    };
    const central = await read(this.targets.centralPid);
    const nodes = await Promise.all(this.targets.forkNodePids.map(read));
    this.prevAt = now;
    const m: MetricsJson = await fetch(this.targets.metricsUrl, { signal: AbortSignal.timeout(3000) })
      .then((r): Promise<MetricsJson> | MetricsJson => (r.ok ? (r.json() as Promise<MetricsJson>) : {}))
      .catch((): MetricsJson => ({}));
    const caller = await readSippStatFile(this.targets.callerStatFile).catch(() => undefined);
    const num = (v: number | undefined): number | string => (v === undefined ? '' : v);
    return {
      t_s: Math.round((now - this.t0) / 100) / 10,
      phase,
      rss_kb: central.rssKb,
      heap_used_kb: m.heapUsedBytes === undefined ? '' : Math.round(m.heapUsedBytes / 1024),
      cpu_pct: central.cpu,
      forknodes_rss_kb: nodes.reduce((a, n) => a + n.rssKb, 0),
      forknodes_cpu_pct: Math.round(nodes.reduce((a, n) => a + n.cpu, 0) * 100) / 100,
      transaction_table: num(m.transactionTable),
      active_transactions: num(m.activeTransactions),
      forks_active: num(m.forksActive),
      timers_pending: num(m.timersPending),
      calls_forked: num(m.callsForked),
      calls_succeeded: caller ? caller.successfulCalls : '',
      calls_failed: caller ? caller.failedCalls : '',
    };
  }
}

export interface SoakSummary {
  samples: number;
  /** RSS slope of the central proxy over the last two thirds of the calling phase, KiB per minute. */
  rssSlopeKbPerMin: number | undefined;
  slopeFromS: number | undefined;
  heapSlopeKbPerMin: number | undefined;
  rssStartKb: number | undefined; // first sample of the slope window
  rssEndKb: number | undefined; // last sample
  tablesAtEnd: { transactionTable: number | string; activeTransactions: number | string; forksActive: number | string; timersPending: number | string } | undefined;
  drained: boolean; // tables (transactions and forks) at zero in the last sample
  callsSucceeded: number | string;
  callsFailed: number | string;
}

/** The soak's figures: slope over the last 2/3 of the calls (the first third is warm-up: JIT, pools). */
export function summarizeSoak(rows: readonly SoakRow[]): SoakSummary {
  const calls = rows.filter((r) => r.phase === 'calls');
  const lastT = Number(calls.at(-1)?.t_s ?? 0);
  const from = lastT / 3;
  const win = calls.filter((r) => Number(r.t_s) >= from);
  const pts = (col: SoakColumn) => win.filter((r) => r[col] !== '').map((r) => ({ x: Number(r.t_s) / 60, y: Number(r[col]) }));
  const last = rows.at(-1);
  const drained = last !== undefined && last.transaction_table === 0 && last.forks_active === 0 && last.active_transactions === 0;
  return {
    samples: rows.length,
    rssSlopeKbPerMin: slope(pts('rss_kb')),
    slopeFromS: win.length ? Number(win[0]!.t_s) : undefined,
    heapSlopeKbPerMin: slope(pts('heap_used_kb')),
    rssStartKb: win.length ? Number(win[0]!.rss_kb) : undefined,
    rssEndKb: last ? Number(last.rss_kb) : undefined,
    tablesAtEnd: last ? { transactionTable: last.transaction_table, activeTransactions: last.active_transactions, forksActive: last.forks_active, timersPending: last.timers_pending } : undefined,
    drained,
    callsSucceeded: last?.calls_succeeded ?? '',
    callsFailed: last?.calls_failed ?? '',
  };
}
