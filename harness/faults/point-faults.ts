// The faults of one sweep point (--loss, --kill-fork-node), started and stopped by the point runner
// through three calls: start (after the target is up), armKill (when the caller starts) and stop
// (always, from the runner's cleanup). What happened is written beside the point (faults.json) and
// summed per sweep into <out>/faults.csv, with the SIPp retransmission counts the loss caused.
import { existsSync } from 'node:fs';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { PointLayout } from '../plan/point-layout.js';
import { readSippStatFile } from '../measure/sipp-stats.js';
import type { PointInput } from '../records/results-csv.js';
import { parseKillSpec, resolveKill, scheduleKill, type KillSpec, type ScheduledKill } from './kill-fork-node.js';
import { installLoss, parseLossSpec, type InstalledLoss, type LossSpec } from './loss.js';

export interface FaultPlan {
  loss?: LossSpec;
  kill?: KillSpec;
}

/** The faults a config asks for ('' = none); throws LossError/KillSpecError with the fix. */
export function faultPlan(c: { loss?: string; killForkNode?: string }): FaultPlan {
  const plan: FaultPlan = {};
  if (c.loss) plan.loss = parseLossSpec(c.loss);
  if (c.killForkNode) plan.kill = parseKillSpec(c.killForkNode);
  return plan;
}

export function hasFaults(plan: FaultPlan): boolean {
  return plan.loss !== undefined || plan.kill !== undefined;
}

export interface FaultOutcome {
  loss?: LossSpec & { dropped: number; passed: number; table: string };
  kill?: { node: number; pid: number; plannedAtS: number; firedAtS?: number };
}

export interface ActiveFaults {
  /** Starts the kill clock: call when the caller starts placing calls. */
  armKill(signal?: AbortSignal): void;
  /** Removes the loss table, cancels a pending kill; idempotent, never throws. */
  stop(): Promise<FaultOutcome>;
  /** Fork node indexes (0-based) killed so far: their CPU ends with them. */
  readonly killed: ReadonlySet<number>;
}

/** A fork node the point started (pid = its process group, as the supervisor spawns it detached). */
export interface ForkNodeHandle {
  name: string;
  pid: number;
}

export interface PointFaultStart {
  plan: FaultPlan;
  layout: PointLayout;
  forkNodes: readonly ForkNodeHandle[];
  /** Seconds the caller spends placing calls (a share in --kill-fork-node is of this). */
  sendS: number;
}

export async function startPointFaults(s: PointFaultStart): Promise<ActiveFaults> {
  const outcome: FaultOutcome = {};
  const killed = new Set<number>();
  let loss: InstalledLoss | undefined;
  let scheduled: ScheduledKill | undefined;
  const l = s.layout;
  if (s.plan.loss) {
    loss = await installLoss(s.plan.loss, { members: l.memberPorts, all: [l.proxyPort, ...l.forkNodePorts, ...l.memberPorts, l.callerPort] });
  }
  const kill = s.plan.kill ? resolveKill(s.plan.kill, s.forkNodes.length, s.sendS) : undefined;
  let stopped: Promise<FaultOutcome> | undefined;
  return {
    killed,
    armKill(signal) {
      if (!kill || scheduled) return;
      const node = s.forkNodes[kill.index]!;
      outcome.kill = { node: kill.index + 1, pid: node.pid, plannedAtS: kill.atMs / 1000 };
      const target = {
        name: node.name,
        pid: node.pid,
        // The whole process group, as the supervisor stops it; the supervisor then sees it exit.
        signal: (sig: NodeJS.Signals) => {
          try {
            process.kill(-node.pid, sig);
          } catch {
            // already gone
          }
        },
        expectExit: () => undefined,
      };
      scheduled = scheduleKill(target, kill.atMs, signal);
      void scheduled.fired.then((f) => {
        if (!f || !outcome.kill) return;
        killed.add(kill.index);
        outcome.kill.firedAtS = f.afterMs / 1000;
      });
    },
    stop() {
      stopped ??= (async () => {
        scheduled?.cancel();
        await scheduled?.fired;
        if (loss && s.plan.loss) {
          const counts = await loss.counts().catch(() => ({ dropped: 0, passed: 0 }));
          await loss.remove().catch(() => undefined);
          outcome.loss = { ...s.plan.loss, ...counts, table: loss.table };
        }
        return outcome;
      })();
      return stopped;
    },
  };
}

export const FAULT_COLUMNS = [
  'point_id',
  'loss_pct', // share of datagrams the nftables rule drops (0: no loss)
  'loss_legs', // members | all
  'loss_dropped', // datagrams the rule dropped during the point
  'loss_passed', // datagrams the rule let through
  'calls_attempted',
  'calls_succeeded',
  'ser', // as in points.csv
  'fail_causes',
  'caller_retransmissions', // SIPp caller's Retransmissions(C)
  'member_retransmissions', // sum over the member SIPps
  'killed_fork_node', // 1-based index, empty when none
  'kill_planned_s', // seconds after the first call
  'kill_fired_s', // when it happened (empty: the point ended first)
] as const;

/** Sums Retransmissions(C) over the SIPp stat files of a point: the caller's, and every member's. */
export async function sippRetransmissions(pointDir: string): Promise<{ caller: number | ''; members: number | '' }> {
  const files = (await readdir(pointDir).catch(() => [] as string[])).filter((f) => f.endsWith('_stat.csv'));
  let caller: number | '' = '';
  let members: number | '' = '';
  for (const f of files) {
    const stats = await readSippStatFile(join(pointDir, f)).catch(() => undefined);
    if (!stats) continue;
    if (f === 'caller_stat.csv') caller = stats.retransmissions;
    else if (f.startsWith('member-')) members = (members === '' ? 0 : members) + stats.retransmissions;
  }
  return { caller, members };
}

export async function writeFaultOutcome(pointDir: string, outcome: FaultOutcome): Promise<void> {
  await writeFile(join(pointDir, 'faults.json'), `${JSON.stringify(outcome, null, 1)}\n`);
}

/** After a point's row is written: its faults row into <out>/faults.csv, when the point had faults. */
export async function appendFaultRow(out: string, pointDir: string, row: PointInput): Promise<void> {
  const file = join(pointDir, 'faults.json');
  if (!existsSync(file)) return;
  const o = JSON.parse(await readFile(file, 'utf8')) as FaultOutcome;
  const r = await sippRetransmissions(pointDir);
  const cells: Record<(typeof FAULT_COLUMNS)[number], string | number> = {
    point_id: String(row.point_id),
    loss_pct: o.loss?.pct ?? 0,
    loss_legs: o.loss?.legs ?? '',
    loss_dropped: o.loss?.dropped ?? '',
    loss_passed: o.loss?.passed ?? '',
    calls_attempted: row.calls_attempted ?? '',
    calls_succeeded: row.calls_succeeded ?? '',
    ser: row.ser ?? '',
    fail_causes: row.fail_causes ?? '',
    caller_retransmissions: r.caller,
    member_retransmissions: r.members,
    killed_fork_node: o.kill?.node ?? '',
    kill_planned_s: o.kill?.plannedAtS ?? '',
    kill_fired_s: o.kill?.firedAtS !== undefined ? Math.round(o.kill.firedAtS * 1000) / 1000 : '',
  };
  const csv = join(out, 'faults.csv');
  const header = existsSync(csv) ? '' : stringify([[...FAULT_COLUMNS]]);
  await appendFile(csv, header + stringify([FAULT_COLUMNS.map((c) => cells[c])]));
}
