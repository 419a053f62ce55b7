// The written report opened in headless Chromium: no console errors, every figure visible, one row per point.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { writeReport, type ReportResult } from '../write-report.js';
import { loadPoints } from '../load-run.js';
import { FIGURES } from '../figures.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/run-a', import.meta.url));
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let work: string;
let result: ReportResult;
let browser: Browser | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'fb-report-page-'));
  result = await writeReport([FIXTURE], { out: join(work, 'report'), now: new Date('2025-01-15T11:00:00Z') });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('report folder', () => {
  it('holds report.html and spec, SVG and PNG of each figure, and no temp folder', () => {
    expect(result.outDir).toBe(join(work, 'report'));
    const names = readdirSync(result.outDir).sort();
    const expected = ['report.html', ...FIGURES.flatMap((f) => [`${f.name}.png`, `${f.name}.svg`, `${f.name}.vl.json`])].sort();
    expect(names).toEqual(expected);
    for (const file of result.files) expect(existsSync(file), file).toBe(true);
    expect(readdirSync(work)).toEqual(['report']);
  });

  it('writes specs with the run data inlined', () => {
    const spec = JSON.parse(readFileSync(join(result.outDir, 'cpu-vs-rate.vl.json'), 'utf8')) as { data: { values: { run: string }[] } };
    const ok = loadPoints(join(FIXTURE, 'points.csv')).filter((p) => p.status === 'ok');
    expect(spec.data.values).toHaveLength(ok.length);
    expect(spec.data.values[0].run).toBe('run-a');
  });

  it('is self-contained: no scripts, no external URLs', () => {
    const html = readFileSync(join(result.outDir, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect((html.match(/<svg /g) ?? []).length).toBe(FIGURES.length);
  });

  it('states headlines, flagged and failed points from the data', () => {
    const html = readFileSync(join(result.outDir, 'report.html'), 'utf8');
    expect(html).toMatch(/At N=64 and \d+ calls\/s the distributed head uses [\d.]+x less CPU per call/);
    expect(html).toContain('forkbench/centralized/full/64/200/2');
    expect(html).toContain('sipp p95 differs from pcap p95 by 40%, &quot;retransmissions&quot;');
    expect(html).toContain('caller sipp exited with code 255');
  });
});

describe('report page in headless Chromium', () => {
  it('loads without console errors, shows every figure and one table row per point', async () => {
    const page = await (browser as Browser).newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(pathToFileURL(join(result.outDir, 'report.html')).href, { timeout: 30_000 });
    for (const fig of FIGURES) {
      const svg = page.locator(`#fig-${fig.name} > svg`);
      await expect(svg.isVisible()).resolves.toBe(true);
      const box = await svg.boundingBox();
      expect(box?.width ?? 0, fig.name).toBeGreaterThan(200);
      expect(box?.height ?? 0, fig.name).toBeGreaterThan(100);
    }
    const points = loadPoints(join(FIXTURE, 'points.csv'));
    await expect(page.locator('#points tbody tr').count()).resolves.toBe(points.length);
    await expect(page.locator('#points thead th').count()).resolves.toBe(Object.keys(points[0]).length);
    await page.close();
    expect(errors).toEqual([]);
  });
});
