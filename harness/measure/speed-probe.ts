// Machine speed over a measured window (issue 10). On a shared host the same instructions cost a
// varying amount of CPU time: the probe's unit moved +-18 % from second to second on the idle 2-core
// test bed (no steal time shown), and its 10 s means tracked the proxy's CPU per call at a fixed
// rate (r = 0.72). Under a CPU budget that matters: 0.2 cores buys less work on a slow stretch, so
// capacity moves with the host, not the proxy. The probe runs beside the proxy under test as a
// child process (speed-probe-worker.ts, about 2 % of a core, counted as test bed); each row records
// the window's mean CPU per unit as `speed_probe_ns`, and capacity.csv scales capacity to a
// reference core with it (capacityAtReference).
import { join } from 'node:path';
import { spawnTracked, type TrackedChild } from '../testbed/processes.js';
import { packageRoot } from '../testbed/system.js';
import { mean } from './percentiles.js';

/**
 * The reference core: one that runs a probe unit in this many CPU nanoseconds. The median of this
 * test bed (2 vCPU at 2.6 GHz, Node 20) over a quiet minute, 2026-12-07 (its 10 s means: 62-83 us);
 * only ratios to it are used.
 */
export const SPEED_PROBE_REF_NS = 70_000;
/** One sample every this many ms, of this many units (about 1 ms of CPU: 2 % of a core). */
export const PROBE_INTERVAL_MS = 50;
export const PROBE_UNITS_PER_SAMPLE = 10;

// The compiled worker, also when this module runs from source (tests).
const WORKER = join(packageRoot(), 'dist', 'harness', 'measure', 'speed-probe-worker.js');

/** Mean of the samples, undefined when there are none (a window too short, or the probe died). */
export function meanSample(samples: readonly number[]): number | undefined {
  return mean(samples.filter((s) => Number.isFinite(s) && s > 0));
}

/**
 * Capacity on the reference core: a host running the probe `probeNs / SPEED_PROBE_REF_NS` times
 * slower gives a budgeted proxy that much less work per second, so its capacity is scaled up by it.
 */
export function capacityAtReference(capacityCps: number, probeNs: number | undefined, refNs = SPEED_PROBE_REF_NS): number | undefined {
  if (probeNs === undefined || !(probeNs > 0) || !(refNs > 0)) return undefined;
  return Math.round((capacityCps * probeNs) / refNs);
}

export class SpeedProbe {
  private samples: number[] = [];
  private partial = '';
  private constructor(private readonly child: TrackedChild) {
    child.child.stdout?.setEncoding('utf8');
    child.child.stdout?.on('data', (chunk: string) => {
      const lines = (this.partial + chunk).split('\n');
      this.partial = lines.pop() ?? '';
      for (const l of lines) this.samples.push(Number(l));
    });
  }

  /** Starts the probe process; it stops itself after `limitS` seconds at the latest. */
  static start(limitS: number): SpeedProbe {
    const child = spawnTracked(process.execPath, [WORKER, String(Math.ceil(limitS)), String(PROBE_INTERVAL_MS), String(PROBE_UNITS_PER_SAMPLE)], {
      name: 'speed-probe',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new SpeedProbe(child);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Opens the window: samples taken before now (start-up, JIT warm-up) are dropped. */
  mark(): void {
    this.samples = [];
  }

  /** Mean CPU ns per unit since mark(); undefined when no sample came. */
  read(): number | undefined {
    return meanSample(this.samples);
  }

  async stop(): Promise<void> {
    this.child.child.stdin?.end();
    await this.child.stop(500);
  }
}
