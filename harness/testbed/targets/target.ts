// "Where the proxy under test runs", apart from what a point measures and what it writes. The point
// runner knows only this interface: start the target, send calls to its SIP address, sample the CPU
// of its processes, read its counters, stop it. A new kind of proxy under test (an external proxy,
// a proxy on another host, in a network namespace, under a CPU budget) is one more implementation.
import type { BenchConfig, SweepPoint } from '../../plan/bench-config.js';
import type { PointLayout } from '../../plan/point-layout.js';
import type { CgroupUsage } from '../cgroup.js';
import type { ProxyCounters } from './proxy-launcher.js';
import type { TargetCpuProbe } from './external-target.js';

/** CPU lists for --pin (taskset -c): proxy/head, fork nodes, load generators. */
export interface Pinning {
  proxy: string;
  forkNodes: string;
  load: string;
}

/** What a target needs to start for one point. */
export interface TargetStart {
  point: SweepPoint;
  /** Ports of the point: the proxy's SIP and metrics ports, fork nodes', members'. */
  layout: PointLayout;
  /** groups.json of the point (absolute path). */
  groupsFile: string;
  /** The point's folder: a target may keep its config and logs there. */
  workDir: string;
  relay180: BenchConfig['relay180'];
  pinning?: Pinning;
}

/** A process whose CPU is the proxy's, sampled over the measured window. */
export interface MeasuredProcess {
  /** 'central' for the proxy the caller talks to (centralized proxy, distributed head, Kamailio); 'fork-node' otherwise. */
  role: 'central' | 'fork-node';
  name: string;
  pid: number;
  /** Count its descendants too (Kamailio forks workers). */
  tree: boolean;
}

/** A started target. Everything it started, `stop` stops. */
export interface RunningTarget {
  /** Where the caller sends its INVITEs, "host:port". */
  readonly sipAddress: string;
  /** The central process first, then fork nodes. */
  readonly processes: readonly MeasuredProcess[];
  /** Message counters of the central process; undefined when the target exposes none (Kamailio). */
  readCounters(): Promise<ProxyCounters | undefined>;
  /** A target forkbench did not start: its CPU comes from this probe (a pid on a host, Prometheus, or none), not from `processes`. */
  readonly cpuProbe?: TargetCpuProbe;
  /** Stops every process of the target; never throws. */
  stop(): Promise<void>;
  /** Under a CPU budget: the cgroup counters of a measured process (by pid); undefined otherwise. */
  budgetUsage?(pid: number): CgroupUsage | undefined;
  /** Under a CPU budget: puts the quota in force (the point runner calls it as the window opens). */
  enforceBudget?(): Promise<void>;
  /** Under a CPU budget: the quota in cores per process. */
  readonly cpuBudgetCores?: number;
}

export interface ProxyTarget {
  /** e.g. "forkbench centralized", for messages. */
  readonly name: string;
  /** Starts the target and resolves once it accepts calls; on failure it has stopped what it started. */
  start(s: TargetStart): Promise<RunningTarget>;
}
