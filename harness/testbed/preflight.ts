// Checks before anything starts: tools installed, code built, ports free. Each failure is one
// line naming the problem and the fix (the CLI exits 2 and starts nothing).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sweepPoints, type BenchConfig } from '../plan/bench-config.js';
import { layoutPoint, portsOf } from '../plan/point-layout.js';
import { portFree } from './processes.js';
import { detectCgroups } from './cgroup.js';
import { lossUnavailable } from '../faults/loss.js';
import { findBinary, findKamailio, findSipp, findTcpdump, packageRoot } from './system.js';

export class PreflightError extends Error {}

export async function preflight(config: BenchConfig): Promise<void> {
  if (!findSipp()) throw new PreflightError('sipp not found: install it with apt-get install -y sip-tester (or run make bench, which does)');
  if (config.capture && !findTcpdump()) throw new PreflightError('tcpdump not found: install it with apt-get install -y tcpdump, or pass --no-capture');
  if (config.targets.includes('kamailio') && !findKamailio()) throw new PreflightError('kamailio not found: install it with apt-get install -y kamailio, or drop it from --targets');
  if (config.pin && !findBinary('taskset')) throw new PreflightError('taskset not found (--pin): install util-linux, or drop --pin');
  if (config.cpuBudget > 0) {
    const cg = detectCgroups();
    if (!cg.ok) throw new PreflightError(`--cpu-budget ${config.cpuBudget}: ${cg.reason}`);
  }
  if (config.loss) {
    const why = await lossUnavailable();
    if (why) throw new PreflightError(why);
  }
  if (!existsSync(join(packageRoot(), 'dist', 'cli', 'forkbench.js'))) throw new PreflightError('forkbench is not built: run npm run build (make bench does)');
  const points = sweepPoints(config);
  const biggest = points.reduce((a, p) => (p.groupSize + p.forkNodes > a.groupSize + a.forkNodes ? p : a), points[0]!);
  const { udp, tcp } = portsOf(layoutPoint(biggest, config.basePort));
  for (const p of udp) if (!(await portFree(p, 'udp'))) throw new PreflightError(`UDP port ${p} is in use: stop what holds it or choose another --base-port`);
  for (const p of tcp) if (!(await portFree(p, 'tcp'))) throw new PreflightError(`TCP port ${p} is in use: stop what holds it or choose another --base-port`);
}
