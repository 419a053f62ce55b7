// forkbench's own proxy as the proxy under test: one centralized proxy, or a head with K fork nodes,
// all local child processes.
import { launchProxy, readCounters, type LaunchOptions, type ProxyProcess } from './proxy-launcher.js';
import type { MeasuredProcess, ProxyTarget, RunningTarget, TargetStart } from './target.js';

function running(sipPort: number, central: ProxyProcess, forkNodes: ProxyProcess[]): RunningTarget {
  const all = [central, ...forkNodes];
  const processes: MeasuredProcess[] = all.map((p, i) => ({ role: i === 0 ? 'central' : 'fork-node', name: p.child.name, pid: p.child.pid, tree: false }));
  return {
    sipAddress: `127.0.0.1:${sipPort}`,
    processes,
    readCounters: () => readCounters(central.metricsUrl),
    stop: async () => {
      await Promise.allSettled(all.map((p) => p.child.stop()));
    },
  };
}

/** The point's parse mode as the proxy flag ("n/a" only happens for Kamailio). */
function parseOf(s: TargetStart): 'full' | 'lazy' {
  return s.point.parse === 'lazy' ? 'lazy' : 'full';
}

export const forkbenchCentralized: ProxyTarget = {
  name: 'forkbench centralized',
  async start(s) {
    // relay180 applies to every forking proxy under test alike (issue 10, equal terms).
    const o: LaunchOptions = { role: 'centralized', port: s.layout.proxyPort, metricsPort: s.layout.metricsPort, groupsFile: s.groupsFile, parse: parseOf(s), relay180: s.relay180, cpuList: s.pinning?.proxy };
    return running(s.layout.proxyPort, await launchProxy(o), []);
  },
};

export const forkbenchDistributed: ProxyTarget = {
  name: 'forkbench distributed',
  async start(s) {
    const { layout, point } = s;
    const nodes: ProxyProcess[] = [];
    try {
      // Fork nodes first, so the head's first INVITE finds them listening.
      for (let i = 0; i < point.forkNodes; i++) {
        nodes.push(
          await launchProxy({
            role: 'fork-node',
            port: layout.forkNodePorts[i]!,
            metricsPort: layout.forkNodeMetricsPorts[i]!,
            groupsFile: s.groupsFile,
            parse: 'full',
            shard: `${i + 1}/${point.forkNodes}`,
            relay180: s.relay180,
            cpuList: s.pinning?.forkNodes,
          }),
        );
      }
      const head = await launchProxy({
        role: 'head',
        port: layout.proxyPort,
        metricsPort: layout.metricsPort,
        groupsFile: s.groupsFile,
        parse: parseOf(s),
        forkNodePorts: layout.forkNodePorts,
        relay180: s.relay180,
        cpuList: s.pinning?.proxy,
      });
      return running(layout.proxyPort, head, nodes);
    } catch (e) {
      await Promise.allSettled(nodes.map((n) => n.child.stop()));
      throw e;
    }
  },
};
