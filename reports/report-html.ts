// The self-contained report page: inline SVG figures, headlines, notes, run metadata and every point.
// No scripts and no external resources, so it opens offline and from a file:// URL.
import { POINT_COLUMNS } from '../harness/records/columns.js';
import type { RunData } from './load-run.js';
import type { RenderedFigure } from './build-figures.js';
import { provenance } from './caption.js';
import { marginalCost } from '../harness/measure/marginal-cost.js';

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Vega numbers its clip paths per process; prefixing keeps ids unique when several SVGs share a page. */
export function prefixSvgIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}$1"`)
    .replace(/^<\?xml[^>]*>\s*/, '');
}

const cell = (v: string | number | null): string => escapeHtml(v === null ? '' : String(v));

function metaSection(run: RunData): string {
  const m = run.meta;
  if (m === null) return `<p>No <code>meta.json</code> in <code>${escapeHtml(run.dir)}</code>.</p>`;
  const show = (v: unknown): string =>
    v === undefined || v === null ? '<em>unknown</em>' : escapeHtml(typeof v === 'string' ? v : JSON.stringify(v));
  const command = Array.isArray(m.command) ? m.command.join(' ') : m.command;
  const rows: [string, string][] = [
    ['What (command)', `<code>${show(command)}</code>`],
    ['When', `${show(m.startedAt)} – ${show(m.endedAt)}`],
    ['Where', `${show(m.cpuModel)} × ${show(m.cores)} cores; kernel ${show(m.kernel)}`],
    ['Versions', `forkbench ${show(m.forkbench?.version)} (commit ${show(m.forkbench?.gitCommit)}); Node ${show(m.node)}; ${show(m.sippVersion)}`],
    ['Results folder', `<code>${escapeHtml(run.dir)}</code>`],
  ];
  const known = new Set(['command', 'startedAt', 'endedAt', 'cpuModel', 'cores', 'kernel', 'forkbench', 'node', 'sippVersion']);
  const rest = Object.fromEntries(Object.entries(m).filter(([k]) => !known.has(k)));
  return (
    `<table class="meta">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>` +
    (Object.keys(rest).length ? `<details><summary>All other meta.json keys</summary><pre>${escapeHtml(JSON.stringify(rest, null, 2))}</pre></details>` : '')
  );
}

function notesSection(runs: readonly RunData[]): string {
  const items: string[] = [];
  for (const run of runs) {
    const tag = runs.length > 1 ? `${run.label}: ` : '';
    for (const p of run.points) {
      if (p.status !== 'ok') items.push(`<li class="failed">${escapeHtml(tag)}<b>failed</b> <code>${cell(p.point_id)}</code>: ${cell(p.error || 'no error recorded')}</li>`);
      if (p.flagged === 1) items.push(`<li class="flagged">${escapeHtml(tag)}<b>flagged</b> <code>${cell(p.point_id)}</code>: ${cell(p.flag_reason || 'no reason recorded')}</li>`);
    }
  }
  if (items.length === 0) return '<p>No flagged or failed points.</p>';
  return `<p>Failed points are not plotted in the paper figures (the load figures draw them with their own mark); flagged points are plotted but a cross-check failed.</p><ul>${items.join('')}</ul>`;
}

