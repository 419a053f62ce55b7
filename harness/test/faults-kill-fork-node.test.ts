// A fork node SIGKILLed halfway through a run of group calls, with the real proxy processes and real
// SIPp on loopback (distributed, K=2, N=4: members 1 and 3 behind node 1, 2 and 4 behind node 2;
// member 1 answers). The caller's leg is captured, so "every call got a final response" is read from
// the wire. Ports 26100-26299.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCallRig } from '../../proxy/test/group-call-rig.js';
import { startCapture } from '../measure/capture.js';
import { parseKillSpec, resolveKill, scheduleKill, KillSpecError } from '../faults/kill-fork-node.js';
import { readPcapFile } from '../measure/pcap.js';
import { matchSipDelays, summarizeDelays } from '../measure/sip-delays.js';

describe('parseKillSpec / resolveKill', () => {
  it('reads seconds, a share of the calling time, and an optional node', () => {
    expect(parseKillSpec('50%')).toEqual({ at: { fraction: 0.5 } });
    expect(parseKillSpec('12s')).toEqual({ at: { seconds: 12 } });
    expect(parseKillSpec('3:1')).toEqual({ at: { seconds: 3 }, node: 1 });
    expect(resolveKill(parseKillSpec('50%'), 2, 10)).toEqual({ atMs: 5000, index: 1 });
    expect(resolveKill(parseKillSpec('2.5s:1'), 2, 10)).toEqual({ atMs: 2500, index: 0 });
  });
  it.each(['', 'soon', '0%', '100%', '5:0', '5:x', '5:1:2'])('rejects "%s" with the fix', (s) => {
    expect(() => parseKillSpec(s)).toThrow(KillSpecError);
    expect(() => parseKillSpec(s)).toThrow(/--kill-fork-node WHEN\[:NODE\]/);
  });
  it('needs fork nodes, and a node that exists', () => {
    expect(() => resolveKill(parseKillSpec('50%'), 0, 10)).toThrow(/distributed/);
    expect(() => resolveKill(parseKillSpec('50%:3'), 2, 10)).toThrow(/no node 3/);
  });
  it('a cancelled kill never fires', async () => {
    const sent: string[] = [];
    const k = scheduleKill({ name: 'x', pid: 1, signal: (s) => sent.push(s), expectExit: () => undefined }, 50);
    k.cancel();
    expect(await k.fired).toBeUndefined();
    await new Promise((r) => setTimeout(r, 80));
    expect(sent).toEqual([]);
  });
});

const CALLS = 100;
const RATE = 20; // 5 s of calls; the kill comes at 2.5 s
let rig: GroupCallRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

async function runWithKill(base: number, node: number, proxyArgs: string[] = []) {
  rig = new GroupCallRig({ base, groupSize: 4, forkNodes: 2, proxyArgs, ringMs: 20 });
  await rig.start(CALLS);
  const capture = await startCapture({ file: join(rig.dir, 'caller.pcap'), port: rig.callerPort });
  const { atMs, index } = resolveKill(parseKillSpec(`50%:${node}`), 2, CALLS / RATE);
  const victim = rig.proxies[1 + index]!; // proxies[0] is the head
  const kill = scheduleKill(victim.child, atMs);
  const result = await rig.call('caller', CALLS, RATE);
  const fired = await kill.fired;
  await capture.stop();
  const pcap = await readPcapFile(capture.file);
  const summary = summarizeDelays(matchSipDelays(pcap.packets, { callerPort: rig.callerPort }).calls);
  // Only the live proxies can be asked; the dead node's table died with it.
  rig.proxies = rig.proxies.filter((p) => p !== victim);
  const [head] = await rig.drained(20_000);
  return { ...result, fired, summary, head: head!, victimExit: await victim.child.exited };
}

describe('a fork node killed halfway (real SIPp, K=2, N=4)', () => {
  it('node 2 (no answerer behind it): every call still succeeds and the head drains to zero', async () => {
    const r = await runWithKill(26100, 2);
    expect(r.fired, 'the kill fired during the run').toBeDefined();
    expect(r.victimExit.signal).toBe('SIGKILL');
    expect(r.summary.calls).toBe(CALLS);
    expect(r.summary.unanswered, 'every INVITE got a final response').toBe(0);
    expect(r.summary.answered).toBe(CALLS);
    expect(r.stats.successfulCalls, `SIPp output in ${rig!.dir}`).toBe(CALLS);
    expect(r.head.transactionTable).toBe(0);
    expect(r.head.activeTransactions).toBe(0);
    expect(r.head.forksActive).toBe(0);
  });

  it('node 1 (the answerer behind it): calls before the kill succeed, every later one gets a final error, the head drains', async () => {
    // Timer C short: the ringers behind node 2 would otherwise ring for 180 s.
    const r = await runWithKill(26200, 1, ['--timer-c', '2000']);
    expect(r.fired).toBeDefined();
    expect(r.summary.calls).toBe(CALLS);
    expect(r.summary.unanswered, 'every INVITE got a final response').toBe(0);
    // About half were placed before the kill (20 calls/s for 2.5 s).
    expect(r.summary.answered).toBeGreaterThan(CALLS * 0.3);
    expect(r.summary.answered).toBeLessThan(CALLS * 0.7);
    expect(r.summary.failed).toBe(CALLS - r.summary.answered);
    expect(r.head.transactionTable).toBe(0);
    expect(r.head.forksActive).toBe(0);
  });
});
