// ssh hosts: a remote machine reached with the system's OpenSSH client, key-based and
// non-interactive (BatchMode). Processes started there are tracked like local ones: each runs under
// a small sh wrapper that prints the remote pid and kills the process when the ssh session's stdin
// closes, so stopping (or killing, on Ctrl-C) the local ssh client ends the remote process too.
// CPU is read from the remote /proc; result files are fetched back with `ssh cat`.
import { execFile } from 'node:child_process';
import { parseProcStat, parseProcStatusMem, type ProcSample } from '../../measure/cpu-sampler.js';
import type { Host, HostProcess, HostSpawnOptions } from './host.js';
import { spawnTracked } from '../processes.js';
import type { SshHostSpec } from './topology.js';

const PID_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 3000;

/** Single-quotes a word for a POSIX shell. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** ssh client options for a host (everything before the command). */
export function sshArgs(h: Pick<SshHostSpec, 'ssh' | 'sshPort' | 'identity' | 'sshOptions'>, o: { connectTimeoutS?: number } = {}): string[] {
  const args = ['-T', '-o', 'BatchMode=yes', '-o', `ConnectTimeout=${o.connectTimeoutS ?? 10}`, '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=3', '-o', 'LogLevel=ERROR'];
  if (h.sshPort) args.push('-p', String(h.sshPort));
  if (h.identity) args.push('-i', h.identity, '-o', 'IdentitiesOnly=yes');
  for (const opt of h.sshOptions ?? []) args.push('-o', opt);
  args.push('--', h.ssh);
  return args;
}

// Runs "$@" with stdin from /dev/null; prints "fbpid:<pid>" first (the inner sh execs the command,
// so that pid is the command's); when our stdin (the ssh channel) reaches EOF, TERM then KILL it.
const WRAPPER = [
  'exec 3<&0',
  `sh -c 'echo "fbpid:$$"; exec "$@"' fbcmd "$@" </dev/null &`,
  'p=$!',
  '( read _ <&3; kill -TERM $p 2>/dev/null; sleep 2; kill -KILL $p 2>/dev/null ) &',
  'w=$!',
  'wait $p; rc=$?',
  'kill $w 2>/dev/null',
  'exit $rc',
].join('\n');

/** The remote command line (one string, run by the remote login shell) for a wrapped process. */
export function wrappedCommand(cmd: string, args: readonly string[], cwd?: string): string {
  const run = `sh -c ${shQuote(WRAPPER)} fbwrap ${[cmd, ...args].map(shQuote).join(' ')}`;
  return cwd ? `cd ${shQuote(cwd)} && ${run}` : run;
}

/** Splits the output of the remote sampling script into per-pid samples. */
export function parseRemoteSamples(text: string, pids: readonly number[]): Map<number, ProcSample> {
  const hzM = /^@@hz (\d+)$/m.exec(text);
  const hz = hzM ? Number(hzM[1]) : 100;
  const out = new Map<number, ProcSample>();
  const blocks = text.split(/^@@pid /m).slice(1);
  for (const b of blocks) {
    const nl = b.indexOf('\n');
    const pid = Number(b.slice(0, nl));
    const body = b.slice(nl + 1).replace(/^@@hz.*$/m, '');
    const statLine = body.split('\n')[0] ?? '';
    if (!statLine.includes(')')) {
      out.set(pid, { ok: false, pid, error: `process ${pid} has exited` });
      continue;
    }
    const stat = parseProcStat(statLine);
    if (stat.state === 'Z' || stat.state === 'X') {
      out.set(pid, { ok: false, pid, error: `process ${pid} has exited (zombie)` });
      continue;
    }
    out.set(pid, { ok: true, pid, cpuUs: Math.round(((stat.utimeTicks + stat.stimeTicks) * 1_000_000) / hz), ...parseProcStatusMem(body), startTime: stat.startTime });
  }
  for (const p of pids) if (!out.has(p)) out.set(p, { ok: false, pid: p, error: `process ${p} was not sampled` });
  return out;
}

