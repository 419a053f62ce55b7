// Faults as users meet them, end to end through the CLI with the real proxy and real SIPp:
// `bench --loss` (the nftables table exists while the sweep runs and is gone after success and after
// Ctrl-C; faults.csv gets the SER, drops and retransmissions; meta.json records the option),
// `bench --kill-fork-node`, and the one-line refusals. Ports 26400-26499.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { listOwnTables, tableExists } from '../faults/loss.js';
import { readPoints } from '../records/results-csv.js';
import { packageRoot } from '../testbed/system.js';

const CLI = join(packageRoot(), 'bin', 'forkbench.js');
const asRoot = process.getuid?.() === 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  tablesSeen: string[];
}

/** Runs the CLI; while it runs, polls which forkbench_<its pid> tables exist; `onStdout` may signal it. */
function run(args: string[], onTable?: (kill: (s: NodeJS.Signals) => void) => void, prefix: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    const [cmd, argv] = prefix.length ? [prefix[0]!, [...prefix.slice(1), process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const r: Run = { code: null, stdout: '', stderr: '', tablesSeen: [] };
    const poll = setInterval(() => {
      if (!asRoot) return;
      void listOwnTables().then((t) => {
        for (const name of t) {
          if (name !== `forkbench_${child.pid}` || r.tablesSeen.includes(name)) continue;
          r.tablesSeen.push(name);
          onTable?.((s) => child.kill(s));
        }
      });
    }, 200);
    child.stdout.on('data', (d: Buffer) => {
      r.stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (r.stderr += d.toString()));
    child.on('close', (code) => {
      clearInterval(poll);
      r.code = code;
      resolve(r);
    });
  });
}

const csvRows = (file: string): Record<string, string>[] => parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
const tiny = (out: string, extra: string[]): string[] => ['bench', '--modes', 'centralized', '--group-sizes', '4', '--rates', '20', '--calls', '100', '--warmup', '1', '--base-port', '26400', '--out', out, ...extra];

describe.runIf(asRoot)('bench --loss (root, real SIPp)', () => {
  it('5% on the member legs: every call succeeds; the table exists during the run and is gone after it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-loss-'));
    const r = await run(tiny(out, ['--loss', '5:members']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.tablesSeen, 'the table existed while the sweep ran').toHaveLength(1);
    expect(await tableExists(r.tablesSeen[0]!)).toBe(false);
    const [row] = await readPoints(join(out, 'points.csv'));
    expect(row!.status).toBe('ok');
    expect(row!.ser).toBe(1);
    const [f] = csvRows(join(out, 'faults.csv'));
    expect(f!.loss_pct).toBe('5');
    expect(f!.loss_legs).toBe('members');
    expect(Number(f!.loss_dropped)).toBeGreaterThan(0);
    expect(f!.ser).toBe('1');
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { config: { loss: string } };
    expect(meta.config.loss).toBe('5:members');
  });

  it('5% on every leg: SER and the retransmission counts are reported in faults.csv', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-loss-'));
    const r = await run(tiny(out, ['--loss', '5:all']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.tablesSeen).toHaveLength(1);
    expect(await tableExists(r.tablesSeen[0]!)).toBe(false);
    const [f] = csvRows(join(out, 'faults.csv'));
    expect(f!.loss_legs).toBe('all');
    expect(Number(f!.ser)).toBeGreaterThan(0.5);
    expect(Number(f!.ser)).toBeLessThanOrEqual(1);
    // The caller's own leg loses datagrams too: SIPp retransmits INVITEs and BYEs.
    expect(Number(f!.caller_retransmissions)).toBeGreaterThan(0);
    expect(f!.member_retransmissions).toMatch(/^\d+$/);
    expect(Number(f!.loss_dropped)).toBeGreaterThan(0);
  });

  it('Ctrl-C in the middle of a lossy point: exit 130 and the table is gone', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-loss-'));
    // Interrupted as soon as its table exists (the point has started).
    const r = await run(tiny(out, ['--loss', '5']), (kill) => setTimeout(() => kill('SIGINT'), 1000));
    expect(r.code).toBe(130);
    expect(r.tablesSeen).toHaveLength(1);
    expect(await tableExists(r.tablesSeen[0]!)).toBe(false);
    expect(existsSync(join(out, 'faults.csv'))).toBe(false); // an interrupted point is not a result
  });
});

describe('bench --kill-fork-node (real SIPp)', () => {
  it('kills fork node 2 of 2 halfway: every call succeeds through node 1, the row is flagged, faults.csv says when', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-kill-'));
    const r = await run(['bench', '--modes', 'distributed', '--group-sizes', '4', '--rates', '20', '--calls', '100', '--warmup', '1', '--base-port', '26400', '--out', out, '--kill-fork-node', '50%']);
    expect(r.code, r.stderr).toBe(0);
    const [row] = await readPoints(join(out, 'points.csv'));
    expect(row!.status, String(row!.error)).toBe('ok');
    expect(row!.ser).toBe(1);
    expect(row!.flag_reason).toContain('fork node 2 killed');
    const [f] = csvRows(join(out, 'faults.csv'));
    expect(f!.killed_fork_node).toBe('2');
    // 50% of 120 calls at 20 calls/s = 3 s after the first call.
    expect(Number(f!.kill_planned_s)).toBe(3);
    expect(Number(f!.kill_fired_s)).toBeGreaterThanOrEqual(3);
    expect(Number(f!.kill_fired_s)).toBeLessThan(3.5);
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { config: { killForkNode: string } };
    expect(meta.config.killForkNode).toBe('50%');
  });
});

describe('refusals (one line, exit 2)', () => {
  it('a malformed --loss or --kill-fork-node names the fix', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-loss-'));
    const a = await run(tiny(out, ['--loss', '150']));
    expect(a.code).toBe(2);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    expect(a.stderr).toContain('--loss PCT[:members|all]');
    const b = await run(tiny(out, ['--kill-fork-node', '50%']));
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--kill-fork-node needs fork nodes');
  });

  it.runIf(asRoot && existsSync('/usr/bin/setpriv'))('--loss without root says so in one line', async () => {
    const out = mkdtempSync(join(tmpdir(), 'forkbench-loss-'));
    execFileSync('chmod', ['777', out]);
    const r = await run(tiny(out, ['--loss', '5', '--no-capture']), undefined, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe('forkbench: --loss needs root (it installs an nftables rule): run as root, or drop --loss');
  });
});
