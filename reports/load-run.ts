// Reads one results/<run>/ folder (points.csv, optional capacity.csv, overload.csv and meta.json) and validates it.
// Deliberately independent of harness/records/results-csv.ts: the report must explain bad files itself.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  CAPACITY_COLUMNS,
  CAPACITY_COLUMNS_SINCE_2,
  OVERLOAD_COLUMNS,
  POINT_COLUMNS_SINCE_2,
  POINT_COLUMNS,
  SCHEMA_VERSION,
  type CapacityColumn,
  type PointColumn,
} from '../harness/records/columns.js';
import { ReportError } from './report-error.js';

// Columns holding text; every other column is numeric (empty cell -> null).
const POINT_TEXT_COLUMNS = [
  'point_id',
  'target',
  'mode',
  'parse',
  'fail_causes',
  'delay_source',
  'flag_reason',
  'status',
  'error',
  'relay_180',
  'forknode_parse',
] as const satisfies readonly PointColumn[];
const CAPACITY_TEXT_COLUMNS = ['target', 'mode', 'parse', 'stop_reason'] as const satisfies readonly CapacityColumn[];
// Columns added in schema 2: files written before (schema 1) lack them and read them as empty.
const OPTIONAL_COLUMNS = new Set<string>([...POINT_COLUMNS_SINCE_2, ...CAPACITY_COLUMNS_SINCE_2]);

type PointTextColumn = (typeof POINT_TEXT_COLUMNS)[number];
type CapacityTextColumn = (typeof CAPACITY_TEXT_COLUMNS)[number];

export type Point = { [K in PointColumn]: K extends PointTextColumn ? string : number | null };

type OverloadColumn = (typeof OVERLOAD_COLUMNS)[number];
const OVERLOAD_TEXT_COLUMNS = ['mode', 'status', 'flag_reason', 'error'] as const satisfies readonly OverloadColumn[];
type OverloadTextColumn = (typeof OVERLOAD_TEXT_COLUMNS)[number];
/** A row of overload.csv (forkbench overload): one load, one mode. */
export type OverloadLoad = { [K in OverloadColumn]: K extends OverloadTextColumn ? string : number | null };
export type Capacity = { [K in CapacityColumn]: K extends CapacityTextColumn ? string : number | null };

/** meta.json is free-form; these are the keys the report shows when present. */
export interface RunMeta {
  command?: string | string[];
  config?: unknown;
  forkbench?: { version?: string; gitCommit?: string };
  node?: string;
  sippVersion?: string;
  kernel?: string;
  cpuModel?: string;
  cores?: number;
  startedAt?: string;
  endedAt?: string;
  [key: string]: unknown;
}

export interface RunData {
  dir: string; // absolute path of results/<run>
  label: string; // short name used in legends and tables
  points: Point[];
  capacity: Capacity[] | null; // null when capacity.csv is absent
  overload: OverloadLoad[] | null; // null when overload.csv is absent
  meta: RunMeta | null; // null when meta.json is absent
}

// Rows that must be numbers whenever present, because the figures and headlines key on them.
const POINT_KEY_COLUMNS: readonly PointColumn[] = ['group_size', 'offered_rate_cps', 'trial'];

function readCsv(file: string): string[][] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ReportError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
  try {
    return parse(text, { bom: true, skip_empty_lines: true }) as string[][];
  } catch (err) {
    throw new ReportError(`${file}: not valid CSV (${(err as Error).message})`, file);
  }
}

function toNumber(file: string, line: number, column: string, cell: string): number | null {
  if (cell.trim() === '') return null;
  const n = Number(cell);
  if (!Number.isFinite(n)) {
    throw new ReportError(`${file}, line ${line}, column "${column}": "${cell}" is not a number`, file, column);
  }
  return n;
}

/**
 * Parses a results CSV with a header row into typed records. Errors name the file and the column:
 * missing column, no rows, schema_version newer than this forkbench understands, non-numeric cells.
 */
