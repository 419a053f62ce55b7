// One sweep point, end to end: start the target (the proxy under test) and every SIPp process, run
// the calls, measure the window, stop everything, and hand the raw measurements to the pure row
// builder (point-row.ts). Where the proxy runs is the target's business (targets/). Whatever
// happens, every process started here is stopped before this returns.
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BenchConfig, SweepPoint } from '../plan/bench-config.js';
import { captureBufferKib, startCapture, type Capture, type CaptureResult } from '../measure/capture.js';
import { detectCgroups, type CgroupLayout } from '../testbed/cgroup.js';
import { TestbedWindow } from '../measure/testbed-guard.js';
import { SpeedProbe } from '../measure/speed-probe.js';
import { underCpuBudget } from '../testbed/targets/budgeted.js';
import { CpuWindow } from '../measure/cpu-sampler.js';
import { readPcapFile } from '../measure/pcap.js';
import { buildPointRow, type PointMeasurements } from '../records/point-row.js';
import { layoutPoint, portsOf } from '../plan/point-layout.js';
import { portFree } from '../testbed/processes.js';
import { SippPortPicker } from '../testbed/load/sipp-ports.js';
import type { PointInput } from '../records/results-csv.js';
import { startSipp, waitUntilUdpBound, type SippOptions, type SippProcess } from '../testbed/load/sipp.js';
import { readSippRttFile, readSippStatFile } from '../measure/sipp-stats.js';
import { targetFor, type Pinning, type ProxyTarget, type RunningTarget } from '../testbed/targets/index.js';
import { faultPlan, hasFaults, startPointFaults, writeFaultOutcome, type ActiveFaults } from '../faults/point-faults.js';
import { hostedTargetFor } from '../testbed/targets/hosted.js';
import { externalTarget, type ExternalOptions } from '../testbed/targets/external.js';
import { captureOn, placedGroupsJson, pointAddresses, startSippVia, waitUdpBoundOn, writePlacement, type Testbed } from '../testbed/hosts/testbed.js';
import { memberHost } from '../testbed/hosts/topology.js';
import { abortableSleep as sleep } from '../testbed/abortable-sleep.js';

export interface PointContext {
  config: BenchConfig;
  pointDir: string;
  /** tcpdump usable (root and installed): decided once per sweep. */
  capture: boolean;
  /** CPU placement when --pin. */
  pinning?: Pinning;
  /** Ctrl-C: ends the point's waits early; the point then fails as "interrupted". */
  signal?: AbortSignal;
  /** Sees the raw measurements before the row is built (overload counts the calls answered in time). */
  onMeasurements?: (m: PointMeasurements) => void;
  /** Where the proxy under test runs; default: targetFor(point). */
  target?: ProxyTarget;
  /** Seconds past the calls' own duration before a caller counts as hung (default 45: Timer B is 32 s). */
  deadlineMarginS?: number;
  /** --targets external: the proxy's address and where its CPU comes from. */
  external?: ExternalOptions;
  /** --topology netns | FILE: the hosts each role runs on; absent: everything local on 127.0.0.1. */
  testbed?: Testbed;
}

interface Running {
  target?: RunningTarget;
  members: SippProcess[];
  caller?: SippProcess;
  capture?: Capture;
  /** --loss / --kill-fork-node of this point (faults/point-faults.ts). */
  faults?: ActiveFaults;
  /** The host's speed beside the proxy (measure/speed-probe.ts). */
  speed?: SpeedProbe;
}


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

async function stopAllOf(run: Running): Promise<CaptureResult | undefined> {
  const stops: Promise<unknown>[] = [];
  if (run.caller) stops.push(run.caller.stop());
  for (const m of run.members) stops.push(m.stop());
  if (run.target) stops.push(run.target.stop());
  if (run.faults) stops.push(run.faults.stop());
  if (run.speed) stops.push(run.speed.stop());
  await Promise.allSettled(stops);
  const capture = run.capture;
  run.capture = undefined;
  return capture ? await capture.stop().catch(() => undefined) : undefined;
}

let cgroupLayout: CgroupLayout | undefined;
/** The target of a point, under the config's CPU budget when there is one (preflight checked cgroups). */
function targetOf(point: SweepPoint, ctx: PointContext): ProxyTarget {
  const bed = ctx.testbed;
  const inner = ctx.target ?? (point.target === 'external' ? externalTarget(ctx.external, bed) : bed ? hostedTargetFor(point, bed) : targetFor(point));
  if (!(ctx.config.cpuBudget > 0)) return inner;
  if (!cgroupLayout) {
    const cg = detectCgroups();
    if (!cg.ok) throw new PointError(`--cpu-budget ${ctx.config.cpuBudget}: ${cg.reason}`);
    cgroupLayout = cg.layout;
  }
  return underCpuBudget(inner, ctx.config.cpuBudget, cgroupLayout);
}

