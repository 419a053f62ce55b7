// The proxy's own message counters against the call flow (DESIGN.md): real proxy processes, real
// SIPp caller and members on loopback, every call completed, then (sent + received) / calls.
// Port block 41100-41199 (this file only).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { launchProxy, readCounters, type ProxyProcess } from '../testbed/targets/proxy-launcher.js';
import { totalMessages } from '../records/point-row.js';
import { stopAll } from '../testbed/processes.js';
import { startSipp, type SippProcess } from '../testbed/load/sipp.js';

const BASE = 41100;
const N = 4;
const K = 2;
const CALLS = 8;
const dir = mkdtempSync(join(tmpdir(), 'fb-msgcount-'));
afterEach(async () => {
  await stopAll(500);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Relay = 'first' | 'all';

/** Runs CALLS calls at N=4 through a centralized proxy or a head with K fork nodes; messages per call at the proxy/head. */
async function messagesPerCall(mode: 'centralized' | 'distributed', relay: { proxy: Relay; forkNodes?: Relay }, base: number): Promise<number> {
  const out = mkdtempSync(join(dir, `${mode}-`));
  const members = Array.from({ length: N }, (_v, j) => base + 20 + j);
  const groups = join(out, 'groups.json');
  writeFileSync(groups, JSON.stringify({ groups: { g4: members.map((p, j) => `sip:m${j + 1}@127.0.0.1:${p}`) } }));
  const procs: ProxyProcess[] = [];
  const forkNodePorts = [base + 2, base + 3];
  if (mode === 'distributed') {
    for (let i = 0; i < K; i++) {
      procs.push(
        await launchProxy({ role: 'fork-node', port: forkNodePorts[i]!, metricsPort: base + 12 + i, groupsFile: groups, parse: 'full', shard: `${i + 1}/${K}`, relay180: relay.forkNodes }),
      );
    }
  }
  const proxy = await launchProxy({
    role: mode === 'distributed' ? 'head' : 'centralized',
    port: base,
    metricsPort: base + 1,
    groupsFile: groups,
    parse: 'full',
    forkNodePorts,
    relay180: relay.proxy,
  });
  // The harness's proxies run with its V8 flags (proxy-launcher.ts PROXY_NODE_ARGS).
  const argv = readFileSync(`/proc/${proxy.child.pid}/cmdline`, 'utf8').split('\0');
  expect(argv).toEqual(expect.arrayContaining(['--single-threaded-gc', '--max-semi-space-size=1']));
  const sipp: SippProcess[] = members.map((port, j) =>
    startSipp({ role: j === 0 ? 'answerer' : 'ringer', localPort: port, outDir: out, calls: CALLS, timeoutS: 30, ringMs: 20, name: `m${j}` }),
  );
  await new Promise((r) => setTimeout(r, 300));
  const before = totalMessages(await readCounters(proxy.metricsUrl));
  const caller = startSipp({ role: 'caller', localPort: base + 20 + N, remote: `127.0.0.1:${base}`, service: 'g4', rate: 10, calls: CALLS, holdMs: 50, outDir: out, timeoutS: 30, name: 'caller' });
  const exit = await caller.done;
  expect(exit.code).toBe(0); // every call succeeded
  await new Promise((r) => setTimeout(r, 400)); // the last 200(BYE) reaches the proxy
  const after = totalMessages(await readCounters(proxy.metricsUrl));
  await Promise.all(sipp.map((s) => s.stop(500)));
  return (after - before) / CALLS;
}

describe('messages per call at the proxy under test (proxy counters, N=4, K=2)', () => {
  // Centralized, members send no 100: INVITE in, 100 out, N INVITE out, N 180 in, R 180 out (R = N
  // relaying all, 1 relaying the first), 200 in and out, N-1 CANCEL out, N-1 200(CANCEL) in,
  // N-1 487 in, N-1 ACK out, ACK in and out, BYE in and out, 200(BYE) in and out.
  const centralized = (relayed: number) => 2 + N + N + relayed + 2 + 4 * (N - 1) + 6;
  // Head: as above with K fork nodes as its branches, plus K 100 Trying from them, and K 180s in when
  // each fork node relays only its first (2N would come in when they relay all).
  const head = (relayedOut: number) => 2 + K + K + K + relayedOut + 2 + 4 * (K - 1) + 6;

  it('centralized, relay-180 all: 7N+6 (34)', async () => {
    expect(centralized(N)).toBe(7 * N + 6);
    expect(await messagesPerCall('centralized', { proxy: 'all' }, BASE)).toBe(7 * N + 6);
  });
  it('centralized, relay-180 first: 6N+7 (31)', async () => {
    expect(centralized(1)).toBe(6 * N + 7);
    expect(await messagesPerCall('centralized', { proxy: 'first' }, BASE + 30)).toBe(6 * N + 7);
  });
  it('head relaying all, fork nodes the first 180 (the reference run): 8K+6 (22)', async () => {
    expect(head(K)).toBe(8 * K + 6);
    expect(await messagesPerCall('distributed', { proxy: 'all', forkNodes: 'first' }, BASE + 60)).toBe(8 * K + 6);
  });
  it('head and fork nodes relaying the first 180 (forkbench default): 7K+7 (21)', async () => {
    expect(head(1)).toBe(7 * K + 7);
    expect(await messagesPerCall('distributed', { proxy: 'first', forkNodes: 'first' }, BASE + 60)).toBe(7 * K + 7);
  });
});