const SAMPLE_SCRIPT = 'for p in "$@"; do echo "@@pid $p"; cat /proc/$p/stat /proc/$p/status 2>/dev/null; done; echo "@@hz $(getconf CLK_TCK)"';

export class SshHost implements Host {
  readonly sharesFilesystem = false;
  constructor(readonly spec: SshHostSpec) {}

  private sshExec(remote: string, input?: Buffer | string, timeoutMs = 30_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = execFile('ssh', [...sshArgs(this.spec), remote], { timeout: timeoutMs, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`ssh ${this.spec.name} (${this.spec.ssh}): ${remote.slice(0, 80)}: ${stderr.toString().trim() || err.message}`));
        else resolve(stdout);
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  async exec(cmd: string, args: readonly string[], timeoutMs?: number): Promise<string> {
    return (await this.sshExec([cmd, ...args].map(shQuote).join(' '), undefined, timeoutMs)).toString('utf8');
  }

  spawn(cmd: string, args: readonly string[], opts: HostSpawnOptions): HostProcess {
    const child = spawnTracked('ssh', [...sshArgs(this.spec), wrappedCommand(cmd, args, opts.cwd)], {
      name: `${opts.name}@${this.spec.name}`,
      tailBytes: opts.tailBytes,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdin = child.child.stdin;
    stdin?.on('error', () => undefined); // the session may be gone already
    const pid = new Promise<number>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`${opts.name}@${this.spec.name}: no remote pid within ${PID_TIMEOUT_MS / 1000} s`)), PID_TIMEOUT_MS);
      const onData = (c: Buffer): void => {
        seen += c.toString('latin1');
        const m = /fbpid:(\d+)\n/.exec(seen);
        if (m) {
          clearTimeout(timer);
          child.child.stdout?.off('data', onData);
          resolve(Number(m[1]));
        } else if (seen.length > 4096) seen = seen.slice(-64);
      };
      child.child.stdout?.on('data', onData);
      void child.exited.then((info) => {
        clearTimeout(timer);
        reject(new Error(`${opts.name}@${this.spec.name}: ssh exited (code ${info.code}) before the remote process started: ${child.stderrTail().trim().slice(-300)}`));
      });
    });
    pid.catch(() => undefined); // callers that never ask must not see an unhandled rejection
    const stop = async (graceMs = STOP_GRACE_MS): Promise<void> => {
      // EOF on the channel: the wrapper TERMs the process (KILL 2 s later) and exits; ssh follows.
      stdin?.end();
      const ended = await Promise.race([child.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs + 2500))]);
      if (!ended) await child.stop(1000);
    };
    return { child, pid, stop };
  }

  async sampleCpu(pids: readonly number[]): Promise<Map<number, ProcSample>> {
    const text = (await this.sshExec(`sh -c ${shQuote(SAMPLE_SCRIPT)} fbsample ${pids.map(String).join(' ')}`)).toString('utf8');
    return parseRemoteSamples(text, pids);
  }

  readFile(path: string): Promise<Buffer> {
    return this.sshExec(`cat -- ${shQuote(path)}`);
  }

  async writeFile(path: string, data: Buffer | string): Promise<void> {
    await this.sshExec(`cat > ${shQuote(path)}`, data);
  }

  /** A fresh remote directory for one run (spec.workDir is used as its parent when given). */
  async makeWorkDir(): Promise<string> {
    const parent = this.spec.workDir ?? '/tmp';
    return (await this.exec('mktemp', ['-d', `${parent}/forkbench-XXXXXX`])).trim();
  }

  async removeWorkDir(dir: string): Promise<void> {
    if (!/\/forkbench-[A-Za-z0-9]{6}$/.test(dir)) throw new Error(`ssh ${this.spec.name}: refusing to remove ${dir} (not a forkbench work dir)`);
    await this.exec('rm', ['-rf', '--', dir]);
  }
}
