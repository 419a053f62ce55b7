// What the harness asks of the machine, written once: where forkbench is installed, where a tool's
// binary is, which processes descend from a pid, and the versions of the load generator.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding forkbench's package.json (works from the sources and from dist/). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'forkbench') return dir;
      } catch {
        // keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`forkbench's package.json not found above ${from}`);
    dir = up;
  }
}

export interface FindBinaryOptions {
  /** An environment variable naming the binary; when set it is the only candidate (a wrong setting must not fall back silently). */
  envVar?: string;
  /** Searched after PATH (Debian puts daemons in sbin, often off a user's PATH). */
  extraDirs?: readonly string[];
  /** The PATH to search; default process.env.PATH. */
  path?: string;
}

/** $envVar when set, else the first executable `name` on PATH, then in extraDirs; null when none. */
export function findBinary(name: string, opts: FindBinaryOptions = {}): string | null {
  const candidates: string[] = [];
  const fromEnv = opts.envVar ? process.env[opts.envVar] : undefined;
  if (fromEnv) candidates.push(fromEnv);
  else for (const dir of [...(opts.path ?? process.env.PATH ?? '').split(delimiter), ...(opts.extraDirs ?? [])]) if (dir) candidates.push(join(dir, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return null;
}

/** sipp: $SIPP, else PATH. */
export const findSipp = (): string | null => findBinary('sipp', { envVar: 'SIPP' });

/** kamailio: $FORKBENCH_KAMAILIO, PATH, then the Debian locations. */
export const findKamailio = (): string | null => findBinary('kamailio', { envVar: 'FORKBENCH_KAMAILIO', extraDirs: ['/usr/sbin', '/usr/local/sbin'] });

/** tcpdump: PATH only, as the capture itself runs `tcpdump` from PATH. */
export const findTcpdump = (): string | null => findBinary('tcpdump');

/** Output (stdout + stderr) of a version command; tools that print their version and exit non-zero count. */
export function versionOutput(bin: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const text = `${stdout}${stderr}`;
      resolve(err && !text.trim() ? null : text);
    });
  });
}

/** SIPp's version as it prints it, e.g. "3.6.1-SCTP-PCAP-RTPSTREAM" (build options included); null when absent. */
export async function sippVersion(): Promise<string | null> {
  const bin = findSipp();
  const out = bin ? await versionOutput(bin, ['-v']) : null;
  const m = out ? /SIPp\s+v?(\d[^\s,]*)/.exec(out) : null;
  return m ? m[1]!.replace(/\.$/, '') : null;
}

/** Kamailio's version, e.g. "5.6.3"; null when it is not installed. */
export async function kamailioVersion(): Promise<string | null> {
  const bin = findKamailio();
  const out = bin ? await versionOutput(bin, ['-v']) : null;
  const m = out ? /version:\s*kamailio\s+(\S+)/.exec(out) : null;
  return m ? m[1]! : null;
}

/** Parent pid and state from /proc/PID/stat (the command name may contain spaces and parens). */
function statFields(text: string): { ppid: number; state: string } {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0]!, ppid: Number(rest[1]) };
}

/** `root` and all its live descendants, root first; [] when root is gone. Zombies do not count. */
export async function processTree(root: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  let rootAlive = false;
  const entries = await readdir('/proc');
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        try {
          const st = statFields(await readFile(`/proc/${e}/stat`, 'utf8'));
          if (st.state === 'Z') return;
          const pid = Number(e);
          if (pid === root) rootAlive = true;
          const list = children.get(st.ppid);
          if (list) list.push(pid);
          else children.set(st.ppid, [pid]);
        } catch {
          // exited while we listed /proc
        }
      }),
  );
  if (!rootAlive) return [];
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    for (const c of children.get(pid) ?? []) queue.push(c);
  }
  return out;
}

/** Is a process with this pid alive (EPERM: alive, but not ours to signal)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
