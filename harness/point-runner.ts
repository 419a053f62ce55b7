// One sweep point, end to end: start the proxy under test and every SIPp process, run the calls,
// measure the window, stop everything, and return one points.csv row. Whatever happens, every
// process started here is stopped before this returns.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BenchConfig, SweepPoint } from './bench-config.js';
import { startCapture, type Capture } from './capture.js';
import { SCHEMA_VERSION } from './columns.js';
import { CpuWindow, type CpuTarget, type WindowSample } from './cpu-sampler.js';
import { startKamailio, type KamailioProcess } from './kamailio.js';
import { percentile, mean } from './percentiles.js';
import { readPcapFile } from './pcap.js';
import { layoutPoint, portsOf, type PointLayout } from './point-layout.js';
import { portFree } from './processes.js';
import { launchProxy, readCounters, totalMessages, type ProxyCounters, type ProxyProcess } from './proxy-launcher.js';
import type { PointInput } from './results-csv.js';
import { filterWindow, matchSipDelays, summarizeDelays } from './sip-delays.js';
import { startSipp, type SippProcess } from './sipp.js';
import { readSippRttFile, readSippStatFile } from './sipp-stats.js';

export interface PointContext {
  config: BenchConfig;
  pointDir: string;
  /** tcpdump usable (root and installed): decided once per sweep. */
  capture: boolean;
  /** CPU placement when --pin: proxy/head, fork nodes, load generators. */
  pinning?: { proxy: string; forkNodes: string; load: string };
  /** Lets Ctrl-C abort the point early. */
  signal?: AbortSignal;
}

interface Running {
  proxies: ProxyProcess[];
  kamailio?: KamailioProcess;
  members: SippProcess[];
  caller?: SippProcess;
  capture?: Capture;
}

/** Wait, or stop waiting when the sweep is aborted; the abort listener goes with the wait. */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export class PointError extends Error {}

