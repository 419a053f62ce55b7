// The real proxy (built CLI) and real SIPp on loopback: every call of a run must succeed, every
// member must see the INVITE/CANCEL counts forking implies, and the tables must drain to zero.
// Ports: 21000-21999, one block of 100 per test.
import { afterEach, describe, expect, it } from 'vitest';
import type { ProxyCounters } from '../../harness/testbed/targets/proxy-launcher.js';
import { GroupCallRig } from './group-call-rig.js';

const CALLS = 200;
const RATE = 20;
let rig: GroupCallRig | undefined;

afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

async function expectMemberCounts(r: GroupCallRig, calls: number): Promise<void> {
  for (let j = 0; j < r.memberPorts.length; j++) {
    const counts = await r.memberCounts(j);
    expect(counts.INVITE, `member ${j + 1} INVITEs`).toBe(calls);
    // The answerer is never cancelled; every ringer is cancelled once per call.
    expect(counts.CANCEL ?? 0, `member ${j + 1} CANCELs`).toBe(j === 0 ? 0 : calls);
  }
}

describe.each([
  { name: 'centralized, N=1', base: 21000, groupSize: 1, forkNodes: 0 },
  { name: 'centralized, N=4', base: 21100, groupSize: 4, forkNodes: 0 },
  { name: 'centralized, N=16', base: 21200, groupSize: 16, forkNodes: 0 },
  { name: 'distributed, K=2, N=4', base: 21300, groupSize: 4, forkNodes: 2 },
  { name: 'distributed, K=2, N=16', base: 21400, groupSize: 16, forkNodes: 2 },
])('$name', ({ base, groupSize, forkNodes }) => {
  it(`completes ${CALLS} group calls at ${RATE} calls/s and drains its tables`, async () => {
    rig = new GroupCallRig({ base, groupSize, forkNodes });
    await rig.start(CALLS);
    const { exit, stats } = await rig.call('caller', CALLS, RATE);
    expect(stats.successfulCalls, `SIPp output in ${rig.dir}`).toBe(CALLS);
    expect(stats.failedCalls).toBe(0);
    expect(exit.code).toBe(0);
    await expectMemberCounts(rig, CALLS);
    const [head, ...nodes] = await rig.drained();
    expect(head!.transactionTable).toBe(0);
    expect(head!.activeTransactions).toBe(0);
    expect(head!.forksActive).toBe(0);
    expect(head!.callsForked).toBe(CALLS);
    // The head forks to K nodes, the centralized proxy to N members.
    expect(head!.branchesCreated).toBe(CALLS * (forkNodes > 0 ? Math.min(forkNodes, groupSize) : groupSize));
    for (const n of nodes) expect(n.transactionTable).toBe(0);
    // Every message between proxies and SIPp parses: a dropped 487 would hide behind timers.
    for (const c of [head!, ...nodes]) {
      expect(c.parseErrors).toEqual({});
      expect(c.dropped).toEqual({});
    }
    // Cancelled fork nodes answer the head with 487 (the branch did not time out).
    if (forkNodes > 0 && groupSize > 1) expect(head!.received['487']).toBe(CALLS);
  });
});

/** Every proxy's tables are empty: no transaction, no fork, nothing waiting. */
function expectDrained(all: ProxyCounters[]): void {
  all.forEach((c, i) => {
    expect(c.transactionTable, `proxy ${i} transaction table`).toBe(0);
    expect(c.activeTransactions, `proxy ${i} active transactions`).toBe(0);
    expect(c.forksActive, `proxy ${i} forks`).toBe(0);
  });
}

/** Per member: [INVITEs, CANCELs] received. */
const inviteCancel = (counts: Record<string, number>[]): [number, number][] => counts.map((c) => [c.INVITE ?? 0, c.CANCEL ?? 0]);

