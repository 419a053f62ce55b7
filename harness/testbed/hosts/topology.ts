// Where each role of a run executes: a topology names hosts (local, netns or ssh) and places the
// roles on them. This module is pure: it parses and validates a topology document (or builds the
// built-in `local` / `netns` layouts) and answers "which host runs member j / fork node i". Checks
// that need the system (root for netns, an ssh host answering) live in topology-preflight.ts.
// Every problem is one line naming the problem and the fix (shown to the user as is, exit 2).

export const HOST_KINDS = ['local', 'netns', 'ssh'] as const;
export type HostKind = (typeof HOST_KINDS)[number];

/** Roles a host can carry. "members" and "fork-nodes" spread over every host that lists them. */
export type RoleName = 'caller' | 'members' | 'proxy' | 'fork-nodes' | `fork-node-${number}`;

export interface LocalHostSpec {
  name: string;
  kind: 'local';
  address: string; // where the other roles reach it; 127.0.0.1 unless given
  roles: RoleName[];
}

export interface NetnsHostSpec {
  name: string;
  kind: 'netns';
  address: string; // inside 198.18.0.0/15 (RFC 2544 benchmarking range)
  roles: RoleName[];
}

export interface SshHostSpec {
  name: string;
  kind: 'ssh';
  address: string; // the IPv4 address SIP traffic uses to reach this host
  ssh: string; // destination for the ssh client: "user@host" or "host"
  sshPort?: number;
  identity?: string; // -i private key file
  sshOptions?: string[]; // extra -o options, e.g. ["UserKnownHostsFile=/tmp/kh"]
  workDir?: string; // remote directory for scenarios and SIPp output (default: a mktemp dir)
  roles: RoleName[];
}

export type HostSpec = LocalHostSpec | NetnsHostSpec | SshHostSpec;

export interface Topology {
  /** "local", "netns" (built-in layouts) or the path of the file it came from. */
  source: string;
  hosts: HostSpec[];
}

/** What the run needs placed: fork nodes only in the distributed mode; no proxy for an external target. */
export interface TopologyNeeds {
  forkNodes: number; // K (0 when only centralized points run)
  proxy: 'required' | 'optional'; // optional: the external target (a placed "proxy" names where --target-pid runs)
}

export class TopologyError extends Error {
  override name = 'TopologyError';
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const FORK_NODE_RE = /^fork-node-(\d{1,3})$/;
const SSH_DEST_RE = /^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.:_\[\]-]+$/;
const SSH_OPTION_RE = /^[A-Za-z]+=[^\s]+$/;

/** 198.18.0.0/15: 198.18.0.0 - 198.19.255.255. */
export const BENCH_NET = { first: '198.18.0.0', prefix: 15 } as const;

export function ipv4ToInt(ip: string): number | null {
  const m = IPV4_RE.exec(ip);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Usable host address in 198.18.0.0/15 (not the network or broadcast address). */
export function inBenchNet(ip: string): boolean {
  const n = ipv4ToInt(ip);
  if (n === null) return false;
  const lo = ipv4ToInt(BENCH_NET.first)!;
  const hi = lo + 2 ** (32 - BENCH_NET.prefix) - 1;
  return n > lo && n < hi;
}

function isRole(r: string): r is RoleName {
  return r === 'caller' || r === 'members' || r === 'proxy' || r === 'fork-nodes' || FORK_NODE_RE.test(r);
}

function where(source: string): string {
  return source === 'local' || source === 'netns' ? `--topology ${source}` : source;
}

/** Parses the JSON text of a topology file; `source` is its path, used in messages. */
export function parseTopology(text: string, source: string): Topology {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TopologyError(`${source} is not JSON (${(e as Error).message}): fix the file, see docs/topology.md for an example`);
  }
  const hostsRaw = (doc as { hosts?: unknown } | null)?.hosts;
  if (!Array.isArray(hostsRaw) || hostsRaw.length === 0) {
    throw new TopologyError(`${source} has no "hosts" array: write {"hosts": [{"name": "a", "kind": "local", "roles": ["caller"]}, ...]}`);
  }
  const hosts = hostsRaw.map((h, i) => parseHost(h, i, source));
  return { source, hosts };
}

