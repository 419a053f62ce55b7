// One floor trial of `forkbench perf`: the bare UDP relay (testbed/targets/bare-relay.ts) driven with
// the traffic shape of a centralized proxy point (datagrams in per second, sends per datagram), its
// CPU over a measured window divided by the datagrams it received and sent in that window.
// K peer processes (testbed/targets/udp-sink.ts), K = the proxy's distinct peers (N members + the
// caller), play the members and the caller: each sends 1/K of the relay's input on its own timer
// and receives its share of the relay's sends, round-robin. On loopback a send wakes its receiver
// in the sender's CPU time, and a datagram that finds the relay asleep costs it a wake-up: K
// independent senders wake the relay as the proxy's peers wake the proxy, where one generator
// sending every 2 ms let it read a dozen datagrams per wake-up. Relay and peers are tracked
// children, stopped on every path.
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { CpuWindow } from '../measure/cpu-sampler.js';
import { packageRoot } from '../testbed/system.js';
import { portFree, spawnTracked, type TrackedChild } from '../testbed/processes.js';
import { abortableSleep as sleep } from '../testbed/abortable-sleep.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
const QUERY_TIMEOUT_MS = 2_000;

/** What the relay is driven with, taken from a proxy point. */
export interface FloorShape {
  pointId: string; // the proxy point copied
  inRate: number; // datagrams per second into the relay (the proxy's received messages per second)
  copies: number; // sends per received datagram (the proxy's sent / received)
  peers: number; // K: peer processes that send the input and receive the sends (the proxy's members + its caller)
}

export interface FloorPorts {
  relay: number;
  control: number;
  sinkBase: number; // sink i listens on sinkBase + i, i < peers
}

/** One receiving process of a trial and what it counted over the whole trial. */
export interface FloorSink {
  port: number;
  pid: number;
  received: number;
  sent: number; // its share of the relay's input
}

export interface FloorResult {
  relayPid: number;
  windowS: number;
  received: number; // by the relay in the window
  sent: number;
  cpuUs: number; // relay CPU in the window
  usPerMsg: number; // cpuUs / (received + sent)
  // Whole-run totals, for cross-checks: what the peers sent, what the relay counted, what arrived.
  generated: number;
  relayReceived: number;
  relaySent: number;
  sinkReceived: number; // sum over the sinks
  sinks: FloorSink[];
}

export class FloorError extends Error {
  override name = 'FloorError';
}

/** More would be more processes than a 2-core test bed starts in a few seconds. */
export const MAX_PEERS = 128;

/**
 * The floor's shape from a proxy point: messages per call x achieved calls/s, split into received
 * and sent by the proxy's own counters (receivedShare = received / (received + sent)), sent to
 * `peers` processes (a centralized point's N members + its caller).
 */
export function floorShape(pointId: string, msgsPerCall: number, callRate: number, receivedShare: number, peers: number): FloorShape {
  if (!(msgsPerCall > 0 && callRate > 0 && receivedShare > 0 && receivedShare < 1)) {
    throw new FloorError(`no traffic shape from ${pointId}: messages per call ${msgsPerCall}, call rate ${callRate}, received share ${receivedShare}`);
  }
  if (!(Number.isInteger(peers) && peers >= 1 && peers <= MAX_PEERS)) throw new FloorError(`no traffic shape from ${pointId}: ${peers} peers is not a whole number in 1-${MAX_PEERS}`);
  return { pointId, inRate: msgsPerCall * callRate * receivedShare, copies: (1 - receivedShare) / receivedShare, peers };
}

export interface MessageCounts {
  received: Record<string, number>;
  sent: Record<string, number>;
}

/**
 * received / (received + sent) of a proxy over the measured window: counters at its end minus at its
 * start (head-metrics.json, head-metrics-start.json). The end snapshot alone would count the calls in
 * flight at the window's end, whose INVITEs are out and whose answers are not in yet.
 */
export function receivedShare(end: MessageCounts, start: MessageCounts = { received: {}, sent: {} }): number {
  const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
  const rx = sum(end.received) - sum(start.received);
  const tx = sum(end.sent) - sum(start.sent);
  return rx > 0 && tx > 0 ? rx / (rx + tx) : Number.NaN;
}


function bind(sock: Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, HOST, () => {
      sock.off('error', reject);
      resolve();
    });
  });
}

async function waitStarted(child: TrackedChild, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!child.stdoutTail().includes('listening on')) {
    if (child.exitInfo) throw new FloorError(`${child.name} exited at start: ${child.stderrTail().trim() || `code ${child.exitInfo.code}`}`);
    if (signal?.aborted) throw new FloorError('interrupted');
    if (Date.now() > deadline) throw new FloorError(`${child.name} did not start within ${START_TIMEOUT_MS} ms`);
    await sleep(20);
  }
}

/** A peer's counts, from the line it prints when stopped. */
function sinkCounts(child: TrackedChild): { received: number; sent: number } {
  const last = child.stdoutTail().trim().split('\n').pop() ?? '';
  try {
    const c = JSON.parse(last) as { received?: unknown; sent?: unknown };
    if (typeof c.received === 'number' && typeof c.sent === 'number') return { received: c.received, sent: c.sent };
  } catch {
    // not the count line: killed before it printed
  }
  throw new FloorError(`${child.name} left no count (exit ${child.exitInfo?.signal ?? child.exitInfo?.code ?? 'unknown'})`);
}

