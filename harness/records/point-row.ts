// One points.csv row from the raw measurements of a point: pure, so every column's arithmetic is
// unit-tested apart from the processes that produced the numbers.
import { POINT_COLUMNS_SINCE_2, SCHEMA_VERSION } from './columns.js';
import type { SweepPoint } from '../plan/bench-config.js';
import type { WindowSample } from '../measure/cpu-sampler.js';
import type { UdpPacket } from '../measure/pcap.js';
import { mean, percentile } from '../measure/percentiles.js';
import type { PointInput } from './results-csv.js';
import { filterWindow, matchProxyLegs, matchSipDelays, summarizeDelays, summarizeProxyLegs } from '../measure/sip-delays.js';
import type { CgroupUsage } from '../testbed/cgroup.js';
import { checkCaptureIntegrity, type TcpdumpStats } from '../measure/capture.js';
import { testbedVerdict, type TestbedUsage } from '../measure/testbed-guard.js';
import type { RttSample, SippStats } from '../measure/sipp-stats.js';

/** What the row needs of a proxy's counters: messages in and out, by method or status. */
export interface MessageCounts {
  received: Record<string, number>;
  sent: Record<string, number>;
}

export interface PointMeasurements {
  point: SweepPoint;
  warmupS: number;
  /** The measured window in epoch microseconds; absent when the point never got that far. */
  window?: { startUs: number; endUs: number };
  /** The caller's statistics file (whole run) and response times (1 ms resolution). */
  sippStats?: SippStats;
  sippRtt: readonly RttSample[];
  /** The caller's leg captured by tcpdump; absent when running without capture. */
  capture?: {
    packets: readonly UdpPacket[];
    callerPort: number;
    truncated: boolean;
    /** Every port of the proxy under test when its legs were captured too (for its own delay). */
    proxyPorts?: readonly number[];
    /** tcpdump's own counters and the records the file held (capture integrity). */
    tcpdump?: TcpdumpStats;
    records?: number;
  };
  /** Equal terms and budget, recorded per row. */
  terms?: { relay180?: string; forkNodeParse?: string; cpuBudgetCores?: number };
  /** The central process's cgroup counters at window start and end (under a CPU budget). */
  throttle?: { start?: CgroupUsage; end?: CgroupUsage };
  /** The central process's CPU before any call, % of one core. */
  idleCpuPct?: number;
  /** The test bed (SIPp, tcpdump, harness) and the machine over the window. */
  testbed?: TestbedUsage;
  /** The host's speed over the window: mean CPU ns per speed-probe unit (measure/speed-probe.ts). */
  speedProbeNs?: number;
  /** CPU over the window: the central process (proxy, head or Kamailio) and each fork node. */
  cpu: { central?: WindowSample; forkNodes: readonly (WindowSample | undefined)[]; notMeasured?: string };
  /** The central proxy's counters at window start and end (none for Kamailio). */
  counters: { start?: MessageCounts; end?: MessageCounts };
  /** Fork nodes (0-based) killed by --kill-fork-node during the window: their CPU is left out. */
  killedForkNodes?: readonly number[];
  /** Why the point failed (a deadline, an interruption, a process that would not start). */
  error?: string;
}

type Cell = number | '';

