// `forkbench soak`: group calls at a steady rate for M minutes against forkbench's proxy, sampling
// its memory, CPU and tables every few seconds into soak.csv, then waiting (bounded) for the tables
// to drain. The question it answers: does the proxy give back what finished calls held? Every
// process it starts is stopped before it returns, and the whole run has a hard deadline.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { DEFAULT_CONFIG, type Mode } from '../plan/bench-config.js';
import { layoutPoint, portsOf } from '../plan/point-layout.js';
import { portFree } from '../testbed/processes.js';
import { launchProxy, type ProxyProcess } from '../testbed/targets/proxy-launcher.js';
import { collectMeta, updateMeta, writeMeta } from '../records/run-meta.js';
import { startSipp, waitUntilUdpBound, type SippProcess } from '../testbed/load/sipp.js';
import { SOAK_COLUMNS, SoakSampler, summarizeSoak, type SoakRow, type SoakSummary } from './soak-sampler.js';
import { abortableSleep as sleep } from '../testbed/abortable-sleep.js';

export interface SoakOptions {
  minutes: number;
  groupSize: number;
  rate: number; // calls/s
  mode: Mode;
  forkNodes: number; // distributed only
  sampleS: number; // seconds between samples (10 by default)
  drainS: number; // after the last call, wait at most this long for the tables to empty
  out: string;
  basePort: number;
  ringMs: number;
  holdMs: number;
  proxyArgs: string[]; // extra proxy flags (e.g. shorter timers)
}

export const SOAK_DEFAULTS = { mode: 'centralized' as Mode, forkNodes: 2, sampleS: 10, drainS: 60, out: 'results/soak', basePort: 24000, ringMs: 20, holdMs: 100, proxyArgs: [] as string[] };

export class SoakError extends Error {}

export interface SoakResult {
  summary: SoakSummary;
  csv: string;
  rows: SoakRow[];
  interrupted: boolean;
}


/** Checks soak options; throws a SoakError naming the flag and the fix. */
export function validateSoak(o: SoakOptions): SoakOptions {
  const pos = (v: number, flag: string, eg: string): void => {
    if (!Number.isFinite(v) || v <= 0) throw new SoakError(`${flag} ${v} must be a number above 0, e.g. ${flag} ${eg}`);
  };
  pos(o.minutes, '--minutes', '30');
  pos(o.rate, '--rate', '100');
  pos(o.sampleS, '--sample-s', '10');
  if (!Number.isInteger(o.groupSize) || o.groupSize < 1) throw new SoakError(`--group-size ${o.groupSize} must be a whole number from 1, e.g. --group-size 16`);
  if (o.mode !== 'centralized' && o.mode !== 'distributed') throw new SoakError(`unknown mode "${String(o.mode)}": use centralized or distributed`);
  if (o.mode === 'distributed' && (!Number.isInteger(o.forkNodes) || o.forkNodes < 1)) throw new SoakError('--fork-nodes must be a whole number from 1');
  if (!Number.isFinite(o.drainS) || o.drainS < 0) throw new SoakError(`--drain-s ${o.drainS} must be 0 or more`);
  if (!Number.isInteger(o.basePort) || o.basePort < 1024 || o.basePort > 60000) throw new SoakError(`--base-port ${o.basePort} is outside 1024-60000`);
  return o;
}

