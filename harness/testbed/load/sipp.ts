// Spawn and control SIPp processes running the scenarios in ../scenarios/.
// Used by the benchmark harness and by the proxy's integration tests. Facts about SIPp 3.6 that
// shape these choices are in scenarios/README.md.
import { spawnTracked } from '../processes.js';
import { existsSync, mkdirSync, openSync, closeSync, renameSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findSipp, packageRoot } from '../system.js';

export type SippRole = 'caller' | 'answerer' | 'ringer' | 'busy' | 'caller-cancel' | 'caller-expect-fail';

export const UAC_ROLES: readonly SippRole[] = ['caller', 'caller-cancel', 'caller-expect-fail'];

export interface SippOptions {
  role: SippRole;
  localPort: number; // -p, bound on 127.0.0.1 (-i)
  remote?: string; // "127.0.0.1:5060" for UACs (the proxy)
  service?: string; // -s group/user for UACs
  calls?: number; // -m: SIPp exits after this many calls (UAS included)
  rate?: number; // -r calls per second (UACs)
  ringMs?: number; // answerer ring time (-d), default 50
  holdMs?: number; // caller hold between ACK and BYE, caller-cancel ring before CANCEL (-d)
  outDir: string; // where stat/rtt/err/log files go (created if needed)
  name: string; // file prefix, e.g. "caller" or "member-03"
  timeoutS?: number; // -timeout with -timeout_error: a hung SIPp always ends (exit 255)
  cpuList?: string; // run under `taskset -c <cpuList>`
  mediaPort?: number; // -mp (SIPp binds it and +2; default 6000, steps up when taken)
  controlPort?: number; // -cp (UDP on 0.0.0.0; default 8888, steps up when taken)
  traceMessages?: boolean; // -trace_msg into <name>_messages.log (debugging only: slow)
  extraArgs?: string[];
}

export interface SippExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  statFile?: string; // <outDir>/<name>_stat.csv
  rttFile?: string; // <outDir>/<name>_rtt.csv (UACs)
  errFile?: string; // <outDir>/<name>_errors.log (only when SIPp wrote one)
  logFile?: string; // <outDir>/<name>_logs.log (<log> actions, e.g. caller-expect-fail's codes)
  stderrFile?: string; // <outDir>/<name>_stderr.log
  error?: string; // set when the process could not be started
}

export interface SippProcess {
  pid: number;
  name: string;
  args: string[];
  done: Promise<SippExit>;
  stop(graceMs?: number): Promise<SippExit>;
}

export function scenarioFile(role: SippRole): string {
  return join(packageRoot(), 'scenarios', `${role}.xml`);
}

export function isUac(role: SippRole): boolean {
  return UAC_ROLES.includes(role);
}

/** Output file paths of one SIPp run (absolute). */
export function sippFiles(opts: Pick<SippOptions, 'outDir' | 'name'>) {
  const base = join(resolve(opts.outDir), opts.name);
  return {
    stat: `${base}_stat.csv`,
    rtt: `${base}_rtt.csv`,
    err: `${base}_errors.log`,
    log: `${base}_logs.log`,
    messages: `${base}_messages.log`,
    stderr: `${base}_stderr.log`,
  };
}