function round(x: number | undefined, digits = 0): Cell {
  if (x === undefined || !Number.isFinite(x)) return '';
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function totalMessages(c: MessageCounts): number {
  const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
  return sum(c.received) + sum(c.sent);
}

/** The identifying columns of a point, status failed until the measurements say otherwise. */
export function baseRow(point: SweepPoint, warmupS: number, error = ''): PointInput {
  return {
    schema_version: SCHEMA_VERSION,
    point_id: point.pointId,
    trial: point.trial,
    target: point.target,
    mode: point.mode,
    parse: point.parse,
    group_size: point.groupSize,
    fork_nodes: point.forkNodes,
    offered_rate_cps: point.rate,
    warmup_s: warmupS,
    flagged: 0,
    flag_reason: '',
    status: 'failed',
    error: error.replace(/\s+/g, ' '),
  };
}

interface Outcome {
  attempted: number;
  succeeded: number;
  causes: Record<string, number>;
}

/** Delays and outcomes from the capture of the caller's leg (microsecond timestamps). */
function fromCapture(row: PointInput, capture: NonNullable<PointMeasurements['capture']>, win: { startUs: number; endUs: number }, sippSetupMs: number[], sippFailed: number | undefined): Outcome {
  const matched = matchSipDelays(capture.packets, { callerPort: capture.callerPort });
  const s = summarizeDelays(filterWindow(matched.calls, win.startUs, win.endUs));
  const causes: Record<string, number> = { ...s.failCauses };
  if (s.unanswered > 0) causes.timeout = s.unanswered;
  row.delay_source = 'pcap';
  row.ringing_mean_us = round(s.ringing.mean);
  row.ringing_p50_us = round(s.ringing.p50);
  row.ringing_p95_us = round(s.ringing.p95);
  row.setup_mean_us = round(s.setup.mean);
  row.setup_p50_us = round(s.setup.p50);
  row.setup_p95_us = round(s.setup.p95);
  row.setup_p99_us = round(s.setup.p99);
  row.setup_max_us = round(s.setup.max);
  // SIPp reads the clock in ms; beyond 2 ms (or a quarter) apart, one of the two is wrong.
  const pcapMeanMs = (s.setup.mean ?? 0) / 1000;
  const sippMean = mean(sippSetupMs);
  const reasons: string[] = [];
  if (sippMean !== undefined && Math.abs(sippMean - pcapMeanMs) > Math.max(2, 0.25 * pcapMeanMs)) {
    reasons.push(`SIPp mean setup ${sippMean.toFixed(2)} ms vs capture ${pcapMeanMs.toFixed(2)} ms`);
  }
  // Capture integrity: drops, a file cut short, and the failures the capture saw over the whole run
  // against SIPp's own count (both numbers when they disagree).
  const whole = summarizeDelays(matched.calls);
  const integrity = checkCaptureIntegrity({
    tcpdump: capture.tcpdump ?? {},
    pcapRecords: capture.records ?? capture.packets.length,
    pcapTruncatedTail: capture.truncated,
    pcapFailedCalls: whole.failed + whole.unanswered,
    sippFailedCalls: sippFailed,
  });
  row.capture_dropped = integrity.droppedByKernel ?? '';
  row.capture_truncated = integrity.truncated ? 1 : 0;
  reasons.push(...integrity.flags);
  if (capture.proxyPorts && capture.proxyPorts.length) {
    const legs = summarizeProxyLegs(matchProxyLegs(capture.packets, { proxyPorts: capture.proxyPorts, callerPort: capture.callerPort }).calls, win.startUs, win.endUs);
    const columns = [['fanout', legs.fanout], ['ring_transit', legs.ringTransit], ['answer_transit', legs.answerTransit]] as const;
    for (const [name, d] of columns) for (const p of ['p50', 'p95', 'p99'] as const) row[`${name}_${p}_us`] = round(d[p]);
  }
  flag(row, reasons);
  return { attempted: s.calls, succeeded: s.answered, causes };
}

function flag(row: PointInput, reasons: readonly string[]): void {
  if (!reasons.length) return;
  row.flagged = 1;
  row.flag_reason = [row.flag_reason, ...reasons].filter(Boolean).join('; ');
}

/** No capture: SIPp's 1 ms figures over the window, failures from its whole-run counters. */
function fromSipp(row: PointInput, m: PointMeasurements, inWindow: (r: RttSample) => boolean, sippSetupMs: number[]): Outcome {
  const causes: Record<string, number> = {};
  for (const [k, v] of Object.entries(m.sippStats?.failuresByCause ?? {})) if (v > 0) causes[k] = v;
  row.delay_source = 'sipp';
  const ringing = m.sippRtt.filter((r) => r.rtdName === 'ringing' && inWindow(r)).map((r) => r.responseTimeMs * 1000);
  row.ringing_mean_us = round(mean(ringing));
  row.ringing_p50_us = round(percentile(ringing, 50));
  row.ringing_p95_us = round(percentile(ringing, 95));
  const setup = sippSetupMs.map((ms) => ms * 1000);
  row.setup_mean_us = round(mean(setup));
  row.setup_p50_us = round(percentile(setup, 50));
  row.setup_p95_us = round(percentile(setup, 95));
  row.setup_p99_us = round(percentile(setup, 99));
  row.setup_max_us = round(setup.length ? Math.max(...setup) : undefined);
  return { attempted: sippSetupMs.length + (m.sippStats?.failedCalls ?? 0), succeeded: sippSetupMs.length, causes };
}

/** CPU columns; a central process with no sample makes the point fail (its CPU is the result). */
function cpuColumns(row: PointInput, m: PointMeasurements, succeeded: number): string | undefined {
  if (m.cpu.notMeasured) {
    // An external target with no CPU source: empty columns and a flag, never a guess.
    row.flagged = 1;
    row.flag_reason = row.flag_reason ? `${row.flag_reason}; ${m.cpu.notMeasured}` : m.cpu.notMeasured;
    return undefined;
  }
  const central = m.cpu.central;
  if (!central || !central.ok) return central ? central.error : 'no CPU sample';
  let nodesUs = 0;
  let nodesPct = 0;
  for (const [i, n] of m.cpu.forkNodes.entries()) {
    if (m.killedForkNodes?.includes(i)) {
      row.flagged = 1;
      row.flag_reason = `${row.flag_reason ? `${row.flag_reason}; ` : ''}fork node ${i + 1} killed (--kill-fork-node): its CPU is not in the totals`;
      continue;
    }
    if (!n || !n.ok) return n ? n.error : 'no CPU sample';
    nodesUs += n.cpuUs;
    nodesPct += (n.cpuUs / n.wallUs) * 100;
  }
  row.head_cpu_pct = round((central.cpuUs / central.wallUs) * 100, 2);
  row.forknodes_cpu_pct = round(nodesPct, 2);
  row.total_cpu_pct = round(((central.cpuUs + nodesUs) / central.wallUs) * 100, 2);
  row.cpu_us_per_call = succeeded > 0 ? round(central.cpuUs / succeeded) : '';
  row.total_cpu_us_per_call = succeeded > 0 ? round((central.cpuUs + nodesUs) / succeeded) : '';
  row.head_peak_rss_kb = central.peakRssKb || ''; // 0: not known (an external target's CPU probe reads no memory)
  const throttled = throttledPct(m);
  if (throttled !== undefined) row.head_throttled_pct = round(throttled, 1);
  return undefined;
}

/** % of the window's CFS periods in which the central process was throttled (under a budget). */
function throttledPct(m: PointMeasurements): number | undefined {
  const t0 = m.throttle?.start;
  const t1 = m.throttle?.end;
  return t0 && t1 && t1.nrPeriods > t0.nrPeriods ? ((t1.nrThrottled - t0.nrThrottled) / (t1.nrPeriods - t0.nrPeriods)) * 100 : undefined;
}

/** Terms of the comparison, and the test-bed guard: a bound test bed is flagged, never the proxy's failure. */
function guardColumns(row: PointInput, m: PointMeasurements, achievedCps: number, windowS: number): void {
  if (m.testbed) {
    row.testbed_cpu_pct = round(m.testbed.testbedCpuPct, 1);
    row.machine_busy_pct = round(m.testbed.machineBusyPct, 1);
  }
  row.speed_probe_ns = round(m.speedProbeNs);
  const bound = testbedVerdict({
    machineBusyPct: m.testbed?.machineBusyPct,
    offeredRateCps: m.point.rate,
    achievedRateCps: Number.isFinite(achievedCps) ? achievedCps : undefined,
    windowS,
    captureDropped: typeof row.capture_dropped === 'number' ? row.capture_dropped : undefined,
    proxyThrottledPct: throttledPct(m),
  });
  row.testbed_bound = bound ? 1 : 0;
  if (bound) flag(row, [`test bed bound: ${bound}`]);
}

/** Columns known before any call: the terms of the point. */
function termColumns(row: PointInput, m: PointMeasurements): void {
  row.relay_180 = m.terms?.relay180 ?? '';
  row.forknode_parse = m.terms?.forkNodeParse ?? '';
  row.cpu_budget_cores = m.terms?.cpuBudgetCores ?? '';
  row.head_idle_cpu_pct = round(m.idleCpuPct, 2);
}

/**
 * Calls placed in the window and answered with a setup delay within boundUs: from the capture when
 * there is one, else from SIPp's 1 ms figures. A goodput that counts only these is what a caller
 * sees past the knee, where the proxy still answers every call but seconds late (faults/overload.ts).
 */
export function callsAnsweredWithin(m: PointMeasurements, boundUs: number): number | undefined {
  const win = m.window;
  if (!win) return undefined;
  if (m.capture) {
    const calls = filterWindow(matchSipDelays(m.capture.packets, { callerPort: m.capture.callerPort }).calls, win.startUs, win.endUs);
    return calls.filter((c) => c.setupUs !== undefined && c.setupUs <= boundUs).length;
  }
  return m.sippRtt.filter((r) => r.rtdName === 'setup' && r.dateMs * 1000 >= win.startUs && r.dateMs * 1000 < win.endUs && r.responseTimeMs * 1000 <= boundUs).length;
}

/** The points.csv row of a point. */
export function buildPointRow(m: PointMeasurements): PointInput {
  const row = baseRow(m.point, m.warmupS, m.error);
  const win = m.window;
  if (!win) return row;
  for (const c of POINT_COLUMNS_SINCE_2) row[c] = '';
  termColumns(row, m);
  const inWindow = (r: RttSample): boolean => r.dateMs * 1000 >= win.startUs && r.dateMs * 1000 < win.endUs;
  const windowS = (win.endUs - win.startUs) / 1e6;
  row.window_s = round(windowS, 3);
  row.calls_attempted = m.sippStats?.totalCalls ?? '';
  const sippSetupMs = m.sippRtt.filter((r) => r.rtdName === 'setup' && inWindow(r)).map((r) => r.responseTimeMs);
  row.sipp_setup_mean_ms = round(mean(sippSetupMs), 3);
  row.sipp_setup_p95_ms = round(percentile(sippSetupMs, 95), 3);

  const { attempted, succeeded, causes } = m.capture ? fromCapture(row, m.capture, win, sippSetupMs, m.sippStats?.failedCalls) : fromSipp(row, m, inWindow, sippSetupMs);
  row.calls_succeeded = succeeded;
  row.calls_failed = attempted - succeeded;
  row.fail_causes = Object.entries(causes)
    .map(([k, v]) => `${k}:${v}`)
    .join(';');
  row.ser = attempted > 0 ? round(succeeded / attempted, 4) : 0;
  row.achieved_rate_cps = round(attempted / windowS, 2);
  row.sipp_failed_calls = m.sippStats?.failedCalls ?? '';
  guardColumns(row, m, attempted / windowS, windowS);

  const cpuError = cpuColumns(row, m, succeeded);
  if (cpuError) {
    row.error = cpuError.replace(/\s+/g, ' ');
    return row;
  }
  const { start, end } = m.counters;
  if (start && end && attempted > 0) row.msgs_per_call = round((totalMessages(end) - totalMessages(start)) / attempted, 2);
  if (!row.error) row.status = 'ok';
  return row;
}
