// The cgroup lifecycle on the real kernel interface (this machine: cgroup v1, run as root):
// created with the quota, used (a busy child is throttled by the cgroup's own counters), removed on
// success, on failure and on Ctrl-C of the harness. Plus the v2 file format on a fake tree.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  CpuBudget,
  CpuCgroup,
  detectCgroups,
  liveCgroups,
  listForkbenchCgroups,
  parseCpuStat,
  quotaFor,
  withCpuBudget,
  type CgroupLayout,
} from '../testbed/cgroup.js';

const support = detectCgroups();
if (!support.ok) throw new Error(`these tests need cgroups and root: ${support.reason}`);
const layout: CgroupLayout = support.layout;

const children: ChildProcess[] = [];
/** A child that spins for at most `ms` (bounded), then exits. */
function busyChild(ms: number): ChildProcess {
  const c = spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end) {}`], { stdio: 'ignore' });
  children.push(c);
  return c;
}
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  // Nothing of ours may be left behind, whatever a test did.
  expect(listForkbenchCgroups(layout).filter((d) => d.includes(`-${process.pid}-`))).toEqual([]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('quota arithmetic and cpu.stat', () => {
  it('0.2 cores at a 10 ms period is 2000 us', () => {
    expect(quotaFor(0.2)).toEqual({ quotaUs: 2000, periodUs: 10_000 });
    expect(quotaFor(1.5)).toEqual({ quotaUs: 15_000, periodUs: 10_000 });
    expect(() => quotaFor(0)).toThrow(/positive/);
    expect(() => quotaFor(0.05)).toThrow(/at least 1000 us/);
  });
  it('reads v1 (ns) and v2 (us) counters', () => {
    expect(parseCpuStat('nr_periods 10\nnr_throttled 4\nthrottled_time 5000000\n')).toEqual({ nrPeriods: 10, nrThrottled: 4, throttledUs: 5000 });
    expect(parseCpuStat('usage_usec 900\nuser_usec 1\nsystem_usec 2\nnr_periods 3\nnr_throttled 2\nthrottled_usec 77\n')).toEqual({
      usageUs: 900,
      nrPeriods: 3,
      nrThrottled: 2,
      throttledUs: 77,
    });
  });
});

describe('cgroup lifecycle (real cgroups)', () => {
  it('is created with a forkbench name and the quota and period written', () => {
    const g = CpuCgroup.create({ label: 'proxy', cores: 0.2, layout });
    try {
      expect(g.name).toMatch(new RegExp(`^forkbench-${process.pid}-\\d+-proxy$`));
      const dir = g.paths[0]!;
      expect(existsSync(dir)).toBe(true);
      if (layout.version === 1) {
        expect(readFileSync(join(dir, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('10000');
        expect(readFileSync(join(dir, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('2000');
      } else {
        expect(readFileSync(join(dir, 'cpu.max'), 'utf8').trim()).toBe('2000 10000');
      }
      expect(liveCgroups()).toContain(g.name);
    } finally {
      g.removeSync();
    }
    expect(g.paths.every((d) => !existsSync(d))).toBe(true);
    expect(liveCgroups()).not.toContain(g.name);
  });

  it('holds a busy child to its quota: throttled in most periods, usage within 0.2 core per period', async () => {
    const child = busyChild(4000);
    await withCpuBudget(0.2, layout, async (budget) => {
      const g = await budget.confine('busy', child.pid!);
      expect(g.pids()).toContain(child.pid);
      await sleep(1200);
      const u = g.usage();
      // The kernel's own accounting: a spinning task under a 2 ms / 10 ms quota is throttled in
      // nearly every period and never gets more than the quota per period.
      expect(u.nrPeriods).toBeGreaterThan(50);
      expect(u.nrThrottled).toBeGreaterThan(u.nrPeriods * 0.8);
      expect(u.throttledUs).toBeGreaterThan(0);
      expect(u.usageUs).toBeDefined();
      expect(u.usageUs!).toBeGreaterThan(0);
      expect(u.usageUs! / u.nrPeriods).toBeLessThanOrEqual(2000 * 1.1);
    });
  });

  it('a deferred quota only accounts until enforce(): a busy child runs unthrottled, then is held to 0.2 core', async () => {
    const child = busyChild(4000);
    await withCpuBudget(0.2, layout, async (budget) => {
      const g = await budget.confine('warm', child.pid!, false, true);
      expect(g.quotaInForce).toBe(false);
      await sleep(500);
      const before = g.usage();
      expect(before.nrThrottled).toBe(0);
      // Unthrottled, a spinning child gets far more than 0.2 core over the 500 ms.
      expect(before.usageUs!).toBeGreaterThan(200_000);
      budget.enforce();
      expect(g.quotaInForce).toBe(true);
      await sleep(1000);
      const after = g.usage();
      expect(after.nrThrottled - before.nrThrottled).toBeGreaterThan(50);
      expect((after.usageUs! - before.usageUs!) / (after.nrPeriods - before.nrPeriods)).toBeLessThanOrEqual(2000 * 1.1);
    });
  });

  it('a whole process tree goes in (Kamailio forks workers)', async () => {
    const sh = spawn('sh', ['-c', 'sleep 5 & sleep 5 & wait'], { stdio: 'ignore' });
    children.push(sh);
    await sleep(200);
    await withCpuBudget(0.5, layout, async (budget) => {
      const g = await budget.confine('kamailio', sh.pid!, true);
      const inside = g.pids();
      expect(inside).toContain(sh.pid);
      expect(inside.length).toBeGreaterThanOrEqual(3);
    });
  });

  it('is removed on success, and its task goes back to the parent alive', async () => {
    const child = busyChild(3000);
    let paths: readonly string[] = [];
    await withCpuBudget(0.3, layout, async (budget) => {
      const g = await budget.confine('ok', child.pid!);
      paths = g.paths;
      expect(paths.every((d) => existsSync(d))).toBe(true);
    });
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.every((d) => !existsSync(d))).toBe(true);
    expect(child.exitCode).toBeNull(); // still running, now outside any budget
  });

  it('is removed when the work fails', async () => {
    const child = busyChild(3000);
    let paths: readonly string[] = [];
    await expect(
      withCpuBudget(0.3, layout, async (budget) => {
        paths = (await budget.confine('fails', child.pid!)).paths;
        throw new Error('point failed');
      }),
    ).rejects.toThrow('point failed');
    expect(paths.every((d) => !existsSync(d))).toBe(true);
  });

  it('is removed when moving the process in fails (no such pid)', async () => {
    const budget = new CpuBudget(0.3, layout);
    await expect(budget.confine('gone', 2 ** 22 + 12345)).rejects.toThrow();
    const made = budget.cgroups.map((g) => g.paths).flat();
    expect(made.length).toBeGreaterThan(0);
    await budget.close();
    expect(made.every((d) => !existsSync(d))).toBe(true);
  });

  it('is removed when the harness gets Ctrl-C (SIGINT)', async () => {
    // Run the real module in a child Node process (transpiled on the fly), make a cgroup holding a
    // busy grandchild, then SIGINT the child as a user's Ctrl-C would.
    const dir = mkdtempSync(join(tmpdir(), 'fb-cgroup-'));
    try {
      for (const f of ['cgroup', 'system', 'processes']) {
        const src = readFileSync(resolve(__dirname, `../testbed/${f}.ts`), 'utf8');
        const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
        writeFileSync(join(dir, `${f}.js`), out);
      }
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
      writeFileSync(
        join(dir, 'main.js'),
        `import { spawn } from 'node:child_process';
