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