describe('failure paths', () => {
  it('a caller CANCEL before the answer cancels every member and gets 487', async () => {
    rig = new GroupCallRig({ base: 21500, groupSize: 4, forkNodes: 0, memberRole: () => 'ringer' });
    await rig.start(20);
    const { stats } = await rig.call('caller-cancel', 20, 10);
    expect(stats.successfulCalls).toBe(20);
    expect(stats.failedCalls).toBe(0);
    expect(inviteCancel(await rig.allMemberCounts())).toEqual([[20, 20], [20, 20], [20, 20], [20, 20]]);
    const all = await rig.drained();
    expectDrained(all);
    const head = all[0]!;
    expect(head.received.CANCEL).toBe(20); // from the caller
    expect(head.sent.CANCEL).toBe(80); // one per branch
    expect(head.sent['487']).toBe(20);
    expect(head.sent['200'] ?? 0).toBe(20); // the 200s to the caller's CANCELs, and no call answered
  });

  it('nobody answers: Timer C cancels every branch and the caller gets 408', async () => {
    rig = new GroupCallRig({ base: 21600, groupSize: 4, forkNodes: 0, memberRole: () => 'ringer', proxyArgs: ['--timer-c', '1000'] });
    await rig.start(10);
    const { stats, finalCodes } = await rig.call('caller-expect-fail', 10, 10);
    expect(stats.successfulCalls).toBe(10);
    expect(finalCodes).toEqual({ '408': 10 });
    expect(inviteCancel(await rig.allMemberCounts())).toEqual([[10, 10], [10, 10], [10, 10], [10, 10]]);
    const all = await rig.drained();
    expectDrained(all);
    expect(all[0]!.sent.CANCEL).toBe(40);
    expect(all[0]!.sent['408']).toBe(10);
  });

  it('a member that answers 486 does not stop the call: the answerer still wins', async () => {
    rig = new GroupCallRig({ base: 21700, groupSize: 4, forkNodes: 0, memberRole: (j) => (j === 0 ? 'answerer' : j === 1 ? 'busy' : 'ringer') });
    await rig.start(50);
    const { stats } = await rig.call('caller', 50, 20);
    expect(stats.successfulCalls).toBe(50);
    expect(stats.failedCalls).toBe(0);
    // The busy member ended its branch itself: it is never cancelled; the ringers are, once per call.
    expect(inviteCancel(await rig.allMemberCounts())).toEqual([[50, 0], [50, 0], [50, 50], [50, 50]]);
    const all = await rig.drained();
    expectDrained(all);
    expect(all[0]!.received['486']).toBe(50);
    expect(all[0]!.sent['486'] ?? 0).toBe(0); // a branch's failure is not relayed when another answers
    expect(all[0]!.sent.CANCEL).toBe(100);
  });

  it('every member busy: the caller gets 486', async () => {
    rig = new GroupCallRig({ base: 21750, groupSize: 3, forkNodes: 0, memberRole: () => 'busy' });
    await rig.start(10);
    const { stats, finalCodes } = await rig.call('caller-expect-fail', 10, 10);
    expect(stats.successfulCalls).toBe(10);
    expect(finalCodes).toEqual({ '486': 10 });
    expect(inviteCancel(await rig.allMemberCounts())).toEqual([[10, 0], [10, 0], [10, 0]]);
    const all = await rig.drained();
    expectDrained(all);
    expect(all[0]!.received['486']).toBe(30);
    expect(all[0]!.sent['486']).toBe(10);
    expect(all[0]!.sent.CANCEL ?? 0).toBe(0);
  });

  it('a dead fork node is an unresponsive branch: calls still succeed and nothing leaks', async () => {
    // Node 2 of 2 never starts. Members 1 and 3 (0-based 0, 2) are node 1's shard, member 1 answers.
    rig = new GroupCallRig({ base: 21800, groupSize: 4, forkNodes: 2, deadForkNodes: [1] });
    await rig.start(20);
    const { stats } = await rig.call('caller', 20, 10);
    expect(stats.successfulCalls).toBe(20);
    expect(stats.failedCalls).toBe(0);
    // The dead node's shard never rings; the live node's ringer is cancelled once per call.
    expect(inviteCancel(await rig.allMemberCounts(1000))).toEqual([[20, 0], [0, 0], [20, 20], [0, 0]]);
    // The dead node's branches end by Timer B (64*T1 = 6.4 s here).
    const all = await rig.drained(20_000);
    expectDrained(all);
    expect(all[0]!.branchesCreated).toBe(40);
    expect(all[0]!.sent['200']).toBe(20 + 20); // 200 to each INVITE and each BYE
  });
});

describe('fork nodes and 180s (distributed, K=2, N=4: two members per fork node)', () => {
  it.each([
    { relay180: 'first' as const, base: 21850, perNode: 1 },
    { relay180: 'all' as const, base: 21900, perNode: 2 },
  ])('--relay-180 $relay180: each fork node relays $perNode 180(s) per call to the head', async ({ relay180, base, perNode }) => {
    const calls = 20;
    rig = new GroupCallRig({ base, groupSize: 4, forkNodes: 2, relay180 });
    await rig.start(calls);
    const { stats } = await rig.call('caller', calls, 10);
    expect(stats.successfulCalls).toBe(calls);
    expect(inviteCancel(await rig.allMemberCounts())).toEqual([[calls, 0], [calls, calls], [calls, calls], [calls, calls]]);
    const [head, ...nodes] = await rig.drained();
    // Every member rings (the answerer too, before its 200): each node receives 2 per call.
    for (const n of nodes) {
      expect(n!.received['180']).toBe(2 * calls);
      expect(n!.sent['180']).toBe(perNode * calls);
    }
    expect(head!.received['180']).toBe(2 * perNode * calls);
    expect(head!.sent['180']).toBe(2 * perNode * calls); // the head relays every 18x it gets
    expectDrained([head!, ...nodes]);
  });
});
