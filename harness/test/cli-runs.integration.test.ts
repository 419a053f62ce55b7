// Small real runs of the CLI (child processes, real proxy and SIPp on 127.0.0.1) for what the README
// promises about them: --json, --pin, the fallback to SIPp's timers without root, the progress lines
// on a pipe, and capacity.csv from a tiny capacity search. Ports 26500-26599.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPEED_PROBE_REF_NS } from '../measure/speed-probe.js';
import { CAPACITY_COLUMNS, POINT_COLUMNS } from '../records/columns.js';
import { readPoints } from '../records/results-csv.js';
import { packageRoot } from '../testbed/system.js';

const CLI = join(packageRoot(), 'bin', 'forkbench.js');
const TINY = ['--modes', 'centralized', '--group-sizes', '2', '--rates', '20', '--calls', '20', '--warmup', '1'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** CPU affinity (Cpus_allowed_list) of each process seen running under `watch`, by command name. */
  affinity: Map<string, Set<string>>;
}

function outDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'forkbench-cli-run-'));
  chmodSync(dir, 0o777); // the no-root run writes here as nobody
  return dir;
}

/** Processes whose command line names `dir`; pgrep exits 1 when none (anything else fails the test). */
function pids(dir: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', dir], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch (e) {
    if ((e as { status?: number }).status === 1) return [];
    throw e;
  }
}

function run(cmd: string[], watch?: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const harnessCmdline = cmd.join('\0') + '\0';
    let stdout = '';
    let stderr = '';
    const affinity = new Map<string, Set<string>>();
    // While it runs, note where each of its processes may run (taskset's effect).
    const poll = watch
      ? setInterval(() => {
          for (const pid of pids(watch)) {
            if (pid === child.pid) continue; // the harness itself: not pinned
            try {
              // A child the harness has forked but not yet exec'd (taskset, sipp) still carries the
              // harness's own command line and affinity: not a role, skip it.
              if (readFileSync(`/proc/${pid}/cmdline`, 'utf8') === harnessCmdline) continue;
              const status = readFileSync(`/proc/${pid}/status`, 'utf8');
              const name = /^Name:\s+(\S+)/m.exec(status)?.[1] ?? '?';
              const list = /^Cpus_allowed_list:\s+(\S+)/m.exec(status)?.[1] ?? '?';
              if (!affinity.has(name)) affinity.set(name, new Set());
              affinity.get(name)!.add(list);
            } catch {
              // gone meanwhile
            }
          }
        }, 100)
      : undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code, stdout, stderr, affinity });
    });
  });
}

