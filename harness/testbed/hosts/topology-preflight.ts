// Checks of a topology that need the system, run before anything starts: root (and `ip`) for
// network namespaces, and each ssh host answering a key-based, non-interactive login. Every failure
// is a TopologyError with one line naming the problem and the fix.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { localTopology, netnsTopology, parseTopology, placeRoles, TopologyError, type Placement, type SshHostSpec, type Topology, type TopologyNeeds } from './topology.js';
import { sshArgs } from './ssh-host.js';

/** Reads `--topology` (local | netns | a file path) and places the roles; throws TopologyError. */
export async function loadTopology(arg: string, needs: TopologyNeeds, netnsSubnet?: string): Promise<{ topology: Topology; placement: Placement }> {
  let topology: Topology;
  if (arg === 'local') topology = localTopology();
  else if (arg === 'netns') topology = netnsTopology(needs.forkNodes, netnsSubnet);
  else {
    let text: string;
    try {
      text = await readFile(arg, 'utf8');
    } catch (e) {
      throw new TopologyError(`cannot read topology file ${arg} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give --topology local, netns or an existing JSON file`);
    }
    topology = parseTopology(text, arg);
  }
  return { topology, placement: placeRoles(topology, needs) };
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}`.trim() }));
  });
}

export interface PreflightDeps {
  uid?: () => number;
}

/** Root and `ip` for netns hosts; a working `ssh -o BatchMode=yes HOST true` for each ssh host. */
export async function preflightTopology(topo: Topology, deps: PreflightDeps = {}): Promise<void> {
  const uid = deps.uid ?? (() => process.getuid?.() ?? -1);
  if (topo.hosts.some((h) => h.kind === 'netns')) {
    if (uid() !== 0) throw new TopologyError(`netns hosts need root to create namespaces, veths and a bridge: run forkbench as root (sudo) or use --topology local`);
    const ip = await run('ip', ['-V'], 5000);
    if (!ip.ok) throw new TopologyError(`netns hosts need the "ip" command (iproute2): install it (apt-get install iproute2)`);
  }
  const ssh = topo.hosts.filter((h): h is SshHostSpec => h.kind === 'ssh');
  await Promise.all(
    ssh.map(async (h) => {
      const r = await run('ssh', [...sshArgs(h, { connectTimeoutS: 5 }), 'true'], 15_000);
      if (!r.ok) {
        const why = r.out.split('\n').filter(Boolean).pop() ?? 'no answer';
        throw new TopologyError(`ssh host ${h.name} (${h.ssh}) is unreachable (${why}): check that "ssh -o BatchMode=yes ${h.ssh} true" works with a key`);
      }
    }),
  );
}
