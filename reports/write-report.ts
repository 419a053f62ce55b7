// Writes a report folder atomically: everything goes to a temp folder next to the target, renamed at the end,
// so a failure leaves either the previous report or nothing, never half a report.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadRuns, type RunData } from './load-run.js';
import { renderFigures } from './build-figures.js';
import { headlines } from './headlines.js';
import { reportHtml } from './report-html.js';
import { ReportError } from './report-error.js';

export interface ReportOptions {
  out?: string; // default <runDir>/report for one run; required for several
  rate?: number; // fixed rate of figures 1 and 6
  now?: Date; // overrides the stamp (tests)
}

/**
 * The stamp of a report: when its data was measured (the latest end of the runs' sweeps and capacity
 * searches in meta.json), never when it was rendered, so re-rendering a committed run changes nothing.
 */
export function dataStamp(runs: readonly RunData[]): Date | null {
  const times: number[] = [];
  for (const r of runs) {
    const meta = r.meta;
    if (!meta) continue;
    const candidates: unknown[] = [meta.endedAt, meta.startedAt];
    if (Array.isArray(meta.capacityRuns)) for (const c of meta.capacityRuns as { endedAt?: unknown; startedAt?: unknown }[]) candidates.push(c.endedAt, c.startedAt);
    for (const t of candidates) if (typeof t === 'string' && Number.isFinite(Date.parse(t))) times.push(Date.parse(t));
  }
  return times.length ? new Date(Math.max(...times)) : null;
}

export interface ReportResult {
  outDir: string;
  files: string[]; // absolute paths written, report.html first
  rate: number | null;
}

export function defaultOutDir(runDirs: readonly string[], out?: string): string {
  if (out !== undefined) return resolve(out);
  if (runDirs.length === 1) return resolve(runDirs[0], 'report');
  throw new ReportError('several runs given: say where the comparison goes with --out <dir>');
}

export async function writeReport(runDirs: readonly string[], options: ReportOptions = {}): Promise<ReportResult> {
  if (runDirs.length === 0) throw new ReportError('no results folder given');
  const outDir = defaultOutDir(runDirs, options.out);
  const runs = loadRuns(runDirs); // validate every input before touching the disk
  if (existsSync(outDir) && !existsSync(join(outDir, 'report.html'))) {
    throw new ReportError(`${outDir}: exists and is not a forkbench report; refusing to replace it`, outDir);
  }
  mkdirSync(dirname(outDir), { recursive: true });
  const tmp = mkdtempSync(join(dirname(outDir), `.${basename(outDir)}.tmp-`));
  try {
    const { figures, rate } = await renderFigures(runs, { rate: options.rate });
    const names: string[] = ['report.html'];
    for (const f of figures) {
      writeFileSync(join(tmp, `${f.name}.vl.json`), JSON.stringify(f.spec, null, 1) + '\n');
      writeFileSync(join(tmp, `${f.name}.svg`), f.svg);
      writeFileSync(join(tmp, `${f.name}.png`), f.png);
      names.push(`${f.name}.vl.json`, `${f.name}.svg`, `${f.name}.png`);
    }
    const html = reportHtml({
      runs,
      figures,
      headlines: runs.map((r) => ({ run: r.label, sentences: headlines(r, rate) })),
      rate,
      dataAt: options.now ?? dataStamp(runs),
    });
    writeFileSync(join(tmp, 'report.html'), html);
    if (existsSync(outDir)) rmSync(outDir, { recursive: true, force: true }); // checked above: an old report
    renameSync(tmp, outDir);
    return { outDir, files: names.map((n) => join(outDir, n)), rate };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