import { detectCgroups, CpuBudget } from './cgroup.js';
const s = detectCgroups(); if (!s.ok) { console.log('NO ' + s.reason); process.exit(3); }
const spin = spawn(process.execPath, ['-e', 'const e = Date.now() + 8000; while (Date.now() < e) {}'], { stdio: 'ignore' });
const b = new CpuBudget(0.2, s.layout);
const g = await b.confine('proxy', spin.pid);
console.log(JSON.stringify({ paths: g.paths, spin: spin.pid }));
setTimeout(() => { spin.kill('SIGKILL'); process.exit(0); }, 9000);
`,
      );
      const harness = spawn(process.execPath, [join(dir, 'main.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(harness);
      let out = '';
      const info = await new Promise<{ paths: string[]; spin: number }>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`no output from the child: ${out}`)), 8000);
        harness.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line) {
            clearTimeout(t);
            res(JSON.parse(line) as { paths: string[]; spin: number });
          }
        });
      });
      expect(info.paths.every((d) => existsSync(d))).toBe(true);
      const exited = new Promise<number | null>((r) => harness.once('exit', (code) => r(code)));
      harness.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(info.paths.every((d) => !existsSync(d))).toBe(true);
      try {
        process.kill(info.spin, 'SIGKILL');
      } catch {
        // already gone
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('detection and cgroup v2 format (fake tree)', () => {
  it('says in one line why there are no budgets', () => {
    const root = mkdtempSync(join(tmpdir(), 'fb-nocg-'));
    try {
      const r = detectCgroups(root);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(/^no cgroup CPU controller under .*unavailable here$/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('writes cpu.max as "quota period" under v2 and removes the group', () => {
    const root = mkdtempSync(join(tmpdir(), 'fb-v2-'));
    try {
      writeFileSync(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
      writeFileSync(join(root, 'cgroup.subtree_control'), '');
      writeFileSync(join(root, 'cgroup.procs'), '');
      const r = detectCgroups(root);
      expect(r).toEqual({ ok: true, layout: { version: 2, dir: root } });
      expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+cpu');
      const g = CpuCgroup.create({ label: 'head', cores: 0.4, layout: { version: 2, dir: root } });
      expect(readFileSync(join(g.paths[0]!, 'cpu.max'), 'utf8')).toBe('4000 10000');
      mkdirSync(join(root, 'unrelated'));
      expect(listForkbenchCgroups({ version: 2, dir: root })).toEqual([g.paths[0]]);
      g.removeSync();
      expect(existsSync(g.paths[0]!)).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
