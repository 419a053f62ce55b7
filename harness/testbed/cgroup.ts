// CPU budgets: a process under test runs in its own cgroup with a CFS quota (DESIGN.md, "Facts about
// the test bed"), so that it saturates before the load generators do and a capacity is the proxy's.
// cgroup v1 (`cpu.cfs_quota_us` / `cpu.cfs_period_us` under <root>/cpu, usage from <root>/cpuacct
// when that controller is mounted apart) and cgroup v2 (`cpu.max`, `cpu.stat`) are both handled.
//
// Every cgroup made here is named `forkbench-<harness pid>-<n>-<label>` and is removed by remove(),
// and, whatever happens, when the harness exits (normal exit, failure, Ctrl-C: the shutdown handlers
// of processes.ts end in process.exit, which runs the synchronous cleanup below). Removal first moves
// any task still inside to the parent group, because rmdir fails on a cgroup that has tasks.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processTree } from './system.js';
import { installShutdownHandlers } from './processes.js';

const execFileP = promisify(execFile);

export const CGROUP_PREFIX = 'forkbench';
export const DEFAULT_PERIOD_US = 10_000; // 10 ms: short periods keep a throttled proxy's stalls short

export type CgroupLayout =
  | { version: 1; cpuDir: string; cpuacctDir?: string } // the hierarchy roots (mount points)
  | { version: 2; dir: string }; // the v2 parent under which groups are made

export type CgroupSupport = { ok: true; layout: CgroupLayout } | { ok: false; reason: string };

