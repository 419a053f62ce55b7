import { afterAll, describe, expect, it } from 'vitest';
import { clockTicksPerSecond, CpuWindow, cpuUsBetween, parseProcStat, parseProcStatusMem, parseSchedstatRunNs, sampleCpu, type ProcUsage } from '../measure/cpu-sampler.js';
import { processTree } from '../testbed/system.js';
import { spawnTracked, stopAll, type TrackedChild } from '../testbed/processes.js';

// A child that prints "ready", waits for a line on stdin, then burns BURN_MS of CPU time (or just waits
// when BURN_MS is 0), prints "done" and lingers so it can be sampled afterwards.
const WORKER = `
const burn = Number(process.argv[1]);
process.stdout.write('ready\\n');
process.stdin.once('data', () => {
  // burn CPU time, not wall time, so the amount does not depend on how busy the machine is
  const c0 = process.cpuUsage();
  if (burn > 0) { for (;;) { const c = process.cpuUsage(c0); if (c.user + c.system >= burn * 1000) break; } }
  setTimeout(() => { process.stdout.write('done\\n'); setTimeout(() => {}, 10000); }, burn > 0 ? 0 : 300);
});`;

function worker(burnMs: number, viaShell = false): TrackedChild {
  const node = process.execPath;
  return viaShell
    ? spawnTracked('sh', ['-c', `"${node}" -e "$0" ${burnMs}; exit $?`, WORKER], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawnTracked(node, ['-e', WORKER, String(burnMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
}

async function until(c: TrackedChild, word: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!c.stdoutTail().includes(word)) {
    if (Date.now() > end || !c.running) throw new Error(`worker did not print ${word}: ${c.stderrTail()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterAll(async () => {
  await stopAll(300);
});

describe('/proc parsing', () => {
  it('parses stat lines whose comm has spaces and parentheses', () => {
    const line = '42 (my (odd) name) S 7 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 33684 3133440 387';
    expect(parseProcStat(line)).toMatchObject({ pid: 42, comm: 'my (odd) name', state: 'S', ppid: 7, utimeTicks: 250, stimeTicks: 50, startTime: 33684 });
    expect(parseProcStatusMem('Name:\tx\nVmHWM:\t  2024 kB\nVmRSS:\t  1000 kB\n')).toEqual({ rssKb: 1000, peakRssKb: 2024 });
  });

  it('reads the run time from a schedstat line, and takes ticks when the threads changed', () => {
    expect(parseSchedstatRunNs('217001582 18466445 835\n')).toBe(217_001_582);
    expect(() => parseSchedstatRunNs('')).toThrow(/schedstat/);
    const at = (cpuUs: number, runNs: number, tids: string, startTime = 7): ProcUsage => ({ ok: true, pid: 9, cpuUs, rssKb: 1, peakRssKb: 1, startTime, threads: { runNs, tids } });
    expect(cpuUsBetween(at(10_000, 1_000_000, '9,10'), at(10_000, 4_500_000, '9,10'))).toBe(3500);
    expect(cpuUsBetween(at(10_000, 1_000_000, '9,10'), at(20_000, 4_500_000, '9'))).toBe(10_000); // a thread exited: its time is only in the ticks
    expect(cpuUsBetween(at(10_000, 1_000_000, '9'), at(20_000, 4_500_000, '9', 8))).toBe(20_000); // another process on a reused pid counts in full
    expect(cpuUsBetween(undefined, at(20_000, 4_500_000, '9'))).toBe(20_000);
  });
  it('reads CLK_TCK from getconf', async () => {
    const hz = await clockTicksPerSecond();
    expect(Number.isInteger(hz) && hz > 0).toBe(true);
  });
});

describe('CPU sampler', () => {
  it('tells a process that burns ~300 ms of CPU from one that sleeps', async () => {
    const burner = worker(300);
    const sleeper = worker(0);
    await Promise.all([until(burner, 'ready'), until(sleeper, 'ready')]);
    const win = new CpuWindow([{ pid: burner.pid }, { pid: sleeper.pid }]);
    await win.start();
    burner.child.stdin!.write('go\n');
    sleeper.child.stdin!.write('go\n');
    await Promise.all([until(burner, 'done'), until(sleeper, 'done')]);
    const res = await win.end();
    const b = res.get(burner.pid)!;
    const s = res.get(sleeper.pid)!;
    if (!b.ok || !s.ok) throw new Error('sample failed');
    expect(b.cpuUs).toBeGreaterThan(280_000);
    expect(b.cpuUs).toBeLessThan(b.wallUs * 1.05 + 20_000); // one thread cannot exceed the wall time by much
    expect(s.cpuUs).toBeLessThan(60_000);
    expect(b.wallUs).toBeGreaterThanOrEqual(b.cpuUs - 20_000);
    expect(b.cpuPct).toBeGreaterThan(s.cpuPct + 30);
    expect(b.cpuPct).toBeCloseTo((b.cpuUs / b.wallUs) * 100, 6);
    expect(b.peakRssKb).toBeGreaterThan(1000);
    expect(b.peakRssKb).toBeGreaterThanOrEqual(b.rssKb);
  });

  it('reads CPU time below the 10 ms clock tick (so a short idle window does not read 0)', async () => {
    // 25 ms of CPU: ticks can only say 20 or 30 ms; the threads' schedstat run time says about 25.
    const burner = worker(25);
    await until(burner, 'ready');
    const win = new CpuWindow([{ pid: burner.pid }]);
    await win.start();
    burner.child.stdin!.write('go\n');
    await until(burner, 'done');
    const b = (await win.end()).get(burner.pid)!;
    if (!b.ok) throw new Error(b.error);
    expect(b.cpuUs).toBeGreaterThanOrEqual(24_000);
    expect(b.cpuUs).toBeLessThan(29_000);
  });

  it('counts the CPU of child processes when sampling a tree', async () => {
    const sh = worker(300, true);
    await until(sh, 'ready');
    const tree = await processTree(sh.pid);
    expect(tree[0]).toBe(sh.pid);
    expect(tree.length).toBeGreaterThanOrEqual(2);
    expect(() => new CpuWindow([{ pid: sh.pid, tree: true }, { pid: sh.pid }])).toThrow(/listed twice/);
    const win = new CpuWindow([{ pid: sh.pid, tree: true }]);
    await win.start();
    sh.child.stdin!.write('go\n');
    await until(sh, 'done');
    const res = await win.end();
    const t = res.get(sh.pid)!;
    if (!t.ok) throw new Error(t.error);
    expect(t.pids).toEqual(tree);
    expect(t.cpuUs).toBeGreaterThan(280_000);
  });

  it('gives an error value, not a crash, for a pid that has exited', async () => {
    const gone = spawnTracked('true', []);
    await gone.exited;
    const m = await sampleCpu([gone.pid, process.pid]);
    expect(m.get(gone.pid)).toEqual({ ok: false, pid: gone.pid, error: `process ${gone.pid} has exited` });
    expect(m.get(process.pid)?.ok).toBe(true);

    const dies = spawnTracked('sleep', ['30']);
    await new Promise((r) => setTimeout(r, 50));
    const win = new CpuWindow([{ pid: dies.pid }, { pid: process.pid }]);
    await win.start();
    await dies.stop(500);
    const res = await win.end();
    const d = res.get(dies.pid)!;
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.error).toMatch(/has exited.*before the window ended/);
    expect(res.get(process.pid)?.ok).toBe(true);
  });
});
