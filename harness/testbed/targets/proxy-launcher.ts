// Starts forkbench's own proxy processes (centralized proxy, or head + fork nodes) for a point,
// as tracked children, and reads their metrics endpoint.
import { join } from 'node:path';
import type { MetricsSnapshot } from '../../../proxy/metrics.js';
import { packageRoot } from '../system.js';
import { spawnTracked, type TrackedChild } from '../processes.js';

const START_TIMEOUT_MS = 10_000;

export interface ProxyProcess {
  role: 'proxy' | 'head' | 'fork-node';
  child: TrackedChild;
  metricsUrl: string;
}

export interface LaunchOptions {
  role: 'centralized' | 'head' | 'fork-node';
  port: number;
  metricsPort: number;
  groupsFile: string;
  parse: 'full' | 'lazy';
  forkNodePorts?: number[];
  shard?: string;
  relay180?: 'first' | 'all';
  cpuList?: string; // taskset -c list when pinning
  extraArgs?: string[];
}

/**
 * V8 flags of every proxy process the harness starts (centralized, head, fork nodes); meta.json
 * records them as proxyNodeArgs. Why: under a CPU quota a GC pause lasts 1/budget times longer in
 * wall time, and V8's parallel GC helpers spend the quota on another CPU at the same time; a small
 * young generation keeps each scavenge short. Measured (centralized N = 16, 45 calls/s, 0.2 cores,
 * 900 calls, three runs each): p95 setup 76-168 ms and p99 200-308 ms with V8's defaults, 48-56 ms
 * and 72-120 ms with these; without a budget (100 calls/s) CPU per call moved within the runs'
 * noise (3.22-3.38 ms vs 2.72-3.55 ms).
 */
export const PROXY_NODE_ARGS: readonly string[] = ['--single-threaded-gc', '--max-semi-space-size=1'];

/** The proxy's node flags: ours, then FORKBENCH_PROXY_NODE_ARGS (later flags win, e.g. --no-single-threaded-gc). */
export function proxyNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  // FORKBENCH_PROXY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the proxies of a sweep.
  return [...PROXY_NODE_ARGS, ...(env.FORKBENCH_PROXY_NODE_ARGS ?? '').split(' ').filter(Boolean)];
}

export function proxyArgs(o: LaunchOptions): string[] {
  const cli = join(packageRoot(), 'dist', 'cli', 'forkbench.js');
  const nodeArgs = proxyNodeArgs();
  const args = [...nodeArgs, cli, o.role === 'fork-node' ? 'fork-node' : 'proxy', '--listen', `127.0.0.1:${o.port}`, '--groups', o.groupsFile, '--parse', o.parse, '--metrics', `127.0.0.1:${o.metricsPort}`];
  if (o.role !== 'fork-node') args.push('--mode', o.role === 'head' ? 'distributed' : 'centralized');
  if (o.role === 'head') args.push('--fork-nodes', (o.forkNodePorts ?? []).map((p) => `127.0.0.1:${p}`).join(','));
  if (o.role === 'fork-node') args.push('--shard', o.shard ?? '1/1');
  if (o.relay180) args.push('--relay-180', o.relay180);
  return [...args, ...(o.extraArgs ?? [])];
}

/** Spawn and wait for the start-up line ("listening on"); fails with the process's own words. */
export async function launchProxy(o: LaunchOptions): Promise<ProxyProcess> {
  const args = proxyArgs(o);
  const [cmd, argv] = o.cpuList ? ['taskset', ['-c', o.cpuList, process.execPath, ...args]] : [process.execPath, args];
  const name = o.role === 'fork-node' ? `fork-node ${o.shard}` : o.role === 'head' ? 'head' : 'proxy';
  const child = spawnTracked(cmd, argv, { name, stdio: ['ignore', 'pipe', 'pipe'] });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!child.stdoutTail().includes('listening on')) {
    if (child.exitInfo) throw new Error(`${name} exited at start: ${child.stderrTail().trim() || `code ${child.exitInfo.code}`}`);
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { role: o.role === 'centralized' ? 'proxy' : o.role, child, metricsUrl: `http://127.0.0.1:${o.metricsPort}/metrics.json` };
}

/** What /metrics.json returns: the proxy's own snapshot type. */
export type ProxyCounters = MetricsSnapshot;

export async function readCounters(metricsUrl: string): Promise<ProxyCounters> {
  const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${metricsUrl}: HTTP ${res.status}`);
  return (await res.json()) as ProxyCounters;
}
