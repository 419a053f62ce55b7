// SIPp on any host: the same arguments as sipp.ts builds, bound to the host's address instead of
// 127.0.0.1, started through the host (locally, in a namespace, or over ssh), with its output files
// brought back into the point's folder under the names the readers expect (<name>_stat.csv, ...).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Host, HostProcess } from '../hosts/host.js';
import { scenarioFile, sippArgs, sippFiles, type SippOptions } from './sipp.js';
import { findSipp } from '../system.js';
import type { SshHost } from '../hosts/ssh-host.js';

export interface HostSippOptions extends Omit<SippOptions, 'cpuList'> {
  address: string; // the host's address SIPp binds (-i)
  /** ssh hosts: the remote work dir (from SshHost.makeWorkDir()); outDir stays the local folder. */
  remoteDir?: string;
}

export interface HostSipp {
  name: string;
  proc: HostProcess;
  /** Exit code (null when killed). */
  done: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
  /** Puts <name>_stat.csv, <name>_rtt.csv (UACs) and <name>_errors.log into outDir; call after it ended. */
  collect(): Promise<string[]>;
}

/** sippArgs with -i set to `address`; for a remote run, paths moved under `remoteDir`. */
export function hostSippArgs(o: HostSippOptions): string[] {
  const outDir = o.remoteDir ?? o.outDir;
  const args = sippArgs({ ...o, outDir });
  const i = args.indexOf('-i');
  args[i + 1] = o.address;
  if (o.remoteDir) args[args.indexOf('-sf') + 1] = join(o.remoteDir, `${o.role}.xml`);
  return args;
}

function isSsh(h: Host): h is SshHost {
  return h.spec.kind === 'ssh';
}

export async function startSippOn(host: Host, o: HostSippOptions): Promise<HostSipp> {
  if (isSsh(host) && !o.remoteDir) throw new Error(`${o.name}: an ssh host needs remoteDir`);
  const localDir = resolve(o.outDir);
  await mkdir(localDir, { recursive: true });
  const workDir = isSsh(host) ? o.remoteDir! : localDir;
  if (isSsh(host)) await host.writeFile(join(workDir, `${o.role}.xml`), await readFile(scenarioFile(o.role)));
  const args = hostSippArgs(o);
  const bin = isSsh(host) ? 'sipp' : (findSipp() ?? 'sipp');
  const proc = host.spawn(bin, args, { name: o.name, cwd: workDir });
  proc.child.expectExit(); // SIPp ends by itself after -m calls
  const done = proc.child.exited.then((e) => e.code);
  const remoteFiles = sippFiles({ outDir: workDir, name: o.name });
  const localFiles = sippFiles({ outDir: localDir, name: o.name });

  const collect = async (): Promise<string[]> => {
    const pid = await proc.pid.catch(() => -1);
    const got: string[] = [];
    // SIPp names the rtt file <scenario>_<pid>_rtt.csv in its working directory.
    const rawRtt = join(workDir, `${o.role}_${pid}_rtt.csv`);
    const pairs: [string, string][] = [
      [remoteFiles.stat, localFiles.stat],
      [remoteFiles.err, localFiles.err],
      [rawRtt, localFiles.rtt],
    ];
    for (const [from, to] of pairs) {
      if (isSsh(host)) {
        const data = await host.readFile(from).catch(() => undefined);
        if (data === undefined) continue;
        await writeFile(to, data);
        got.push(basename(to));
      } else if (existsSync(from)) {
        if (from !== to) await rename(from, to);
        got.push(basename(to));
      }
    }
    return got;
  };
  return { name: o.name, proc, done, stop: (graceMs) => proc.stop(graceMs), collect };
}