function parseHost(raw: unknown, i: number, source: string): HostSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TopologyError(`${source}: hosts[${i}] is not an object: give {"name", "kind", "roles"}`);
  const h = raw as Record<string, unknown>;
  const name = h.name;
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new TopologyError(`${source}: hosts[${i}] needs a "name" of letters, digits, _ or - (up to 32, starting with a letter), got ${JSON.stringify(name)}`);
  }
  const kind = h.kind;
  if (typeof kind !== 'string' || !(HOST_KINDS as readonly string[]).includes(kind)) {
    throw new TopologyError(`${source}: host ${name} has unknown kind ${JSON.stringify(kind)}: use one of ${HOST_KINDS.join(', ')}`);
  }
  const known = new Set(['name', 'kind', 'address', 'roles', ...(kind === 'ssh' ? ['ssh', 'sshPort', 'identity', 'sshOptions', 'workDir'] : [])]);
  for (const key of Object.keys(h)) {
    if (!known.has(key)) throw new TopologyError(`${source}: host ${name} (${kind}) has unknown key "${key}": remove it (known: ${[...known].join(', ')})`);
  }
  const rolesRaw = h.roles ?? [];
  if (!Array.isArray(rolesRaw) || !rolesRaw.every((r): r is string => typeof r === 'string')) {
    throw new TopologyError(`${source}: host ${name} "roles" must be an array of strings, e.g. ["caller", "members"]`);
  }
  for (const r of rolesRaw) {
    if (!isRole(r)) throw new TopologyError(`${source}: host ${name} has unknown role "${r}": use caller, members, proxy, fork-nodes or fork-node-<i>`);
  }
  if (new Set(rolesRaw).size !== rolesRaw.length) throw new TopologyError(`${source}: host ${name} lists a role twice: list each role once`);
  const roles = rolesRaw as RoleName[];
  const address = h.address;
  if (address !== undefined && (typeof address !== 'string' || ipv4ToInt(address) === null)) {
    throw new TopologyError(`${source}: host ${name} address ${JSON.stringify(address)} is not an IPv4 address: give one like "198.18.0.2"`);
  }
  if (kind === 'local') {
    return { name, kind, address: (address as string | undefined) ?? '127.0.0.1', roles };
  }
  if (kind === 'netns') {
    if (address === undefined) throw new TopologyError(`${source}: netns host ${name} has no "address": give one inside 198.18.0.0/15, e.g. "198.18.0.2"`);
    if (!inBenchNet(address as string)) {
      throw new TopologyError(`${source}: netns host ${name} address ${address} is outside 198.18.0.0/15: use an address from 198.18.0.1 to 198.19.255.254`);
    }
    return { name, kind, address: address as string, roles };
  }
  // ssh
  const dest = h.ssh;
  if (typeof dest !== 'string' || !SSH_DEST_RE.test(dest) || dest.startsWith('-')) {
    throw new TopologyError(`${source}: ssh host ${name} needs "ssh": "user@host" (what you would pass to the ssh client), got ${JSON.stringify(dest)}`);
  }
  if (address === undefined) throw new TopologyError(`${source}: ssh host ${name} has no "address": give the IPv4 address SIP traffic uses to reach it`);
  const spec: SshHostSpec = { name, kind: 'ssh', address: address as string, ssh: dest, roles };
  if (h.sshPort !== undefined) {
    if (typeof h.sshPort !== 'number' || !Number.isInteger(h.sshPort) || h.sshPort < 1 || h.sshPort > 65535) {
      throw new TopologyError(`${source}: ssh host ${name} sshPort must be 1-65535, got ${JSON.stringify(h.sshPort)}`);
    }
    spec.sshPort = h.sshPort;
  }
  if (h.identity !== undefined) {
    if (typeof h.identity !== 'string' || h.identity === '') throw new TopologyError(`${source}: ssh host ${name} identity must be a private key path`);
    spec.identity = h.identity;
  }
  if (h.sshOptions !== undefined) {
    if (!Array.isArray(h.sshOptions) || !h.sshOptions.every((o): o is string => typeof o === 'string' && SSH_OPTION_RE.test(o))) {
      throw new TopologyError(`${source}: ssh host ${name} sshOptions must be ["Key=value", ...] as for ssh -o`);
    }
    spec.sshOptions = h.sshOptions;
  }
  if (h.workDir !== undefined) {
    if (typeof h.workDir !== 'string' || !h.workDir.startsWith('/')) throw new TopologyError(`${source}: ssh host ${name} workDir must be an absolute path`);
    spec.workDir = h.workDir;
  }
  return spec;
}

/** Where each role runs, resolved for one run. */
export interface Placement {
  caller: HostSpec;
  proxy: HostSpec | undefined; // undefined: external target without a placed proxy
  memberHosts: HostSpec[]; // member j runs on memberHosts[j mod length]
  forkNodes: HostSpec[]; // fork node i (1-based) runs on forkNodes[i-1]
}

/**
 * Checks that every role the run needs is placed exactly once (members and fork-nodes may spread
 * over several hosts) and resolves the placement. Also rejects duplicate names and addresses.
 */