/** Resolves when the member's SIP port is bound; fails as soon as the member exits. */
async function memberReady(m: SippProcess, port: number, pointDir: string, bound: (port: number) => Promise<void> = (p) => waitUntilUdpBound(p, 10_000)): Promise<void> {
  const exited = m.done.then((exit) => {
    throw new PointError(`${m.name} exited at start (code ${exit.code}); see ${pointDir}/${m.name}*`);
  });
  exited.catch(() => undefined); // the race below may settle first
  await Promise.race([bound(port), exited]);
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
  const bed = ctx.testbed;
  const addrs = bed ? pointAddresses(bed.placement, point.groupSize, point.mode === 'distributed' ? point.forkNodes : 0) : undefined;
  await writeFile(groupsFile, addrs ? placedGroupsJson(layout, addrs) : layout.groupsJson);
  if (bed) await writePlacement(ctx.pointDir, bed, point.groupSize, point.mode === 'distributed' ? point.forkNodes : 0);
  // SIPp on the host of its role (topology), or locally on 127.0.0.1.
  const sipp = (role: 'caller' | number, o: SippOptions): SippProcess =>
    bed ? startSippVia(bed, role === 'caller' ? bed.placement.caller : memberHost(bed.placement, role), o, basename(ctx.pointDir)) : startSipp(o);

  const { udp, tcp } = portsOf(layout);
  for (const p of udp) if (!(await portFree(p, 'udp'))) throw new PointError(`UDP port ${p} is in use: stop what holds it or pick another --base-port`);
  for (const p of tcp) if (!(await portFree(p, 'tcp'))) throw new PointError(`TCP port ${p} is in use: stop what holds it or pick another --base-port`);

  const m: PointMeasurements = {
    point,
    warmupS: config.warmupS,
    sippRtt: [],
    cpu: { forkNodes: [] },
    counters: {},
    terms: {
      // Kamailio's tm relays every provisional response.
      relay180: point.target === 'kamailio' ? 'all' : config.relay180,
      forkNodeParse: point.mode === 'distributed' ? 'full' : '',
      cpuBudgetCores: config.cpuBudget > 0 ? config.cpuBudget : undefined,
    },
  };
  const run: Running = { members: [] };
  let proxyPorts: number[] | undefined;
  trace(`${point.pointId}: start`);
  try {
    run.target = await targetOf(point, ctx).start({ point, layout, groupsFile, workDir: ctx.pointDir, relay180: config.relay180, pinning: ctx.pinning });
    const procs = run.target.processes;
    trace('proxies up');
    // Idle CPU of the central process: no call yet while the members start (at least 1 s).
    const idle = procs[0] ? new CpuWindow([{ pid: procs[0].pid, tree: procs[0].tree }]) : undefined;
    await idle?.start();
    const idleFrom = Date.now();
    const sippCommon = { outDir: ctx.pointDir, calls: timing.totalCalls, timeoutS: Math.ceil(timing.deadlineS), cpuList: ctx.pinning?.load };
    const plan = faultPlan(config);
    if (hasFaults(plan)) run.faults = await startPointFaults({ plan, layout, forkNodes: procs.filter((p) => p.role === 'fork-node'), sendS: timing.sendS });
    // Under loss a retransmission that reaches a member after its call ended starts a new SIPp call:
    // headroom in -m, so members do not exit early (they are stopped after the caller anyway).
    const memberCalls = plan.loss ? timing.totalCalls * 2 : timing.totalCalls;
    const auxPorts = new SippPortPicker(); // past 33 SIPp instances (N > 32): see sipp-ports.ts
    for (const [j, port] of layout.memberPorts.entries()) {
      run.members.push(sipp(j, { ...sippCommon, ...(await auxPorts.forInstance(j)), calls: memberCalls, role: j === 0 ? 'answerer' : 'ringer', localPort: port, ringMs: config.ringMs, name: `member-${String(j + 1).padStart(2, '0')}` }));
    }
    const pcapFile = join(ctx.pointDir, 'caller.pcap');
    // Every leg of the proxy under test (for its own delay); on a topology, the caller's leg only,
    // captured at the caller's host.
    proxyPorts = bed ? undefined : [layout.proxyPort, ...(point.target === 'forkbench' ? layout.forkNodePorts : [])];
    if (ctx.capture && bed) {
      run.capture = await captureOn(bed, pcapFile, layout.callerPort);
    } else if (ctx.capture && proxyPorts) {
      // A capture buffer sized for the rate.
      const packetsPerCall = 8 * point.groupSize + 8 * point.forkNodes + 12;
      run.capture = await startCapture({ file: pcapFile, port: layout.callerPort, ports: proxyPorts, bufferKib: captureBufferKib(point.rate, packetsPerCall) });
    }
    await Promise.all(
      run.members.map((s, j) => memberReady(s, layout.memberPorts[j]!, ctx.pointDir, bed ? (port) => waitUdpBoundOn(bed.host(memberHost(bed.placement, j)), port) : undefined)),
    );
    if (idle) {
      await sleep(Math.max(0, 1000 - (Date.now() - idleFrom)), ctx.signal);
      const idleUse = (await idle.end()).get(procs[0]!.pid);
      if (idleUse?.ok) m.idleCpuPct = idleUse.cpuPct;
    }

    trace('members and capture up');
    // Started now so that its own start-up and JIT warm-up are over when the window opens.
    run.speed = SpeedProbe.start(timing.deadlineS + 30);
    const startedMs = Date.now();
    run.caller = sipp('caller', {
      ...sippCommon,
      ...(await auxPorts.forInstance(layout.memberPorts.length)),
      role: 'caller',
      localPort: layout.callerPort,
      remote: run.target.sipAddress,
      service: layout.group,
      rate: point.rate,
      holdMs: config.holdMs,
      name: 'caller',
    });
    run.faults?.armKill(ctx.signal);

    // The measured window: after the warm-up calls, for as long as the measured calls are being placed.
    await sleep(config.warmupS * 1000, ctx.signal);
    // The CPU budget holds from here: the warm-up ran unthrottled (see budgeted.ts).
    await run.target.enforceBudget?.();
    const probe = run.target.cpuProbe;
    const cpu = new CpuWindow(procs.map((p) => ({ pid: p.pid, tree: p.tree })));
    // The test bed: every process the harness started that is not under test, and the harness.
    const testbed = new TestbedWindow([...run.members.map((s) => s.pid), run.caller.pid, ...(run.capture ? [run.capture.pid] : []), run.speed.pid, process.pid]);
    await Promise.all([probe ? probe.start() : cpu.start(), testbed.start()]);
    run.speed.mark();
    const central = procs[0];
    m.throttle = { start: central ? run.target.budgetUsage?.(central.pid) : undefined };
    const startUs = Date.now() * 1000;
    m.counters.start = await run.target.readCounters();
    await sleep((config.calls / point.rate) * 1000, ctx.signal);
    const [usage, bedUse] = await Promise.all([probe ? undefined : cpu.end(), testbed.end()]);
    const reading = probe ? await probe.end() : undefined;
    m.testbed = bedUse;
    m.speedProbeNs = run.speed.read();
    m.throttle.end = central ? run.target.budgetUsage?.(central.pid) : undefined;
    const endUs = Date.now() * 1000;
    m.counters.end = await run.target.readCounters();
    if (ctx.signal?.aborted) throw new PointError('interrupted');
    m.window = { startUs, endUs };
    if (usage) m.cpu = { central: usage.get(procs[0]!.pid), forkNodes: procs.slice(1).map((p) => usage.get(p.pid)) };
    else if (reading?.measured) m.cpu = { central: { ok: true, pid: 0, pids: [], cpuUs: reading.cpuUs, wallUs: reading.wallUs, cpuPct: (reading.cpuUs / reading.wallUs) * 100, peakRssKb: 0, rssKb: 0 }, forkNodes: [] };
    else m.cpu = { forkNodes: [], notMeasured: reading?.reason ?? 'target CPU not measured' };
    if (run.faults?.killed.size) m.killedForkNodes = [...run.faults.killed];
    // Raw material: the central proxy's counters at the end of the window, and at its start (the
    // window's messages in and out, e.g. for perf's bare-relay floor).
    if (m.counters.end) await writeFile(join(ctx.pointDir, 'head-metrics.json'), JSON.stringify(m.counters.end, null, 1));
    if (m.counters.start) await writeFile(join(ctx.pointDir, 'head-metrics-start.json'), JSON.stringify(m.counters.start, null, 1));

    trace('window measured');
    const remainingMs = timing.deadlineS * 1000 - (Date.now() - startedMs);
    if (!(await callerOrDeadline(run.caller, Math.max(1000, remainingMs), ctx.signal))) {
      m.error = ctx.signal?.aborted ? 'interrupted' : `caller did not finish within the ${Math.round(timing.deadlineS)} s deadline (hung SIPp killed)`;
    }
    trace('caller done');
    // The last BYEs reach the members: each member exits once it has seen all its calls (-m), so
    // wait for that, bounded (a member that missed a call would never exit by itself).
    await Promise.race([Promise.all(run.members.map((s) => s.done)), sleep(Math.min(2000, config.ringMs + config.holdMs + 500))]);
    const captured = await stopAllOf(run);
    trace('all stopped');

    m.sippStats = await readSippStatFile(join(ctx.pointDir, 'caller_stat.csv')).catch(() => undefined);
    m.sippRtt = await readSippRttFile(join(ctx.pointDir, 'caller_rtt.csv')).catch(() => []);
    if (ctx.capture) {
      const pcap = await readPcapFile(join(ctx.pointDir, 'caller.pcap'));
      m.capture = { packets: pcap.packets, callerPort: layout.callerPort, truncated: pcap.stats.truncatedTail, proxyPorts, tcpdump: captured, records: pcap.stats.records };
    }
  } catch (e) {
    await stopAllOf(run);
    m.error = (e as Error).message;
  }
  if (run.faults) await writeFaultOutcome(ctx.pointDir, await run.faults.stop());
  ctx.onMeasurements?.(m);
  const row = buildPointRow(m);
  trace('row ready');
  return row;
}