export async function runSoak(o: SoakOptions, log: (s: string) => void = () => undefined, signal?: AbortSignal): Promise<SoakResult> {
  validateSoak(o);
  const forkNodes = o.mode === 'distributed' ? o.forkNodes : 0;
  const layout = layoutPoint({ groupSize: o.groupSize, forkNodes }, o.basePort);
  const { udp, tcp } = portsOf(layout);
  for (const p of udp) if (!(await portFree(p, 'udp'))) throw new SoakError(`UDP port ${p} is in use: stop what holds it or pick another --base-port`);
  for (const p of tcp) if (!(await portFree(p, 'tcp'))) throw new SoakError(`TCP port ${p} is in use: stop what holds it or pick another --base-port`);
  const out = resolve(o.out);
  await mkdir(out, { recursive: true });
  const groupsFile = join(out, 'groups.json');
  await writeFile(groupsFile, layout.groupsJson);
  const csv = join(out, 'soak.csv');
  await writeFile(csv, stringify([[...SOAK_COLUMNS]]));
  await writeMeta(out, await collectMeta({ config: { soak: { ...o, out } } }));

  const calls = Math.max(1, Math.round(o.rate * o.minutes * 60));
  const sendS = calls / o.rate;
  // Hard bound: calls, then ring + hold, the drain wait and a margin for stragglers.
  const deadlineMs = (sendS + (o.ringMs + o.holdMs) / 1000 + o.drainS + 60) * 1000;
  const proxies: ProxyProcess[] = [];
  const members: SippProcess[] = [];
  let caller: SippProcess | undefined;
  const rows: SoakRow[] = [];
  let interrupted = false;
  try {
    const parse = o.mode === 'distributed' ? 'lazy' : 'full';
    for (let i = 0; i < forkNodes; i++) {
      proxies.push(
        await launchProxy({ role: 'fork-node', port: layout.forkNodePorts[i]!, metricsPort: layout.forkNodeMetricsPorts[i]!, groupsFile, parse: 'full', shard: `${i + 1}/${forkNodes}`, relay180: DEFAULT_CONFIG.relay180, extraArgs: o.proxyArgs }),
      );
    }
    proxies.unshift(
      await launchProxy({ role: o.mode === 'distributed' ? 'head' : 'centralized', port: layout.proxyPort, metricsPort: layout.metricsPort, groupsFile, parse, forkNodePorts: layout.forkNodePorts, relay180: DEFAULT_CONFIG.relay180, extraArgs: o.proxyArgs }),
    );
    const timeoutS = Math.ceil(deadlineMs / 1000);
    layout.memberPorts.forEach((port, j) => {
      members.push(startSipp({ role: j === 0 ? 'answerer' : 'ringer', localPort: port, calls, ringMs: o.ringMs, outDir: out, name: `member-${String(j + 1).padStart(2, '0')}`, timeoutS }));
    });
    await Promise.all(layout.memberPorts.map((p) => waitUntilUdpBound(p, 10_000)));

    const t0 = Date.now();
    caller = startSipp({ role: 'caller', localPort: layout.callerPort, remote: `127.0.0.1:${layout.proxyPort}`, service: layout.group, calls, rate: o.rate, holdMs: o.holdMs, outDir: out, name: 'caller', timeoutS });
    const sampler = new SoakSampler({ centralPid: proxies[0]!.child.pid, forkNodePids: proxies.slice(1).map((p) => p.child.pid), metricsUrl: proxies[0]!.metricsUrl, callerStatFile: join(out, 'caller_stat.csv') }, t0);
    await sampler.prime();
    let callerDone = false;
    void caller.done.then(() => (callerDone = true));
    let drainStart: number | undefined;
    log(`soak: ${calls} calls at ${o.rate} calls/s (${o.minutes} min), N=${o.groupSize} ${o.mode}, a sample every ${o.sampleS} s into ${csv}`);
    for (;;) {
      await sleep(o.sampleS * 1000, signal);
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      const phase = callerDone ? 'drain' : 'calls';
      if (phase === 'drain') drainStart ??= Date.now();
      const row = await sampler.sample(phase);
      rows.push(row);
      await appendFile(csv, stringify([SOAK_COLUMNS.map((c) => row[c])]));
      log(`  ${row.t_s} s ${phase}: RSS ${row.rss_kb} kB, heap ${row.heap_used_kb} kB, CPU ${row.cpu_pct}%, table ${row.transaction_table}, forks ${row.forks_active}, calls ${row.calls_succeeded} ok / ${row.calls_failed} failed`);
      const empty = row.transaction_table === 0 && row.forks_active === 0 && row.active_transactions === 0;
      if (phase === 'drain' && (empty || Date.now() - drainStart! >= o.drainS * 1000)) break;
      if (Date.now() - t0 > deadlineMs) {
        log(`soak: deadline of ${Math.round(deadlineMs / 1000)} s reached; stopping`);
        break;
      }
    }
  } finally {
    await Promise.allSettled([caller?.stop(), ...members.map((m) => m.stop()), ...proxies.map((p) => p.child.stop())]);
  }
  const summary = summarizeSoak(rows);
  await updateMeta(out, { endedAt: new Date().toISOString(), soakSummary: summary, ...(interrupted ? { interrupted: true } : {}) });
  await writeFile(join(out, 'soak-summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
  return { summary, csv, rows, interrupted };
}

/** One paragraph for the terminal and the notes. */
export function formatSoakSummary(s: SoakSummary): string {
  const f = (v: number | undefined, d = 0): string => (v === undefined ? 'n/a' : v.toFixed(d));
  const t = s.tablesAtEnd;
  return [
    `soak: ${s.samples} samples; calls ${s.callsSucceeded} succeeded, ${s.callsFailed} failed`,
    `  RSS slope ${f(s.rssSlopeKbPerMin, 1)} kB/min over the last two thirds of the calls (from ${f(s.slopeFromS)} s; RSS ${f(s.rssStartKb)} -> ${f(s.rssEndKb)} kB); heap slope ${f(s.heapSlopeKbPerMin, 1)} kB/min`,
    `  tables at the end: transactions ${t?.transactionTable ?? 'n/a'}, active ${t?.activeTransactions ?? 'n/a'}, forks ${t?.forksActive ?? 'n/a'}, timers ${t?.timersPending ?? 'n/a'} (${s.drained ? 'drained' : 'NOT drained'})`,
  ].join('\n');
}
