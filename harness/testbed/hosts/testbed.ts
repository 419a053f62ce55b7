// The test bed of a run (`--topology local | netns | FILE`): the hosts, opened once per sweep (the
// netns lab created, the ssh hosts' work dirs made) and closed at the end, and what a point needs
// from them: each role's host and address, groups.json with members at their hosts' addresses,
// SIPp and tcpdump started on the right host. `local` keeps today's path (no test bed at all).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchConfig } from '../../plan/bench-config.js';
import { startCapture, type Capture } from '../../measure/capture.js';
import { LocalHost, type Host } from './host.js';
import { startSippOn } from '../load/host-sipp.js';
import { NetnsHost, NetnsLab, labSubnet } from './netns.js';
import type { PointLayout } from '../../plan/point-layout.js';
import type { SippExit, SippOptions, SippProcess } from '../load/sipp.js';
import { SshHost } from './ssh-host.js';
import { describePlacement, memberHost, TopologyError, type HostSpec, type NetnsHostSpec, type Placement, type Topology } from './topology.js';
import { loadTopology, preflightTopology } from './topology-preflight.js';

export interface Testbed {
  readonly topology: Topology;
  readonly placement: Placement;
  host(spec: HostSpec): Host;
  /** ssh hosts: the remote directory of this run. */
  remoteDir(spec: HostSpec): string | undefined;
  /** For meta.json: the hosts and the roles on them. */
  describe(): Record<string, unknown>;
  close(): Promise<void>;
}

/** Addresses of each role for one point. */
export interface PointAddresses {
  caller: string;
  proxy: string;
  forkNodes: string[];
  members: string[];
}

export function pointAddresses(p: Placement, n: number, k: number): PointAddresses {
  return {
    caller: p.caller.address,
    proxy: p.proxy?.address ?? '127.0.0.1',
    forkNodes: p.forkNodes.slice(0, k).map((h) => h.address),
    members: Array.from({ length: n }, (_v, j) => memberHost(p, j).address),
  };
}

/** The point's groups.json with each member at its host's address (ports from the layout). */
export function placedGroupsJson(layout: PointLayout, a: PointAddresses): string {
  const members = layout.memberPorts.map((port, j) => `sip:m${j + 1}@${a.members[j]}:${port}`);
  return JSON.stringify({ groups: { [layout.group]: members } }, null, 1);
}

/**
 * Opens `--topology`: parse and place (TopologyError on bad input: nothing started), preflight
 * (root, ssh reachable), then create the netns lab and the ssh work dirs. Returns undefined for
 * `local`: the point runner's own local path.
 */
export async function openTestbed(arg: string | undefined, config: BenchConfig): Promise<Testbed | undefined> {
  if (arg === undefined || arg === 'local') return undefined;
  // An external proxy runs where the user runs it: "proxy" is then only where --target-pid is read.
  const needs = { forkNodes: config.modes.includes('distributed') ? config.forkNodes : 0, proxy: config.targets.every((t) => t === 'external') ? ('optional' as const) : ('required' as const) };
  const { topology, placement } = await loadTopology(arg, needs, labSubnet());
  for (const h of [placement.proxy, ...placement.forkNodes]) {
    if (h?.kind === 'ssh') {
      throw new TopologyError(`${arg}: the proxy and fork nodes run on local or netns hosts (forkbench starts them); for a proxy on ssh host ${h.name}, start it there yourself and use --target external`);
    }
  }
  await preflightTopology(topology);

  const netnsSpecs = topology.hosts.filter((h): h is NetnsHostSpec => h.kind === 'netns');
  let lab: NetnsLab | undefined;
  if (netnsSpecs.length) {
    // The root namespace gets .1 of the first netns host's /24, so the harness reaches /metrics.
    const first = netnsSpecs[0]!.address.split('.').slice(0, 3).join('.');
    const rootAddress = `${first}.1`;
    const taken = topology.hosts.some((h) => h.address === rootAddress);
    lab = await NetnsLab.create(netnsSpecs, taken ? {} : { rootAddress });
  }
  const hosts = new Map<string, Host>();
  const remoteDirs = new Map<string, string>();
  try {
    for (const spec of topology.hosts) {
      if (spec.kind === 'netns') hosts.set(spec.name, lab!.host(spec.name));
      else if (spec.kind === 'ssh') {
        const h = new SshHost(spec);
        hosts.set(spec.name, h);
        remoteDirs.set(spec.name, await h.makeWorkDir());
      } else hosts.set(spec.name, new LocalHost(spec));
    }
  } catch (e) {
    lab?.destroySync();
    throw e;
  }
  const close = async (): Promise<void> => {
    for (const [name, dir] of remoteDirs) await (hosts.get(name) as SshHost).removeWorkDir(dir).catch(() => undefined);
    remoteDirs.clear();
    lab?.destroySync();
  };
  return {
    topology,
    placement,
    host: (spec) => hosts.get(spec.name)!,
    remoteDir: (spec) => remoteDirs.get(spec.name),
    describe: () => ({
      source: topology.source,
      hosts: topology.hosts.map((h) => ({ name: h.name, kind: h.kind, address: h.address, roles: h.roles, ...(h.kind === 'ssh' ? { ssh: h.ssh, workDir: remoteDirs.get(h.name) ?? '(removed)' } : {}), ...(lab && h.kind === 'netns' ? { namespace: lab.host(h.name).namespace } : {}) })),
    }),
    close,
  };
}

