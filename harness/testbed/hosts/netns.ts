// netns hosts: one Linux bridge and, per host, a network namespace joined to it by a veth pair,
// with an address from 198.18.0.0/15 (RFC 2544's benchmarking range). Processes run in a namespace
// with `ip netns exec` (same filesystem and pids, own network stack), so files and /proc are read as
// locally. Everything a lab creates is removed on destroy(), on process exit (Ctrl-C included, via
// a synchronous exit hook), and by cleanupLeftovers() for labs whose owner process died.
//
// Names: "fb" + a 6-hex lab id. Interface names have 15 characters at most, so the bridge is
// fb<id>br and the root-side veth of host i is fb<id>v<i>; namespaces are fb<id>-<host name>. A
// state file /tmp/forkbench-netns/<id> holds the owner's pid, written before anything is created,
// so a cleanup never removes a lab whose owner is alive (parallel tests do not clash).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { execLocal, localProcess, type Host, type HostProcess, type HostSpawnOptions } from './host.js';
import { sampleCpu, type ProcSample } from '../../measure/cpu-sampler.js';
import { installShutdownHandlers } from '../processes.js';
import { BENCH_NET, inBenchNet, ipv4ToInt, intToIpv4, type NetnsHostSpec } from './topology.js';
import { pidAlive } from '../system.js';

export const NETNS_PREFIX = 'fb';
export const STATE_DIR = '/tmp/forkbench-netns';
const ID_RE = /^[0-9a-f]{6}$/;
const LINK_RE = /^fb([0-9a-f]{6})(?:br|v\d+)$/;
const NS_RE = /^fb([0-9a-f]{6})-/;

export interface NetnsLabOptions {
  /** The root namespace's address on the bridge (so the harness reaches /metrics, sshd, ...), or none. */
  rootAddress?: string;
  /** Prefix length of rootAddress's route on the bridge (default 24: only its /24 is routed there, so parallel labs on other /24s do not clash). */
  rootPrefix?: number;
}

export class NetnsHost implements Host {
  readonly sharesFilesystem = true;
  constructor(
    readonly spec: NetnsHostSpec,
    readonly namespace: string,
  ) {}
  spawn(cmd: string, args: readonly string[], opts: HostSpawnOptions): HostProcess {
    return localProcess(['ip', 'netns', 'exec', this.namespace], cmd, args, opts);
  }
  exec(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string> {
    return execLocal('ip', ['netns', 'exec', this.namespace, cmd, ...args], timeoutMs);
  }
  sampleCpu(pids: readonly number[]): Promise<Map<number, ProcSample>> {
    return sampleCpu(pids); // one pid namespace: /proc is the same
  }
  readFile(path: string): Promise<Buffer> {
    return readFile(path);
  }
}

function ipSync(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

function quiet(f: () => void): void {
  try {
    f();
  } catch {
    // already gone
  }
}

/** Kills every process in a namespace (by the pids `ip netns pids` lists), then deletes it. */
function deleteNamespaceSync(ns: string): void {
  let pids: number[] = [];
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // no such namespace
  }
  for (const p of pids) quiet(() => process.kill(p, 'SIGKILL'));
  quiet(() => ipSync(['netns', 'del', ns]));
}

function listNamespaces(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean);
  } catch {
    return [];
  }
}

function listLinks(): string[] {
  try {
    return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
      .split('\n')
      .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
  } catch {
    return [];
  }
}

/** Namespaces and links of lab `id` that exist now. */
export function labResources(id: string): { namespaces: string[]; links: string[] } {
  return {
    namespaces: listNamespaces().filter((n) => NS_RE.exec(n)?.[1] === id),
    links: listLinks().filter((l) => LINK_RE.exec(l)?.[1] === id),
  };
}

function destroyLabSync(id: string): void {
  const { namespaces, links } = labResources(id);
  for (const ns of namespaces) deleteNamespaceSync(ns); // takes the namespace-side veths, and so the pairs
  for (const l of links) quiet(() => ipSync(['link', 'del', l]));
  quiet(() => rmSync(join(STATE_DIR, id), { force: true }));
}

/**
 * Removes the namespaces, veths and bridges of labs (our prefix only) whose owner process is gone,
 * or that have no state file at all. Returns the lab ids removed.
 */
