// Vega-Lite -> SVG (vega in Node, no browser) -> PNG (resvg with DejaVu fonts loaded explicitly).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';
import { ReportError } from './report-error.js';
import type { JsonObject } from './spec-patch.js';

export const FONT_DIR = '/usr/share/fonts/truetype/dejavu';
export const FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf'];

/** The DejaVu Sans files resvg needs to draw text (it draws none without a font). */
export function dejavuFontFiles(dir = FONT_DIR): string[] {
  const regular = join(dir, FONT_FILES[0]);
  if (!existsSync(regular)) {
    throw new ReportError(
      `font ${regular} not found: PNG figures need DejaVu Sans, install the Debian package fonts-dejavu-core`,
      regular,
    );
  }
  return FONT_FILES.map((f) => join(dir, f)).filter((f) => existsSync(f));
}

// Spec files live next to this module in the source tree; the compiled CLI runs from dist/reports/.
function specsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [join(here, 'specs'), join(here, '..', '..', 'reports', 'specs')];
  const found = candidates.find((d) => existsSync(join(d, 'ablation.vl.json')));
  if (!found) throw new ReportError(`figure specs not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function loadSpec(name: string): JsonObject {
  const file = join(specsDir(), `${name}.vl.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
}

/** Compiles and renders a Vega-Lite spec to an SVG string; compiler warnings are returned, not printed. */
export async function specToSvg(spec: JsonObject): Promise<{ svg: string; warnings: string[] }> {
  const warnings: string[] = [];
  const collect = (...args: readonly unknown[]) => warnings.push(args.map(String).join(' '));
  const logger = vega.logger(vega.Warn);
  logger.warn = (...args: readonly unknown[]) => {
    collect(...args);
    return logger;
  };
  const compiled = compile(spec as unknown as TopLevelSpec, { logger });
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none', logLevel: vega.Error });
  try {
    return { svg: await view.toSVG(), warnings };
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  scale?: number; // default 2 (print resolution)
  fontFiles?: readonly string[]; // default: DejaVu Sans; [] renders without any font (tests use it)
}

/** Rasterises an SVG; returns the PNG bytes and the decoded RGBA pixels. */
export function svgToPng(svg: string, options: PngOptions = {}): { png: Buffer; pixels: Buffer; width: number; height: number } {
  const fontFiles = options.fontFiles ?? dejavuFontFiles();
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    background: 'white',
    logLevel: 'off',
    font: { loadSystemFonts: false, fontFiles: [...fontFiles], defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  });
  const image = resvg.render();
  return { png: image.asPng(), pixels: image.pixels, width: image.width, height: image.height };
}
