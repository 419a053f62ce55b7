// Bad inputs fail with one clear line naming file and column, exit code 2 from the CLI, and no report left behind.
import { FIGURES } from '../figures.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fileURLToPath } from 'node:url';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerReportCommands } from '../cli-commands.js';
import { writeReport } from '../write-report.js';
import { ReportError } from '../report-error.js';
import { SCHEMA_VERSION } from '../../harness/records/columns.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/run-a', import.meta.url));
let work: string;
let run: string;
let pointsFile: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'fb-report-bad-'));
  run = join(work, 'run');
  cpSync(FIXTURE, run, { recursive: true });
  pointsFile = join(run, 'points.csv');
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

/** Rewrites points.csv through a function of its lines (header first). */
function editPoints(edit: (lines: string[]) => string[]): void {
  const lines = readFileSync(pointsFile, 'utf8').trimEnd().split('\n');
  writeFileSync(pointsFile, edit(lines).join('\n') + '\n');
}

function dropColumn(lines: string[], column: string): string[] {
  const i = lines[0].split(',').indexOf(column);
  // The fixture quotes one flag_reason with commas; drop by index only in rows without quotes.
  return lines.filter((l) => !l.includes('"')).map((l) => l.split(',').filter((_, j) => j !== i).join(','));
}

async function expectReportError(pattern: RegExp, column?: string): Promise<void> {
  const err = await writeReport([run]).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReportError);
  expect((err as ReportError).message).toMatch(pattern);
  expect((err as ReportError).message).toContain(pointsFile);
  if (column) expect((err as ReportError).column).toBe(column);
  expect(readdirSync(run).sort()).toEqual(['capacity.csv', 'meta.json', 'points.csv']); // no report, no temp folder
}

async function runCli(args: string[]): Promise<{ stdout: string; stderr: string; code: number | undefined }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  const program = new Command('forkbench').exitOverride();
  registerReportCommands(program);
  await program.parseAsync(['node', 'forkbench', 'report', ...args]);
  vi.restoreAllMocks();
  const code = typeof process.exitCode === 'number' ? process.exitCode : undefined;
  return { stdout, stderr, code };
}

describe('bad inputs', () => {
  it('missing column: names file and column', async () => {
    editPoints((lines) => dropColumn(lines, 'setup_p95_us'));
    await expectReportError(/missing column "setup_p95_us"/, 'setup_p95_us');
  });

  it('empty CSV and header-only CSV: say it is empty', async () => {
    writeFileSync(pointsFile, '');
    await expectReportError(/empty CSV/);
    writeFileSync(pointsFile, '\n\n'); // blank lines only
    await expectReportError(/empty CSV \(no header row/);
    cpSync(join(FIXTURE, 'points.csv'), pointsFile);
    editPoints((lines) => lines.slice(0, 1));
    await expectReportError(/empty CSV \(header row but no data rows\)/);
  });

  it('schema_version newer than this forkbench: says so', async () => {
    editPoints((lines) => [lines[0], `${SCHEMA_VERSION + 1}${lines[1].slice(lines[1].indexOf(','))}`, ...lines.slice(2)]);
    await expectReportError(/line 2, column "schema_version": \d+ was written by a newer forkbench/, 'schema_version');
  });

  it('non-numeric cell: names line and column', async () => {
    editPoints((lines) => {
      const i = lines[0].split(',').indexOf('group_size');
      const cells = lines[3].split(',');
      cells[i] = 'sixteen';
      return [...lines.slice(0, 3), cells.join(','), ...lines.slice(4)];
    });
    await expectReportError(/line 4, column "group_size": "sixteen" is not a number/, 'group_size');
  });

  it('a failed re-run leaves the previous report intact and no temp folder', async () => {
    const out = join(work, 'out');
    await writeReport([run], { out });
    const before = readFileSync(join(out, 'report.html'), 'utf8');
    editPoints((lines) => dropColumn(lines, 'msgs_per_call'));
    await expect(writeReport([run], { out })).rejects.toThrow(/msgs_per_call/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toBe(before);
    expect(readdirSync(work).sort()).toEqual(['out', 'run']);
  });

  it('refuses to replace a folder that is not a report', async () => {
    await expect(writeReport([run], { out: run })).rejects.toThrow(/not a forkbench report/);
    expect(existsSync(pointsFile)).toBe(true);
  });
});

describe('forkbench report CLI', () => {
  it('prints the paths it wrote, report.html first, into <run>/report by default', async () => {
    const { stdout, code } = await runCli([run]);
    expect(code).toBeUndefined();
    const paths = stdout.trim().split('\n');
    expect(paths[0]).toBe(join(run, 'report', 'report.html'));
    expect(paths).toHaveLength(1 + FIGURES.length * 3);
    for (const p of paths) expect(existsSync(p), p).toBe(true);
  });

  it('bad input: one line on stderr naming file and column, exit code 2, nothing written', async () => {
    editPoints((lines) => dropColumn(lines, 'ser'));
    const { stdout, stderr, code } = await runCli([run, '--rate', '50']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain(pointsFile);
    expect(stderr).toContain('"ser"');
    expect(existsSync(join(run, 'report'))).toBe(false);
  });

  it('several runs need --out', async () => {
    const { stderr, code } = await runCli([run, run]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--out/);
  });
});
