// `forkbench external-files`: what a user loads into their own proxy before
// `forkbench bench --targets external --proxy HOST:PORT`: every group of the sweep with its members'
// addresses (the ports a point's layout gives them), as groups.json, members.csv and a ready Kamailio
// config. Also the bench flags of the external target, parsed into ExternalOptions.
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { fail } from './cli-fail.js';
import { ExternalTargetError, parseMetricsUrl, parseProxyAddress, parseTargetPid, writeTargetFiles } from '../testbed/targets/external-target.js';
import { layoutPoint } from '../plan/point-layout.js';
import { localTopology, memberHost, parseTopology, placeRoles, TopologyError, type Placement } from '../testbed/hosts/topology.js';
import type { ExternalOptions } from '../testbed/targets/external.js';

export interface ExternalFlags {
  proxy?: string;
  targetPid?: string;
  targetMetrics?: string;
}

/** Parses --proxy/--target-pid/--target-metrics; undefined when the sweep has no external target. */
export function externalOptions(targets: readonly string[], f: ExternalFlags): ExternalOptions | undefined {
  const wanted = targets.includes('external');
  if (!wanted) {
    if (f.proxy || f.targetPid || f.targetMetrics) throw new ExternalTargetError('--proxy, --target-pid and --target-metrics are for --targets external: add it, or drop them');
    return undefined;
  }
  if (f.targetPid && f.targetMetrics) throw new ExternalTargetError('give one CPU source: --target-pid or --target-metrics, not both');
  const proxy = f.proxy ?? '';
  parseProxyAddress(proxy);
  return { proxy, ...(f.targetPid ? { targetPid: parseTargetPid(f.targetPid) } : {}), ...(f.targetMetrics ? { targetMetrics: parseMetricsUrl(f.targetMetrics) } : {}) };
}

/** Every group gN of the sweep, members at their hosts' addresses and layout ports. */
export function sweepGroups(groupSizes: readonly number[], basePort: number, placement: Placement): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  for (const n of groupSizes) {
    const l = layoutPoint({ groupSize: n, forkNodes: 0 }, basePort);
    groups[l.group] = l.memberPorts.map((port, j) => `sip:m${j + 1}@${memberHost(placement, j).address}:${port}`);
  }
  return groups;
}

export function registerExternalCommands(program: Command): void {
  program
    .command('external-files')
    .description('write groups.json, members.csv and a Kamailio config for your own proxy, before bench --targets external')
    .requiredOption('--proxy <host:port>', 'where your proxy listens for SIP over UDP')
    .option('--group-sizes <list>', 'group sizes of the sweep', '2,8,32')
    .option('--base-port <port>', 'the --base-port of the sweep', '20000')
    .option('--topology <file>', 'topology file (members at their hosts\' addresses); default: all on 127.0.0.1')
    .requiredOption('--out <dir>', 'folder to write into')
    .action(async (o: { proxy: string; groupSizes: string; basePort: string; topology?: string; out: string }) => {
      try {
        parseProxyAddress(o.proxy);
        const sizes = o.groupSizes.split(',').map(Number);
        if (sizes.some((n) => !Number.isInteger(n) || n < 1)) fail(`--group-sizes ${o.groupSizes}: give whole numbers >= 1, e.g. 2,8,32`);
        const base = Number(o.basePort);
        if (!Number.isInteger(base) || base < 1024 || base > 60000) fail(`--base-port ${o.basePort} is outside 1024-60000`);
        const topo = o.topology ? parseTopology(await readFile(o.topology, 'utf8'), o.topology) : localTopology();
        const placement = placeRoles(topo, { forkNodes: 0, proxy: 'optional' });
        const files = await writeTargetFiles(o.out, sweepGroups(sizes, base, placement), o.proxy);
        console.log(`wrote ${files.groupsJson}, ${files.membersCsv} and ${files.kamailioCfg}: load them into your proxy, then run forkbench bench --targets external --proxy ${o.proxy} --group-sizes ${o.groupSizes} --base-port ${base}`);
      } catch (e) {
        if (e instanceof ExternalTargetError || e instanceof TopologyError) fail(e.message);
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') fail(`cannot read ${o.topology}: give an existing topology file`);
        throw e;
      }
    });
}
