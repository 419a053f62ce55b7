// The external target: a proxy forkbench did not start (`--target external --proxy HOST:PORT`).
// forkbench writes what a user pastes into their proxy (the members and groups as groups.json and
// members.csv, and a ready Kamailio config), then drives callers and members against it. The
// target's CPU is measured only from a real source: a pid on a topology host (`--target-pid`,
// sampled from that host's /proc) or a Prometheus endpoint (`--target-metrics URL`,
// process_cpu_seconds_total); otherwise it is reported as not measured, never estimated.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Host } from '../hosts/host.js';
import { writeKamailioConfig } from './kamailio-launcher.js';

export class ExternalTargetError extends Error {
  override name = 'ExternalTargetError';
}

/** "IPv4:PORT" of the proxy under test. */
export function parseProxyAddress(s: string | undefined): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(s ?? '');
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535 || m[1]!.split('.').some((o) => Number(o) > 255)) {
    throw new ExternalTargetError(`--proxy ${JSON.stringify(s ?? '')} is not IPv4:PORT: give the address your proxy listens on for SIP over UDP, e.g. --proxy 198.18.0.10:5060`);
  }
  return { host: m[1]!, port };
}

/** `--target-pid` value: a positive integer. */
export function parseTargetPid(s: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < 2) throw new ExternalTargetError(`--target-pid ${JSON.stringify(s)} is not a process id: give the pid of your proxy's main process on the host where "proxy" is placed`);
  return n;
}

/** `--target-metrics` value: an http(s) URL. */
export function parseMetricsUrl(s: string): URL {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ExternalTargetError(`--target-metrics ${JSON.stringify(s)} is not a URL: give your proxy's Prometheus endpoint, e.g. --target-metrics http://198.18.0.10:9090/metrics`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ExternalTargetError(`--target-metrics must be http:// or https://, got ${u.protocol}`);
  return u;
}

export interface TargetFiles {
  groupsJson: string;
  membersCsv: string;
  kamailioCfg: string;
}

/**
 * Writes into `dir`: groups.json ({"groups": {name: [uri, ...]}}, the form forkbench's proxy and
 * harness/testbed/targets/kamailio-launcher.ts read), members.csv (user,uri,host,port, one member per line) and kamailio/,
 * a ready Kamailio config listening on the proxy address (kamailio -f kamailio/kamailio.cfg).
 */
export async function writeTargetFiles(dir: string, groups: Record<string, string[]>, proxy: string): Promise<TargetFiles> {
  const { host, port } = parseProxyAddress(proxy);
  await mkdir(dir, { recursive: true });
  const groupsJson = join(dir, 'groups.json');
  await writeFile(groupsJson, `${JSON.stringify({ groups }, null, 1)}\n`);
  const rows = ['user,uri,host,port'];
  const seen = new Set<string>();
  for (const members of Object.values(groups)) {
    for (const uri of members) {
      if (seen.has(uri)) continue;
      seen.add(uri);
      const m = /^sip:([^@]+)@([^:;]+):(\d+)/.exec(uri);
      if (!m) throw new ExternalTargetError(`member ${uri} is not sip:user@host:port`);
      rows.push([m[1], uri, m[2], m[3]].join(','));
    }
  }
  const membersCsv = join(dir, 'members.csv');
  await writeFile(membersCsv, `${rows.join('\n')}\n`);
  const kamailioCfg = await writeKamailioConfig({ listen: `${host}:${port}`, groupsFile: groupsJson, workDir: join(dir, 'kamailio') });
  return { groupsJson, membersCsv, kamailioCfg };
}

/** The value of process_cpu_seconds_total (summed over its series) in Prometheus text, or null if absent. */
export function parsePrometheusCpuSeconds(text: string): number | null {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^process_cpu_seconds_total(?:\{[^}]*\})?\s+([-+0-9.eE]+|NaN)(?:\s+\d+)?\s*$/.exec(line.trim());
    if (!m) continue;
    const v = Number(m[1]);
    if (!Number.isFinite(v)) return null;
    sum += v;
    found = true;
  }
  return found ? sum : null;
}

export type CpuReading = { measured: true; cpuUs: number; wallUs: number; source: string } | { measured: false; reason: string; source: string };

/** Measures the target's CPU over a window. */
export interface TargetCpuProbe {
  readonly source: string; // for meta.json: "pid 1234 on sut (ssh)", "http://.../metrics", "none"
  start(): Promise<void>;
  end(): Promise<CpuReading>;
}

