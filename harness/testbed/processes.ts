// Supervisor for every child the harness starts (SIPp, proxies, Kamailio, tcpdump). Each child runs
// in its own process group (detached) so that stopping it also stops its grandchildren (Kamailio
// forks workers, `sh -c` wraps commands). On SIGINT/SIGTERM/exit of the harness every tracked child
// is stopped, so an interrupted sweep leaves no load generator or proxy behind.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

export interface ExitInfo {
  name: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  expected: boolean; // true when the harness asked it to stop (stop/stopAll/expectExit)
}

export interface SpawnTrackedOptions extends Omit<SpawnOptions, 'detached'> {
  name?: string; // label for logs and crash reports (default: the command)
  tailBytes?: number; // how much of stdout/stderr to keep (default 64 KiB each)
}

const DEFAULT_TAIL = 64 * 1024;
export const DEFAULT_GRACE_MS = 2000;

/** Keeps the last `limit` bytes of a stream, and always drains it so the child never blocks on a full pipe. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

export class TrackedChild {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  private expected = false;
  private readonly out: Tail;
  private readonly err: Tail;

  constructor(readonly name: string, readonly child: ChildProcess, tailBytes: number) {
    if (child.pid === undefined) throw new Error(`${name}: spawn failed (no pid)`);
    this.pid = child.pid;
    this.out = new Tail(tailBytes);
    this.err = new Tail(tailBytes);
    child.stdout?.on('data', (c: Buffer) => this.out.push(c));
    child.stderr?.on('data', (c: Buffer) => this.err.push(c));
    // Resolve on 'close' (stdio drained, so the tails are complete, e.g. tcpdump's final statistics),
    // but no later than shortly after 'exit': a surviving grandchild may hold the pipes open.
    this.exited = new Promise((resolve) => {
      let info: ExitInfo | undefined;
      const finish = () => {
        if (this.exitInfo || !info) return;
        this.exitInfo = info;
        resolve(info);
      };
      child.once('exit', (code, signal) => {
        info = { name, pid: this.pid, code, signal, expected: this.expected };
        setTimeout(finish, 250).unref();
      });
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        info ??= { name, pid: this.pid, code, signal, expected: this.expected };
        finish();
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  stdoutTail(): string {
    return this.out.text();
  }

  stderrTail(): string {
    return this.err.text();
  }

  /** Mark the coming exit as wanted (e.g. SIPp finishing its -m calls): its ExitInfo says expected. */
  expectExit(): void {
    this.expected = true;
  }

  /** Signal the whole process group; falls back to the child alone if the group is gone. */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        this.child.kill(sig);
      } catch {
        // already gone
      }
    }
  }

  /** `sig` (default SIGTERM) to the group, SIGKILL after `graceMs`; resolves when the child has exited. */
  async stop(graceMs = DEFAULT_GRACE_MS, sig: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    this.expectExit();
    if (!this.running) return this.exitInfo!;
    this.signal(sig);
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    const info = await this.exited;
    // The leader is gone; make sure no grandchild of its group survives it.
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // group empty
    }
    return info;
  }
}

export class Supervisor {
  private readonly children = new Set<TrackedChild>();

  spawn(cmd: string, args: readonly string[], opts: SpawnTrackedOptions = {}): TrackedChild {
    const { name = cmd, tailBytes = DEFAULT_TAIL, ...spawnOpts } = opts;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts, detached: true });
    // A missing binary surfaces as an 'error' event with no pid: turn it into a thrown error.
    child.on('error', () => {}); // reflected by the missing pid below or by 'exit'
    if (child.pid === undefined) throw new Error(`${name}: cannot start ${cmd}: not found or not executable`);
    const tracked = new TrackedChild(name, child, tailBytes);
    this.children.add(tracked);
    void tracked.exited.then(() => this.children.delete(tracked));
    return tracked;
  }

  get tracked(): readonly TrackedChild[] {
    return [...this.children];
  }

  async stopAll(graceMs = DEFAULT_GRACE_MS): Promise<ExitInfo[]> {
    return Promise.all([...this.children].map((c) => c.stop(graceMs)));
  }

  /** Last resort from a synchronous 'exit' handler: no waiting is possible there. */
  killAllSync(): void {
    for (const c of this.children) {
      c.expectExit();
      c.signal('SIGKILL');
    }
  }
}

export const supervisor = new Supervisor();

let handlersInstalled = false;
const interruptHandlers = new Set<(sig: 'SIGINT' | 'SIGTERM') => void>();

export interface ShutdownOptions {
  exit?: (code: number) => void; // injectable for tests
  graceMs?: number;
}

/** What the harness does on SIGINT/SIGTERM: stop every tracked child, then exit 130/143. */
export async function shutdownOnSignal(sig: 'SIGINT' | 'SIGTERM', opts: ShutdownOptions = {}): Promise<void> {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  try {
    await supervisor.stopAll(opts.graceMs);
  } finally {
    exit(sig === 'SIGINT' ? 130 : 143);
  }
}

/**
 * A command that winds down by itself (the sweep: finish stopping the current point, keep what is
 * done, say how to resume) takes the first SIGINT/SIGTERM here instead of the immediate shutdown.
 * A second signal still kills every child at once and exits. Returns an unsubscribe.
 */
export function handleInterrupts(handler: (sig: 'SIGINT' | 'SIGTERM') => void): () => void {
  installShutdownHandlers();
  interruptHandlers.add(handler);
  return () => interruptHandlers.delete(handler);
}

/** Installs the SIGINT/SIGTERM/exit handlers once (spawnTracked calls this). */
export function installShutdownHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  let stopping = false;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    if (stopping) {
      supervisor.killAllSync(); // a second Ctrl-C: do not wait for the grace period
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    if (interruptHandlers.size > 0) for (const h of interruptHandlers) h(sig);
    else void shutdownOnSignal(sig);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('exit', () => supervisor.killAllSync());
}

export function spawnTracked(cmd: string, args: readonly string[], opts: SpawnTrackedOptions = {}): TrackedChild {
  installShutdownHandlers();
  return supervisor.spawn(cmd, args, opts);
}

export function stopAll(graceMs = DEFAULT_GRACE_MS): Promise<ExitInfo[]> {
  return supervisor.stopAll(graceMs);
}

/** True when `port` can be bound on `host` (default 127.0.0.1) for the protocol right now. */
export function portFree(port: number, proto: 'udp' | 'tcp' = 'udp', host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    if (proto === 'udp') {
      const sock = createSocket('udp4');
      sock.once('error', () => {
        try {
          sock.close();
        } catch {
          // never bound
        }
        resolve(false);
      });
      sock.bind(port, host, () => sock.close(() => resolve(true)));
    } else {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    }
  });
}
