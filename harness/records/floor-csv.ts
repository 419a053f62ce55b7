// results/<perf run>/floor.csv: one row per bare-relay floor trial of `forkbench perf`.
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';

export const FLOOR_COLUMNS = [
  'trial', // 1..3, run right after the same trial of the proxy point it copies
  'shape_point', // the centralized proxy point whose traffic shape the relay got
  'in_rate_dps', // datagrams per second sent to the relay
  'copies', // relay sends per received datagram (the proxy's sent / received)
  'sinks', // K: peer processes (the proxy's N members + its caller): each sends 1/K of the input and receives the relay's sends round-robin
  'window_s', // measured window
  'received', // datagrams the relay received in the window
  'sent', // datagrams the relay sent in the window
  'cpu_us', // relay CPU in the window, microseconds
  'us_per_msg', // the floor: cpu_us / (received + sent)
  'generated', // whole trial: datagrams the generator sent
  'relay_received', // whole trial, the relay's own counters
  'relay_sent',
  'sink_received', // whole trial: datagrams that reached the sinks, summed
  'status', // ok | failed
  'error',
] as const;

export type FloorColumn = (typeof FLOOR_COLUMNS)[number];
export type FloorRow = Partial<Record<FloorColumn, string | number>>;

const TEXT: ReadonlySet<FloorColumn> = new Set<FloorColumn>(['shape_point', 'status', 'error']);

export async function readFloor(file: string): Promise<FloorRow[]> {
  if (!existsSync(file)) return [];
  const recs = parse(await readFile(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  return recs.map((rec) => {
    const row: FloorRow = {};
    for (const c of FLOOR_COLUMNS) {
      const v = rec[c] ?? '';
      row[c] = TEXT.has(c) || v === '' ? v : Number(v);
    }
    return row;
  });
}

/** Appends one row (and the header to a new file). */
export async function appendFloor(file: string, row: FloorRow): Promise<void> {
  const cells = FLOOR_COLUMNS.map((c) => {
    const v = row[c];
    return v === undefined ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v.replace(/\r\n|\r|\n/g, ' ');
  });
  const header = existsSync(file) ? [] : [[...FLOOR_COLUMNS]];
  await appendFile(file, stringify([...header, cells], { record_delimiter: '\n' }));
}
