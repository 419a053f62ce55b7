// The provenance line under each figure and at the top of the report, from meta.json.
import type { RunMeta } from './load-run.js';

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** "forkbench 0.1.0 @ abc1234 · SIPp v3.6.1 · Intel(R) Xeon(R) x 2 cores · 2025-01-15" (missing parts say so). */
export function provenance(meta: RunMeta | null): string {
  if (meta === null) return 'no meta.json in this run: commit, SIPp version, CPU and date unknown';
  const commit = text(meta.forkbench?.gitCommit);
  const version = text(meta.forkbench?.version);
  const fb = `forkbench ${version ?? '?'}${commit ? ` @ ${commit.slice(0, 7)}` : ' (commit unknown)'}`;
  const sipp = text(meta.sippVersion) ?? 'SIPp version unknown';
  const cores = typeof meta.cores === 'number' ? ` x ${meta.cores} cores` : '';
  const cpu = `${text(meta.cpuModel) ?? 'CPU unknown'}${cores}`;
  const date = text(meta.startedAt)?.slice(0, 10) ?? 'date unknown';
  return [fb, sipp, cpu, date].join(' · ');
}

/** One provenance line per run, prefixed by the run's label when several runs share a figure. */
export function provenanceLines(runs: readonly { label: string; meta: RunMeta | null }[]): string[] {
  if (runs.length === 1) return [provenance(runs[0].meta)];
  return runs.map((r) => `${r.label}: ${provenance(r.meta)}`);
}