/** Writes <pointDir>/placement.json: where each role of this point ran. */
export async function writePlacement(pointDir: string, bed: Testbed, n: number, k: number): Promise<void> {
  const p = { ...bed.placement, forkNodes: bed.placement.forkNodes.slice(0, k) };
  await writeFile(join(pointDir, 'placement.json'), `${JSON.stringify({ topology: bed.topology.source, roles: describePlacement(p, n) }, null, 1)}\n`);
}

/** SIPp on the host of a role, as a SippProcess; its files land in outDir when it has ended. */
export function startSippVia(bed: Testbed, spec: HostSpec, opts: SippOptions, subdir: string): SippProcess {
  const host = bed.host(spec);
  const remoteBase = bed.remoteDir(spec);
  let exited = false;
  const started = (async () => {
    const remoteDir = remoteBase ? `${remoteBase}/${subdir}` : undefined;
    if (remoteDir) await host.exec('mkdir', ['-p', remoteDir]);
    return startSippOn(host, { ...opts, address: spec.address, remoteDir });
  })();
  const done: Promise<SippExit> = started.then(
    async (s) => {
      const code = await s.done;
      exited = true;
      await s.collect().catch(() => undefined);
      const exit: SippExit = { code, signal: null };
      return exit;
    },
    (e: Error) => {
      exited = true;
      return { code: null, signal: null, error: e.message };
    },
  );
  return {
    pid: -1, // on its host; not used by the point runner
    name: opts.name,
    args: [],
    done,
    stop: async (graceMs) => {
      if (!exited) await (await started.catch(() => undefined))?.stop(graceMs);
      return done;
    },
  };
}

/** Resolves when a UDP socket is bound on `port` on that host (its own /proc/net/udp). */
export async function waitUdpBoundOn(host: Host, port: number, timeoutMs = 10_000): Promise<void> {
  const want = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await host.exec('cat', ['/proc/net/udp']).catch(() => '');
    if (text.split('\n').some((l) => l.trim().split(/\s+/)[1]?.endsWith(want))) return;
    if (Date.now() > deadline) throw new Error(`nothing bound UDP port ${port} on ${host.spec.name} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** tcpdump of the caller's leg on the caller's host: eth0 in a namespace, any interface locally; none over ssh. */
export async function captureOn(bed: Testbed, file: string, port: number): Promise<Capture | undefined> {
  const spec = bed.placement.caller;
  const host = bed.host(spec);
  if (host instanceof NetnsHost) return startCapture({ file, port, iface: 'eth0', netns: host.namespace });
  if (spec.kind === 'local') return startCapture({ file, port, iface: spec.address.startsWith('127.') ? 'lo' : 'any' });
  return undefined;
}