function loadTable<C extends string>(
  file: string,
  columns: readonly C[],
  textColumns: readonly C[],
): Record<C, string | number | null>[] {
  const records = readCsv(file);
  if (records.length === 0) throw new ReportError(`${file}: empty CSV (no header row, no data)`, file);
  const header = records[0].map((h) => h.trim());
  const index = new Map(header.map((h, i) => [h, i]));
  for (const column of columns) {
    if (!index.has(column) && !OPTIONAL_COLUMNS.has(column)) throw new ReportError(`${file}: missing column "${column}"`, file, column);
  }
  if (records.length === 1) throw new ReportError(`${file}: empty CSV (header row but no data rows)`, file);
  const text = new Set<string>(textColumns);
  return records.slice(1).map((record, i) => {
    const line = i + 2; // 1-based, after the header
    const row = {} as Record<C, string | number | null>;
    for (const column of columns) {
      const at = index.get(column);
      const cell = at === undefined ? '' : (record[at] ?? '');
      row[column] = text.has(column) ? cell : toNumber(file, line, column, cell);
    }
    const version = row['schema_version' as C];
    if (typeof version === 'number' && version > SCHEMA_VERSION) {
      throw new ReportError(
        `${file}, line ${line}, column "schema_version": ${version} was written by a newer forkbench ` +
          `(this one reads schema_version ${SCHEMA_VERSION}); upgrade forkbench to report on it`,
        file,
        'schema_version',
      );
    }
    if (version === null) {
      throw new ReportError(`${file}, line ${line}, column "schema_version": empty`, file, 'schema_version');
    }
    return row;
  });
}

export function loadPoints(file: string): Point[] {
  const rows = loadTable<PointColumn>(file, POINT_COLUMNS, POINT_TEXT_COLUMNS) as Point[];
  rows.forEach((row, i) => {
    for (const column of POINT_KEY_COLUMNS) {
      if (row[column] === null) {
        throw new ReportError(`${file}, line ${i + 2}, column "${column}": empty`, file, column);
      }
    }
  });
  return rows;
}

export function loadCapacity(file: string): Capacity[] {
  return loadTable<CapacityColumn>(file, CAPACITY_COLUMNS, CAPACITY_TEXT_COLUMNS) as Capacity[];
}

export function loadOverload(file: string): OverloadLoad[] {
  return loadTable<OverloadColumn>(file, OVERLOAD_COLUMNS, OVERLOAD_TEXT_COLUMNS) as OverloadLoad[];
}

export function loadMeta(file: string): RunMeta {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ReportError(`${file}: not valid JSON (${(err as Error).message})`, file);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ReportError(`${file}: expected a JSON object`, file);
  }
  return value as RunMeta;
}

/** Loads results/<run>/: points.csv is required, capacity.csv, overload.csv and meta.json are optional. */
export function loadRun(dir: string, label = basename(resolve(dir))): RunData {
  const abs = resolve(dir);
  const pointsFile = join(abs, 'points.csv');
  if (!existsSync(pointsFile)) throw new ReportError(`${pointsFile}: not found (is ${dir} a results folder?)`, pointsFile);
  const capacityFile = join(abs, 'capacity.csv');
  const metaFile = join(abs, 'meta.json');
  const overloadFile = join(abs, 'overload.csv');
  return {
    dir: abs,
    label,
    points: loadPoints(pointsFile),
    capacity: existsSync(capacityFile) ? loadCapacity(capacityFile) : null,
    overload: existsSync(overloadFile) ? loadOverload(overloadFile) : null,
    meta: existsSync(metaFile) ? loadMeta(metaFile) : null,
  };
}

/** Loads several runs; labels are folder names, made unique with the parent folder when two collide. */
export function loadRuns(dirs: readonly string[]): RunData[] {
  const names = dirs.map((d) => basename(resolve(d)));
  const labels = dirs.map((d, i) =>
    names.indexOf(names[i]) !== names.lastIndexOf(names[i]) ? `${basename(resolve(d, '..'))}/${names[i]}` : names[i],
  );
  return dirs.map((d, i) => loadRun(d, labels[i]));
}
