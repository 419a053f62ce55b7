// End to end through the CLI: a tiny sweep (both modes, N=2 and 4, one rate), interrupted with
// Ctrl-C after its first point, then resumed. Ports 22000-22099.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POINT_COLUMNS } from '../records/columns.js';
import { readPoints } from '../records/results-csv.js';
import { CLI, leftovers, runCli } from './cli-child.js';

const out = mkdtempSync(join(tmpdir(), 'forkbench-sweep-'));
const SWEEP = ['bench', '--modes', 'centralized,distributed', '--group-sizes', '2,4', '--rates', '20', '--calls', '100', '--warmup', '1', '--base-port', '22000', '--out', out];

describe('forkbench bench (tiny sweep, end to end)', () => {
  it('stops every process on Ctrl-C, keeps the finished points, and resumes only what is missing', async () => {
    const first = await runCli(SWEEP, (text, child) => {
      if (/\[1\/4\]/.test(text) && !child.killed) child.kill('SIGINT');
    });
    expect(first.code, first.stderr).toBe(130);
    expect(leftovers(out)).toBe('');
    // Ctrl-C came during point 2: point 1 is kept, point 2 discarded, and the run says how to go on.
    const kept = await readPoints(join(out, 'points.csv'));
    expect(kept).toHaveLength(1);
    expect(first.stdout).toContain(`interrupted: kept 1 points finished in this run (0 failed); 1 of 4 points are in ${out}/points.csv`);
    const resume = `${process.execPath} ${CLI} ${SWEEP.join(' ')} --resume`;
    expect(first.stdout).toContain(`resume with: ${resume}\n`);
    const cut = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(cut).toMatchObject({ interrupted: true, pointsDone: 1, pointsTotal: 4, resumeCommand: resume });
    expect(cut.interruptedAt).toBe(cut.endedAt);

    // The printed command, run as printed (its argv minus the node binary and script).
    const second = await runCli(resume.split(' ').slice(2));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`3 points to run (1 already done, resumed)`);
    expect(leftovers(out)).toBe('');

    const rows = await readPoints(join(out, 'points.csv'));
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.point_id)).size).toBe(4);
    for (const r of rows) {
      for (const c of POINT_COLUMNS) expect(r, `column ${c}`).toHaveProperty(c);
      expect(r.status, String(r.error)).toBe('ok');
      expect(r.ser).toBe(1);
      expect(Number(r.calls_attempted)).toBe(120); // 100 measured + 1 s of warm-up at 20 cps
      expect(Number(r.setup_p95_us)).toBeGreaterThan(0);
      expect(Number(r.ringing_p50_us)).toBeGreaterThan(0);
      expect(Number(r.setup_p50_us)).toBeLessThanOrEqual(Number(r.setup_p95_us));
      expect(Number(r.head_cpu_pct)).toBeGreaterThan(0);
      expect(Number(r.cpu_us_per_call)).toBeGreaterThan(0);
      expect(Number(r.head_peak_rss_kb)).toBeGreaterThan(1000);
      expect(Number(r.achieved_rate_cps)).toBeGreaterThan(10);
      // The suite runs as root with tcpdump installed: a silent fallback to SIPp's timers would be a bug here.
      expect(r.delay_source).toBe('pcap');
      expect(r.flagged, String(r.flag_reason)).toBe(0);
      if (r.mode === 'distributed') expect(Number(r.forknodes_cpu_pct)).toBeGreaterThan(0);
      else expect(Number(r.forknodes_cpu_pct)).toBe(0);
    }
    // With the harness's relay-180 policy (first, for every forking proxy: rows say so), the
    // centralized proxy handles 6N+7 messages per call and the head 7K+7 whatever N is (7N+6 and
    // 8K+6 when every 180 is relayed; README "messages per call"). Per call attempted in the window,
    // so a call straddling the window's edges moves it a little.
    for (const r of rows) expect(r.relay_180).toBe('first');
    const msgs = (mode: string, n: number): number => Number(rows.find((r) => r.mode === mode && Number(r.group_size) === n)!.msgs_per_call);
    expect(Math.abs(msgs('centralized', 2) - 19)).toBeLessThan(0.75);
    expect(Math.abs(msgs('centralized', 4) - 31)).toBeLessThan(0.75);
    expect(Math.abs(msgs('distributed', 2) - 21)).toBeLessThan(0.75);
    expect(Math.abs(msgs('distributed', 4) - 21)).toBeLessThan(0.75);

    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['command', 'config', 'forkbench', 'node', 'sippVersion', 'kernel', 'cpuModel', 'cores', 'startedAt', 'endedAt']) expect(meta, key).toHaveProperty(key);
    expect(meta.endedAt).not.toBeNull();
    expect(meta).toMatchObject({ interrupted: false, interruptedAt: null, resumeCommand: null });
    expect((meta.resumedAt as string[]).length).toBe(1);
    expect(existsSync(join(out, 'points', 'forkbench_centralized_full_n2_r20_t1', 'caller_stat.csv'))).toBe(true);
  }, 240_000);

  it('rejects bad input with one line naming the fix, exit code 2, nothing started', async () => {
    const bad = await runCli(['bench', '--modes', 'central', '--out', join(out, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/unknown mode "central"/);
    const small = await runCli(['bench', '--group-sizes', '0,2', '--out', join(out, 'bad')]);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/group size 0/);

    // A port the sweep needs is taken.
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(22050, '127.0.0.1', () => r()));
    try {
      const busy = await runCli(['bench', '--group-sizes', '2', '--rates', '20', '--base-port', '22050', '--out', join(out, 'busy')]);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toMatch(/port 22050 is in use/);
      expect(existsSync(join(out, 'busy', 'points.csv'))).toBe(false);
    } finally {
      sock.close();
    }
  });
});
