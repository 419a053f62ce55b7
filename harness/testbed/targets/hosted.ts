// The proxy under test on the hosts of a topology: forkbench's proxy (centralized, or head + fork
// nodes) or Kamailio (centralized or distributed), each process on the host its role is placed on
// (local or netns: the harness starts them), listening on that host's address.
import { join, resolve } from 'node:path';
import type { SweepPoint } from '../../plan/bench-config.js';
import type { HostProcess } from '../hosts/host.js';
import { startKamailio, type KamailioProcess } from './kamailio-launcher.js';
import { startDistributedKamailio } from './kamailio-distributed.js';
import { NetnsHost } from '../hosts/netns.js';
import { readCounters } from './proxy-launcher.js';
import { packageRoot } from '../system.js';
import { pointAddresses, type Testbed } from '../hosts/testbed.js';
import type { HostSpec } from '../hosts/topology.js';
import type { MeasuredProcess, ProxyTarget, RunningTarget, TargetStart } from './target.js';

const START_TIMEOUT_MS = 10_000;

function netnsOf(bed: Testbed, spec: HostSpec | undefined): string | undefined {
  if (!spec) return undefined;
  const h = bed.host(spec);
  return h instanceof NetnsHost ? h.namespace : undefined;
}

async function startedProxy(p: HostProcess, name: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!p.child.stdoutTail().includes('listening on')) {
    if (!p.child.running) throw new Error(`${name} exited at start: ${p.child.stderrTail().trim() || `code ${p.child.exitInfo?.code}`}`);
    if (Date.now() > deadline) {
      await p.stop();
      throw new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function forkbenchOnHosts(bed: Testbed): ProxyTarget {
  return {
    name: 'forkbench (topology)',
    async start(s: TargetStart): Promise<RunningTarget> {
      const { point, layout } = s;
      const k = point.mode === 'distributed' ? point.forkNodes : 0;
      const a = pointAddresses(bed.placement, point.groupSize, k);
      const cli = join(packageRoot(), 'dist', 'cli', 'forkbench.js');
      const parse = point.parse === 'lazy' ? 'lazy' : 'full';
      const started: { p: HostProcess; pid: number; role: MeasuredProcess['role']; name: string }[] = [];
      const stop = async (): Promise<void> => {
        await Promise.allSettled(started.map((x) => x.p.stop()));
      };
      try {
        for (let i = 0; i < k; i++) {
          const spec = bed.placement.forkNodes[i]!;
          const name = `fork-node ${i + 1}/${k}`;
          const args = [cli, 'fork-node', '--listen', `${a.forkNodes[i]}:${layout.forkNodePorts[i]}`, '--groups', s.groupsFile, '--parse', 'full', '--metrics', `${a.forkNodes[i]}:${layout.forkNodeMetricsPorts[i]}`, '--shard', `${i + 1}/${k}`, '--relay-180', s.relay180];
          const p = bed.host(spec).spawn(process.execPath, args, { name });
          started.push({ p, pid: await p.pid, role: 'fork-node', name });
          await startedProxy(p, name);
        }
        const central = bed.placement.proxy!;
        const name = k ? 'head' : 'proxy';
        const args = [cli, 'proxy', '--listen', `${a.proxy}:${layout.proxyPort}`, '--groups', s.groupsFile, '--parse', parse, '--metrics', `${a.proxy}:${layout.metricsPort}`, '--mode', k ? 'distributed' : 'centralized'];
        if (k) args.push('--fork-nodes', a.forkNodes.map((addr, i) => `${addr}:${layout.forkNodePorts[i]}`).join(','));
        const p = bed.host(central).spawn(process.execPath, args, { name });
        started.unshift({ p, pid: await p.pid, role: 'central', name });
        await startedProxy(p, name);
      } catch (e) {
        await stop();
        throw e;
      }
      const metricsUrl = `http://${a.proxy}:${layout.metricsPort}/metrics.json`;
      return {
        sipAddress: `${a.proxy}:${layout.proxyPort}`,
        processes: started.map((x) => ({ role: x.role, name: x.name, pid: x.pid, tree: false })),
        readCounters: () => readCounters(metricsUrl),
        stop,
      };
    },
  };
}

function kamailioOnHosts(bed: Testbed): ProxyTarget {
  return {
    name: 'kamailio (topology)',
    async start(s: TargetStart): Promise<RunningTarget> {
      const { point, layout } = s;
      const k = point.mode === 'distributed' ? point.forkNodes : 0;
      const a = pointAddresses(bed.placement, point.groupSize, k);
      const workDir = resolve(s.workDir, 'kamailio');
      const sipAddress = `${a.proxy}:${layout.proxyPort}`;
      if (!k) {
        const kam: KamailioProcess = await startKamailio({ listen: sipAddress, groupsFile: resolve(s.groupsFile), workDir, netns: netnsOf(bed, bed.placement.proxy) });
        return { sipAddress, processes: [{ role: 'central', name: 'kamailio', pid: kam.mainPid, tree: true }], readCounters: async () => undefined, stop: () => kam.stop().catch(() => undefined) };
      }
      const d = await startDistributedKamailio({
        listen: sipAddress,
        forkNodes: a.forkNodes.map((addr, i) => `${addr}:${layout.forkNodePorts[i]}`),
        groupsFile: resolve(s.groupsFile),
        workDir,
        netns: { head: netnsOf(bed, bed.placement.proxy), forkNodes: bed.placement.forkNodes.slice(0, k).map((h) => netnsOf(bed, h)) },
      });
      return {
        sipAddress,
        processes: [
          { role: 'central', name: 'kamailio head', pid: d.head.mainPid, tree: true },
          ...d.forkNodes.map((f, i) => ({ role: 'fork-node' as const, name: `kamailio fork node ${i + 1}`, pid: f.mainPid, tree: true })),
        ],
        readCounters: async () => undefined,
        stop: () => d.stop(),
      };
    },
  };
}

/** The target of a point on the test bed's hosts. */
export function hostedTargetFor(point: Pick<SweepPoint, 'target'>, bed: Testbed): ProxyTarget {
  return point.target === 'kamailio' ? kamailioOnHosts(bed) : forkbenchOnHosts(bed);
}
