// Packet loss met by real group calls: the nftables loss table on the member legs of a centralized
// proxy with real SIPp (N=4). At 5% loss every call still succeeds: SIP's retransmissions (the
// proxy's Timer A/E, SIPp's retransmitted 200 and BYE) recover every lost datagram that matters.
// Ports 26700-26799.
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCallRig } from '../../proxy/test/group-call-rig.js';
import { installLoss, tableExists, type InstalledLoss } from '../faults/loss.js';
import { readSippStatFile } from '../measure/sipp-stats.js';
import { join } from 'node:path';

let rig: GroupCallRig | undefined;
let loss: InstalledLoss | undefined;
afterEach(async () => {
  await loss?.remove();
  await rig?.stop();
  rig = undefined;
  loss = undefined;
});

describe.runIf(process.getuid?.() === 0)('5% loss on the member legs (real SIPp, centralized N=4)', () => {
  it('every call succeeds, datagrams were dropped, and SIP retransmitted', async () => {
    const CALLS = 100;
    rig = new GroupCallRig({ base: 26700, groupSize: 4, forkNodes: 0, ringMs: 20 });
    loss = await installLoss({ pct: 5, legs: 'members' }, { members: rig.memberPorts, all: [rig.proxyPort, ...rig.memberPorts, rig.callerPort] });
    // Members get headroom in -m: a retransmission arriving after a member's call ended starts a new SIPp call.
    await rig.start(CALLS * 2);
    expect(await tableExists(loss.table)).toBe(true);
    const { stats } = await rig.call('caller', CALLS, 25);
    const counts = await loss.counts();
    expect(stats.successfulCalls, `SIPp output in ${rig.dir}`).toBe(CALLS);
    expect(stats.failedCalls).toBe(0);
    // 150 calls x ~20 member-leg datagrams: 5% is about 150 drops; none would mean no rule.
    expect(counts.dropped).toBeGreaterThan(50);
    const head = await rig.counters();
    const answerer = await readSippStatFile(join(rig.dir, 'member-1_stat.csv'));
    // The proxy retransmits INVITEs and CANCELs it lost (more sent than forked), or the answerer its 200.
    const sentInvites = head.sent.INVITE ?? 0;
    expect(sentInvites - CALLS * 4 + answerer.retransmissions).toBeGreaterThan(0);
    await loss.remove();
    expect(await tableExists(loss.table)).toBe(false);
  });
});
