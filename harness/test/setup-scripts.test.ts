// scripts/ensure-deps.sh without root: it installs nothing, names each missing Debian package and
// the command that installs it, and exits 2.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBinary, packageRoot } from '../testbed/system.js';

describe('scripts/ensure-deps.sh', () => {
  it('as a non-root user with sipp and tcpdump off PATH: names sip-tester and tcpdump, exit 2', () => {
    // A PATH with only what the script itself runs (dirname, id): no sipp, no tcpdump, no apt-get.
    const bin = mkdtempSync(join(tmpdir(), 'forkbench-path-'));
    chmodSync(bin, 0o755); // readable by nobody
    for (const tool of ['dirname', 'id']) symlinkSync(findBinary(tool)!, join(bin, tool));
    const r = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'env', `PATH=${bin}`, '/bin/bash', join(packageRoot(), 'scripts', 'ensure-deps.sh'), 'sipp', 'tcpdump', 'fonts'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim()).toBe('forkbench: missing Debian packages: sip-tester tcpdump; install them with: sudo apt-get install -y sip-tester tcpdump');
    expect(r.stdout).not.toMatch(/apt-get install/); // it did not try to install
  });
});
