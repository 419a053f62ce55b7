// One sweep point, end to end: start the target (the proxy under test) and every SIPp process, run
// the calls, measure the window, stop everything, and hand the raw measurements to the pure row
// builder (point-row.ts). Where the proxy runs is the target's business (targets/). Whatever
// happens, every process started here is stopped before this returns.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchConfig, SweepPoint } from './bench-config.js';
import { startCapture, type Capture } from './capture.js';
import { CpuWindow } from './cpu-sampler.js';
import { readPcapFile } from './pcap.js';
import { buildPointRow, type PointMeasurements } from './point-row.js';
import { layoutPoint, portsOf } from './point-layout.js';
import { portFree } from './processes.js';
import type { PointInput } from './results-csv.js';
import { startSipp, waitUntilUdpBound, type SippProcess } from './sipp.js';
import { readSippRttFile, readSippStatFile } from './sipp-stats.js';
import { targetFor, type Pinning, type ProxyTarget, type RunningTarget } from './targets/index.js';

export interface PointContext {
  config: BenchConfig;
  pointDir: string;
  /** tcpdump usable (root and installed): decided once per sweep. */
  capture: boolean;
  /** CPU placement when --pin. */
  pinning?: Pinning;
  /** Ctrl-C: ends the point's waits early; the point then fails as "interrupted". */
  signal?: AbortSignal;
  /** Where the proxy under test runs; default: targetFor(point). */
  target?: ProxyTarget;
  /** Seconds past the calls' own duration before a caller counts as hung (default 45: Timer B is 32 s). */
  deadlineMarginS?: number;
}

interface Running {
  target?: RunningTarget;
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
export function pointTiming(config: BenchConfig, rate: number, marginS = 45): { warmupCalls: number; totalCalls: number; sendS: number; deadlineS: number } {
  const warmupCalls = Math.round(rate * config.warmupS);
  const totalCalls = warmupCalls + config.calls;
  const sendS = totalCalls / rate;
  // Ring + hold per call, then a margin for retransmissions and stragglers (Timer B is 32 s).
  const deadlineS = sendS + (config.ringMs + config.holdMs) / 1000 + marginS;
  return { warmupCalls, totalCalls, sendS, deadlineS };
}

async function stopAllOf(run: Running): Promise<void> {
  const stops: Promise<unknown>[] = [];
  if (run.caller) stops.push(run.caller.stop());
  for (const m of run.members) stops.push(m.stop());
  if (run.target) stops.push(run.target.stop());
  await Promise.allSettled(stops);
  if (run.capture) await run.capture.stop().catch(() => undefined);
}

/** Resolves when the member's SIP port is bound; fails as soon as the member exits. */
async function memberReady(m: SippProcess, port: number, pointDir: string): Promise<void> {
  const exited = m.done.then((exit) => {
    throw new PointError(`${m.name} exited at start (code ${exit.code}); see ${pointDir}/${m.name}*`);
  });
  exited.catch(() => undefined); // the race below may settle first
  await Promise.race([waitUntilUdpBound(port, 10_000), exited]);
}

/** Resolves with the caller's exit, or undefined when the deadline passes (or Ctrl-C comes) first. */
async function callerOrDeadline(caller: SippProcess, ms: number, signal?: AbortSignal): Promise<unknown> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    return await Promise.race([caller.done, sleep(ms, ac.signal).then(() => undefined)]);
  } finally {
    ac.abort(); // a pending deadline would keep the process alive after the sweep
    signal?.removeEventListener('abort', stop);
  }
}