/** The relay's counters, over its control port. */
function query(sock: Socket, port: number): Promise<{ received: number; sent: number }> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      sock.off('message', on);
      reject(new FloorError(`bare relay did not answer on its control port ${port} within ${QUERY_TIMEOUT_MS} ms`));
    }, QUERY_TIMEOUT_MS);
    const on = (buf: Buffer): void => {
      clearTimeout(t);
      sock.off('message', on);
      resolve(JSON.parse(buf.toString('utf8')) as { received: number; sent: number });
    };
    sock.on('message', on);
    sock.send('?', port, HOST);
  });
}

/** Tells every peer to start (SIGUSR1) or stop (SIGUSR2) sending. */
function signalPeers(peers: readonly TrackedChild[], sig: 'SIGUSR1' | 'SIGUSR2'): void {
  for (const p of peers) {
    try {
      process.kill(p.pid, sig);
    } catch {
      // exited: its missing count fails the trial below
    }
  }
}

export interface FloorTrialOptions {
  shape: FloorShape;
  ports: FloorPorts;
  warmupS: number;
  windowS: number;
  signal?: AbortSignal;
}

/** Runs the relay under the shape for warmupS + windowS seconds and measures the window. */
export async function runFloorTrial(o: FloorTrialOptions): Promise<FloorResult> {
  const k = o.shape.peers;
  if (!(Number.isInteger(k) && k >= 1 && k <= MAX_PEERS)) throw new FloorError(`${k} peers is not a whole number in 1-${MAX_PEERS}`);
  const sinkPorts = Array.from({ length: k }, (_, i) => o.ports.sinkBase + i);
  for (const p of [o.ports.relay, o.ports.control, ...sinkPorts]) {
    if (!(p <= 65535 && (await portFree(p, 'udp')))) throw new FloorError(`UDP port ${p} is in use or out of range: stop what holds it or pick another --base-port`);
  }
  const targets = join(packageRoot(), 'dist', 'harness', 'testbed', 'targets');
  const boundS = Math.ceil(o.warmupS + o.windowS + 30);
  const ctl = createSocket('udp4');
  let child: TrackedChild | undefined;
  const sinks: TrackedChild[] = [];
  try {
    await bind(ctl, 0);
    // Peers first: the relay's first send must find every one of them listening. Each sends 1/K of the input.
    const perPeer = String(o.shape.inRate / k);
    for (const p of sinkPorts) {
      sinks.push(spawnTracked(process.execPath, [join(targets, 'udp-sink.js'), '--listen', String(p), '--send-to', String(o.ports.relay), '--rate', perPeer, '--max-s', String(boundS)], { name: `udp-sink ${p}` }));
    }
    for (const s of sinks) await waitStarted(s, o.signal);
    const args = [join(targets, 'bare-relay.js'), '--listen', String(o.ports.relay), '--control', String(o.ports.control), '--to', sinkPorts.join(','), '--copies', String(o.shape.copies), '--max-s', String(boundS)];
    child = spawnTracked(process.execPath, args, { name: 'bare-relay' });
    await waitStarted(child, o.signal);
    signalPeers(sinks, 'SIGUSR1');
    await sleep(o.warmupS * 1000, o.signal);
    const cpu = new CpuWindow([{ pid: child.pid }]);
    await cpu.start();
    const c0 = await query(ctl, o.ports.control);
    await sleep(o.windowS * 1000, o.signal);
    const usage = (await cpu.end()).get(child.pid);
    const c1 = await query(ctl, o.ports.control);
    signalPeers(sinks, 'SIGUSR2');
    if (o.signal?.aborted) throw new FloorError('interrupted');
    if (!usage?.ok) throw new FloorError(`no CPU sample of the bare relay: ${usage?.error ?? 'not sampled'}`);
    await sleep(200); // the datagrams still in flight reach the relay and the peers
    const last = await query(ctl, o.ports.control);
    const received = c1.received - c0.received;
    const sent = c1.sent - c0.sent;
    if (received + sent === 0) throw new FloorError('the bare relay saw no datagram in the window');
    // Stopped here, not only in finally: each prints its counts on the way out.
    await Promise.all(sinks.map((s) => s.stop()));
    const counts: FloorSink[] = sinks.map((s, i) => ({ port: sinkPorts[i]!, pid: s.pid, ...sinkCounts(s) }));
    return {
      relayPid: child.pid,
      windowS: usage.wallUs / 1e6,
      received,
      sent,
      cpuUs: usage.cpuUs,
      usPerMsg: usage.cpuUs / (received + sent),
      generated: counts.reduce((a, s) => a + s.sent, 0),
      relayReceived: last.received,
      relaySent: last.sent,
      sinkReceived: counts.reduce((a, s) => a + s.received, 0),
      sinks: counts,
    };
  } finally {
    await Promise.all([child?.stop(), ...sinks.map((s) => s.stop())]);
    try {
      ctl.close();
    } catch {
      // never bound
    }
  }
}
