// A fork node killed (SIGKILL) in the middle of a point, as an operator meets a crashed server: no
// goodbye, its sockets vanish, the head learns it only from silence (Timer B, Timer C).
// `--kill-fork-node WHEN[:NODE]`: WHEN is seconds after the first call (`12` or `12s`) or a share of
// the point's calling time (`50%`); NODE is the fork node's 1-based index, by default the last one,
// which does not hold member 1 (the answerer), so calls keep succeeding through the live node.

export interface KillSpec {
  at: { seconds: number } | { fraction: number };
  node?: number; // 1-based; undefined: the last fork node
}

export class KillSpecError extends Error {}

export function parseKillSpec(text: string): KillSpec {
  const fix = 'give --kill-fork-node WHEN[:NODE], e.g. --kill-fork-node 50% or --kill-fork-node 10s:2';
  const [when = '', nodeText, extra] = text.split(':');
  if (extra !== undefined) throw new KillSpecError(`--kill-fork-node "${text}" has more than one ":": ${fix}`);
  let at: KillSpec['at'];
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(when);
  const secs = /^(\d+(?:\.\d+)?)s?$/.exec(when);
  if (pct) {
    const f = Number(pct[1]) / 100;
    if (f <= 0 || f >= 1) throw new KillSpecError(`--kill-fork-node "${text}": the share must be between 0% and 100%: ${fix}`);
    at = { fraction: f };
  } else if (secs) {
    at = { seconds: Number(secs[1]) };
  } else {
    throw new KillSpecError(`--kill-fork-node "${text}": "${when}" is neither seconds nor a percentage: ${fix}`);
  }
  if (nodeText === undefined) return { at };
  const node = Number(nodeText);
  if (!Number.isInteger(node) || node < 1) throw new KillSpecError(`--kill-fork-node "${text}": node "${nodeText}" must be a fork node number from 1: ${fix}`);
  return { at, node };
}

/** Milliseconds after the first call, and the 0-based fork node index, for a point with `forkNodes` nodes sending for `sendS`. */
export function resolveKill(spec: KillSpec, forkNodes: number, sendS: number): { atMs: number; index: number } {
  if (forkNodes < 1) throw new KillSpecError('--kill-fork-node needs the distributed mode (fork nodes): add --modes distributed');
  const node = spec.node ?? forkNodes;
  if (node > forkNodes) throw new KillSpecError(`--kill-fork-node: there are ${forkNodes} fork nodes, no node ${node}: give a node from 1 to ${forkNodes}`);
  const atMs = 'fraction' in spec.at ? spec.at.fraction * sendS * 1000 : spec.at.seconds * 1000;
  return { atMs: Math.round(atMs), index: node - 1 };
}

/** What can be killed: the harness's tracked child (its whole process group gets the signal). */
export interface Killable {
  readonly name: string;
  readonly pid: number;
  signal(sig: NodeJS.Signals): void;
  expectExit(): void;
}

export interface ScheduledKill {
  /** Resolves with when it fired (ms after scheduling), or undefined if cancelled first. */
  readonly fired: Promise<{ afterMs: number; pid: number; name: string } | undefined>;
  cancel(): void;
}

/** SIGKILLs `target` after `atMs` unless cancelled (point end, Ctrl-C) first. */
export function scheduleKill(target: Killable, atMs: number, signal?: AbortSignal): ScheduledKill {
  const t0 = Date.now();
  let settle: (v: { afterMs: number; pid: number; name: string } | undefined) => void = () => undefined;
  const fired = new Promise<{ afterMs: number; pid: number; name: string } | undefined>((r) => (settle = r));
  const cancel = (): void => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', cancel);
    settle(undefined);
  };
  const timer = setTimeout(() => {
    signal?.removeEventListener('abort', cancel);
    // Wanted: the supervisor must not report it as a crash of the system under test.
    target.expectExit();
    target.signal('SIGKILL');
    settle({ afterMs: Date.now() - t0, pid: target.pid, name: target.name });
  }, Math.max(0, atMs));
  signal?.addEventListener('abort', cancel, { once: true });
  return { fired, cancel };
}
