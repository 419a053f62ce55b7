// CPU time and memory of the processes under test, from /proc (Linux only). CPU load over the
// measured window = (CPU time at end - at start) / wall time, as % of one core (DESIGN.md).
// /proc/PID/stat sums all threads of a process, in clock ticks (10 ms): over a 1 s idle window that
// can only say "under 1 %". So a window reads each thread's run time in nanoseconds from
// /proc/PID/task/TID/schedstat, and falls back to the ticks when a thread came or went during the
// window (an exited thread's time is only in the ticks). A process tree (Kamailio forks workers) is
// covered by following ppid links in /proc/*/stat.

import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { processTree } from '../testbed/system.js';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

let clockTicks: Promise<number> | undefined;

/** Kernel clock ticks per second (USER_HZ), from `getconf CLK_TCK` once; 100 if that fails. */
export function clockTicksPerSecond(): Promise<number> {
  clockTicks ??= execFileP('getconf', ['CLK_TCK'])
    .then(({ stdout }) => {
      const n = Number(stdout.trim());
      return Number.isInteger(n) && n > 0 ? n : 100;
    })
    .catch(() => 100);
  return clockTicks;
}

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  utimeTicks: number;
  stimeTicks: number;
  startTime: number; // ticks after boot: tells a reused pid from the original process
}