export function cleanupLeftovers(): string[] {
  const ids = new Set<string>();
  for (const n of listNamespaces()) {
    const m = NS_RE.exec(n);
    if (m) ids.add(m[1]!);
  }
  for (const l of listLinks()) {
    const m = LINK_RE.exec(l);
    if (m) ids.add(m[1]!);
  }
  let states: string[] = [];
  try {
    states = readdirSync(STATE_DIR).filter((f) => ID_RE.test(f));
  } catch {
    // no labs ever ran
  }
  for (const s of states) ids.add(s);
  const removed: string[] = [];
  for (const id of ids) {
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(STATE_DIR, id), 'utf8').trim());
    } catch {
      // no state file: an orphan
    }
    if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
    destroyLabSync(id);
    removed.push(id);
  }
  return removed;
}

export class NetnsLab {
  readonly bridge: string;
  readonly hosts = new Map<string, NetnsHost>();
  private destroyed = false;
  private readonly onExit = (): void => this.destroySync();

  private constructor(readonly id: string) {
    this.bridge = `${NETNS_PREFIX}${id}br`;
  }

  /**
   * Creates the bridge and one namespace per host. On any failure, what was created is removed
   * before the error is thrown.
   */
  static async create(specs: readonly NetnsHostSpec[], opts: NetnsLabOptions = {}): Promise<NetnsLab> {
    if (specs.length === 0) throw new Error('netns: no hosts to create');
    if (specs.length > 99) throw new Error('netns: at most 99 namespaces per lab');
    for (const s of specs) if (!inBenchNet(s.address)) throw new Error(`netns: host ${s.name} address ${s.address} is outside 198.18.0.0/15`);
    if (opts.rootAddress !== undefined && !inBenchNet(opts.rootAddress)) throw new Error(`netns: root address ${opts.rootAddress} is outside 198.18.0.0/15`);
    cleanupLeftovers();
    const id = randomBytes(3).toString('hex');
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(join(STATE_DIR, id), `${process.pid}\n`);
    const lab = new NetnsLab(id);
    installShutdownHandlers(); // so Ctrl-C ends in process.exit, which runs our exit hook
    process.on('exit', lab.onExit);
    try {
      await execLocal('ip', ['link', 'add', lab.bridge, 'type', 'bridge']);
      await execLocal('ip', ['link', 'set', lab.bridge, 'up']);
      if (opts.rootAddress) {
        await execLocal('ip', ['addr', 'add', `${opts.rootAddress}/32`, 'dev', lab.bridge]);
        const prefix = opts.rootPrefix ?? 24;
        const net = ipv4ToInt(opts.rootAddress)! & (prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0);
        await execLocal('ip', ['route', 'add', `${intToIpv4(net >>> 0)}/${prefix}`, 'dev', lab.bridge, 'src', opts.rootAddress]);
      }
      let i = 0;
      for (const spec of specs) {
        const ns = `${NETNS_PREFIX}${id}-${spec.name}`;
        const veth = `${NETNS_PREFIX}${id}v${i++}`;
        await execLocal('ip', ['netns', 'add', ns]);
        await execLocal('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
        await execLocal('ip', ['link', 'set', veth, 'master', lab.bridge]);
        await execLocal('ip', ['link', 'set', veth, 'up']);
        await execLocal('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
        await execLocal('ip', ['-n', ns, 'addr', 'add', `${spec.address}/${BENCH_NET.prefix}`, 'dev', 'eth0']);
        await execLocal('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
        lab.hosts.set(spec.name, new NetnsHost(spec, ns));
      }
      return lab;
    } catch (e) {
      lab.destroySync();
      throw e;
    }
  }

  host(name: string): NetnsHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`netns: no host ${name} in lab ${this.id}`);
    return h;
  }

  /** Removes every namespace (killing what still runs there), veth and the bridge of this lab. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.off('exit', this.onExit);
    destroyLabSync(this.id);
  }

  async destroy(): Promise<void> {
    this.destroySync();
  }
}

/** A /24 in 198.18.0.0/15 for a lab's built-in layout, from 198.18.1.0 to 198.19.254.0, varying per process. */
export function labSubnet(seed = process.pid): string {
  const n = 1 + (seed % 510); // third octets 1..255 of 198.18 then 0..254 of 198.19
  return n < 256 ? `198.18.${n}` : `198.19.${n - 256}`;
}
