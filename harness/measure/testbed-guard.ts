// A guard on the test bed (issue 10): a number must describe the proxy under test, so a trial in
// which the machine itself ran out of CPU, or the caller could not place the calls it was asked
// for (unless a budgeted proxy was throttled in nearly every period: then it is the proxy's
// overload), or whose packet capture lost packets (its delays and outcomes would be the capture's), is
// marked `testbed_bound` and is never counted as the proxy's failure.
//
// Measured over the same window as the proxy's CPU: every process the harness started that is not
// under test (SIPp caller and members, tcpdump) plus the harness itself -> testbed_cpu_pct (% of
// one core, like the other CPU columns), and the whole machine from /proc/stat -> machine_busy_pct
// (% of all cores busy, 100 = every core busy).

import { readFile } from 'node:fs/promises';
import { sampleCpu } from './cpu-sampler.js';

/** A machine more busy than this over the window cannot be trusted to carry the load. */
export const MACHINE_BUSY_LIMIT_PCT = 90;
/** A caller placing fewer calls than this fraction of the offered rate is the test bed's limit. */
export const MIN_ACHIEVED_FRACTION = 0.97;

export interface MachineTimes {
  busy: number; // jiffies spent not idle (user, nice, system, irq, softirq, steal)
  total: number; // all jiffies (guest time is already inside user/nice, so it is not added)
}

/** The aggregate `cpu` line of /proc/stat. */
export function parseProcStatCpu(text: string): MachineTimes {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('no aggregate "cpu" line in /proc/stat');
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const idleAll = idle + iowait;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idleAll };
}

/** % of the machine busy between two /proc/stat readings. */
export function machineBusyPct(a: MachineTimes, b: MachineTimes): number {
  const total = b.total - a.total;
  return total > 0 ? ((b.busy - a.busy) / total) * 100 : 0;
}

export async function readMachineTimes(file = '/proc/stat'): Promise<MachineTimes> {
  return parseProcStatCpu(await readFile(file, 'utf8'));
}

export interface TestbedUsage {
  testbedCpuPct: number; // sum over the test bed's processes, % of one core
  machineBusyPct: number; // % of all cores
  processes: number; // test bed processes sampled at both ends
}

/**
 * CPU of the test bed's processes and of the machine between start() and end(). Pids that exit in
 * the window are dropped (their time is lost), so start it once the load generators run.
 */
export class TestbedWindow {
  private start0: { at: bigint; machine: MachineTimes; cpu: Map<number, number> } | undefined;
  constructor(private readonly pids: readonly number[], private readonly statFile = '/proc/stat') {}

  private async sample(): Promise<{ at: bigint; machine: MachineTimes; cpu: Map<number, number> }> {
    const [machine, per] = await Promise.all([readMachineTimes(this.statFile), sampleCpu(this.pids)]);
    const cpu = new Map<number, number>();
    for (const [pid, s] of per) if (s.ok) cpu.set(pid, s.cpuUs);
    return { at: process.hrtime.bigint(), machine, cpu };
  }

  async start(): Promise<void> {
    this.start0 = await this.sample();
  }

  async end(): Promise<TestbedUsage> {
    const a = this.start0;
    if (!a) throw new Error('TestbedWindow.end() before start()');
    const b = await this.sample();
    const wallUs = Number(b.at - a.at) / 1000;
    let cpuUs = 0;
    let processes = 0;
    for (const [pid, before] of a.cpu) {
      const after = b.cpu.get(pid);
      if (after === undefined) continue;
      cpuUs += after - before;
      processes++;
    }
    return { testbedCpuPct: wallUs > 0 ? (cpuUs / wallUs) * 100 : 0, machineBusyPct: machineBusyPct(a.machine, b.machine), processes };
  }
}

export interface TestbedVerdictInput {
  machineBusyPct?: number;
  offeredRateCps: number;
  achievedRateCps?: number;
  /** The measured window, s: counting attempts in it is exact to one call either way, so a shortfall
   * of one call (a short window's quantisation, not a slow caller) never binds. */
  windowS?: number;
  /** Packets tcpdump lost: the capture (part of the test bed) could not keep up, so the delays and
   * outcomes it yields are not the proxy's. */
  captureDropped?: number;
  /** Under a CPU budget: % of the window's CFS periods in which the proxy under test was throttled. */
  proxyThrottledPct?: number;
}

/** A proxy throttled in at least this share of its periods used its whole budget: it was the limit. */
export const SATURATED_THROTTLED_PCT = 90;

/**
 * Undefined when the test bed carried the trial; otherwise why it did not (the row's
 * `testbed_bound` reason). An unknown measure does not bind: the row then says nothing either way.
 */
export function testbedVerdict(x: TestbedVerdictInput, limits = { busyPct: MACHINE_BUSY_LIMIT_PCT, minFraction: MIN_ACHIEVED_FRACTION }): string | undefined {
  const why: string[] = [];
  if (x.machineBusyPct !== undefined && x.machineBusyPct > limits.busyPct) {
    why.push(`machine ${x.machineBusyPct.toFixed(0)}% busy (> ${limits.busyPct}%)`);
  }
  const shortCalls = x.achievedRateCps !== undefined && x.windowS !== undefined ? (x.offeredRateCps - x.achievedRateCps) * x.windowS : Infinity;
  // A caller falls behind when calls pile up (SIPp's call limit, retransmissions). When the proxy
  // under a budget was throttled in nearly every period, it is the proxy that made them pile up:
  // its overload, a failure to count against it, not the test bed's limit.
  const proxySaturated = x.proxyThrottledPct !== undefined && x.proxyThrottledPct >= SATURATED_THROTTLED_PCT;
  if (!proxySaturated && x.achievedRateCps !== undefined && x.offeredRateCps > 0 && x.achievedRateCps < limits.minFraction * x.offeredRateCps && shortCalls > 1.5) {
    why.push(`caller achieved ${x.achievedRateCps.toFixed(1)} of ${x.offeredRateCps} calls/s offered (< ${Math.round(limits.minFraction * 100)}%)`);
  }
  if (x.captureDropped !== undefined && x.captureDropped > 0) why.push(`capture dropped ${x.captureDropped} packets`);
  return why.length ? why.join('; ') : undefined;
}
