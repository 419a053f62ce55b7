// What a sweep prints, from SweepEvents: plain lines on a pipe, JSON lines with --json, a bar on a
// terminal, and after Ctrl-C what was kept and how to resume.
import { describe, expect, it } from 'vitest';
import type { SweepPoint } from '../plan/bench-config.js';
import { baseRow } from '../records/point-row.js';
import { makeReporter } from '../commands/progress.js';
import type { SweepEvent } from '../engine/sweep.js';

const point: SweepPoint = { pointId: 'forkbench/distributed/lazy/n32/r25/t1', target: 'forkbench', mode: 'distributed', parse: 'lazy', groupSize: 32, forkNodes: 2, rate: 25, trial: 1 };
const row = { ...baseRow(point, 2), status: 'ok', ser: 1, setup_p95_us: 29_340, head_cpu_pct: 5.8, cpu_us_per_call: 2294 };
const events: SweepEvent[] = [
  { kind: 'start', total: 12, todo: 12, skipped: 0, etaS: 170 },
  { kind: 'point-start', index: 11, total: 12, point },
  { kind: 'point-done', index: 11, total: 12, point, row, failuresSoFar: 0 },
  { kind: 'point-done', index: 12, total: 12, point: { ...point, target: 'kamailio', parse: 'n/a', mode: 'centralized' }, row: { ...row, status: 'failed', error: 'caller did not finish', setup_p95_us: '' }, failuresSoFar: 1 },
  { kind: 'done', out: 'results/latest', completed: 12, failed: 1, interrupted: false, pointsInFile: 12, total: 12, resumeCommand: 'x' },
];

function capture(opts: { json: boolean; tty: boolean }, evs: SweepEvent[]): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const report = makeReporter({ ...opts, log: (s) => out.push(s), warn: (s) => err.push(s) });
  for (const e of evs) report(e);
  return { out, err };
}

describe('makeReporter', () => {
  it('on a pipe: the plan, one line per finished point (the README example), and the summary', () => {
    expect(capture({ json: false, tty: false }, events).out).toEqual([
      'forkbench bench: 12 points to run, about 3 min',
      '[11/12] distributed/lazy N=32 25 cps #1: SER 1, p95 setup 29.34 ms, head CPU 5.8%, 2294 us/call',
      '[12/12] kamailio/n/a N=32 25 cps #1: FAILED: caller did not finish, no delay, head CPU 5.8%, 2294 us/call',
      'done: 12 points written to results/latest/points.csv (1 failed), meta in results/latest/meta.json',
    ]);
  });

  it('notes the capture fallback and a resumed run in the plan line', () => {
    const { out } = capture({ json: false, tty: false }, [{ kind: 'start', total: 4, todo: 3, skipped: 1, etaS: 30, captureNote: 'no packet capture (x)' }]);
    expect(out).toEqual(['note: no packet capture (x)', 'forkbench bench: 3 points to run (1 already done, resumed), about 1 min']);
  });

  it('--json: only the rows, one JSON object per line', () => {
    const { out, err } = capture({ json: true, tty: false }, events);
    for (const line of out) expect(line).not.toContain('\n');
    expect(out.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([row, { ...row, status: 'failed', error: 'caller did not finish', setup_p95_us: '' }]);
    expect(err).toEqual([]);
  });

  it('on a terminal: a bar instead of per-point lines', () => {
    const { out } = capture({ json: false, tty: true }, events);
    expect(out.filter((l) => l.startsWith('['))).toEqual([]);
    expect(out.at(-1)).toMatch(/^done: 12 points/);
  });

  it('after Ctrl-C: what was kept and the exact resume command (on stderr with --json)', () => {
    const cut: SweepEvent = { kind: 'done', out: 'r', completed: 2, failed: 0, interrupted: true, pointsInFile: 5, total: 9, resumeCommand: "node bin/forkbench.js bench --out r --resume" };
    const expected = [
      'interrupted: kept 2 points finished in this run (0 failed); 5 of 9 points are in r/points.csv; the interrupted point was discarded',
      'resume with: node bin/forkbench.js bench --out r --resume',
    ];
    expect(capture({ json: false, tty: false }, [cut]).out).toEqual(expected);
    expect(capture({ json: true, tty: false }, [cut])).toEqual({ out: [], err: expected });
  });
});

describe('resumeCommandFor', () => {
  it('the same command line with --resume once, shell-quoted', async () => {
    const { resumeCommandFor } = await import('../engine/sweep.js');
    expect(resumeCommandFor(['node', 'bin/forkbench.js', 'bench', '--out', 'my run'])).toBe("node bin/forkbench.js bench --out 'my run' --resume");
    expect(resumeCommandFor(['node', 'f.js', 'bench', '--resume'])).toBe('node f.js bench --resume');
  });
});