// FORKBENCH_TRACE=1 prints when each phase of a point starts, to see where a sweep's time goes.
const t0 = Date.now();
const trace = (what: string): void => {
  if (process.env.FORKBENCH_TRACE) process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(2)}s] ${what}\n`);
};

/** Seconds the caller needs for all its calls, and the hard deadline of the point. */
export function pointTiming(config: BenchConfig, rate: number): { warmupCalls: number; totalCalls: number; sendS: number; deadlineS: number } {
  const warmupCalls = Math.round(rate * config.warmupS);
  const totalCalls = warmupCalls + config.calls;
  const sendS = totalCalls / rate;
  // Ring + hold per call, then a margin for retransmissions and stragglers (Timer B is 32 s).
  const deadlineS = sendS + (config.ringMs + config.holdMs) / 1000 + 45;
  return { warmupCalls, totalCalls, sendS, deadlineS };
}

async function startTarget(point: SweepPoint, layout: PointLayout, ctx: PointContext, groupsFile: string, run: Running): Promise<CpuTarget[]> {
  const pin = ctx.pinning;
  if (point.target === 'kamailio') {
    // Absolute paths: Kamailio runs with its work dir as cwd.
    run.kamailio = await startKamailio({ listen: `127.0.0.1:${layout.proxyPort}`, groupsFile: resolve(groupsFile), workDir: resolve(ctx.pointDir, 'kamailio') });
    return [{ pid: run.kamailio.mainPid, tree: true }];
  }
  const parse = point.parse === 'n/a' ? 'full' : point.parse;
  if (point.mode === 'distributed') {
    // Fork nodes first, so the head's first INVITE finds them listening.
    for (let i = 0; i < point.forkNodes; i++) {
      run.proxies.push(
        await launchProxy({
          role: 'fork-node',
          port: layout.forkNodePorts[i]!,
          metricsPort: layout.forkNodeMetricsPorts[i]!,
          groupsFile,
          parse: 'full',
          shard: `${i + 1}/${point.forkNodes}`,
          relay180: ctx.config.relay180,
          cpuList: pin?.forkNodes,
        }),
      );
    }
    run.proxies.unshift(
      await launchProxy({ role: 'head', port: layout.proxyPort, metricsPort: layout.metricsPort, groupsFile, parse, forkNodePorts: layout.forkNodePorts, cpuList: pin?.proxy }),
    );
  } else {
    run.proxies.push(await launchProxy({ role: 'centralized', port: layout.proxyPort, metricsPort: layout.metricsPort, groupsFile, parse, cpuList: pin?.proxy }));
  }
  return run.proxies.map((p) => ({ pid: p.child.pid }));
}

async function stopAllOf(run: Running): Promise<void> {
  const stops: Promise<unknown>[] = [];
  if (run.caller) stops.push(run.caller.stop());
  for (const m of run.members) stops.push(m.stop());
  for (const p of run.proxies) stops.push(p.child.stop());
  if (run.kamailio) stops.push(run.kamailio.stop());
  await Promise.allSettled(stops);
  if (run.capture) await run.capture.stop().catch(() => undefined);
}

function cpuOf(s: WindowSample | undefined): { cpuUs: number; wallUs: number; peakRssKb: number } {
  if (!s || !s.ok) throw new PointError(s ? s.error : 'no CPU sample');
  return s;
}

function round(x: number | undefined, digits = 0): number | string {
  if (x === undefined || !Number.isFinite(x)) return '';
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export async function runPoint(point: SweepPoint, ctx: PointContext): Promise<PointInput> {
  const { config } = ctx;
  const layout = layoutPoint(point, config.basePort);
  const timing = pointTiming(config, point.rate);
  await mkdir(ctx.pointDir, { recursive: true });
  const groupsFile = join(ctx.pointDir, 'groups.json');
  await writeFile(groupsFile, layout.groupsJson);

  const row: PointInput = {
    schema_version: SCHEMA_VERSION,
    point_id: point.pointId,
    trial: point.trial,
    target: point.target,
    mode: point.mode,
    parse: point.parse,
    group_size: point.groupSize,
    fork_nodes: point.forkNodes,
    offered_rate_cps: point.rate,
    warmup_s: config.warmupS,
    flagged: 0,
    flag_reason: '',
    status: 'failed',
    error: '',
  };

  const { udp, tcp } = portsOf(layout);
  for (const p of udp) if (!(await portFree(p, 'udp'))) throw new PointError(`UDP port ${p} is in use: stop what holds it or pick another --base-port`);
  for (const p of tcp) if (!(await portFree(p, 'tcp'))) throw new PointError(`TCP port ${p} is in use: stop what holds it or pick another --base-port`);

  const run: Running = { proxies: [], members: [] };
  trace(`${point.pointId}: start`);
  try {
    const cpuTargets = await startTarget(point, layout, ctx, groupsFile, run);
    trace('proxies up');
    const load = ctx.pinning?.load;
    const sippCommon = { outDir: ctx.pointDir, calls: timing.totalCalls, timeoutS: Math.ceil(timing.deadlineS), cpuList: load };
    layout.memberPorts.forEach((port, j) => {
      run.members.push(
        startSipp({ ...sippCommon, role: j === 0 ? 'answerer' : 'ringer', localPort: port, ringMs: config.ringMs, name: `member-${String(j + 1).padStart(2, '0')}` }),
      );
    });
    if (ctx.capture) run.capture = await startCapture({ file: join(ctx.pointDir, 'caller.pcap'), port: layout.callerPort });
    await sleep(300); // SIPp UAS processes bind their sockets
    for (const m of run.members) {
      const exit = await Promise.race([m.done, Promise.resolve(undefined)]);
      if (exit) throw new PointError(`${m.name} exited at start (code ${exit.code}); see ${ctx.pointDir}/${m.name}*`);
    }

    trace('members and capture up');
    const startedUs = Date.now() * 1000;
    run.caller = startSipp({
      ...sippCommon,
      role: 'caller',
      localPort: layout.callerPort,
      remote: `127.0.0.1:${layout.proxyPort}`,
      service: layout.group,
      rate: point.rate,
      holdMs: config.holdMs,
      name: 'caller',
    });

    // The measured window: after the warm-up calls, for as long as the measured calls are being placed.
    await sleep(config.warmupS * 1000, ctx.signal);
    const cpu = new CpuWindow(cpuTargets);
    await cpu.start();
    const windowStartUs = Date.now() * 1000;
    const headCounters0 = run.proxies[0] ? await readCounters(run.proxies[0].metricsUrl) : undefined;
    await sleep((config.calls / point.rate) * 1000, ctx.signal);
    const usage = await cpu.end();
    const windowEndUs = Date.now() * 1000;
    const headCounters1: ProxyCounters | undefined = run.proxies[0] ? await readCounters(run.proxies[0].metricsUrl) : undefined;
    if (ctx.signal?.aborted) throw new PointError('interrupted');
    // Raw material: the central proxy's counters at the end of the window.
    if (headCounters1) await writeFile(join(ctx.pointDir, 'head-metrics.json'), JSON.stringify(headCounters1, null, 1));

    trace('window measured');
    const remainingMs = timing.deadlineS * 1000 - (Date.now() - startedUs / 1000);
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const callerExit = await Promise.race([
      run.caller.done,
      new Promise<undefined>((resolve) => {
        deadline = setTimeout(() => resolve(undefined), Math.max(1000, remainingMs));
      }),
    ]);
    clearTimeout(deadline); // a pending deadline would keep the process alive after the sweep
    if (!callerExit) {
      row.error = ctx.signal?.aborted ? 'interrupted' : `caller did not finish within the ${Math.round(timing.deadlineS)} s deadline (hung SIPp killed)`;
    }
    trace('caller done');
    await sleep(Math.min(2000, config.ringMs + config.holdMs + 500)); // last BYEs reach the members
    await stopAllOf(run);
    trace('all stopped');

    const windowS = (windowEndUs - windowStartUs) / 1e6;
    row.window_s = round(windowS, 3);
    const stats = await readSippStatFile(join(ctx.pointDir, 'caller_stat.csv')).catch(() => undefined);
    const rtt = await readSippRttFile(join(ctx.pointDir, 'caller_rtt.csv')).catch(() => []);
    row.calls_attempted = stats?.totalCalls ?? '';
    const sippSetup = rtt.filter((r) => r.rtdName === 'setup' && r.dateMs * 1000 >= windowStartUs && r.dateMs * 1000 < windowEndUs).map((r) => r.responseTimeMs);
    row.sipp_setup_mean_ms = round(mean(sippSetup), 3);
    row.sipp_setup_p95_ms = round(percentile(sippSetup, 95), 3);

    let attempted = 0;
    let succeeded = 0;
    let causes: Record<string, number> = {};
    if (run.capture) {
      const pcap = await readPcapFile(join(ctx.pointDir, 'caller.pcap'));
      const matched = matchSipDelays(pcap.packets, { callerPort: layout.callerPort });
      const inWindow = filterWindow(matched.calls, windowStartUs, windowEndUs);
      const s = summarizeDelays(inWindow);
      attempted = s.calls;
      succeeded = s.answered;
      causes = { ...s.failCauses };
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
      const sippMean = mean(sippSetup);
      if (sippMean !== undefined && Math.abs(sippMean - pcapMeanMs) > Math.max(2, 0.25 * pcapMeanMs)) {
        row.flagged = 1;
        row.flag_reason = `SIPp mean setup ${sippMean.toFixed(2)} ms vs capture ${pcapMeanMs.toFixed(2)} ms`;
      }
      if (pcap.stats && 'truncated' in pcap.stats && pcap.stats.truncated) {
        row.flagged = 1;
        row.flag_reason = `${row.flag_reason ? `${row.flag_reason}; ` : ''}capture truncated`;
      }
    } else {
      // No capture: SIPp's 1 ms figures over the window, SER from its whole-run counters.
      attempted = sippSetup.length + (stats?.failedCalls ?? 0);
      succeeded = sippSetup.length;
      for (const [k, v] of Object.entries(stats?.failuresByCause ?? {})) if (v > 0) causes[k] = v;
      row.delay_source = 'sipp';
      const ringing = rtt.filter((r) => r.rtdName === 'ringing' && r.dateMs * 1000 >= windowStartUs && r.dateMs * 1000 < windowEndUs).map((r) => r.responseTimeMs * 1000);
      row.ringing_mean_us = round(mean(ringing));
      row.ringing_p50_us = round(percentile(ringing, 50));
      row.ringing_p95_us = round(percentile(ringing, 95));
      const setup = sippSetup.map((ms) => ms * 1000);
      row.setup_mean_us = round(mean(setup));
      row.setup_p50_us = round(percentile(setup, 50));
      row.setup_p95_us = round(percentile(setup, 95));
      row.setup_p99_us = round(percentile(setup, 99));
      row.setup_max_us = round(Math.max(...setup));
    }
    row.calls_succeeded = succeeded;
    row.calls_failed = attempted - succeeded;
    row.fail_causes = Object.entries(causes)
      .map(([k, v]) => `${k}:${v}`)
      .join(';');
    row.ser = attempted > 0 ? round(succeeded / attempted, 4) : 0;
    row.achieved_rate_cps = round(attempted / windowS, 2);

    const head = cpuOf(usage.get(cpuTargets[0]!.pid));
    const nodes = cpuTargets.slice(1).map((t) => cpuOf(usage.get(t.pid)));
    const nodesUs = nodes.reduce((a, n) => a + n.cpuUs, 0);
    row.head_cpu_pct = round((head.cpuUs / head.wallUs) * 100, 2);
    row.forknodes_cpu_pct = round(nodes.reduce((a, n) => a + (n.cpuUs / n.wallUs) * 100, 0), 2);
    row.total_cpu_pct = round(((head.cpuUs + nodesUs) / head.wallUs) * 100, 2);
    row.cpu_us_per_call = succeeded > 0 ? round(head.cpuUs / succeeded) : '';
    row.total_cpu_us_per_call = succeeded > 0 ? round((head.cpuUs + nodesUs) / succeeded) : '';
    row.head_peak_rss_kb = head.peakRssKb;
    if (headCounters0 && headCounters1 && attempted > 0) row.msgs_per_call = round((totalMessages(headCounters1) - totalMessages(headCounters0)) / attempted, 2);
    if (!row.error) row.status = 'ok';
    trace('row ready');
    return row;
  } catch (e) {
    await stopAllOf(run);
    row.error = (e as Error).message.replace(/\s+/g, ' ');
    return row;
  }
}
