// The proxy's own delay per call (fan-out, 180 transit, 200 transit) from captures of every leg of
// the proxy under test: exact values on hand-made packets, and consistency on recorded captures of
// the real proxy (fixtures/README.md), including the message counts per call that the call flow
// predicts (DESIGN.md): 7N+6 at the centralized proxy, 8K+6 at the head.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { UdpPacket } from '../measure/pcap.js';
import { readPcapFile } from '../measure/pcap.js';
import { matchProxyLegs, matchSipDelays, summarizeProxyLegs } from '../measure/sip-delays.js';
import { sipRequest, sipResponse } from './sip-test-messages.js';

const FIX = join(__dirname, 'fixtures');
const CALLER = 41024;
const pkt = (tsUs: number, srcPort: number, dstPort: number, payload: Buffer): UdpPacket => ({ tsUs, srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort, dstPort, payload });

describe('matchProxyLegs on hand-made packets', () => {
  it('measures fan-out to the last member, first 180 and 200 transit; ignores retransmissions and internal hops', () => {
    const P = 5000; // head
    const F = 5002; // fork node
    const c = 'call-1';
    const packets = [
      pkt(1_000, CALLER, P, sipRequest('INVITE', c, 1)),
      pkt(1_010, P, CALLER, sipResponse(100, 'Trying', c, 1)),
      pkt(1_050, P, F, sipRequest('INVITE', c, 1)), // internal: not a branch to a member
      pkt(1_300, F, 7001, sipRequest('INVITE', c, 1)),
      pkt(1_450, F, 7002, sipRequest('INVITE', c, 1)),
      pkt(1_400, P, 7003, sipRequest('INVITE', c, 1)),
      pkt(9_000, F, 7001, sipRequest('INVITE', c, 1)), // retransmission: not the last branch
      pkt(2_000, 7002, F, sipResponse(180, 'Ringing', c, 1)),
      pkt(2_100, F, P, sipResponse(180, 'Ringing', c, 1)), // internal
      pkt(2_250, P, CALLER, sipResponse(180, 'Ringing', c, 1)),
      pkt(2_300, 7001, F, sipResponse(180, 'Ringing', c, 1)), // later 180s do not count
      pkt(2_400, P, CALLER, sipResponse(180, 'Ringing', c, 1)),
      pkt(5_000, 7001, F, sipResponse(200, 'OK', c, 1)),
      pkt(5_700, P, CALLER, sipResponse(200, 'OK', c, 1)),
      pkt(6_000, CALLER, P, sipRequest('BYE', c, 2)),
      pkt(6_100, P, 7001, sipResponse(200, 'OK', c, 2, 'BYE')), // a 200 to BYE is not the answer
    ];
    const { calls, stats } = matchProxyLegs(packets, { proxyPorts: [P, F], callerPort: CALLER });
    expect(calls).toEqual([{ callId: c, inviteInUs: 1_000, branches: 3, fanoutUs: 450, ringTransitUs: 250, answerTransitUs: 700 }]);
    // Two internal messages count twice (sent by one proxy port, received by another).
    expect(stats.perCallMessages.get(c)).toBe(packets.length + 2);
    const s = summarizeProxyLegs(calls);
    expect(s.fanout).toMatchObject({ count: 1, p50: 450, p95: 450, p99: 450 });
    expect(summarizeProxyLegs(calls, 2_000, 3_000).calls).toBe(0); // INVITE outside the window
  });
});

async function legsOf(file: string, proxyPorts: number[]) {
  const { packets, stats } = await readPcapFile(join(FIX, file));
  expect(stats.truncatedTail).toBe(false);
  return { legs: matchProxyLegs(packets, { proxyPorts, callerPort: CALLER }), caller: matchSipDelays(packets, { callerPort: CALLER }) };
}

describe('recorded captures of the real proxy', () => {
  for (const [file, ports, label] of [
    ['centralized-n4.pcap', [41000], 'centralized'],
    ['distributed-n4-k2.pcap', [41000, 41002, 41003], 'head + fork nodes'],
  ] as const) {
    it(`${label}: every call forks to the 4 members; each transit lies inside the caller's own delay`, async () => {
      const { legs, caller } = await legsOf(file, [...ports]);
      expect(legs.calls).toHaveLength(11);
      const byId = new Map(caller.calls.map((c) => [c.callId, c]));
      for (const c of legs.calls) {
        expect(c.branches).toBe(4);
        const at = byId.get(c.callId)!;
        expect(at.finalStatus).toBe(200);
        // INVITE in is after the caller sent it, and the 180/200 leave before the caller gets them.
        expect(c.inviteInUs).toBeGreaterThanOrEqual(at.inviteUs);
        expect(c.fanoutUs).toBeGreaterThan(0);
        expect(c.ringTransitUs).toBeGreaterThan(0);
        expect(c.ringTransitUs!).toBeLessThanOrEqual(at.ringingUs!);
        expect(c.answerTransitUs).toBeGreaterThan(0);
        expect(c.answerTransitUs!).toBeLessThanOrEqual(at.setupUs!);
        expect(c.fanoutUs!).toBeLessThan(at.setupUs!);
      }
      const s = summarizeProxyLegs(legs.calls);
      expect(s.fanout.count).toBe(11);
      expect(s.fanout.p50!).toBeLessThanOrEqual(s.fanout.p95!);
      expect(s.fanout.p95!).toBeLessThanOrEqual(s.fanout.p99!);
    });
  }

  it('messages per call at the proxy: 7N+6 centralized (N=4: 34), 8K+6 at the head (K=2: 22)', async () => {
    // Centralized, N members (members send no 100): INVITE in, 100 out, N INVITE out, N 180 in and
    // N 180 out (relay all), 200 in and out, N-1 CANCEL out, N-1 200(CANCEL) in, N-1 487 in,
    // N-1 ACK out, ACK in and out, BYE in and out, 200(BYE) in and out: 2 + N + 2N + 2 + 4(N-1) + 6.
    const cen = await legsOf('centralized-n4.pcap', [41000]);
    const n = 4;
    expect(2 + n + 2 * n + 2 + 4 * (n - 1) + 6).toBe(7 * n + 6);
    expect([...cen.legs.stats.perCallMessages.values()]).toEqual(Array(11).fill(7 * n + 6));
    // Head with K fork nodes (fork nodes answer 100 and relay the first 180 only): INVITE in, 100 out,
    // K INVITE out, K 100 in, K 180 in, K 180 out, 200 in and out, K-1 CANCEL out, K-1 200(CANCEL)
    // in, K-1 487 in, K-1 ACK out, then ACK, BYE, 200(BYE) in and out: 2 + 2K + 2K + 2 + 4(K-1) + 6.
    const dis = await legsOf('distributed-n4-k2.pcap', [41000]);
    const k = 2;
    expect(2 + 2 * k + 2 * k + 2 + 4 * (k - 1) + 6).toBe(8 * k + 6);
    expect([...dis.legs.stats.perCallMessages.values()]).toEqual(Array(11).fill(8 * k + 6));
  });
});
