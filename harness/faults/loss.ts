// Packet loss on loopback, as users meet it on a lossy network: an nftables table that drops a share
// of the UDP datagrams sent to or from the ports one point uses. The table is named
// forkbench_<pid> so that leftovers of a killed harness can be told from a live one's, and it is
// removed on success, failure, Ctrl-C (the process 'exit' handler runs `nft` synchronously) and, if
// the harness was SIGKILLed, by the next harness start (removeStaleTables).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { pidAlive } from '../testbed/system.js';

const execFileP = promisify(execFile);

export const TABLE_PREFIX = 'forkbench';
export type LossLegs = 'members' | 'all';

export interface LossSpec {
  pct: number; // 0 < pct < 100, share of datagrams dropped
  legs: LossLegs; // members: datagrams to or from a member port; all: every port of the point
}

export class LossError extends Error {}

/** "5" or "5:members" or "2.5:all" (legs default to members). Throws a LossError naming the fix. */
export function parseLossSpec(text: string): LossSpec {
  const fix = 'give --loss PCT[:members|all], e.g. --loss 5:members';
  const [pctText, legsText = 'members', extra] = text.split(':');
  if (extra !== undefined) throw new LossError(`--loss "${text}" has more than one ":": ${fix}`);
  const pct = Number(pctText);
  if (pctText === undefined || pctText.trim() === '' || !Number.isFinite(pct) || pct <= 0 || pct >= 100) {
    throw new LossError(`--loss "${text}": the share must be above 0 and below 100 (percent): ${fix}`);
  }
  // numgen gives whole numbers 0..99; a fractional share would silently round.
  if (!Number.isInteger(pct)) throw new LossError(`--loss "${text}": the share must be a whole percent: ${fix}`);
  if (legsText !== 'members' && legsText !== 'all') throw new LossError(`--loss "${text}": unknown legs "${legsText}": ${fix}`);
  return { pct, legs: legsText };
}

export interface LossPorts {
  members: number[]; // the member SIPp ports
  all: number[]; // every UDP port of the point (proxy, fork nodes, members, caller)
}

export function tableName(pid = process.pid): string {
  return `${TABLE_PREFIX}_${pid}`;
}

/**
 * The nft script of one table. One chain on the input hook, restricted to loopback UDP between
 * 127.0.0.0/8 addresses. Input, not output: a drop on output makes the sender's sendto() fail with
 * EPERM (SIPp then aborts the call), whereas a lossy network drops silently; on input the datagram
 * is lost after it was sent, as on a wire. Each datagram crosses the input hook once, and one whose
 * source and destination ports are both listed jumps to the lossy chain once (goto + accept), so it
 * gets one draw, not two. Pure, so the rule text is testable without root.
 */
export function lossRuleset(spec: LossSpec, ports: LossPorts, table = tableName()): string {
  const list = [...new Set(spec.legs === 'members' ? ports.members : ports.all)].sort((a, b) => a - b);
  if (list.length === 0) throw new LossError('no ports to apply --loss to');
  const set = `{ ${list.join(', ')} }`;
  const match = 'iifname "lo" ip saddr 127.0.0.0/8 ip daddr 127.0.0.0/8';
  return [
    `table ip ${table} {`,
    '  chain lossy {',
    `    numgen random mod 100 < ${spec.pct} counter drop`,
    '    counter accept',
    '  }',
    '  chain in {',
    '    type filter hook input priority 0; policy accept;',
    `    ${match} udp dport ${set} goto lossy`,
    `    ${match} udp sport ${set} goto lossy`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Why loss cannot be applied here, or undefined when it can (root and nft present). */
export async function lossUnavailable(uid = process.getuid?.()): Promise<string | undefined> {
  if (uid !== 0) return '--loss needs root (it installs an nftables rule): run as root, or drop --loss';
  try {
    await execFileP('nft', ['--version'], { timeout: 5000 });
  } catch {
    return '--loss needs nftables: apt-get install nftables, or drop --loss';
  }
  return undefined;
}

async function nft(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('nft', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new LossError(`nft ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Names of every forkbench_* table (ip family), from `nft list tables`. */
export async function listOwnTables(): Promise<string[]> {
  const text = await nft(['list', 'tables', 'ip']);
  return [...text.matchAll(/^table ip (\S+)$/gm)].map((m) => m[1]!).filter((n) => n.startsWith(`${TABLE_PREFIX}_`));
}

/** Removes forkbench_<pid> tables whose harness is gone (a SIGKILLed run); a live run's are kept. */
export async function removeStaleTables(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listOwnTables()) {
    const pid = Number(name.slice(TABLE_PREFIX.length + 1));
    if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)) continue;
    await nft(['delete', 'table', 'ip', name]).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

export interface InstalledLoss {
  table: string;
  ruleset: string;
  /** Datagrams the rule dropped and passed so far (nft counters). */
  counts(): Promise<{ dropped: number; passed: number }>;
  remove(): Promise<void>;
}

const installed = new Set<string>();
let exitHookInstalled = false;

/** On any exit of the harness (Ctrl-C goes through process.exit too), delete what is still installed. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const t of installed) {
      try {
        execFileSync('nft', ['delete', 'table', 'ip', t], { stdio: 'ignore', timeout: 5000 });
      } catch {
        // already gone
      }
    }
    installed.clear();
  });
}

/** Installs the loss table (replacing a previous one of this process). Call remove() in a finally. */
export async function installLoss(spec: LossSpec, ports: LossPorts, table = tableName()): Promise<InstalledLoss> {
  const why = await lossUnavailable();
  if (why) throw new LossError(why);
  await removeStaleTables();
  const ruleset = lossRuleset(spec, ports, table);
  installExitHook();
  installed.add(table);
  await nft(['delete', 'table', 'ip', table]).catch(() => undefined);
  await nft(['-f', '-'], ruleset);
  return {
    table,
    ruleset,
    async counts() {
      const text = await nft(['list', 'chain', 'ip', table, 'lossy']);
      const packets = [...text.matchAll(/counter packets (\d+) bytes \d+ (drop|accept)/g)];
      const get = (verdict: string): number => Number(packets.find((m) => m[2] === verdict)?.[1] ?? 0);
      return { dropped: get('drop'), passed: get('accept') };
    },
    async remove() {
      installed.delete(table);
      await nft(['delete', 'table', 'ip', table]).catch((e: Error) => {
        if (!/No such file or directory/.test(e.message)) throw e;
      });
    },
  };
}

/** True when the table exists (tests and leak checks). */
export async function tableExists(table: string): Promise<boolean> {
  return (await nft(['list', 'tables', 'ip'])).split('\n').some((l) => l.trim() === `table ip ${table}`);
}
