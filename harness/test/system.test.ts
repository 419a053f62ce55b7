// The shared system helpers: binary lookup, package root, process tree, tool versions.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findBinary, findKamailio, kamailioVersion, packageRoot, processTree, sippVersion } from '../testbed/system.js';

const dir = mkdtempSync(join(tmpdir(), 'forkbench-system-'));
const exe = (name: string): string => {
  const p = join(dir, name);
  writeFileSync(p, '#!/bin/sh\necho fake\n');
  chmodSync(p, 0o755);
  return p;
};

const savedEnv = { ...process.env };
afterEach(() => {
  process.env = { ...savedEnv };
});

describe('findBinary', () => {
  it('searches PATH, then the extra dirs, and skips files that are not executable', () => {
    const fake = exe('fb-tool');
    writeFileSync(join(dir, 'fb-plain'), 'not executable');
    expect(findBinary('fb-tool', { path: `/nonexistent:${dir}` })).toBe(fake);
    expect(findBinary('fb-tool', { path: '/nonexistent', extraDirs: [dir] })).toBe(fake);
    expect(findBinary('fb-tool', { path: '/nonexistent' })).toBeNull();
    expect(findBinary('fb-plain', { path: dir })).toBeNull();
  });

  it('an environment variable, when set, is the only candidate (no silent fallback)', () => {
    const fake = exe('fb-env');
    process.env.FB_TEST_BIN = fake;
    expect(findBinary('sh', { envVar: 'FB_TEST_BIN' })).toBe(fake);
    process.env.FB_TEST_BIN = join(dir, 'missing');
    expect(findBinary('sh', { envVar: 'FB_TEST_BIN' })).toBeNull();
    process.env.FORKBENCH_KAMAILIO = join(dir, 'missing');
    expect(findKamailio()).toBeNull();
  });
});

describe('packageRoot', () => {
  it('is the folder of forkbench package.json, from anywhere below it', () => {
    const root = packageRoot();
    expect(existsSync(join(root, 'package.json'))).toBe(true);
    expect(packageRoot(join(root, 'harness', 'test'))).toBe(root);
    expect(() => packageRoot('/')).toThrow(/package.json not found/);
  });
});

describe('processTree', () => {
  it('lists a process and its children, root first; [] once it is gone', async () => {
    const sh = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore' });
    try {
      let tree: number[] = [];
      for (let i = 0; i < 100 && tree.length < 3; i++) {
        tree = await processTree(sh.pid!);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(tree).toHaveLength(3);
      expect(tree[0]).toBe(sh.pid);
    } finally {
      process.kill(sh.pid!, 'SIGKILL');
    }
    await new Promise((r) => sh.once('exit', r));
    expect(await processTree(sh.pid!)).toEqual([]);
  });
});

describe('tool versions', () => {
  it('SIPp and Kamailio versions as they print them, null when absent', async () => {
    expect(await sippVersion()).toMatch(/^3\.\d+\.\d+/);
    expect(await kamailioVersion()).toMatch(/^5\.\d+\.\d+$/);
    process.env.SIPP = join(dir, 'missing');
    process.env.FORKBENCH_KAMAILIO = join(dir, 'missing');
    expect(await sippVersion()).toBeNull();
    expect(await kamailioVersion()).toBeNull();
  });
});
