// The speed probe over real processes: it reports CPU ns per unit, stops when asked, and stops by
// itself when the harness goes away (stdin closed) or its time limit passes.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { capacityAtReference, meanSample, SpeedProbe, SPEED_PROBE_REF_NS } from '../measure/speed-probe.js';
import { probeUnit } from '../measure/speed-probe-unit.js';

const WORKER = fileURLToPath(new URL('../../dist/harness/measure/speed-probe-worker.js', import.meta.url));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const exitOf = (child: ReturnType<typeof spawn>): Promise<number | null> => new Promise((resolve) => child.once('exit', (code) => resolve(code)));

describe('speed probe', () => {
  it('the unit depends on its input (nothing to optimise away) and is the same work each time', () => {
    expect(probeUnit(1)).not.toBe(probeUnit(2));
    expect(probeUnit(7)).toBe(probeUnit(7));
  });

  it('scales capacity to the reference core by the host\'s slowness, and says nothing without a reading', () => {
    expect(capacityAtReference(100, SPEED_PROBE_REF_NS * 1.2)).toBe(120);
    expect(capacityAtReference(100, SPEED_PROBE_REF_NS / 2)).toBe(50);
    expect(capacityAtReference(100, undefined)).toBeUndefined();
    expect(capacityAtReference(100, 0)).toBeUndefined();
    expect(meanSample([])).toBeUndefined();
    expect(meanSample([100, Number.NaN, 300])).toBe(200);
  });

  it('reports samples from the mark on, and its process is gone after stop()', async () => {
    const probe = SpeedProbe.start(30);
    await new Promise((r) => setTimeout(r, 400));
    probe.mark();
    expect(probe.read()).toBeUndefined(); // nothing since the mark yet
    await new Promise((r) => setTimeout(r, 600));
    const ns = probe.read();
    // A unit is tens of microseconds of CPU on any machine this runs on; not 0, not seconds.
    expect(ns).toBeGreaterThan(1_000);
    expect(ns).toBeLessThan(100_000_000);
    await probe.stop();
    expect(alive(probe.pid)).toBe(false);
  });

  it('the worker exits by itself when its stdin closes (the harness died) and when its time limit passes', async () => {
    const orphan = spawn(process.execPath, [WORKER, '60', '50', '2'], { stdio: ['pipe', 'ignore', 'ignore'] });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    orphan.stdin!.end();
    expect(await exitOf(orphan)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2_000);

    const limited = spawn(process.execPath, [WORKER, '1', '50', '2'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const t1 = Date.now();
    expect(await exitOf(limited)).toBe(0);
    expect(Date.now() - t1).toBeLessThan(5_000);
  });
});