export function placeRoles(topo: Topology, needs: TopologyNeeds): Placement {
  const src = where(topo.source);
  const names = new Set<string>();
  const addresses = new Map<string, string>();
  for (const h of topo.hosts) {
    if (names.has(h.name)) throw new TopologyError(`${src}: two hosts are named ${h.name}: give each host its own name`);
    names.add(h.name);
    // Several local hosts may share 127.0.0.1; other kinds are distinct machines or namespaces.
    if (h.kind !== 'local') {
      const prev = addresses.get(h.address);
      if (prev) throw new TopologyError(`${src}: hosts ${prev} and ${h.name} both have address ${h.address}: give each its own address`);
      addresses.set(h.address, h.name);
    }
  }
  const on = (role: RoleName): HostSpec[] => topo.hosts.filter((h) => h.roles.includes(role));
  const single = (role: 'caller' | 'proxy', required: boolean): HostSpec | undefined => {
    const hs = on(role);
    if (hs.length > 1) throw new TopologyError(`${src}: role ${role} is placed twice (on ${hs.map((h) => h.name).join(' and ')}): keep it on one host`);
    if (hs.length === 0 && required) throw new TopologyError(`${src}: role ${role} is placed nowhere: add "${role}" to the roles of one host`);
    return hs[0];
  };
  const caller = single('caller', true)!;
  const proxy = single('proxy', needs.proxy === 'required');
  const memberHosts = on('members');
  if (memberHosts.length === 0) throw new TopologyError(`${src}: role members is placed nowhere: add "members" to the roles of one or more hosts`);

  const spread = on('fork-nodes');
  const explicit = new Map<number, HostSpec>();
  for (const h of topo.hosts) {
    for (const r of h.roles) {
      const m = FORK_NODE_RE.exec(r);
      if (!m) continue;
      const i = Number(m[1]);
      const prev = explicit.get(i);
      if (prev) throw new TopologyError(`${src}: role fork-node-${i} is placed twice (on ${prev.name} and ${h.name}): keep it on one host`);
      explicit.set(i, h);
    }
  }
  if (spread.length > 0 && explicit.size > 0) {
    throw new TopologyError(`${src}: fork nodes are placed both with "fork-nodes" (${spread.map((h) => h.name).join(', ')}) and with fork-node-<i>: use one of the two`);
  }
  const forkNodes: HostSpec[] = [];
  for (let i = 1; i <= needs.forkNodes; i++) {
    const h = spread.length > 0 ? spread[(i - 1) % spread.length] : explicit.get(i);
    if (!h) throw new TopologyError(`${src}: role fork-node-${i} is placed nowhere (the run uses ${needs.forkNodes} fork nodes): add "fork-node-${i}" or "fork-nodes" to a host's roles`);
    forkNodes.push(h);
  }
  for (const i of explicit.keys()) {
    if (i < 1 || i > needs.forkNodes) {
      throw new TopologyError(`${src}: role fork-node-${i} is placed but the run uses ${needs.forkNodes} fork node(s): remove it or raise --fork-nodes`);
    }
  }
  return { caller, proxy, memberHosts, forkNodes };
}

/** The host of member j (0-based): members spread round robin over the hosts that list "members". */
export function memberHost(p: Placement, j: number): HostSpec {
  return p.memberHosts[j % p.memberHosts.length]!;
}

/** Today's behaviour: one local host with every role. */
export function localTopology(): Topology {
  return { source: 'local', hosts: [{ name: 'local', kind: 'local', address: '127.0.0.1', roles: ['caller', 'members', 'proxy', 'fork-nodes'] }] };
}

/**
 * `--topology netns`: one namespace per role (caller, members, proxy or head, each fork node),
 * addresses <subnet>.2, .3, ... in a /24 of 198.18.0.0/15 (<subnet>.1 is the root side of the bridge).
 */
export function netnsTopology(forkNodes: number, subnet = '198.18.0'): Topology {
  if (!inBenchNet(`${subnet}.1`)) throw new TopologyError(`netns subnet ${subnet}.0/24 is outside 198.18.0.0/15`);
  const roles: RoleName[][] = [['caller'], ['members'], ['proxy'], ...Array.from({ length: forkNodes }, (_v, i): RoleName[] => [`fork-node-${i + 1}`])];
  const names = ['caller', 'members', 'proxy', ...Array.from({ length: forkNodes }, (_v, i) => `fork${i + 1}`)];
  return {
    source: 'netns',
    hosts: roles.map((r, i) => ({ name: names[i]!, kind: 'netns', address: `${subnet}.${2 + i}`, roles: r })),
  };
}

/** One line per host for meta.json and logs: where each role ran. */
export function describePlacement(p: Placement, groupSize: number): Record<string, string> {
  const at = (h: HostSpec): string => `${h.name} (${h.kind} ${h.address})`;
  const out: Record<string, string> = { caller: at(p.caller) };
  if (p.proxy) out.proxy = at(p.proxy);
  for (let j = 0; j < groupSize; j++) out[`member-${j + 1}`] = at(memberHost(p, j));
  p.forkNodes.forEach((h, i) => {
    out[`fork-node-${i + 1}`] = at(h);
  });
  return out;
}
