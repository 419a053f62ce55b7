import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { POINT_COLUMNS, SCHEMA_VERSION } from '../records/columns.js';
import { appendPoint, completedPointIds, formatPointLine, readPoints, repairTornTail } from '../records/results-csv.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const row = (id: string, status = 'ok', extra: Record<string, string | number> = {}) => ({
  point_id: id, trial: 1, target: 'forkbench', mode: 'centralized', parse: 'full', group_size: 8, fork_nodes: 0,
  offered_rate_cps: 50, setup_p95_us: 1234.5, fail_causes: '408:2;480:1', status, error: '', ...extra,
});

describe('points.csv', () => {
  it('writes the header once and appends one line per point', async () => {
    const f = join(dir, 'a.csv');
    await appendPoint(f, row('p1'));
    await appendPoint(f, row('p2', 'failed', { error: 'proxy crashed,\n"badly"' }));
    const lines = readFileSync(f, 'utf8').split('\n');
    expect(lines).toHaveLength(4); // header, 2 rows, final empty
    expect(lines[0]).toBe(POINT_COLUMNS.join(','));
    const rows = await readPoints(f);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ schema_version: SCHEMA_VERSION, point_id: 'p1', group_size: 8, setup_p95_us: 1234.5, fail_causes: '408:2;480:1', ser: '' });
    expect(rows[1].error).toBe('proxy crashed, "badly"'); // RFC 4180 quoting round-trips, line break flattened
    expect(Object.keys(rows[0])).toEqual([...POINT_COLUMNS]);
  });

  it('rejects unknown columns when writing', () => {
    expect(() => formatPointLine({ point_id: 'x', setup_p96_us: 1 } as never)).toThrow(/unknown column "setup_p96_us"/);
  });

  it('resume: a torn last line is ignored and repaired, only ok/failed rows count as done', async () => {
    const f = join(dir, 'resume.csv');
    await appendPoint(f, row('forkbench/centralized/full/n2/r10/t1'));
    await appendPoint(f, row('forkbench/centralized/full/n8/r10/t1', 'failed'));
    await appendPoint(f, row('forkbench/centralized/full/n32/r10/t1'));
    const half = formatPointLine(row('forkbench/centralized/full/n64/r10/t1'));
    appendFileSync(f, half.slice(0, Math.floor(half.length / 2)));

    expect(await readPoints(f)).toHaveLength(3); // readers skip the torn line too
    const done = completedPointIds(f);
    expect(done.size).toBe(3);
    expect(done.has('forkbench/centralized/full/n8/r10/t1')).toBe(true);
    expect(readFileSync(f, 'utf8').endsWith('\n')).toBe(true); // repaired
    expect(await readPoints(f)).toHaveLength(3);
    expect(repairTornTail(f)).toBe(false);

    await appendPoint(f, row('forkbench/centralized/full/n64/r10/t1', 'skipped'));
    const rows = await readPoints(f);
    expect(rows).toHaveLength(4);
    expect(completedPointIds(f).size).toBe(3); // "skipped" is not done
    expect(completedPointIds(join(dir, 'none.csv')).size).toBe(0);
  });

  it('appending after a torn line repairs the file first', async () => {
    const f = join(dir, 'torn-append.csv');
    await appendPoint(f, row('a'));
    appendFileSync(f, '1,b,1,forkb');
    await appendPoint(f, row('c'));
    expect((await readPoints(f)).map((r) => r.point_id)).toEqual(['a', 'c']);
  });

  it('names the file and the column when a column is missing', async () => {
    const f = join(dir, 'missing.csv');
    const cols = POINT_COLUMNS.filter((c) => c !== 'setup_p95_us');
    writeFileSync(f, `${cols.join(',')}\n${cols.map(() => '1').join(',')}\n`);
    await expect(readPoints(f)).rejects.toThrow(`${f}: missing column "setup_p95_us"`);
    await expect(appendPoint(f, row('x'))).rejects.toThrow(`${f}: missing column "setup_p95_us"`);
  });

  it('refuses a schema_version newer than ours', async () => {
    const f = join(dir, 'newer.csv');
    await appendPoint(f, row('x', 'ok', { schema_version: SCHEMA_VERSION + 1 }));
    await expect(readPoints(f)).rejects.toThrow(new RegExp(`${f}: row 2: column "schema_version" is ${SCHEMA_VERSION + 1}, newer`));
  });
});
