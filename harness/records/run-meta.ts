// results/<run>/meta.json: everything needed to tell later how a run was made (command, config,
// code version, tool versions, machine). Collection never fails on a missing tool: the field says so.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findTcpdump, kamailioVersion, packageRoot, sippVersion } from '../testbed/system.js';
import { proxyNodeArgs } from '../testbed/targets/proxy-launcher.js';

const execFileP = promisify(execFile);

export interface RunMeta {
  command: string; // argv, shell-quoted so it can be pasted back into a shell
  config: object;
  forkbench: { version: string; gitCommit: string | null; gitDirty: boolean | null };
  node: string;
  proxyNodeArgs: string[]; // node flags of every forkbench proxy process (proxy-launcher.ts)
  sippVersion: string | null;
  kamailioVersion: string | null; // null when Kamailio is not installed
  tcpdumpVersion: string | null;
  kernel: string;
  os: string;
  cpuModel: string;
  cores: number;
  memTotalMb: number;
  hostname: string;
  startedAt: string; // ISO 8601
  endedAt: string | null;
  pinning?: unknown; // CPU pinning of each role when --pin is used
  [extra: string]: unknown; // updateMeta may add fields (e.g. interrupted, points)
}

export const META_FILE = 'meta.json';

/** POSIX shell quoting: words of safe characters stay bare, anything else is single-quoted. */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_\-+=:,./@%]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

async function run(cmd: string, args: string[], cwd?: string): Promise<string | null> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { cwd, timeout: 5000 });
    return `${stdout}${stderr}`;
  } catch (e) {
    // Some tools print their version and still exit non-zero.
    const err = e as { stdout?: string; stderr?: string; code?: unknown };
    const text = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    return typeof err.code === 'number' && text.trim() ? text : null;
  }
}

export async function gitInfo(root = packageRoot()): Promise<{ gitCommit: string | null; gitDirty: boolean | null }> {
  const head = await run('git', ['rev-parse', 'HEAD'], root);
  if (!head || !/^[0-9a-f]{40}/.test(head.trim())) return { gitCommit: null, gitDirty: null };
  // Dirty means the code differs from the commit; results/ is what a run writes (the reference run
  // writes into the tracked results/reference), so a change there does not count.
  const status = await run('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)results'], root);
  return { gitCommit: head.trim().slice(0, 40), gitDirty: status === null ? null : status.trim() !== '' };
}

export async function tcpdumpVersion(): Promise<string | null> {
  const tcpdump = findTcpdump();
  const out = tcpdump ? await run(tcpdump, ['--version']) : null;
  const m = out && /tcpdump version (\S+)/.exec(out);
  return m ? m[1] : null;
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1];
  } catch {
    // not Linux or no os-release
  }
  return `${os.type()} ${os.release()}`;
}

export interface CollectMetaOptions {
  config: object;
  argv?: readonly string[]; // default process.argv
  pinning?: unknown;
  startedAt?: Date;
}

export async function collectMeta(opts: CollectMetaOptions): Promise<RunMeta> {
  const root = packageRoot();
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // keep unknown
  }
  const [git, sipp, kamailio, tcpdump] = await Promise.all([gitInfo(root), sippVersion(), kamailioVersion(), tcpdumpVersion()]);
  const cpus = os.cpus();
  const meta: RunMeta = {
    command: shellQuote(opts.argv ?? process.argv),
    config: opts.config,
    forkbench: { version, ...git },
    node: process.version,
    proxyNodeArgs: proxyNodeArgs(),
    sippVersion: sipp,
    kamailioVersion: kamailio,
    tcpdumpVersion: tcpdump,
    kernel: os.release(),
    os: osName(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memTotalMb: Math.round(os.totalmem() / (1024 * 1024)),
    hostname: os.hostname(),
    startedAt: (opts.startedAt ?? new Date()).toISOString(),
    endedAt: null,
  };
  if (opts.pinning !== undefined) meta.pinning = opts.pinning;
  return meta;
}

/** Writes dir/meta.json atomically (temp file + rename) so a reader never sees half a file. */
export async function writeMeta(dir: string, meta: RunMeta): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, META_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(meta, null, 2)}\n`);
  await rename(tmp, file);
  return file;
}

export async function readMeta(dir: string): Promise<RunMeta> {
  return JSON.parse(await readFile(join(dir, META_FILE), 'utf8')) as RunMeta;
}

/** Shallow-merges `patch` into dir/meta.json (e.g. `{ endedAt }`), returns the new meta. */
export async function updateMeta(dir: string, patch: Partial<RunMeta>): Promise<RunMeta> {
  const meta = { ...(await readMeta(dir)), ...patch } as RunMeta;
  await writeMeta(dir, meta);
  return meta;
}
