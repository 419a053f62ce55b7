// `forkbench bench --topology netns` end to end through the CLI: a tiny sweep in both modes with
// the caller, the members, the proxy/head and each fork node in its own network namespace; every
// call succeeds, each row's roles are recorded, and no namespace, veth or process is left, also
// after Ctrl-C halfway. Bad topology input: exit 2, one line, nothing started. Needs root.
// Ports 24600-24699 (inside the namespaces; the metrics ports on the bridge).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPoints } from '../records/results-csv.js';
import { leftovers, runCli } from './cli-child.js';

const out = mkdtempSync(join(tmpdir(), 'forkbench-topo-'));
const SWEEP = ['bench', '--topology', 'netns', '--modes', 'centralized,distributed', '--group-sizes', '3', '--rates', '20', '--calls', '40', '--warmup', '1', '--base-port', '24600'];

/** The run's namespaces (from meta.json) that still exist, and links of its lab. */
function labLeft(dir: string): string[] {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { topology: { hosts: { namespace?: string }[] } };
  const names = meta.topology.hosts.map((h) => h.namespace).filter((n): n is string => !!n);
  expect(names.length).toBeGreaterThan(0);
  const id = /^fb([0-9a-f]{6})-/.exec(names[0]!)![1]!;
  const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
  return [...names.filter((n) => ns.includes(n)), ...(links.includes(`fb${id}`) ? [`links of fb${id}`] : [])];
}

describe('forkbench bench --topology netns', () => {
  it('both modes, one namespace per role: every call succeeds, roles recorded, nothing left', async () => {
    const dir = join(out, 'full');
    const r = await runCli([...SWEEP, '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    const rows = await readPoints(join(dir, 'points.csv'));
    expect(rows.map((x) => x.mode)).toEqual(['centralized', 'distributed']);
    for (const row of rows) {
      expect(row.status, String(row.error)).toBe('ok');
      expect(row.ser).toBe(1);
      expect(Number(row.calls_failed)).toBe(0);
      expect(row.delay_source).toBe('pcap'); // captured in the caller's namespace
      expect(Number(row.head_cpu_pct)).toBeGreaterThan(0);
      const placement = JSON.parse(readFileSync(join(dir, 'points', String(row.point_id).replace(/\//g, '_'), 'placement.json'), 'utf8')) as { roles: Record<string, string> };
      expect(placement.roles.caller).toMatch(/^caller \(netns 198\.1[89]\.\d+\.2\)$/);
      expect(placement.roles['member-3']).toMatch(/^members \(netns /);
      if (row.mode === 'distributed') expect(placement.roles['fork-node-2']).toMatch(/^fork2 \(netns /);
    }
    // The proxy's own counters, read through the bridge: about 7N+6 = 27 centralized, 8K+6 = 22 at
    // the head (window edges cut a few calls' messages either way).
    expect(Math.abs(Number(rows[0]!.msgs_per_call) / 27 - 1)).toBeLessThan(0.15);
    expect(Math.abs(Number(rows[1]!.msgs_per_call) / 22 - 1)).toBeLessThan(0.15);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { topology: { source: string; hosts: { name: string; kind: string }[] } };
    expect(meta.topology.source).toBe('netns');
    expect(meta.topology.hosts.map((h) => h.name)).toEqual(['caller', 'members', 'proxy', 'fork1', 'fork2']);
    expect(labLeft(dir)).toEqual([]);
    expect(leftovers(dir)).toBe('');
  }, 180_000);

  it('Ctrl-C halfway: exit 130, no namespace, veth or process left', async () => {
    const dir = join(out, 'ctrlc');
    const r = await runCli([...SWEEP, '--out', dir], (text, child) => {
      if (/\[1\/2\]/.test(text) && !child.killed) setTimeout(() => child.kill('SIGINT'), 1500); // inside the first point
    });
    expect(r.code).toBe(130);
    await new Promise((res) => setTimeout(res, 500));
    expect(labLeft(dir)).toEqual([]);
    expect(leftovers(dir)).toBe('');
  }, 120_000);

  it('bad topology: one line naming the problem and the fix, exit 2, nothing started or left', async () => {
    const before = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const file = join(out, 'bad.json');
    writeFileSync(file, JSON.stringify({ hosts: [{ name: 'a', kind: 'docker', roles: ['caller', 'members', 'proxy', 'fork-nodes'] }] }));
    const bad = await runCli(['bench', '--topology', file, '--group-sizes', '2', '--rates', '20', '--out', join(out, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/host a has unknown kind "docker": use one of local, netns, ssh/);
    writeFileSync(file, JSON.stringify({ hosts: [{ name: 'a', kind: 'netns', address: '10.9.9.9', roles: ['caller', 'members', 'proxy', 'fork-nodes'] }] }));
    const outside = await runCli(['bench', '--topology', file, '--group-sizes', '2', '--rates', '20', '--out', join(out, 'bad')]);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/outside 198\.18\.0\.0\/15/);
    const twice = await runCli(['bench', '--topology', join(out, 'missing.json'), '--out', join(out, 'bad')]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/cannot read topology file .*missing.json \(ENOENT\)/);
    expect(existsSync(join(out, 'bad', 'points.csv'))).toBe(false);
    expect(existsSync(join(out, 'bad', 'meta.json'))).toBe(false);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toBe(before);
  });
});
