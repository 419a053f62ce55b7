// A target under a CPU budget (real cgroups): every measured process in its own group with the
// quota, Kamailio-like trees whole; the groups go when the target stops and when starting fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, validateConfig, mergeConfig, ConfigError } from '../plan/bench-config.js';
import { detectCgroups, liveCgroups, listForkbenchCgroups } from '../testbed/cgroup.js';
import { budgetPlacementFromEnv, underCpuBudget } from '../testbed/targets/budgeted.js';
import { availableParallelism } from 'node:os';
import type { MeasuredProcess, ProxyTarget, TargetStart } from '../testbed/targets/target.js';

const cg = detectCgroups();
if (!cg.ok) throw new Error(`needs cgroups and root: ${cg.reason}`);
const layout = cg.layout;
const kids: ChildProcess[] = [];
afterEach(() => {
  for (const k of kids.splice(0)) if (k.exitCode === null) k.kill('SIGKILL');
});

/** A stand-in target: a "proxy" and a "fork node" that sleep, or a pid that does not exist. */
function fakeTarget(opts: { badPid?: boolean } = {}): { target: ProxyTarget; stopped: () => boolean } {
  let stopped = false;
  return {
    stopped: () => stopped,
    target: {
      name: 'fake',
      async start() {
        const a = spawn('sh', ['-c', 'sleep 20 & sleep 20 & wait'], { stdio: 'ignore' });
        const b = spawn('sleep', ['20'], { stdio: 'ignore' });
        kids.push(a, b);
        await new Promise((r) => setTimeout(r, 100));
        const processes: MeasuredProcess[] = [
          { role: 'central', name: 'head', pid: a.pid!, tree: true },
          { role: 'fork-node', name: 'fork-node 1/1', pid: opts.badPid ? 2 ** 22 + 4321 : b.pid!, tree: false },
        ];
        return {
          sipAddress: '127.0.0.1:1',
          processes,
          readCounters: async () => undefined,
          stop: async () => {
            stopped = true;
            // As a real target's stop() does, return once its processes have exited (and been
            // reaped): a cgroup v1 group with an unreaped task cannot be removed yet.
            const exited = [a, b].map((k) => (k.exitCode === null && k.signalCode === null ? new Promise((r) => k.once('exit', r)) : Promise.resolve()));
            a.kill('SIGKILL');
            b.kill('SIGKILL');
            await Promise.all(exited);
          },
        };
      },
    },
  };
}

const start = {} as TargetStart; // the fake ignores it
const mine = () => listForkbenchCgroups(layout).filter((d) => d.includes(`-${process.pid}-`));

describe('underCpuBudget', () => {
  it('puts each measured process (a tree whole) in its own group with the quota; stop removes them', async () => {
    const fake = fakeTarget();
    const running = await underCpuBudget(fake.target, 0.3, layout).start(start);
    expect(running.cpuBudgetCores).toBe(0.3);
    const dirs = mine().filter((d) => d.startsWith(`${layout.version === 1 ? layout.cpuDir : layout.dir}/`));
    expect(dirs).toHaveLength(2);
    const head = dirs.find((d) => d.endsWith('-head'))!;
    const procs = readFileSync(join(head, 'cgroup.procs'), 'utf8').trim().split('\n');
    expect(procs.length).toBeGreaterThanOrEqual(3); // sh and its two sleeps
    // Start-up and warm-up run unthrottled; the quota holds once the point runner opens the window.
    const quota = (): string => readFileSync(join(head, layout.version === 1 ? 'cpu.cfs_quota_us' : 'cpu.max'), 'utf8').trim();
    expect(quota()).toBe(layout.version === 1 ? '-1' : 'max 10000');
    await running.enforceBudget!();
    expect(quota()).toBe(layout.version === 1 ? '3000' : '3000 10000');
    const u = running.budgetUsage!(running.processes[0]!.pid)!;
    expect(u.nrPeriods).toBeGreaterThanOrEqual(0);
    await running.stop();
    expect(fake.stopped()).toBe(true);
    expect(mine()).toEqual([]);
    expect(dirs.every((d) => !existsSync(d))).toBe(true);
  });

  it('places each budgeted process (every thread, the tree whole) on one CPU: process i on CPU i mod n; placement any leaves them', async () => {
    const allowed = (pid: number): string => /^Cpus_allowed_list:\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
    const all = allowed(process.pid);
    const fake = fakeTarget();
    const running = await underCpuBudget(fake.target, 0.3, layout, 'one-cpu').start(start);
    const n = availableParallelism();
    const [head, node] = running.processes;
    const headGroup = mine().find((d) => d.endsWith('-head') && d.startsWith(layout.version === 1 ? layout.cpuDir : layout.dir))!;
    const headPids = readFileSync(join(headGroup, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
    expect(headPids.length).toBeGreaterThanOrEqual(3);
    for (const pid of headPids) expect(allowed(pid)).toBe('0');
    expect(allowed(node!.pid)).toBe(String(1 % n));
    await running.stop();
    const spread = fakeTarget();
    const r2 = await underCpuBudget(spread.target, 0.3, layout, 'any').start(start);
    expect(allowed(r2.processes[0]!.pid)).toBe(all);
    await r2.stop();
    expect(head!.pid).not.toBe(r2.processes[0]!.pid);
    expect(budgetPlacementFromEnv({ FORKBENCH_BUDGET_PLACEMENT: 'one-cpu' })).toBe('one-cpu');
    expect(budgetPlacementFromEnv({})).toBe('any');
  });

  it('when a process cannot be confined, start fails, the target is stopped and no group is left', async () => {
    const fake = fakeTarget({ badPid: true });
    await expect(underCpuBudget(fake.target, 0.3, layout).start(start)).rejects.toThrow(/cannot put fake under a CPU budget of 0\.3 cores/);
    expect(fake.stopped()).toBe(true);
    expect(mine()).toEqual([]);
    expect(liveCgroups()).toEqual([]);
  });
});

describe('--cpu-budget in the config', () => {
  it('0 is no budget; below 0.1 or negative names the fix', () => {
    expect(validateConfig(mergeConfig(DEFAULT_CONFIG, {}, { cpuBudget: 0.2 })).cpuBudget).toBe(0.2);
    expect(DEFAULT_CONFIG.cpuBudget).toBe(0);
    expect(() => validateConfig(mergeConfig(DEFAULT_CONFIG, {}, { cpuBudget: 0.05 }))).toThrow(ConfigError);
    expect(() => validateConfig(mergeConfig(DEFAULT_CONFIG, {}, { cpuBudget: -1 }))).toThrow(/--cpu-budget 0\.2/);
  });
});
