// Readers for SIPp's output files: the statistics CSV (-trace_stat), the response-time file
// (-trace_rtt) and the <log> file of caller-expect-fail.xml.
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';

export interface SippStats {
  successfulCalls: number;
  failedCalls: number;
  totalCalls: number; // TotalCallCreated: calls placed (UAC) or received (UAS)
  retransmissions: number;
  failuresByCause: Record<string, number>; // non-zero Failed*(C) columns, e.g. {"FailedMaxUDPRetrans": 1}
  responseTimeMs: Record<string, { mean: number; stdev?: number }>; // per rtd name, cumulative
  startEpochMs?: number; // StartTime of the run
  raw: Record<string, string>; // the last row as read
}

export interface RttSample {
  dateMs: number; // when the timer stopped: epoch ms if the run's start is known, else ms since SIPp start
  responseTimeMs: number; // 1 ms resolution
  rtdName: string;
}

function rows(text: string): string[][] {
  // SIPp writes no quotes; the date fields hold tabs. A trailing ';' gives an empty last field.
  return parse(text, { delimiter: ';', quote: false, relax_column_count: true, skip_empty_lines: true, trim: false }) as string[][];
}

/** "hh:mm:ss:micros" (SIPp's duration format) to milliseconds. */
export function sippDurationMs(value: string): number {
  const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(value.trim());
  if (!m) throw new Error(`not a SIPp duration: "${value}"`);
  return (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000 + Number(m[4]) / 1000;
}

/** "2026-11-25\t12:33:17.711085\t1795609997.711085" to epoch milliseconds (from the last field). */
export function sippDateEpochMs(value: string): number | undefined {
  const last = value.trim().split('\t').pop();
  const n = last === undefined ? NaN : Number(last);
  return Number.isFinite(n) ? n * 1000 : undefined;
}

function int(raw: Record<string, string>, column: string): number {
  const v = raw[column];
  if (v === undefined) throw new Error(`SIPp stat file has no column ${column}`);
  return Number.parseInt(v, 10);
}

/** Parses a SIPp statistics CSV; the last row (SIPp's final dump) gives the totals. */
export function parseSippStat(text: string): SippStats {
  const all = rows(text);
  if (all.length < 2) throw new Error('SIPp stat file has no data row');
  const header = all[0];
  const last = all[all.length - 1];
  const raw: Record<string, string> = {};
  header.forEach((h, i) => {
    if (h !== '') raw[h] = last[i] ?? '';
  });
  const failuresByCause: Record<string, number> = {};
  const responseTimeMs: SippStats['responseTimeMs'] = {};
  for (const [col, value] of Object.entries(raw)) {
    const failed = /^Failed(.+)\(C\)$/.exec(col);
    if (failed && failed[1] !== 'Call') {
      const n = Number.parseInt(value, 10);
      if (n > 0) failuresByCause[col.slice(0, -3)] = n;
      continue;
    }
    const rt = /^ResponseTime(.+)\(C\)$/.exec(col);
    if (rt && !rt[1].endsWith('StDev')) {
      const name = rt[1];
      const entry: { mean: number; stdev?: number } = { mean: sippDurationMs(value) };
      const sd = raw[`ResponseTime${name}StDev(C)`];
      if (sd !== undefined) entry.stdev = sippDurationMs(sd);
      responseTimeMs[name] = entry;
    }
  }
  const stats: SippStats = {
    successfulCalls: int(raw, 'SuccessfulCall(C)'),
    failedCalls: int(raw, 'FailedCall(C)'),
    totalCalls: int(raw, 'TotalCallCreated'),
    retransmissions: int(raw, 'Retransmissions(C)'),
    failuresByCause,
    responseTimeMs,
    raw,
  };
  const start = raw.StartTime !== undefined ? sippDateEpochMs(raw.StartTime) : undefined;
  if (start !== undefined) stats.startEpochMs = start;
  return stats;
}

export async function readSippStatFile(path: string): Promise<SippStats> {
  return parseSippStat(await readFile(path, 'utf8'));
}

/** Parses a -trace_rtt file ("Date_ms;response_time_ms;rtd_no"); Date_ms counts from SIPp's start. */
export function parseSippRtt(text: string, startEpochMs?: number): RttSample[] {
  const all = rows(text);
  const out: RttSample[] = [];
  for (const r of all) {
    if (r[0] === 'Date_ms' || r.length < 3) continue;
    const rel = Number(r[0]);
    const rt = Number(r[1]);
    if (!Number.isFinite(rel) || !Number.isFinite(rt)) continue;
    out.push({ dateMs: startEpochMs === undefined ? rel : startEpochMs + rel, responseTimeMs: rt, rtdName: r[2].trim() });
  }
  return out;
}

/**
 * Reads a -trace_rtt file. Its dates count from SIPp's start, so they are made absolute with
 * startEpochMs, or else with the StartTime of the sibling "<name>_stat.csv" written by startSipp.
 */
export async function readSippRttFile(path: string, startEpochMs?: number): Promise<RttSample[]> {
  let start = startEpochMs;
  if (start === undefined && path.endsWith('_rtt.csv')) {
    const stat = await readSippStatFile(path.replace(/_rtt\.csv$/, '_stat.csv')).catch(() => undefined);
    start = stat?.startEpochMs;
  }
  return parseSippRtt(await readFile(path, 'utf8'), start);
}

/** Final status codes logged by caller-expect-fail.xml ("final <call-id> <code>" lines): code -> count. */
export function parseFinalCodes(text: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^final \S+ (\d{3})\s*$/.exec(line.trim());
    if (m) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  }
  return counts;
}

export async function readFinalCodes(path: string): Promise<Record<string, number>> {
  return parseFinalCodes(await readFile(path, 'utf8'));
}
