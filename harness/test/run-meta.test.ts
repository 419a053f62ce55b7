import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectMeta, gitInfo, readMeta, shellQuote, updateMeta, writeMeta } from '../records/run-meta.js';
import { packageRoot } from '../testbed/system.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-meta-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run meta', () => {
  it('shell-quotes the command line so it can be pasted back', () => {
    expect(shellQuote(['node', 'bin/forkbench.js', 'bench', '--rates', '10,50', '--out', 'my results', "it's"])).toBe(
      `node bin/forkbench.js bench --rates 10,50 --out 'my results' 'it'\\''s'`,
    );
    expect(shellQuote(['a', '', '$HOME', 'x;y'])).toBe(`a '' '$HOME' 'x;y'`);
  });

  it('collects versions, git state and machine facts', async () => {
    const meta = await collectMeta({ config: { rates: [10] }, argv: ['forkbench', 'bench'], pinning: { proxy: 1 } });
    expect(meta.command).toBe('forkbench bench');
    expect(meta.config).toEqual({ rates: [10] });
    expect(meta.forkbench.version).toBe(JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version);
    expect(meta.forkbench.gitCommit).toMatch(/^[0-9a-f]{40}$/); // the repo we run in
    expect(typeof meta.forkbench.gitDirty).toBe('boolean');
    expect(meta.sippVersion).toMatch(/^3\.\d+\.\d+/);
    expect(meta.kamailioVersion).toMatch(/^5\.\d+\.\d+$/);
    expect(meta.tcpdumpVersion).toMatch(/^\d+\.\d+/);
    expect(meta.node).toBe(process.version);
    // The proxy's node flags are part of what produced the numbers.
    expect(meta.proxyNodeArgs.slice(0, 2)).toEqual(['--single-threaded-gc', '--max-semi-space-size=1']);
    expect(meta.cores).toBeGreaterThan(0);
    expect(meta.memTotalMb).toBeGreaterThan(0);
    expect(meta.kernel).not.toBe('');
    expect(meta.os).not.toBe('');
    expect(new Date(meta.startedAt).getTime()).toBeGreaterThan(0);
    expect(meta.endedAt).toBeNull();
    expect(meta.pinning).toEqual({ proxy: 1 });
  });

  it('gitDirty: a changed source file counts, a changed file under results/ (what a run writes) does not', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'forkbench-git-'));
    const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.email=t@example.org', '-c', 'user.name=t', ...args], { cwd: repo, encoding: 'utf8' });
    git('init', '-q');
    mkdirSync(join(repo, 'results', 'reference'), { recursive: true });
    writeFileSync(join(repo, 'code.ts'), 'a\n');
    writeFileSync(join(repo, 'results', 'reference', 'points.csv'), 'x\n');
    git('add', '.');
    git('commit', '-qm', 'init');
    expect((await gitInfo(repo)).gitDirty).toBe(false);
    writeFileSync(join(repo, 'results', 'reference', 'points.csv'), 'y\n');
    expect((await gitInfo(repo)).gitDirty).toBe(false);
    writeFileSync(join(repo, 'code.ts'), 'b\n');
    expect((await gitInfo(repo)).gitDirty).toBe(true);
  });

  it('tolerates no git and missing tools', async () => {
    expect(await gitInfo(dir)).toEqual({ gitCommit: null, gitDirty: null });
    const saved = process.env.FORKBENCH_KAMAILIO;
    process.env.FORKBENCH_KAMAILIO = join(dir, 'no-kamailio');
    try {
      expect((await collectMeta({ config: {} })).kamailioVersion).toBeNull();
    } finally {
      if (saved === undefined) delete process.env.FORKBENCH_KAMAILIO;
      else process.env.FORKBENCH_KAMAILIO = saved;
    }
  });

  it('writes meta.json and patches it', async () => {
    const meta = await collectMeta({ config: {}, argv: ['x'] });
    const file = await writeMeta(join(dir, 'run1'), meta);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(meta);
    const endedAt = new Date().toISOString();
    const updated = await updateMeta(join(dir, 'run1'), { endedAt, interrupted: false });
    expect(updated).toEqual({ ...meta, endedAt, interrupted: false });
    expect(await readMeta(join(dir, 'run1'))).toEqual(updated);
  });
});
