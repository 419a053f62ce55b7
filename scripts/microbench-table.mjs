#!/usr/bin/env node
// Turn vitest bench JSON into the ns-per-operation table of the notes: median and mean per
// message type and parse mode, and the lazy/full ratio. Usage: microbench-table.mjs bench.json [label]
import { readFileSync } from 'node:fs';

const [file, label = ''] = process.argv.slice(2);
const data = JSON.parse(readFileSync(file, 'utf8'));
const rows = new Map();
for (const f of data.files) {
  for (const g of f.groups) {
    for (const b of g.benchmarks) {
      const [type, mode] = b.name.split(' ');
      const r = rows.get(type) ?? {};
      r[mode] = { median: b.median * 1e6, mean: b.mean * 1e6 };
      rows.set(type, r);
    }
  }
}
const ns = (x) => (x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));
console.log(`\n${label ? `${label}: ` : ''}ns per operation (parse + forward), median (mean)\n`);
console.log('| message | lazy | full | lazy/full (median) |');
console.log('|---|---:|---:|---:|');
for (const [type, r] of rows) {
  const ratio = r.lazy && r.full ? (r.lazy.median / r.full.median).toFixed(2) : '-';
  console.log(`| ${type} | ${ns(r.lazy?.median)} (${ns(r.lazy?.mean)}) | ${ns(r.full?.median)} (${ns(r.full?.mean)}) | ${ratio} |`);
}
