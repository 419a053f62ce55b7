// results/<run>/points.csv: RFC 4180 CSV, one row per sweep point, columns from columns.ts.
// Each point is appended and fsynced as soon as it completes, so an interrupted sweep keeps every
// finished point and `--resume` can skip them. Values never contain line breaks (they are replaced
// by spaces), so every record is exactly one line and a torn write is exactly an unterminated last
// line, which is cut off before the next append or resume.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, ftruncateSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { POINT_COLUMNS, POINT_COLUMNS_SINCE_2, SCHEMA_VERSION, type PointColumn, type PointRow } from './columns.js';

export type PointInput = Partial<Record<PointColumn, string | number | undefined | null>>;

// Columns kept as text when read back; every other non-empty cell is a number.
const TEXT_COLUMNS: ReadonlySet<PointColumn> = new Set<PointColumn>([
  'point_id', 'target', 'mode', 'parse', 'fail_causes', 'delay_source', 'flag_reason', 'status', 'error', 'relay_180', 'forknode_parse',
]);
const DONE_STATUSES = new Set(['ok', 'failed']);
const HEADER_LINE = stringify([[...POINT_COLUMNS]], { record_delimiter: '\n' });

function cell(v: string | number | undefined | null): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  return v.replace(/\r\n|\r|\n/g, ' ');
}

/** One CSV line (with '\n') for `row` in POINT_COLUMNS order; schema_version defaults to ours. */
export function formatPointLine(row: PointInput): string {
  const known = new Set<string>(POINT_COLUMNS);
  for (const k of Object.keys(row)) if (!known.has(k)) throw new Error(`points.csv: unknown column "${k}" in row ${String(row.point_id ?? '')}`);
  const full: PointInput = { schema_version: SCHEMA_VERSION, ...row };
  return stringify([POINT_COLUMNS.map((c) => cell(full[c]))], { record_delimiter: '\n' });
}

/**
 * Cuts an unterminated last line (a write interrupted mid-row) off the file. Returns true when
 * something was cut. A missing file is left alone.
 */
export function repairTornTail(file: string): boolean {
  if (!existsSync(file)) return false;
  const buf = readFileSync(file);
  if (buf.length === 0 || buf[buf.length - 1] === 0x0a) return false;
  const keep = buf.lastIndexOf(0x0a) + 1; // 0 when even the header is torn
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, keep);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

// Reading accepts schema-1 files (without the columns added in schema 2); appending does not (the
// new row's cells would not line up with the old header).
const OPTIONAL_ON_READ = new Set<string>(POINT_COLUMNS_SINCE_2);

function checkHeader(file: string, headerLine: string, forAppend = true): void {
  const cols = (parse(headerLine) as string[][])[0] ?? [];
  for (const c of POINT_COLUMNS) {
    if (!forAppend && OPTIONAL_ON_READ.has(c)) continue;
    if (!cols.includes(c)) throw new Error(`${file}: missing column "${c}" (written by a different forkbench version?)`);
  }
}

/** Appends one point (header first when the file is new or empty) and fsyncs before resolving. */
export async function appendPoint(file: string, row: PointInput): Promise<void> {
  const line = formatPointLine(row);
  repairTornTail(file);
  const isNew = !existsSync(file) || statSync(file).size === 0;
  if (!isNew) {
    const first = readFileSync(file, 'utf8').split('\n', 1)[0];
    checkHeader(file, first);
  }
  const fh = await open(file, 'a');
  try {
    await fh.write(isNew ? HEADER_LINE + line : line);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function toRows(file: string, text: string): PointRow[] {
  // Ignore a torn last line: the point it describes did not complete.
  const nl = text.lastIndexOf('\n');
  const complete = text.endsWith('\n') ? text : text.slice(0, nl + 1);
  if (complete.trim() === '') return [];
  const records = parse(complete, { columns: true, skip_empty_lines: true, relax_column_count: false }) as Record<string, string>[];
  checkHeader(file, complete.split('\n', 1)[0], false);
  return records.map((rec, i) => {
    const version = Number(rec.schema_version);
    if (!Number.isFinite(version)) throw new Error(`${file}: row ${i + 2}: column "schema_version" is "${rec.schema_version}", not a number`);
    if (version > SCHEMA_VERSION) {
      throw new Error(`${file}: row ${i + 2}: column "schema_version" is ${version}, newer than this forkbench's ${SCHEMA_VERSION}: upgrade forkbench to read it`);
    }
    const row = {} as PointRow;
    for (const c of POINT_COLUMNS) {
      const v = rec[c] ?? '';
      if (TEXT_COLUMNS.has(c) || v === '') row[c] = v;
      else {
        const n = Number(v);
        if (Number.isNaN(n)) throw new Error(`${file}: row ${i + 2}: column "${c}" is "${v}", not a number`);
        row[c] = n;
      }
    }
    return row;
  });
}

/** Reads and validates points.csv; numeric columns come back as numbers, empty cells as ''. */
export async function readPoints(file: string): Promise<PointRow[]> {
  return toRows(file, await readFile(file, 'utf8'));
}

/** point_ids already done (status ok or failed), for --resume. Repairs a torn last line first. */
export function completedPointIds(file: string): Set<string> {
  if (!existsSync(file)) return new Set();
  repairTornTail(file);
  const rows = toRows(file, readFileSync(file, 'utf8'));
  return new Set(rows.filter((r) => DONE_STATUSES.has(String(r.status))).map((r) => String(r.point_id)));
}