/** Parses /proc/PID/stat text. comm may contain spaces and ')' so fields are taken after the last ')'. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`unparsable /proc stat line: ${text.slice(0, 80)}`);
  const f = text.slice(close + 2).trim().split(/\s+/); // f[0] is field 3 (state)
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    utimeTicks: Number(f[11]),
    stimeTicks: Number(f[12]),
    startTime: Number(f[19]),
  };
}

/** VmRSS and VmHWM (peak RSS) in kB from /proc/PID/status text; 0 when absent (kernel threads, zombies). */
export function parseProcStatusMem(text: string): { rssKb: number; peakRssKb: number } {
  const kb = (key: string) => {
    const m = new RegExp(`^${key}:\\s*(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { rssKb: kb('VmRSS'), peakRssKb: kb('VmHWM') };
}

export interface ProcUsage {
  ok: true;
  pid: number;
  cpuUs: number; // utime+stime so far, microseconds
  rssKb: number;
  peakRssKb: number; // VmHWM: peak over the process lifetime
  startTime: number;
  /** Run time of its live threads in ns (schedstat), and which threads: absent where unreadable. */
  threads?: { runNs: number; tids: string };
}

export interface ProcGone {
  ok: false;
  pid: number;
  error: string;
}

export type ProcSample = ProcUsage | ProcGone;

/** The first field of /proc/PID/task/TID/schedstat: time spent on a CPU, ns. */
export function parseSchedstatRunNs(text: string): number {
  const field = text.trim().split(/\s+/)[0] ?? '';
  const n = Number(field);
  if (!/^\d+$/.test(field) || !Number.isSafeInteger(n)) throw new Error(`unparsable schedstat line: ${text.slice(0, 80)}`);
  return n;
}

/** Summed run time of a process's live threads; undefined when /proc does not offer schedstat. */
async function readThreads(pid: number): Promise<ProcUsage['threads']> {
  try {
    const tids = (await readdir(`/proc/${pid}/task`)).sort();
    const runs = await Promise.all(tids.map((tid) => readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').then(parseSchedstatRunNs)));
    return { runNs: runs.reduce((a, b) => a + b, 0), tids: tids.join(',') };
  } catch {
    return undefined; // a thread exited between the listing and its read, or no schedstat: ticks then
  }
}

async function sampleOne(pid: number, hz: number): Promise<ProcSample> {
  let stat: ProcStat;
  let status: string;
  let threads: ProcUsage['threads'];
  try {
    [stat, status, threads] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8').then(parseProcStat),
      readFile(`/proc/${pid}/status`, 'utf8'),
      readThreads(pid),
    ]);
  } catch {
    return { ok: false, pid, error: `process ${pid} has exited` };
  }
  if (stat.state === 'Z' || stat.state === 'X') return { ok: false, pid, error: `process ${pid} has exited (zombie)` };
  return {
    ok: true,
    pid,
    cpuUs: Math.round(((stat.utimeTicks + stat.stimeTicks) * 1_000_000) / hz),
    ...parseProcStatusMem(status),
    startTime: stat.startTime,
    ...(threads ? { threads } : {}),
  };
}

/**
 * CPU microseconds a process used between two samples: from its threads' ns run time when the same
 * threads were there at both ends, else from the ticks. A process new to the window (no sample
 * before, or another process on a reused pid) counts in full.
 */
export function cpuUsBetween(before: ProcSample | undefined, after: ProcUsage): number {
  if (!before || !before.ok || before.startTime !== after.startTime) return after.cpuUs;
  const a = before.threads;
  const b = after.threads;
  if (a && b && a.tids === b.tids && b.runNs >= a.runNs) return (b.runNs - a.runNs) / 1000;
  return after.cpuUs - before.cpuUs;
}

/** CPU time so far and memory of each pid; a pid that has exited maps to a ProcGone, never a throw. */
export async function sampleCpu(pids: Iterable<number>): Promise<Map<number, ProcSample>> {
  const hz = await clockTicksPerSecond();
  const list = [...new Set(pids)];
  const samples = await Promise.all(list.map((pid) => sampleOne(pid, hz)));
  return new Map(list.map((pid, i) => [pid, samples[i]]));
}

export interface CpuTarget {
  pid: number;
  tree?: boolean; // include descendants (Kamailio's forked workers)
}

export interface WindowUsage {
  ok: true;
  pid: number;
  pids: number[]; // processes counted (the tree at window end)
  cpuUs: number; // CPU time used in the window
  wallUs: number;
  cpuPct: number; // cpuUs / wallUs * 100: % of one core
  peakRssKb: number; // VmHWM; for a tree the sum over its processes (an upper bound: shared pages count once per process)
  rssKb: number; // at window end (summed for a tree)
}

export type WindowSample = WindowUsage | ProcGone;

interface Snapshot {
  atNs: bigint;
  perPid: Map<number, ProcSample>;
  members: Map<number, number[]>; // target pid -> pids counted for it
}

/**
 * CPU use of the targets between start() and end(). For trees, a process that appeared during the
 * window counts in full and one that exited during it is lost (its time is not in its parent's
 * utime/stime), so trees must be stable over the window, as Kamailio's workers are.
 */
export class CpuWindow {
  private startSnap: Snapshot | undefined;
  constructor(private readonly targets: readonly CpuTarget[]) {
    const pids = targets.map((t) => t.pid);
    if (new Set(pids).size !== pids.length) throw new Error(`CpuWindow: a pid is listed twice in ${pids.join(', ')}`);
  }

  private async snapshot(): Promise<Snapshot> {
    const members = new Map<number, number[]>();
    for (const t of this.targets) members.set(t.pid, t.tree ? await processTree(t.pid) : [t.pid]);
    const perPid = await sampleCpu([...members.values()].flat());
    return { atNs: process.hrtime.bigint(), perPid, members };
  }

  async start(): Promise<void> {
    this.startSnap = await this.snapshot();
  }

  async end(): Promise<Map<number, WindowSample>> {
    const start = this.startSnap;
    if (!start) throw new Error('CpuWindow.end() called before start()');
    const end = await this.snapshot();
    const wallUs = Number(end.atNs - start.atNs) / 1000;
    const result = new Map<number, WindowSample>();
    for (const t of this.targets) {
      const rootEnd = end.perPid.get(t.pid);
      const rootStart = start.perPid.get(t.pid);
      if (!rootStart || !rootStart.ok) {
        result.set(t.pid, { ok: false, pid: t.pid, error: rootStart?.error ?? `process ${t.pid} was not sampled at window start` });
        continue;
      }
      if (!rootEnd || !rootEnd.ok) {
        result.set(t.pid, { ok: false, pid: t.pid, error: `${rootEnd?.error ?? `process ${t.pid} has exited`} before the window ended` });
        continue;
      }
      if (rootEnd.startTime !== rootStart.startTime) {
        result.set(t.pid, { ok: false, pid: t.pid, error: `process ${t.pid} exited during the window (pid reused)` });
        continue;
      }
      let cpuUs = 0;
      let peakRssKb = 0;
      let rssKb = 0;
      const pids: number[] = [];
      for (const pid of end.members.get(t.pid) ?? []) {
        const e = end.perPid.get(pid);
        if (!e || !e.ok) continue;
        cpuUs += cpuUsBetween(start.perPid.get(pid), e);
        peakRssKb += e.peakRssKb;
        rssKb += e.rssKb;
        pids.push(pid);
      }
      result.set(t.pid, { ok: true, pid: t.pid, pids, cpuUs, wallUs, cpuPct: wallUs > 0 ? (cpuUs / wallUs) * 100 : 0, peakRssKb, rssKb });
    }
    return result;
  }
}
