// The report without DejaVu Sans: `forkbench report` fails before rendering, naming the Debian
// package. The font folder is hidden by an empty bind mount in a private mount namespace (root).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FONT_DIR } from '../render.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/run-a', import.meta.url));
const CLI = fileURLToPath(new URL('../../bin/forkbench.js', import.meta.url));

describe('forkbench report without the font', () => {
  it('exits 2 with one line naming fonts-dejavu-core, and writes no figure', () => {
    const run = mkdtempSync(join(tmpdir(), 'forkbench-nofont-'));
    cpSync(FIXTURE, run, { recursive: true });
    const empty = mkdtempSync(join(tmpdir(), 'forkbench-empty-'));
    const script = `mount --bind "$1" "$2" && exec "$3" "$4" report "$5"`;
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', empty, FONT_DIR, process.execPath, CLI, run], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/font .*DejaVuSans\.ttf not found: PNG figures need DejaVu Sans, install the Debian package fonts-dejavu-core/);
    expect(existsSync(join(run, 'report', 'cpu-vs-rate.png'))).toBe(false);
    // The same command with the font in place renders (the failure above was the font).
    expect(spawnSync(process.execPath, [CLI, 'report', run], { encoding: 'utf8' }).status).toBe(0);
  });
});