/** Root and descendants on a host, from `ps -e -o pid=,ppid=` there (Kamailio forks workers). */
export async function processTreeOn(host: Host, root: number): Promise<number[]> {
  const out = await host.exec('ps', ['-e', '-o', 'pid=,ppid=']);
  const kids = new Map<number, number[]>();
  let rootSeen = false;
  for (const line of out.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (!pid) continue;
    if (pid === root) rootSeen = true;
    kids.set(ppid!, [...(kids.get(ppid!) ?? []), pid]);
  }
  if (!rootSeen) return [];
  const tree: number[] = [];
  const q = [root];
  while (q.length) {
    const p = q.shift()!;
    tree.push(p);
    q.push(...(kids.get(p) ?? []));
  }
  return tree;
}

/** CPU of a pid and its descendants on a topology host. Processes that appear mid-window count in full. */
export function pidProbe(host: Host, pid: number): TargetCpuProbe {
  const source = `pid ${pid} on ${host.spec.name} (${host.spec.kind})`;
  let t0 = 0n;
  let before = new Map<number, { cpuUs: number; startTime: number }>();
  const snap = async (): Promise<Map<number, { cpuUs: number; startTime: number }>> => {
    const tree = await processTreeOn(host, pid);
    const s = await host.sampleCpu(tree);
    const out = new Map<number, { cpuUs: number; startTime: number }>();
    for (const [p, v] of s) if (v.ok) out.set(p, { cpuUs: v.cpuUs, startTime: v.startTime });
    return out;
  };
  return {
    source,
    async start() {
      before = await snap();
      t0 = process.hrtime.bigint();
      if (!before.has(pid)) throw new ExternalTargetError(`--target-pid ${pid}: no such process on ${host.spec.name}: give the pid of your running proxy`);
    },
    async end() {
      const after = await snap();
      const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
      if (!after.has(pid) || after.get(pid)!.startTime !== before.get(pid)?.startTime) return { measured: false, reason: `target pid ${pid} exited during the window`, source };
      let cpuUs = 0;
      for (const [p, v] of after) {
        const b = before.get(p);
        cpuUs += v.cpuUs - (b && b.startTime === v.startTime ? b.cpuUs : 0);
      }
      return { measured: true, cpuUs, wallUs, source };
    },
  };
}

/** CPU from a Prometheus endpoint's process_cpu_seconds_total, read at both ends of the window. */
export function metricsProbe(url: URL, fetchText: (u: URL) => Promise<string> = defaultFetch): TargetCpuProbe {
  const source = url.toString();
  let first: number | null = null;
  let t0 = 0n;
  const read = async (): Promise<number> => {
    const v = parsePrometheusCpuSeconds(await fetchText(url));
    if (v === null) throw new ExternalTargetError(`${source} has no process_cpu_seconds_total: point --target-metrics at an endpoint that exports it, or drop the flag`);
    return v;
  };
  return {
    source,
    async start() {
      first = await read();
      t0 = process.hrtime.bigint();
    },
    async end() {
      const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
      let last: number;
      try {
        last = await read();
      } catch (e) {
        return { measured: false, reason: (e as Error).message, source };
      }
      if (first === null || last < first) return { measured: false, reason: `${source}: process_cpu_seconds_total went down (the target restarted?)`, source };
      return { measured: true, cpuUs: Math.round((last - first) * 1e6), wallUs, source };
    },
  };
}

async function defaultFetch(u: URL): Promise<string> {
  const res = await fetch(u, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new ExternalTargetError(`${u}: HTTP ${res.status}`);
  return res.text();
}

/** No source: the CPU columns stay empty and the row is flagged. */
export function noProbe(): TargetCpuProbe {
  return {
    source: 'none',
    async start() {},
    async end() {
      return { measured: false, reason: 'target CPU not measured (give --target-pid or --target-metrics)', source: 'none' };
    },
  };
}

/** Row fields for a reading: CPU % and µs per call, or empty with the flag. */
export function cpuColumns(r: CpuReading, succeeded: number): { head_cpu_pct: number | ''; cpu_us_per_call: number | ''; flag?: string } {
  if (!r.measured) return { head_cpu_pct: '', cpu_us_per_call: '', flag: r.reason };
  return {
    head_cpu_pct: Math.round((r.cpuUs / r.wallUs) * 10000) / 100,
    cpu_us_per_call: succeeded > 0 ? Math.round(r.cpuUs / succeeded) : '',
  };
}
