// A test rig for integration tests: the real proxy processes (built CLI) and one real SIPp per
// member plus the caller, all on 127.0.0.1. Every process it starts is stopped by `stop()`.
import { mkdtemp, writeFile, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchProxy, readCounters, type ProxyCounters, type ProxyProcess } from '../../harness/testbed/targets/proxy-launcher.js';
import { startSipp, waitUntilUdpBound, type SippProcess, type SippRole, type SippExit } from '../../harness/testbed/load/sipp.js';
import { readFinalCodes, readSippStatFile, type SippStats } from '../../harness/measure/sipp-stats.js';

export interface RigOptions {
  /** First port of the block this test owns (proxy, fork nodes, metrics, members, caller). */
  base: number;
  groupSize: number;
  /** 0 = centralized. */
  forkNodes: number;
  /** Role of member j (0-based); default: member 0 answers, the others ring. */
  memberRole?: (j: number) => SippRole | 'dead';
  /** Fork nodes that are never started (a dead node), 0-based. */
  deadForkNodes?: number[];
  proxyArgs?: string[];
  ringMs?: number;
  /** Fork nodes' --relay-180 policy (default: the proxy's own, first). */
  relay180?: 'first' | 'all';
}

/** Short timers so the transaction tables drain within seconds (64*T1 = 6.4 s). */
export const FAST_TIMERS = ['--t1', '100', '--t4', '500', '--timer-d', '500'];

export class GroupCallRig {
  dir = '';
  proxies: ProxyProcess[] = [];
  members: (SippProcess | undefined)[] = [];
  memberRoles: (SippRole | 'dead')[] = [];
  readonly group: string;
  readonly memberPorts: number[];
  readonly forkNodePorts: number[];
  readonly proxyPort: number;
  readonly callerPort: number;

  constructor(private readonly o: RigOptions) {
    this.group = `g${o.groupSize}`;
    this.proxyPort = o.base;
    this.forkNodePorts = Array.from({ length: o.forkNodes }, (_v, i) => o.base + 2 + i);
    this.memberPorts = Array.from({ length: o.groupSize }, (_v, j) => o.base + 20 + j);
    this.callerPort = o.base + 20 + o.groupSize;
  }

  async start(calls: number): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'forkbench-it-'));
    const groupsFile = join(this.dir, 'groups.json');
    const members = this.memberPorts.map((p, j) => `sip:m${j + 1}@127.0.0.1:${p}`);
    await writeFile(groupsFile, JSON.stringify({ groups: { [this.group]: members } }));
    const extra = [...FAST_TIMERS, ...(this.o.proxyArgs ?? [])];
    const { base, forkNodes } = this.o;
    for (let i = 0; i < forkNodes; i++) {
      if (this.o.deadForkNodes?.includes(i)) continue;
      this.proxies.push(
        await launchProxy({ role: 'fork-node', port: this.forkNodePorts[i]!, metricsPort: base + 12 + i, groupsFile, parse: 'full', shard: `${i + 1}/${forkNodes}`, relay180: this.o.relay180, extraArgs: extra }),
      );
    }
    this.proxies.unshift(
      await launchProxy({
        role: forkNodes > 0 ? 'head' : 'centralized',
        port: this.proxyPort,
        metricsPort: base + 1,
        groupsFile,
        parse: forkNodes > 0 ? 'lazy' : 'full',
        forkNodePorts: this.forkNodePorts,
        extraArgs: extra,
      }),
    );
    this.memberRoles = this.memberPorts.map((_p, j) => this.o.memberRole?.(j) ?? (j === 0 ? 'answerer' : 'ringer'));
    this.members = this.memberPorts.map((port, j) => {
      const role = this.memberRoles[j]!;
      if (role === 'dead') return undefined;
      return startSipp({ role, localPort: port, calls, ringMs: this.o.ringMs ?? 50, outDir: this.dir, name: `member-${j + 1}`, timeoutS: 120, extraArgs: ['-trace_counts'] });
    });
    // Ready when every live member has bound its SIP port (no fixed sleep).
    await Promise.all(this.memberPorts.filter((_p, j) => this.members[j]).map((p) => waitUntilUdpBound(p, 10_000)));
  }

  /** Run the caller to completion; returns its statistics (and, for caller-expect-fail, the final code of each call). */
  async call(role: SippRole, calls: number, rate: number, extraArgs: string[] = []): Promise<{ exit: SippExit; stats: SippStats; finalCodes: Record<string, number> }> {
    const caller = startSipp({
      role,
      localPort: this.callerPort,
      remote: `127.0.0.1:${this.proxyPort}`,
      service: this.group,
      calls,
      rate,
      holdMs: 20,
      outDir: this.dir,
      name: 'caller',
      timeoutS: 120,
      extraArgs,
    });
    const exit = await caller.done;
    const finalCodes = exit.logFile ? await readFinalCodes(exit.logFile) : {};
    return { exit, stats: await readSippStatFile(exit.statFile ?? join(this.dir, 'caller_stat.csv')), finalCodes };
  }

  counters(i = 0): Promise<ProxyCounters> {
    return readCounters(this.proxies[i]!.metricsUrl);
  }

  /** Every member's counts, in member order. */
  async allMemberCounts(waitMs?: number): Promise<Record<string, number>[]> {
    const out: Record<string, number>[] = [];
    for (let j = 0; j < this.memberPorts.length; j++) out.push(await this.memberCounts(j, waitMs));
    return out;
  }

  /** Poll until every proxy's transaction table is empty, or the deadline passes. */
  async drained(timeoutMs = 15_000): Promise<ProxyCounters[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const all = await Promise.all(this.proxies.map((p) => readCounters(p.metricsUrl)));
      if (all.every((c) => c.transactionTable === 0 && c.activeTransactions === 0 && c.forksActive === 0) || Date.now() > deadline) return all;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Messages member j received, by SIPp's -trace_counts (e.g. {INVITE: 200, CANCEL: 199}). Waits up
   * to `waitMs` for the member to finish its calls (a member that gets no call never does).
   */
  async memberCounts(j: number, waitMs = 5000): Promise<Record<string, number>> {
    const m = this.members[j];
    if (!m) return {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([m.done, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    await m.stop();
    const files = (await readdir(this.dir)).filter((f) => f.includes('_counts.csv') && f.startsWith(`${this.memberRoles[j]}_`));
    const counts: Record<string, number> = {};
    for (const f of files) {
      const text = await readFile(join(this.dir, f), 'utf8');
      const [header, ...rows] = text.trim().split('\n');
      const last = rows.at(-1);
      if (!header || !last) continue;
      const h = header.split(';');
      const v = last.split(';');
      // Only this member's file: SIPp names it <scenario>_<pid>_counts.csv.
      if (!f.includes(`_${m.pid}_`)) continue;
      h.forEach((name, i) => {
        const mm = /^\d+_([A-Z]+|\d{3})_Recv$/.exec(name);
        if (mm) counts[mm[1]!] = (counts[mm[1]!] ?? 0) + Number(v[i]);
      });
    }
    return counts;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.members.map((m) => m?.stop()), ...this.proxies.map((p) => p.child.stop())]);
  }
}
