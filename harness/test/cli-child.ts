// Test helpers shared by the tests that run the real CLI as a child process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../testbed/system.js';

export const CLI = join(packageRoot(), 'bin', 'forkbench.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `forkbench ARGS`; `onStdout` sees the output so far (to send Ctrl-C at the right moment). */
export function runCli(args: string[], onStdout?: (text: string, child: ChildProcess) => void): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Processes whose command line names `dir` (SIPp, proxies, tcpdump all do). pgrep exits 1 when
 * none match; anything else (pgrep missing: ENOENT) fails the test instead of passing it. */
export function leftovers(dir: string): string {
  try {
    return execFileSync('pgrep', ['-a', '-f', dir], { encoding: 'utf8' }).trim();
  } catch (e) {
    if ((e as { status?: number }).status === 1) return '';
    throw e;
  }
}
