// make figures on a committed run leaves the tree unchanged: the report is stamped with its data's
// time (meta.json), not the render time, and two renders are byte for byte the same.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRuns } from '../load-run.js';
import { dataStamp, writeReport } from '../write-report.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/budget-run', import.meta.url));

describe('report stamp', () => {
  it('is the latest time in meta.json (sweep end or a capacity run), null without meta', () => {
    expect(dataStamp(loadRuns([FIXTURE]))?.toISOString()).toBe('2026-11-28T12:48:32.773Z');
    const runs = loadRuns([FIXTURE]);
    runs[0]!.meta!.capacityRuns = [{ command: 'x', startedAt: '2026-11-29T01:00:00.000Z', endedAt: '2026-11-29T02:00:00.000Z' }];
    expect(dataStamp(runs)?.toISOString()).toBe('2026-11-29T02:00:00.000Z');
    runs[0]!.meta = null;
    expect(dataStamp(runs)).toBeNull();
  });

  it('two renders of one run write identical files, stamped with the data time', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'fb-stamp-'));
    try {
      const run = join(parent, 'budget-run');
      cpSync(FIXTURE, run, { recursive: true });
      const read = (): Map<string, Buffer> => new Map(readdirSync(join(run, 'report')).map((f) => [f, readFileSync(join(run, 'report', f))]));
      await writeReport([run]);
      const first = read();
      await new Promise((r) => setTimeout(r, 1100)); // a render-time stamp would now differ
      await writeReport([run]);
      const second = read();
      expect([...second.keys()]).toEqual([...first.keys()]);
      for (const [f, b] of first) expect(second.get(f)!.equals(b), f).toBe(true);
      expect(first.get('report.html')!.toString()).toContain('Data measured until 2026-11-28T12:48:32.773Z');
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe('capacity figure caption', () => {
  it('names the capacity runs (commit, budget, command), not the sweep', async () => {
    const { capacityProvenanceLines } = await import('../caption.js');
    const meta = {
      command: 'node forkbench.js bench --out r',
      capacityRuns: [
        { command: '/usr/bin/node /x/bin/forkbench.js capacity --mode centralized --group-size 16 --cpu-budget 0.2 --out r', startedAt: '2026-11-28T13:00:00Z', gitCommit: 'abcdef0123456', cpuBudgetCores: 0.2 },
        { command: 'forkbench capacity-sweep --out r', startedAt: '2026-11-25T13:59:37.761Z' },
      ],
    };
    expect(capacityProvenanceLines([{ label: 'r', meta }])).toEqual([
      'capacity run @ abcdef0 · 0.2 cores per process · 2026-11-28: forkbench capacity --mode centralized --group-size 16 --cpu-budget 0.2 --out r',
      'capacity run @ commit unknown · no CPU budget recorded · 2026-11-25: forkbench capacity-sweep --out r',
    ]);
    expect(capacityProvenanceLines([{ label: 'r', meta: null }])[0]).toMatch(/no meta\.json in this run.*\(no capacity run recorded in meta\.json\)/);
  });
});
