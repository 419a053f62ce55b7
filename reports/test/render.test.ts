// Each figure renders from the fixture run: marks per series, axis titles, PNG size, and text really drawn.
import { describe, expect, it, beforeAll } from 'vitest';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuns, type RunData } from '../load-run.js';
import { renderFigures, type RenderedFigure } from '../build-figures.js';
import { pickFixedRate, pointPlotRows } from '../plot-rows.js';
import { svgToPng } from '../render.js';
import { axisTitles, countMarkGroups, countMarkItems, inkInRows, legendLabels, pngSize, svgSize } from './svg-inspect.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/run-a', import.meta.url));

let runs: RunData[];
let figures: Map<string, RenderedFigure>;
let rate: number | null;
// Expected counts come from the fixture itself, not from constants.
let groupSizes: number;
let series: string[];

beforeAll(async () => {
  runs = loadRuns([FIXTURE]);
  const rendered = await renderFigures(runs);
  figures = new Map(rendered.figures.map((f) => [f.name, f]));
  rate = rendered.rate;
  const ok = runs[0].points.filter((p) => p.status === 'ok');
  groupSizes = new Set(ok.map((p) => p.group_size)).size;
  series = [...new Set(ok.map((p) => (p.target === 'forkbench' ? p.mode : p.target)))];
});

describe('figures from the fixture run', () => {
  it('renders all six paper figures with data (and the two load figures, see load-figures.test.ts)', () => {
    expect([...figures.keys()]).toEqual([
      'setup-delay-vs-group-size',
      'cpu-vs-rate',
      'setup-delay-vs-rate',
      'messages-per-call',
      'capacity-vs-group-size',
      'proxy-delay-vs-load',
      'goodput-vs-load',
      'ablation',
    ]);
    for (const f of figures.values()) {
      if (f.name.endsWith('-vs-load')) continue; // schema-1 fixture: no budget, no N = 8 / 32
      expect(f.empty, f.name).toBe(false);
      expect(f.warnings, f.name).toEqual([]);
    }
    expect(rate).toBe(pickFixedRate(pointPlotRows(runs)));
  });

  it('draws one line per series (and per panel), with a legend entry per series', () => {
    expect(series).toHaveLength(3); // centralized, distributed, kamailio
    const panels: Record<string, number> = {
      'setup-delay-vs-group-size': 2, // p50 and p95
      'cpu-vs-rate': groupSizes,
      'setup-delay-vs-rate': groupSizes,
      'messages-per-call': 1,
      'capacity-vs-group-size': 1,
    };
    for (const [name, n] of Object.entries(panels)) {
      const svg = (figures.get(name) as RenderedFigure).svg;
      expect(countMarkGroups(svg, 'line'), name).toBe(n * series.length);
      expect(legendLabels(svg).sort(), name).toEqual([...series].sort());
    }
    // messages per call: one marker per series and group size (distributed as open squares in their own layer)
    expect(countMarkItems((figures.get('messages-per-call') as RenderedFigure).svg, 'symbol')).toBe(series.length * groupSizes);
  });

  it('draws the four ablation bars per group size', () => {
    const svg = (figures.get('ablation') as RenderedFigure).svg;
    expect(countMarkItems(svg, 'rect')).toBe(4 * groupSizes);
    for (const label of ['centr.', 'distr.', 'full', 'lazy']) expect(svg).toContain(`>${label}<`);
  });

  it('titles every axis with its unit', () => {
    const titles = (name: string) => axisTitles((figures.get(name) as RenderedFigure).svg);
    expect(titles('setup-delay-vs-group-size')).toEqual(expect.arrayContaining(['Group size N (members rung per call)', 'Setup delay (ms)']));
    expect(titles('cpu-vs-rate')).toEqual(expect.arrayContaining(['Offered call rate (calls/s)', 'CPU (% of one core)']));
    expect(titles('setup-delay-vs-rate')).toEqual(expect.arrayContaining(['Offered call rate (calls/s)', 'p95 setup delay (ms)']));
    expect(titles('messages-per-call')).toEqual(expect.arrayContaining(['Messages per call']));
    expect(titles('capacity-vs-group-size')).toEqual(expect.arrayContaining(['Capacity (calls/s)']));
    expect(titles('ablation')).toEqual(expect.arrayContaining(['Head CPU per call (µs)']));
  });

  it('puts provenance from meta.json in every subtitle', () => {
    for (const f of figures.values()) {
      expect(f.svg, f.name).toContain('SIPp v3.6.1');
      expect(f.svg, f.name).toContain('Fixture CPU @ 2.0GHz x 2 cores');
      expect(f.svg, f.name).toContain('f1x7ure');
    }
    expect((figures.get('setup-delay-vs-group-size') as RenderedFigure).svg).toContain(`at ${rate} calls/s offered`);
  });

  it('writes PNGs at twice the SVG size', () => {
    for (const f of figures.values()) {
      const svg = svgSize(f.svg);
      expect(pngSize(f.png), f.name).toEqual({ width: Math.round(svg.width * 2), height: Math.round(svg.height * 2) });
    }
  });

  it('draws text into the PNG (fails if fonts are not loaded)', () => {
    const svg = (figures.get('messages-per-call') as RenderedFigure).svg;
    const withFont = svgToPng(svg);
    const noFont = svgToPng(svg, { fontFiles: [] });
    expect(noFont.width).toBe(withFont.width);
    // The title band (top 40 px at 1x) holds only text: ink with fonts, blank without.
    const band = 40 * 2;
    expect(inkInRows(withFont.pixels, withFont.width, 0, band)).toBeGreaterThan(1000);
    expect(inkInRows(noFont.pixels, noFont.width, 0, band)).toBe(0);
    expect(withFont.png.length).toBeGreaterThan(noFont.png.length);
  });
});

describe('runs without capacity data, and comparisons', () => {
  it('renders the capacity figure as a plain note when capacity.csv is absent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fb-report-nocap-'));
    try {
      cpSync(join(FIXTURE, 'points.csv'), join(dir, 'points.csv'));
      const { figures: figs } = await renderFigures(loadRuns([dir]));
      const cap = figs.find((f) => f.name === 'capacity-vs-group-size') as RenderedFigure;
      expect(cap.empty).toBe(true);
      expect(cap.svg).toContain('no capacity data in this run');
      expect(cap.svg).toContain('no meta.json in this run');
      expect(figs.filter((f) => f.empty && !f.name.endsWith('-vs-load'))).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('colours by run when several runs are compared', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'fb-report-cmp-'));
    try {
      for (const name of ['base', 'tuned']) cpSync(FIXTURE, join(parent, name), { recursive: true });
      const { figures: figs } = await renderFigures(loadRuns([join(parent, 'base'), join(parent, 'tuned')]));
      const svg = (figs.find((f) => f.name === 'messages-per-call') as RenderedFigure).svg;
      expect(legendLabels(svg)).toEqual(expect.arrayContaining(['base', 'tuned', ...series]));
      expect(countMarkGroups(svg, 'line')).toBe(2 * series.length);
      expect(svg).toContain('base: forkbench 0.1.0');
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
