// Two capacity runs side by side: ratios, the 10 % verdicts (measured and on the reference core),
// searches present in one run only, and the command over real files (exit 2 and the fix when one
// run has no capacity.csv).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPACITY_COLUMNS } from '../../harness/records/columns.js';
import { packageRoot } from '../../harness/testbed/system.js';
import { capacityAgreement, formatAgreement } from '../capacity-agreement.js';
import type { Capacity } from '../load-run.js';

function cap(target: string, mode: string, n: number, cps: number | null, ref: number | null, stop = 'resolution'): Capacity {
  const row = Object.fromEntries(CAPACITY_COLUMNS.map((c) => [c, null])) as unknown as Capacity;
  return { ...row, schema_version: 2, target, mode, parse: 'full', group_size: n, capacity_cps: cps, capacity_ref_cps: ref, stop_reason: stop };
}

describe('capacityAgreement', () => {
  it('B/A per search, each verdict on its own number, and the searches only one run has', () => {
    const a = [cap('forkbench', 'centralized', 8, 131, 150), cap('kamailio', 'centralized', 2, 312, 340), cap('forkbench', 'distributed', 8, 100, 110)];
    const b = [cap('forkbench', 'centralized', 8, 112, 147), cap('kamailio', 'centralized', 2, null, null, 'testbed-bound'), cap('forkbench', 'distributed', 32, 50, 60)];
    const rows = capacityAgreement(a, b);
    expect(rows.map((r) => r.search)).toEqual(['forkbench centralized N=8', 'kamailio centralized N=2', 'forkbench distributed N=8', 'forkbench distributed N=32']);
    // Measured -15 %: disagrees; on the reference core -2 %: agrees.
    expect(rows[0]).toMatchObject({ a: 131, b: 112, agrees: false, refAgrees: true });
    expect(rows[0]!.ratio).toBeCloseTo(112 / 131, 6);
    expect(rows[1]).toMatchObject({ agrees: undefined, note: 'no capacity in run B (testbed-bound)' });
    expect(rows[2]!.note).toBe('only in run A');
    expect(rows[3]!.note).toBe('only in run B');
    // Exactly 10 % apart still agrees; 11 % does not.
    expect(capacityAgreement([cap('forkbench', 'centralized', 2, 100, 100)], [cap('forkbench', 'centralized', 2, 110, 89)])[0]).toMatchObject({ agrees: true, refAgrees: false });
    const table = formatAgreement(rows);
    expect(table).toContain('within 10 %: 0 of 4 measured, 1 of 4 on the reference core');
    expect(table).toMatch(/forkbench centralized N=8\s+131\s+112\s+-15 %\s+150\s+147\s+-2 %/);
  });

  it('forkbench capacity-compare reads two runs, and names the fix when one has no capacity.csv', () => {
    const dirA = mkdtempSync(join(tmpdir(), 'forkbench-agree-a-'));
    const dirB = mkdtempSync(join(tmpdir(), 'forkbench-agree-b-'));
    const csv = (rows: (string | number)[][]): string => [CAPACITY_COLUMNS.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n';
    const line = (cps: number, ref: number): (string | number)[] =>
      CAPACITY_COLUMNS.map((c) => ({ schema_version: 2, target: 'forkbench', mode: 'centralized', parse: 'full', group_size: 8, capacity_cps: cps, capacity_ref_cps: ref, stop_reason: 'resolution' })[c as string] ?? '');
    writeFileSync(join(dirA, 'capacity.csv'), csv([line(100, 120)]));
    writeFileSync(join(dirB, 'capacity.csv'), csv([line(95, 125)]));
    const cli = join(packageRoot(), 'bin', 'forkbench.js');
    const out = execFileSync(process.execPath, [cli, 'capacity-compare', dirA, dirB], { encoding: 'utf8' });
    expect(out).toMatch(/forkbench centralized N=8\s+100\s+95\s+-5 %\s+120\s+125\s+\+4 %/);
    expect(out).toContain('within 10 %: 1 of 1 measured, 1 of 1 on the reference core');
    const empty = mkdtempSync(join(tmpdir(), 'forkbench-agree-none-'));
    const r = spawnSync(process.execPath, [cli, 'capacity-compare', dirA, empty], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/capacity\.csv does not exist: run forkbench capacity-sweep --out .* \(make capacity\) first/);
  });
});