/** Marginal CPU per call (slope against achieved rate, ± standard error) beside CPU per call and idle CPU. */
function marginalSection(runs: readonly RunData[]): string {
  const rows: string[] = [];
  for (const run of runs) {
    const groups = new Map<string, RunData['points']>();
    for (const p of run.points) {
      if (p.status !== 'ok' || p.group_size === null) continue;
      const k = `${p.target}/${p.mode}/${p.parse}/${p.group_size}`;
      groups.set(k, [...(groups.get(k) ?? []), p]);
    }
    for (const [k, ps] of [...groups].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
      const fit = marginalCost(ps.filter((p) => p.achieved_rate_cps !== null && p.head_cpu_pct !== null).map((p) => ({ achievedRateCps: p.achieved_rate_cps as number, cpuPct: p.head_cpu_pct as number })));
      const perCall = ps.map((p) => p.cpu_us_per_call).filter((v): v is number => v !== null);
      const idle = ps.map((p) => p.head_idle_cpu_pct).filter((v): v is number => v !== null);
      const f = (x: number | undefined, d = 0): string => (x === undefined ? '-' : x.toFixed(d));
      const range = perCall.length ? `${Math.min(...perCall)}-${Math.max(...perCall)}` : '-';
      rows.push(
        `<tr><td>${escapeHtml(runs.length > 1 ? `${run.label}: ` : '')}${escapeHtml(k)}</td><td>${range}</td><td>${fit ? `${f(fit.marginalUsPerCall)} ± ${fit.marginalStdErrUs === undefined ? '?' : f(fit.marginalStdErrUs)}` : '-'}</td>` +
          `<td>${fit ? f(fit.fixedCpuPct, 2) : '-'}</td><td>${idle.length ? f(idle.reduce((a, b) => a + b, 0) / idle.length, 2) : '-'}</td></tr>`,
      );
    }
  }
  if (rows.length === 0) return '<p>No completed points.</p>';
  return (
    '<p>CPU per call at a low rate carries each process\'s fixed cost; the marginal cost is the slope of the central process\'s CPU against the achieved rate over the run\'s rates (least squares, ± standard error; ? with two rates).</p>' +
    `<table class="meta"><thead><tr><th>target/mode/parse/N</th><th>CPU µs per call (range)</th><th>marginal µs per call</th><th>fixed CPU % (fit)</th><th>idle CPU % (measured)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function pointsTable(runs: readonly RunData[]): string {
  const multi = runs.length > 1;
  const head = (multi ? ['run'] : []).concat(POINT_COLUMNS).map((c) => `<th>${c}</th>`).join('');
  const body = runs
    .flatMap((run) =>
      run.points.map((p) => {
        const cls = p.status !== 'ok' ? ' class="failed"' : p.flagged === 1 ? ' class="flagged"' : '';
        const cells = (multi ? [`<td>${escapeHtml(run.label)}</td>`] : []).concat(POINT_COLUMNS.map((c) => `<td>${cell(p[c])}</td>`));
        return `<tr${cls}>${cells.join('')}</tr>`;
      }),
    )
    .join('\n');
  return `<div class="scroll"><table id="points"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

const STYLE = `
body{font-family:'DejaVu Sans',sans-serif;margin:2rem auto;max-width:1400px;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
figure{margin:1.5rem 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85rem;color:#555}
table{border-collapse:collapse;font-size:.8rem}td,th{border:1px solid #ccc;padding:2px 5px;text-align:left}
table.meta th{background:#f3f3f3}.scroll{overflow-x:auto}
tr.failed td{background:#fde2e2}tr.flagged td{background:#fff4cc}li.failed b{color:#a00}li.flagged b{color:#8a6d00}
ul.headlines li{margin:.4rem 0;font-size:1.05rem}`;

export interface ReportPageInput {
  runs: readonly RunData[];
  figures: readonly RenderedFigure[];
  headlines: readonly { run: string; sentences: readonly string[] }[];
  rate: number | null;
  dataAt: Date | null; // when the data was measured (not when this page was rendered)
}

export function reportHtml({ runs, figures, headlines, rate, dataAt }: ReportPageInput): string {
  const title = runs.length === 1 ? `forkbench report: ${runs[0].label}` : `forkbench report: ${runs.map((r) => r.label).join(' vs ')}`;
  const heads = headlines
    .map((h) => (runs.length > 1 ? `<h3>${escapeHtml(h.run)}</h3>` : '') + `<ul class="headlines">${h.sentences.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>`)
    .join('');
  const figs = figures
    .map(
      (f) =>
        `<figure id="fig-${f.name}" class="figure">\n${prefixSvgIds(f.svg, `${f.name}-`)}\n<figcaption>${escapeHtml(f.name)}: ` +
        `<a href="${f.name}.png">PNG</a> · <a href="${f.name}.svg">SVG</a> · <a href="${f.name}.vl.json">Vega-Lite spec with data</a></figcaption></figure>`,
    )
    .join('\n');
  const metas = runs.map((r) => (runs.length > 1 ? `<h3>${escapeHtml(r.label)}</h3>` : '') + metaSection(r)).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>${runs.map((r) => escapeHtml((runs.length > 1 ? `${r.label}: ` : '') + provenance(r.meta))).join('<br>')}<br>
Data measured until ${escapeHtml(dataAt ? dataAt.toISOString() : 'an unknown date (no meta.json)')}; fixed-rate figures at ${rate ?? 'n/a'} calls/s.</p>
<h2>Headlines</h2>
${heads}
<h2>Figures</h2>
${figs}
<h2>Marginal cost</h2>
${marginalSection(runs)}
<h2>Flagged and failed points</h2>
${notesSection(runs)}
<h2>Run</h2>
${metas}
<h2>All points (${runs.reduce((n, r) => n + r.points.length, 0)})</h2>
${pointsTable(runs)}
</body></html>
`;
}
