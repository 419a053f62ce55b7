import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { portFree, shutdownOnSignal, spawnTracked, stopAll, supervisor } from '../testbed/processes.js';
import { processTree } from '../testbed/system.js';

// A killed grandchild stays a zombie until init reaps it: count zombies as dead.
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterEach(async () => {
  await stopAll(300);
});

describe('process supervisor', () => {
  it('stops a child and its grandchildren (process group)', async () => {
    const c = spawnTracked('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { name: 'tree' });
    const pids = await waitFor(async () => {
      const t = await processTree(c.pid);
      return t.length === 3 ? t : undefined;
    });
    expect(supervisor.tracked).toContain(c);
    const infos = await stopAll(1000);
    expect(infos).toHaveLength(1);
    expect(infos[0]).toMatchObject({ name: 'tree', expected: true });
    await waitFor(() => (pids.every((p) => !alive(p)) ? true : undefined));
    expect(supervisor.tracked).not.toContain(c);
  });

  it('escalates to SIGKILL after the grace period', async () => {
    const c = spawnTracked('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done']);
    await waitFor(() => (c.stdoutTail().includes('ready') ? true : undefined));
    const t0 = Date.now();
    const info = await c.stop(300);
    expect(info.signal).toBe('SIGKILL');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(alive(c.pid)).toBe(false);
  });

  it('tells a crash from a wanted exit in the exit info', async () => {
    const crash = spawnTracked('sh', ['-c', 'echo oops >&2; exit 3'], { name: 'crasher' });
    const done = spawnTracked('sh', ['-c', 'sleep 0.1'], { name: 'finisher' });
    done.expectExit();
    const [ci, di] = await Promise.all([crash.exited, done.exited]);
    expect(ci).toMatchObject({ name: 'crasher', code: 3, expected: false });
    expect(di).toMatchObject({ name: 'finisher', code: 0, expected: true });
    expect(crash.stderrTail()).toBe('oops\n');
    expect(supervisor.tracked).not.toContain(crash);
  });

  it('throws a clear error for a missing binary', () => {
    expect(() => spawnTracked('no-such-binary-fb', [])).toThrow(/cannot start no-such-binary-fb/);
  });

  it('on SIGINT stops every child, then exits 130', async () => {
    const a = spawnTracked('sleep', ['30']);
    const b = spawnTracked('sleep', ['30']);
    const codes: number[] = [];
    await shutdownOnSignal('SIGINT', { exit: (code) => codes.push(code), graceMs: 500 });
    expect(codes).toEqual([130]);
    expect(alive(a.pid) || alive(b.pid)).toBe(false);
    expect(process.listenerCount('SIGINT')).toBeGreaterThanOrEqual(1); // installed by spawnTracked
  });

  it('portFree tells a bound UDP port from a free one', async () => {
    const port = 16500;
    expect(await portFree(port, 'udp')).toBe(true);
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(port, '127.0.0.1', () => r()));
    try {
      expect(await portFree(port, 'udp')).toBe(false);
      expect(await portFree(port, 'tcp')).toBe(true);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
    expect(await portFree(port)).toBe(true);
  });
});
