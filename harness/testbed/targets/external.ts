// --targets external: a proxy forkbench did not start. Nothing to start or stop; the caller sends to
// --proxy, the members are where the topology puts them (the user loaded their addresses from the
// files `forkbench external-files` wrote), and the CPU comes from --target-pid (on the host where
// "proxy" is placed, or this machine), --target-metrics, or is reported as not measured.
import { writeTargetFiles, metricsProbe, noProbe, parseProxyAddress, pidProbe, type TargetCpuProbe } from './external-target.js';
import { LocalHost } from '../hosts/host.js';
import type { Testbed } from '../hosts/testbed.js';
import type { ProxyTarget } from './target.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ExternalOptions {
  proxy: string; // "IPv4:PORT"
  targetPid?: number;
  targetMetrics?: URL;
}

export function externalTarget(o: ExternalOptions | undefined, bed: Testbed | undefined): ProxyTarget {
  return {
    name: 'external',
    async start(s) {
      if (!o) throw new Error('target external needs --proxy HOST:PORT');
      parseProxyAddress(o.proxy);
      // The point's record of what the proxy had to know, in the forms users paste.
      const groups = (JSON.parse(await readFile(s.groupsFile, 'utf8')) as { groups: Record<string, string[]> }).groups;
      await writeTargetFiles(join(s.workDir, 'external'), groups, o.proxy);
      let probe: TargetCpuProbe;
      if (o.targetPid !== undefined) {
        const spec = bed?.placement.proxy;
        const host = spec && bed ? bed.host(spec) : new LocalHost({ name: 'local', kind: 'local', address: '127.0.0.1', roles: [] });
        probe = pidProbe(host, o.targetPid);
      } else if (o.targetMetrics) probe = metricsProbe(o.targetMetrics);
      else probe = noProbe();
      return { sipAddress: o.proxy, processes: [], cpuProbe: probe, readCounters: async () => undefined, stop: async () => undefined };
    },
  };
}
