// Pure edits of a Vega-Lite spec (as JSON) that turn a spec file with sample data into a figure of a run.
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Visits every object in the spec (depth first). */
function walk(node: Json, visit: (obj: JsonObject) => void): void {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (isObject(node)) {
    visit(node);
    Object.values(node).forEach((n) => walk(n, visit));
  }
}

export const clone = <T extends Json>(spec: T): T => structuredClone(spec);

/** Replaces the inline values of the named data source (the sample rows in the spec file). */
export function setData(spec: JsonObject, name: string, values: readonly object[]): void {
  const data = spec.data;
  if (!isObject(data) || data.name !== name) throw new Error(`spec has no top-level data source named "${name}"`);
  data.values = values as unknown as Json[];
}

export function setParam(spec: JsonObject, name: string, value: number): void {
  const params = Array.isArray(spec.params) ? spec.params : [];
  const param = params.find((p) => isObject(p) && p.name === name);
  if (!isObject(param)) throw new Error(`spec has no parameter "${name}"`);
  param.value = value;
}

export function setSubtitle(spec: JsonObject, lines: readonly string[]): void {
  const title = isObject(spec.title) ? spec.title : { text: typeof spec.title === 'string' ? spec.title : '' };
  title.subtitle = [...lines];
  spec.title = title;
}

/**
 * Keeps only the present values in every scale whose domain lists series/modes, dropping the matching range
 * entries, so legends list only what the run measured while each series keeps its colour, marker and dash.
 */
export function restrictDomains(spec: JsonObject, field: string, present: ReadonlySet<string>): void {
  walk(spec, (obj) => {
    if (obj.field !== field || !isObject(obj.scale)) return;
    const { domain, range } = obj.scale;
    if (!Array.isArray(domain) || !Array.isArray(range) || domain.length !== range.length) return;
    const keep = domain.map((d) => present.has(String(d)));
    obj.scale.domain = domain.filter((_, i) => keep[i]);
    obj.scale.range = range.filter((_, i) => keep[i]);
  });
}

// Several runs: colour = run (dark-first, colour-blind safe), marker and dash still = mode.
const RUN_COLOURS = ['#1b3a5c', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#7a7a7a', '#000000'];

/** Recolours by run: colour/stroke encodings on the series or mode field move to "run"; bars get an x offset. */
export function colourByRun(spec: JsonObject, runs: readonly string[]): void {
  const scale: JsonObject = { domain: [...runs], range: RUN_COLOURS.slice(0, Math.max(runs.length, 1)) };
  walk(spec, (obj) => {
    const enc = obj.encoding;
    if (!isObject(enc)) return;
    for (const channel of ['color', 'stroke'] as const) {
      const def = enc[channel];
      if (isObject(def) && (def.field === 'series' || def.field === 'mode')) {
        enc[channel] = { field: 'run', type: 'nominal', title: 'Run', scale, ...(channel === 'stroke' ? { legend: null } : {}) };
      }
    }
    // The colour legend now lists runs; the mode legend (shape) shows distributed's open marker instead.
    const shape = enc.shape;
    if (isObject(shape) && shape.field === 'series' && !('legend' in shape)) {
      shape.legend = { encode: { symbols: { update: { fillOpacity: { signal: "datum.value === 'distributed' ? 0 : 1" } } } } };
    }
    const x = enc.x;
    if (isObject(x) && x.type === 'nominal' && !('xOffset' in enc)) {
      enc.xOffset = { field: 'run', type: 'nominal', scale: { domain: [...runs] } };
    }
  });
}

/** Puts ticks exactly at the measured group sizes / rates (log-2 axes otherwise tick at arbitrary values). */
export function setAxisValues(spec: JsonObject, field: string, values: readonly number[]): void {
  walk(spec, (obj) => {
    if (obj.field !== field || obj.type !== 'quantitative' || !('axis' in obj)) return;
    const axis = isObject(obj.axis) ? obj.axis : {};
    axis.values = [...values];
    obj.axis = axis;
  });
}