export async function runPoint(point: SweepPoint, ctx: PointContext): Promise<PointInput> {
  const { config } = ctx;
  const layout = layoutPoint(point, config.basePort);
  const timing = pointTiming(config, point.rate, ctx.deadlineMarginS);
  await mkdir(ctx.pointDir, { recursive: true });
  const groupsFile = join(ctx.pointDir, 'groups.json');
  await writeFile(groupsFile, layout.groupsJson);

  const { udp, tcp } = portsOf(layout);
  for (const p of udp) if (!(await portFree(p, 'udp'))) throw new PointError(`UDP port ${p} is in use: stop what holds it or pick another --base-port`);
  for (const p of tcp) if (!(await portFree(p, 'tcp'))) throw new PointError(`TCP port ${p} is in use: stop what holds it or pick another --base-port`);

  const m: PointMeasurements = { point, warmupS: config.warmupS, sippRtt: [], cpu: { forkNodes: [] }, counters: {} };
  const run: Running = { members: [] };
  trace(`${point.pointId}: start`);
  try {
    run.target = await (ctx.target ?? targetFor(point)).start({ point, layout, groupsFile, workDir: ctx.pointDir, relay180: config.relay180, pinning: ctx.pinning });
    const procs = run.target.processes;
    trace('proxies up');
    const sippCommon = { outDir: ctx.pointDir, calls: timing.totalCalls, timeoutS: Math.ceil(timing.deadlineS), cpuList: ctx.pinning?.load };
    layout.memberPorts.forEach((port, j) => {
      run.members.push(startSipp({ ...sippCommon, role: j === 0 ? 'answerer' : 'ringer', localPort: port, ringMs: config.ringMs, name: `member-${String(j + 1).padStart(2, '0')}` }));
    });
    if (ctx.capture) run.capture = await startCapture({ file: join(ctx.pointDir, 'caller.pcap'), port: layout.callerPort });
    await Promise.all(run.members.map((s, j) => memberReady(s, layout.memberPorts[j]!, ctx.pointDir)));

    trace('members and capture up');
    const startedMs = Date.now();
    run.caller = startSipp({
      ...sippCommon,
      role: 'caller',
      localPort: layout.callerPort,
      remote: run.target.sipAddress,
      service: layout.group,
      rate: point.rate,
      holdMs: config.holdMs,
      name: 'caller',
    });

    // The measured window: after the warm-up calls, for as long as the measured calls are being placed.
    await sleep(config.warmupS * 1000, ctx.signal);
    const cpu = new CpuWindow(procs.map((p) => ({ pid: p.pid, tree: p.tree })));
    await cpu.start();
    const startUs = Date.now() * 1000;
    m.counters.start = await run.target.readCounters();
    await sleep((config.calls / point.rate) * 1000, ctx.signal);
    const usage = await cpu.end();
    const endUs = Date.now() * 1000;
    m.counters.end = await run.target.readCounters();
    if (ctx.signal?.aborted) throw new PointError('interrupted');
    m.window = { startUs, endUs };
    m.cpu = { central: usage.get(procs[0]!.pid), forkNodes: procs.slice(1).map((p) => usage.get(p.pid)) };
    // Raw material: the central proxy's counters at the end of the window.
    if (m.counters.end) await writeFile(join(ctx.pointDir, 'head-metrics.json'), JSON.stringify(m.counters.end, null, 1));

    trace('window measured');
    const remainingMs = timing.deadlineS * 1000 - (Date.now() - startedMs);
    if (!(await callerOrDeadline(run.caller, Math.max(1000, remainingMs), ctx.signal))) {
      m.error = ctx.signal?.aborted ? 'interrupted' : `caller did not finish within the ${Math.round(timing.deadlineS)} s deadline (hung SIPp killed)`;
    }
    trace('caller done');
    // The last BYEs reach the members: each member exits once it has seen all its calls (-m), so
    // wait for that, bounded (a member that missed a call would never exit by itself).
    await Promise.race([Promise.all(run.members.map((s) => s.done)), sleep(Math.min(2000, config.ringMs + config.holdMs + 500))]);
    await stopAllOf(run);
    trace('all stopped');

    m.sippStats = await readSippStatFile(join(ctx.pointDir, 'caller_stat.csv')).catch(() => undefined);
    m.sippRtt = await readSippRttFile(join(ctx.pointDir, 'caller_rtt.csv')).catch(() => []);
    if (run.capture) {
      const pcap = await readPcapFile(join(ctx.pointDir, 'caller.pcap'));
      m.capture = { packets: pcap.packets, callerPort: layout.callerPort, truncated: pcap.stats.truncatedTail };
    }
  } catch (e) {
    await stopAllOf(run);
    m.error = (e as Error).message;
  }
  const row = buildPointRow(m);
  trace('row ready');
  return row;
}
