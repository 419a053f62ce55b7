// The provenance line under each figure and at the top of the report, from meta.json.
import type { RunMeta } from './load-run.js';

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** "forkbench 0.1.0 @ abc1234 · SIPp v3.6.1 · Intel(R) Xeon(R) x 2 cores · 2025-01-15" (missing parts say so). */
export function provenance(meta: RunMeta | null): string {
  if (meta === null) return 'no meta.json in this run: commit, SIPp version, CPU and date unknown';
  const commit = text(meta.forkbench?.gitCommit);
  const version = text(meta.forkbench?.version);
  const fb = `forkbench ${version ?? '?'}${commit ? ` @ ${commit.slice(0, 7)}` : ' (commit unknown)'}`;
  const sippText = text(meta.sippVersion);
  const sipp = sippText ? (/^sipp/i.test(sippText) ? sippText : `SIPp ${sippText}`) : 'SIPp version unknown';
  const cores = typeof meta.cores === 'number' ? ` x ${meta.cores} cores` : '';
  const cpu = `${text(meta.cpuModel) ?? 'CPU unknown'}${cores}`;
  const date = text(meta.startedAt)?.slice(0, 10) ?? 'date unknown';
  const node = text(meta.node) ? `Node ${text(meta.node)}` : 'Node version unknown';
  const kernel = text(meta.kernel) ? `Linux ${text(meta.kernel)}` : 'kernel unknown';
  return [fb, sipp, node, kernel, cpu, date].join(' · ');
}

/** The command that produced the run, without the path of node and of the launcher. */
export function commandLine(meta: RunMeta | null): string | null {
  const raw = meta?.command;
  const cmd = Array.isArray(raw) ? raw.join(' ') : text(raw);
  if (!cmd) return null;
  return `command: ${cmd.replace(/^\S*node\S*\s+\S*forkbench(\.js)?\b/, 'forkbench')}`;
}

/** One provenance line per run, prefixed by the run's label when several runs share a figure. */
export function provenanceLines(runs: readonly { label: string; meta: RunMeta | null }[]): string[] {
  if (runs.length === 1) {
    const cmd = commandLine(runs[0].meta);
    return cmd ? [provenance(runs[0].meta), cmd] : [provenance(runs[0].meta)];
  }
  return runs.map((r) => `${r.label}: ${provenance(r.meta)}`);
}

interface CommandRunEntry {
  command?: unknown;
  startedAt?: unknown;
  endedAt?: unknown;
  gitCommit?: unknown;
  cpuBudgetCores?: unknown;
  mode?: unknown; // overload runs: what the loads were
  groupSize?: unknown;
  capacityCps?: unknown;
}

/**
 * One line per command recorded under meta.json's `key` ("capacityRuns", "overloadRuns"): commit,
 * budget, what it ran (when `what` says), date and command. Falls back to the run's provenance when
 * meta.json has none.
 */
function commandRunLines(runs: readonly { label: string; meta: RunMeta | null }[], key: string, noun: string, what: (e: CommandRunEntry) => string | null): string[] {
  const lines: string[] = [];
  for (const r of runs) {
    const recorded = r.meta?.[key];
    const entries = (Array.isArray(recorded) ? recorded : []) as CommandRunEntry[];
    const tag = runs.length > 1 ? `${r.label}: ` : '';
    if (entries.length === 0) {
      lines.push(`${tag}${provenance(r.meta)} (no ${noun} recorded in meta.json)`);
      continue;
    }
    for (const e of entries) {
      const commit = text(e.gitCommit);
      const budget = typeof e.cpuBudgetCores === 'number' && e.cpuBudgetCores > 0 ? `${e.cpuBudgetCores} cores per process` : 'no CPU budget recorded';
      const cmd = (text(e.command) ?? 'command unknown').replace(/^\S*node\S*\s+\S*forkbench(\.js)?\b/, 'forkbench');
      const when = text(e.startedAt)?.slice(0, 10) ?? 'date unknown';
      const parts = [`${noun} @ ${commit ? commit.slice(0, 7) : 'commit unknown'}`, budget, what(e), when].filter((x): x is string => x !== null);
      lines.push(`${tag}${parts.slice(0, -1).join(' · ')} · ${parts.at(-1)}: ${cmd}`);
    }
  }
  return lines;
}

/**
 * The capacity figure's own provenance: the capacity commands that wrote capacity.csv (commit,
 * budget, command), not the sweep's.
 */
export function capacityProvenanceLines(runs: readonly { label: string; meta: RunMeta | null }[]): string[] {
  return commandRunLines(runs, 'capacityRuns', 'capacity run', () => null);
}

/**
 * The goodput figure's provenance when its data come from overload.csv: each overload command
 * (commit, budget, mode, N, the capacity its loads are multiples of, command).
 */
export function overloadProvenanceLines(runs: readonly { label: string; meta: RunMeta | null }[]): string[] {
  return commandRunLines(runs, 'overloadRuns', 'overload run', (e) => `${text(e.mode) ?? '?'} N = ${typeof e.groupSize === 'number' ? e.groupSize : '?'}, 1x = ${typeof e.capacityCps === 'number' ? e.capacityCps : '?'} calls/s`);
}
