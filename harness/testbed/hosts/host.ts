// "Where a process runs": the one interface the point runner needs from a host, whatever its kind.
// local: this machine, as before; netns: a network namespace the harness created (same
// filesystem and pids, own network); ssh: a remote machine reached with the system ssh client.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { sampleCpu, type ProcSample } from '../../measure/cpu-sampler.js';
import { spawnTracked, type TrackedChild } from '../processes.js';
import type { HostSpec } from './topology.js';

export interface HostSpawnOptions {
  name: string; // label in logs and crash reports
  cwd?: string; // on that host
  tailBytes?: number;
}

export interface HostProcess {
  /** The local child that carries it (the process itself, `ip netns exec`'s exec, or the ssh client). */
  child: TrackedChild;
  /** Its pid on its host, for CPU sampling there. */
  pid: Promise<number>;
  stop(graceMs?: number): Promise<void>;
}

export interface Host {
  readonly spec: HostSpec;
  /** Starts a long-running process there, tracked: it is stopped on harness exit or Ctrl-C. */
  spawn(cmd: string, args: readonly string[], opts: HostSpawnOptions): HostProcess;
  /** Runs a short command there and resolves with its stdout; rejects on a non-zero exit. */
  exec(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string>;
  /** CPU time and memory of pids on that host (from that host's /proc). */
  sampleCpu(pids: readonly number[]): Promise<Map<number, ProcSample>>;
  /** A file's contents from that host (results fetched back). */
  readFile(path: string): Promise<Buffer>;
  /** True when its processes read and write this machine's files directly (local, netns); false for ssh (files are copied). */
  readonly sharesFilesystem: boolean;
}

export function execLocal(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${`${stderr}`.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** A process on this machine, possibly behind a prefix command (`ip netns exec NS`). */
export function localProcess(prefix: readonly string[], cmd: string, args: readonly string[], opts: HostSpawnOptions): HostProcess {
  const [bin, ...rest] = prefix.length ? [...prefix, cmd, ...args] : [cmd, ...args];
  const child = spawnTracked(bin!, rest, { name: opts.name, cwd: opts.cwd, tailBytes: opts.tailBytes });
  // `ip netns exec` setns()es and then execs the command: same pid, same /proc entry.
  return { child, pid: Promise.resolve(child.pid), stop: async (graceMs) => void (await child.stop(graceMs)) };
}

export class LocalHost implements Host {
  readonly sharesFilesystem = true;
  constructor(readonly spec: HostSpec) {}
  spawn(cmd: string, args: readonly string[], opts: HostSpawnOptions): HostProcess {
    return localProcess([], cmd, args, opts);
  }
  exec(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string> {
    return execLocal(cmd, args, timeoutMs);
  }
  sampleCpu(pids: readonly number[]): Promise<Map<number, ProcSample>> {
    return sampleCpu(pids);
  }
  readFile(path: string): Promise<Buffer> {
    return readFile(path);
  }
}