/** SIPp command-line arguments (without the program name). Pure. */
export function sippArgs(opts: SippOptions): string[] {
  const uac = isUac(opts.role);
  if (uac && !opts.remote) throw new Error(`role ${opts.role} needs remote (host:port)`);
  const files = sippFiles(opts);
  const args: string[] = ['-sf', scenarioFile(opts.role)];
  if (uac) args.push(opts.remote as string);
  args.push('-i', '127.0.0.1', '-p', String(opts.localPort));
  // No terminal: SIPp must not read the keyboard; it stays a foreground child so it can be killed.
  args.push('-nostdin');
  if (opts.controlPort !== undefined) args.push('-cp', String(opts.controlPort));
  // The control socket would otherwise listen on every interface.
  args.push('-ci', '127.0.0.1');
  if (opts.mediaPort !== undefined) args.push('-mp', String(opts.mediaPort));
  if (uac && opts.service) args.push('-s', opts.service);
  if (opts.calls !== undefined) args.push('-m', String(opts.calls));
  if (uac && opts.rate !== undefined) args.push('-r', String(opts.rate));
  // Open-loop offered load: SIPp's default -l caps open calls at 3 x rate (calls under 1 s), so a
  // proxy that makes calls last over 3 s would slow the caller down, and the shortfall would read as
  // the test bed's. With -l = -m the caller places every call on time whatever the proxy does.
  if (uac && opts.rate !== undefined && opts.calls !== undefined) args.push('-l', String(opts.calls));
  // Each scenario has at most one <pause/>, and it takes its length from -d.
  if (opts.role === 'answerer') args.push('-d', String(opts.ringMs ?? 50));
  if (opts.role === 'caller') args.push('-d', String(opts.holdMs ?? 0));
  // With a group, other members' 180s arrive during the pause before the CANCEL: ignore them.
  if (opts.role === 'caller-cancel') args.push('-d', String(opts.holdMs ?? 20), '-pause_msg_ign');
  // Statistics CSV every second; SIPp also writes a final row when it exits (also on SIGTERM).
  args.push('-trace_stat', '-fd', '1', '-stf', files.stat);
  args.push('-trace_err', '-error_file', files.err);
  // Every response time, one line each; the file name is fixed by SIPp (renamed after exit).
  if (uac) args.push('-trace_rtt', '-rtt_freq', '1');
  if (opts.role === 'caller-expect-fail') args.push('-trace_logs', '-log_file', files.log);
  if (opts.traceMessages) args.push('-trace_msg', '-message_file', files.messages);
  if (opts.timeoutS !== undefined) args.push('-timeout', `${opts.timeoutS}s`, '-timeout_error');
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return args;
}

/** Resolves when a UDP socket is bound on 127.0.0.1:port or 0.0.0.0:port (Linux /proc/net/udp). */
export async function waitUntilUdpBound(port: number, timeoutMs = 5000): Promise<void> {
  const want = port.toString(16).toUpperCase().padStart(4, '0');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile('/proc/net/udp', 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local === `0100007F:${want}` || local === `00000000:${want}`) return;
    }
    if (Date.now() > deadline) throw new Error(`nothing bound UDP port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Spawns SIPp (no shell) with its working directory in outDir. */
export function startSipp(opts: SippOptions): SippProcess {
  const outDir = resolve(opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const files = sippFiles(opts);
  const args = sippArgs(opts);
  const bin = findSipp() ?? 'sipp';
  const [cmd, argv] = opts.cpuList ? ['taskset', ['-c', opts.cpuList, bin, ...args]] : [bin, args];
  const stderrFd = openSync(files.stderr, 'w');
  // stdout is SIPp's screen, redrawn every second: nobody reads it.
  // Tracked, so Ctrl-C or a crash of the harness stops it too; its own end (-m calls) is expected.
  const tracked = spawnTracked(cmd, argv, { cwd: outDir, stdio: ['ignore', 'ignore', stderrFd], name: opts.name });
  tracked.expectExit();
  const child = tracked.child;
  closeSync(stderrFd);
  const pid = child.pid ?? -1;
  let exited = false;

  const done = new Promise<SippExit>((res) => {
    child.once('error', (err) => {
      exited = true;
      res({ code: null, signal: null, error: err.message, stderrFile: files.stderr });
    });
    child.once('exit', (code, signal) => {
      exited = true;
      const exit: SippExit = { code, signal, stderrFile: files.stderr };
      if (existsSync(files.stat)) exit.statFile = files.stat;
      // SIPp names the rtt file <scenario>_<pid>_rtt.csv in its working directory. `taskset`
      // execs sipp, so the pid is the same.
      const rawRtt = join(outDir, `${opts.role}_${pid}_rtt.csv`);
      if (existsSync(rawRtt)) renameSync(rawRtt, files.rtt);
      if (existsSync(files.rtt)) exit.rttFile = files.rtt;
      if (existsSync(files.err)) exit.errFile = files.err;
      if (existsSync(files.log)) exit.logFile = files.log;
      res(exit);
    });
  });

  const stop = async (graceMs = 3000): Promise<SippExit> => {
    if (exited || pid < 0) return done;
    // SIGTERM: SIPp exits at once (open calls are dropped) and writes its final stats row.
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!exited) child.kill('SIGKILL');
    }, graceMs);
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  };

  return { pid, name: opts.name, args: argv, done, stop };
}
