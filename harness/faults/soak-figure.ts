// The soak figure: RSS and heap, and the proxy's tables, over time, drawn from soak.csv with the
// editable spec reports/specs/soak-over-time.vl.json (data inlined, as the report's other figures).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { loadSpec, specToSvg, svgToPng } from '../../reports/render.js';
import type { JsonObject } from '../../reports/spec-patch.js';

export const SOAK_FIGURE = 'soak-over-time';

/** soak.csv rows with numbers as numbers (empty cells stay ''). */
export async function readSoakCsv(file: string): Promise<Record<string, number | string>[]> {
  const rows = parse(await readFile(file, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v !== '' && Number.isFinite(Number(v)) ? Number(v) : v])));
}

export function soakSpec(rows: readonly Record<string, number | string>[], caption?: string): JsonObject {
  const spec = loadSpec(SOAK_FIGURE);
  spec.data = { values: rows as unknown as JsonObject[] } as unknown as JsonObject;
  if (caption) spec.title = { ...(spec.title as JsonObject), subtitle: caption } as unknown as JsonObject;
  return spec;
}

/** Writes <dir>/soak-over-time.vl.json, .svg and .png; returns their paths. */
export async function renderSoakFigure(dir: string, caption?: string): Promise<{ spec: string; svg: string; png: string }> {
  const spec = soakSpec(await readSoakCsv(join(dir, 'soak.csv')), caption);
  const base = join(dir, SOAK_FIGURE);
  const { svg } = await specToSvg(spec);
  await writeFile(`${base}.vl.json`, `${JSON.stringify(spec, null, 1)}\n`);
  await writeFile(`${base}.svg`, svg);
  await writeFile(`${base}.png`, svgToPng(svg).png);
  return { spec: `${base}.vl.json`, svg: `${base}.svg`, png: `${base}.png` };
}