describe('forkbench bench, tiny runs', () => {
  it('--json prints each finished row as one JSON line; --pin places the proxy on core 0 and SIPp on the others, recorded in meta.json; the debugging env vars work', async () => {
    expect(cpus().length, 'this test needs 2 cores').toBeGreaterThanOrEqual(2);
    const out = outDir();
    const prof = join(out, 'prof');
    // The README's debugging aids: FORKBENCH_TRACE prints each phase of a point on stderr;
    // FORKBENCH_PROXY_NODE_ARGS reaches the proxy's node (here --cpu-prof: a profile per proxy).
    const env = { FORKBENCH_TRACE: '1', FORKBENCH_PROXY_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${prof}` };
    const r = await run([process.execPath, CLI, 'bench', ...TINY, '--json', '--pin', '--base-port', '26500', '--out', out], out, env);
    expect(r.code, r.stderr).toBe(0);
    const phases = [...r.stderr.matchAll(/^\[\d+\.\d\ds\] (.*)$/gm)].map((m) => m[1]);
    expect(phases).toEqual(['forkbench/centralized/full/n2/r20/t1: start', 'proxies up', 'members and capture up', 'window measured', 'caller done', 'all stopped', 'row ready']);
    const profiles = readdirSync(prof).filter((f) => f.endsWith('.cpuprofile'));
    expect(profiles).toHaveLength(1); // the one centralized proxy, written when it exited on SIGTERM
    expect(JSON.parse(readFileSync(join(prof, profiles[0]!), 'utf8'))).toHaveProperty('nodes');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1); // nothing but the row on stdout
    const row = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(row).sort()).toEqual([...POINT_COLUMNS].sort());
    expect(row).toMatchObject({ point_id: 'forkbench/centralized/full/n2/r20/t1', status: 'ok', ser: 1, delay_source: 'pcap' });
    const rest = cpus().length === 2 ? '1' : `1-${cpus().length - 1}`;
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta.pinning).toEqual({ proxy: '0', forkNodes: rest, load: rest });
    expect(r.affinity.get('node')).toEqual(new Set(['0'])); // the proxy (its command line names the point's groups.json)
    expect(r.affinity.get('sipp')).toEqual(new Set([rest]));
  });

  it('without root there is no capture: it says so once, uses SIPp timings (delay_source=sipp), and prints one line per point on a pipe', async () => {
    const out = outDir();
    const r = await run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, CLI, 'bench', ...TINY, '--base-port', '26530', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^note: no packet capture \(tcpdump cannot capture on lo .*\): delays come from SIPp's 1 ms timers, column delay_source=sipp$/);
    expect(lines.filter((l) => l.startsWith('note:'))).toHaveLength(1);
    expect(lines[1]).toBe('forkbench bench: 1 points to run, about 1 min');
    expect(lines[2]).toMatch(/^\[1\/1\] centralized\/full N=2 20 cps #1: SER 1, p95 setup \d+\.\d\d ms, head CPU \d+(\.\d+)?%, \d+ us\/call$/);
    expect(lines[3]).toBe(`done: 1 points written to ${out}/points.csv (0 failed), meta in ${out}/meta.json`);
    expect(lines).toHaveLength(4);
    const [row] = await readPoints(join(out, 'points.csv'));
    expect(row).toMatchObject({ status: 'ok', delay_source: 'sipp', ser: 1 });
    expect(Number(row!.setup_p50_us) % 1000).toBe(0); // SIPp's figures: whole milliseconds
  });
});

describe('forkbench capacity, tiny run', () => {
  it('searches with real trials and appends capacity.csv, capacity-trials.csv and the run to meta.json', async () => {
    const args = ['capacity', '--group-size', '2', '--trial-calls', '20', '--start-rate', '10', '--max-rate', '20', '--resolution', '10', '--max-trials', '3'];
    // The guard may rightly stop a search when the suite's other files keep both cores busy (CI
    // failed this way once: "TEST BED BOUND", then "none"). That is the guard's job, tested in
    // testbed-guard.test.ts; this test is about the search's files, so it tries again, at most 3 times.
    let out = '';
    const search = (): Promise<Run> => {
      out = outDir();
      return run([process.execPath, CLI, ...args, '--no-capture', '--base-port', '26560', '--out', out]);
    };
    let r = await search();
    for (let tries = 1; tries < 3 && r.code === 0 && r.stdout.includes('TEST BED BOUND'); tries++) r = await search();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('TEST BED BOUND');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines, r.stdout).toHaveLength(4);
    expect(lines[0]).toMatch(/^ {2}trial forkbench\/centralized N=2 at 10 cps: pass \(achieved [\d.]+, SER 1, p95 setup \d+\.\d\d ms, cpu [\d.]+%\)$/);
    expect(lines[1]).toMatch(/^ {2}trial forkbench\/centralized N=2 at 20 cps: pass /);
    // The final rate is confirmed by one more trial before it is reported (issue 10).
    expect(lines[2]).toMatch(/^ {2}confirm forkbench\/centralized N=2 at 20 cps: pass /);
    expect(lines[3]).toMatch(/^capacity forkbench\/centralized N=2: 20 calls\/s \((\d+) on the reference core\) \(proved by the trial at 20 cps: SER 1, p95 setup \d+\.\d\d ms\); maxRate 20 cps passed; confirmed at 20 cps$/);
    const csv = readFileSync(join(out, 'capacity.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(CAPACITY_COLUMNS.join(','));
    expect(csv).toHaveLength(2);
    const row = Object.fromEntries(CAPACITY_COLUMNS.map((c, i) => [c, csv[1]!.split(',')[i]]));
    expect(row).toMatchObject({ target: 'forkbench', mode: 'centralized', parse: 'full', group_size: '2', fork_nodes: '0', capacity_cps: '20', resolution_cps: '10', trial_calls: '20', proving_ser: '1', trials: '3', stop_reason: 'max-rate', confirmed: '1' });
    expect(Number(row.proving_setup_p95_us)).toBeGreaterThan(0);
    // The host's speed over the search, and the capacity scaled by it (the number the log line gave).
    expect(Number(row.speed_probe_ns)).toBeGreaterThan(1_000);
    expect(row.capacity_ref_cps).toBe(/\((\d+) on the reference core\)/.exec(lines[3]!)![1]);
    expect(Number(row.capacity_ref_cps)).toBe(Math.round((20 * Number(row.speed_probe_ns)) / SPEED_PROBE_REF_NS));
    const trials = await readPoints(join(out, 'capacity-trials.csv'));
    expect(trials.map((t) => [t.point_id, t.status])).toEqual([
      ['capacity/forkbench/centralized/full/n2/r10/t1', 'ok'],
      ['capacity/forkbench/centralized/full/n2/r20/t2', 'ok'],
      ['capacity/forkbench/centralized/full/n2/r20/t3', 'ok'],
    ]);
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { capacityRuns: { command: string; endedAt?: string }[] };
    expect(meta.capacityRuns).toHaveLength(1);
    expect(meta.capacityRuns[0]!.command).toContain('capacity --group-size 2');
    expect(meta.capacityRuns[0]!.endedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  }, 180_000); // up to three searches of about 22 s each
});