/** Whether a child group can be made under `dir` (the root group's own files are read-only). */
const canMakeGroup = (dir: string): boolean => {
  const probe = join(dir, `${CGROUP_PREFIX}-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
};

/**
 * Which cgroup interface can take a CPU quota here. `root` is the cgroup mount root (tests pass a
 * fake tree). The reason, when there is none, is one line a user can act on.
 */
export function detectCgroups(root = '/sys/fs/cgroup'): CgroupSupport {
  if (process.getuid?.() !== 0 && root === '/sys/fs/cgroup') {
    return { ok: false, reason: 'CPU budgets need root (cgroups are created under /sys/fs/cgroup): run as root or drop --cpu-budget' };
  }
  const v1 = join(root, 'cpu');
  if (existsSync(join(v1, 'cpu.cfs_quota_us'))) {
    if (!canMakeGroup(v1)) {
      return { ok: false, reason: `cannot create a cgroup under ${v1} (read-only cgroup mount?): CPU budgets are unavailable here` };
    }
    const acct = join(root, 'cpuacct');
    const cpuacctDir = existsSync(join(acct, 'cpuacct.usage')) && !existsSync(join(v1, 'cpuacct.usage')) ? acct : undefined;
    return { ok: true, layout: cpuacctDir ? { version: 1, cpuDir: v1, cpuacctDir } : { version: 1, cpuDir: v1 } };
  }
  // v2: unified at the root (or at <root>/unified on hybrid systems) with the cpu controller usable.
  for (const dir of [root, join(root, 'unified')]) {
    const controllers = join(dir, 'cgroup.controllers');
    if (!existsSync(controllers)) continue;
    if (!readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) continue;
    const sub = join(dir, 'cgroup.subtree_control');
    if (existsSync(sub) && !readFileSync(sub, 'utf8').split(/\s+/).includes('cpu')) {
      try {
        writeFileSync(sub, '+cpu');
      } catch (e) {
        return { ok: false, reason: `cgroup v2 at ${dir} cannot delegate the cpu controller (${(e as Error).message}): CPU budgets are unavailable here` };
      }
    }
    return { ok: true, layout: { version: 2, dir } };
  }
  return { ok: false, reason: `no cgroup CPU controller under ${root} (neither v1 cpu.cfs_quota_us nor v2 cpu.max): CPU budgets are unavailable here` };
}

/** The CFS quota for `cores` cores per period: 0.2 cores at 10 ms = 2000 us every 10000 us. */
export function quotaFor(cores: number, periodUs = DEFAULT_PERIOD_US): { quotaUs: number; periodUs: number } {
  if (!(cores > 0) || !Number.isFinite(cores)) throw new RangeError(`CPU budget must be a positive number of cores (got ${cores})`);
  if (!Number.isInteger(periodUs) || periodUs < 1000 || periodUs > 1_000_000) throw new RangeError(`CFS period must be 1000..1000000 us (got ${periodUs})`);
  // The kernel refuses quotas under 1 ms.
  const quotaUs = Math.round(cores * periodUs);
  if (quotaUs < 1000) throw new RangeError(`CPU budget ${cores} cores is ${quotaUs} us per ${periodUs} us period; the kernel needs at least 1000 us`);
  return { quotaUs, periodUs };
}

export interface CgroupUsage {
  usageUs?: number; // CPU time used by the group's tasks since it was created (undefined if not accounted)
  nrPeriods: number; // enforcement periods with runnable tasks
  nrThrottled: number; // periods in which the group hit its quota
  throttledUs: number; // total time its tasks spent throttled
}

/** Parses `cpu.stat` (v1: throttled_time in ns; v2: usage_usec, throttled_usec). */
export function parseCpuStat(text: string): CgroupUsage {
  const kv = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) kv.set(k, Number(v));
  }
  const u: CgroupUsage = {
    nrPeriods: kv.get('nr_periods') ?? 0,
    nrThrottled: kv.get('nr_throttled') ?? 0,
    throttledUs: kv.has('throttled_usec') ? kv.get('throttled_usec')! : Math.round((kv.get('throttled_time') ?? 0) / 1000),
  };
  if (kv.has('usage_usec')) u.usageUs = kv.get('usage_usec');
  return u;
}

const live = new Set<CpuCgroup>();
let seq = 0;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Ctrl-C and SIGTERM go through processes.ts's handlers, which end in process.exit: 'exit' runs then.
  installShutdownHandlers();
  process.on('exit', () => removeAllCgroupsSync());
}

/** Removes every cgroup this process made and has not removed yet; returns how many it removed. */
export function removeAllCgroupsSync(): number {
  let n = 0;
  for (const g of [...live]) {
    try {
      g.removeSync();
      n++;
    } catch {
      // best effort at exit: the error names the directory if someone calls remove() themselves
    }
  }
  return n;
}

/** The cgroups this process currently holds (for tests and for the exit report). */
export function liveCgroups(): readonly string[] {
  return [...live].map((g) => g.name);
}

export interface CpuCgroupOptions {
  label: string; // role, e.g. "proxy", "head", "fork-node-2", "kamailio"
  cores: number;
  periodUs?: number;
  layout: CgroupLayout;
  /** Create without a quota (the group only accounts); enforce() sets it later. */
  deferQuota?: boolean;
}

/** One cgroup with a CPU quota. create() makes it; remove() (or harness exit) removes it. */
export class CpuCgroup {
  readonly name: string;
  readonly quotaUs: number;
  readonly periodUs: number;
  private readonly dirs: string[]; // every hierarchy the group lives in (v1 cpu [+ cpuacct], or v2)
  private removed = false;
  private enforced = false;

  private constructor(readonly cores: number, readonly layout: CgroupLayout, label: string, periodUs: number) {
    const q = quotaFor(cores, periodUs);
    this.quotaUs = q.quotaUs;
    this.periodUs = q.periodUs;
    const safe = label.replace(/[^A-Za-z0-9_.-]/g, '_');
    this.name = `${CGROUP_PREFIX}-${process.pid}-${++seq}-${safe}`;
    this.dirs =
      layout.version === 1
        ? [join(layout.cpuDir, this.name), ...(layout.cpuacctDir ? [join(layout.cpuacctDir, this.name)] : [])]
        : [join(layout.dir, this.name)];
  }

  static create(opts: CpuCgroupOptions): CpuCgroup {
    const g = new CpuCgroup(opts.cores, opts.layout, opts.label, opts.periodUs ?? DEFAULT_PERIOD_US);
    installExitHook();
    live.add(g); // before mkdir: a half-made group is removed too
    try {
      for (const d of g.dirs) mkdirSync(d);
      // v1: period first, the quota is checked against it (v2 writes both in one line).
      if (opts.layout.version === 1) writeFileSync(join(g.dirs[0]!, 'cpu.cfs_period_us'), String(g.periodUs));
      g.writeLimit(!opts.deferQuota);
    } catch (e) {
      g.removeSync();
      throw new Error(`cannot create cgroup ${g.name}: ${(e as Error).message}`);
    }
    return g;
  }

  /** The quota (limited) or none (-1 / max: the group only accounts). */
  private writeLimit(limited: boolean): void {
    if (this.layout.version === 1) writeFileSync(join(this.dirs[0]!, 'cpu.cfs_quota_us'), limited ? String(this.quotaUs) : '-1');
    else writeFileSync(join(this.dirs[0]!, 'cpu.max'), `${limited ? this.quotaUs : 'max'} ${this.periodUs}`);
    this.enforced = limited;
  }

  /** Sets the quota on a group created with deferQuota (idempotent). */
  enforce(): void {
    if (this.removed) throw new Error(`cgroup ${this.name} was removed`);
    if (!this.enforced) this.writeLimit(true);
  }

  /** Whether the quota is in force (false between a deferred create and enforce()). */
  get quotaInForce(): boolean {
    return this.enforced;
  }

  /** The cgroup directories (v1: cpu and, when mounted apart, cpuacct). */
  get paths(): readonly string[] {
    return this.dirs;
  }

  /** Moves one process (all its threads) into the group. */
  addPid(pid: number): void {
    if (this.removed) throw new Error(`cgroup ${this.name} was removed`);
    for (const d of this.dirs) writeFileSync(join(d, 'cgroup.procs'), String(pid));
  }

  /** Moves a process and every descendant now alive (Kamailio's forked workers); later forks inherit. */
  async addTree(pid: number): Promise<number[]> {
    const pids = await processTree(pid);
    for (const p of pids) {
      try {
        this.addPid(p);
      } catch (e) {
        if (p === pid) throw e; // a worker that exited meanwhile is fine, the root is not
      }
    }
    return pids;
  }

  /**
   * Pins every thread of every process in the group to one CPU (taskset -a; later threads and forks
   * inherit it). Why: CFS hands quota to each CPU in slices (sched_cfs_bandwidth_slice_us, 5 ms),
   * so a 2 ms-per-10 ms quota spread over two CPUs strands runtime on one while threads on the
   * other are throttled; on one CPU the group can use all of its quota.
   */
  async pinTo(cpu: number): Promise<void> {
    for (const pid of this.pids()) {
      try {
        await execFileP('taskset', ['-a', '-p', '-c', String(cpu), String(pid)]);
      } catch (e) {
        if (this.pids().includes(pid)) throw new Error(`cannot pin pid ${pid} of ${this.name} to CPU ${cpu}: ${(e as Error).message}`);
      }
    }
  }

  /** Pids in the group now. */
  pids(): number[] {
    return readFileSync(join(this.dirs[0]!, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => /^\d+$/.test(l.trim()))
      .map(Number);
  }

  /** Usage and throttling counters since creation. */
  usage(): CgroupUsage {
    const u = parseCpuStat(readFileSync(join(this.dirs[0]!, 'cpu.stat'), 'utf8'));
    if (u.usageUs === undefined && this.layout.version === 1) {
      const acct = this.layout.cpuacctDir ? this.dirs[1] : this.dirs[0];
      const f = acct ? join(acct, 'cpuacct.usage') : undefined;
      if (f && existsSync(f)) u.usageUs = Math.round(Number(readFileSync(f, 'utf8').trim()) / 1000);
    }
    return u;
  }

  /** Moves any task left to the parent group and deletes the group; idempotent. */
  removeSync(): void {
    if (this.removed) return;
    const errors: string[] = [];
    for (const d of [...this.dirs].reverse()) {
      if (!existsSync(d)) continue;
      const parentProcs = join(d, '..', 'cgroup.procs');
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          for (const line of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) {
            if (!/^\d+$/.test(line.trim())) continue;
            try {
              writeFileSync(parentProcs, line.trim());
            } catch {
              // exited meanwhile
            }
          }
        } catch {
          // no procs file (fake tree or already gone)
        }
        try {
          rmdirSync(d);
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          // A fake tree in tests holds plain files: remove them (a real cgroup has no removable files).
          if (code === 'ENOTEMPTY' && isFakeTree(d)) {
            for (const f of readdirSync(d)) rmFile(join(d, f));
            continue;
          }
          if (attempt === 19) errors.push(`${d}: ${(e as Error).message}`);
        }
      }
    }
    if (errors.length) throw new Error(`cannot remove cgroup ${this.name}: ${errors.join('; ')}`);
    this.removed = true;
    live.delete(this);
  }

  async remove(): Promise<void> {
    this.removeSync();
  }
}

function isFakeTree(dir: string): boolean {
  return !dir.startsWith('/sys/fs/cgroup/');
}

function rmFile(f: string): void {
  rmSync(f, { force: true });
}

/**
 * A CPU budget for the processes under test of one point: one cgroup per process (the budget is per
 * process, as in `--cpu-budget 0.2`: each of proxy, head, fork node gets 0.2 cores). Made lazily,
 * removed together by close().
 */
export class CpuBudget {
  private readonly groups: CpuCgroup[] = [];
  constructor(readonly cores: number, readonly layout: CgroupLayout, readonly periodUs = DEFAULT_PERIOD_US) {
    quotaFor(cores, periodUs); // validate early
  }

  /** Puts `pid` (and with tree, its descendants) under its own quota; deferred: in force from enforce(). */
  async confine(label: string, pid: number, tree = false, deferQuota = false): Promise<CpuCgroup> {
    const g = CpuCgroup.create({ label, cores: this.cores, periodUs: this.periodUs, layout: this.layout, deferQuota });
    this.groups.push(g);
    if (tree) await g.addTree(pid);
    else g.addPid(pid);
    return g;
  }

  get cgroups(): readonly CpuCgroup[] {
    return this.groups;
  }

  /** Puts every deferred quota in force. */
  enforce(): void {
    for (const g of this.groups) g.enforce();
  }

  /** Removes every group; throws after trying all if any could not be removed. */
  async close(): Promise<void> {
    const errors: string[] = [];
    for (const g of this.groups.splice(0)) {
      try {
        g.removeSync();
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length) throw new Error(errors.join('; '));
  }
}

/** Cgroups named by this prefix under the layout's roots (to find leftovers of a killed harness). */
export function listForkbenchCgroups(layout: CgroupLayout): string[] {
  const roots = layout.version === 1 ? [layout.cpuDir, ...(layout.cpuacctDir ? [layout.cpuacctDir] : [])] : [layout.dir];
  const out: string[] = [];
  for (const r of roots) {
    for (const e of readdirSync(r, { withFileTypes: true })) if (e.isDirectory() && e.name.startsWith(`${CGROUP_PREFIX}-`)) out.push(join(r, e.name));
  }
  return out;
}

/** Runs `fn` with a budget and removes its cgroups whether `fn` succeeds or throws. */
export async function withCpuBudget<T>(cores: number, layout: CgroupLayout, fn: (budget: CpuBudget) => Promise<T>): Promise<T> {
  const budget = new CpuBudget(cores, layout);
  try {
    return await fn(budget);
  } finally {
    await budget.close();
  }
}
