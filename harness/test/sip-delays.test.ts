import { describe, expect, it } from 'vitest';
import type { UdpPacket } from '../measure/pcap.js';
import { filterWindow, matchSipDelays, parseSipHead, summarizeDelays } from '../measure/sip-delays.js';
import { sipRequest, sipResponse } from './sip-test-messages.js';

const CALLER = 16100;
const PROXY = 16101;
const T0 = 1_700_000_000_000_000;

const out = (tsUs: number, payload: Buffer): UdpPacket => ({ tsUs, srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: CALLER, dstPort: PROXY, payload });
const inn = (tsUs: number, payload: Buffer): UdpPacket => ({ tsUs, srcIp: '127.0.0.1', dstIp: '127.0.0.1', srcPort: PROXY, dstPort: CALLER, payload });

describe('parseSipHead', () => {
  it('reads the start line, Call-ID (also compact i:) and CSeq', () => {
    expect(parseSipHead(sipRequest('INVITE', 'a@h', 7))).toEqual({ isRequest: true, method: 'INVITE', callId: 'a@h', cseqNum: 7, cseqMethod: 'INVITE' });
    expect(parseSipHead(sipResponse(180, 'Ringing', 'b', 2, 'INVITE', { compact: true }))).toEqual({
      isRequest: false, status: 180, callId: 'b', cseqNum: 2, cseqMethod: 'INVITE',
    });
  });

  it('ignores the body and rejects non-SIP payloads', () => {
    const withBody = Buffer.from('SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\nCall-ID: x\r\n\r\nCall-ID: not-this\r\n');
    expect(parseSipHead(withBody)?.callId).toBe('x');
    expect(parseSipHead(Buffer.from('\r\n\r\n'))).toBeUndefined();
    expect(parseSipHead(Buffer.from('hello world'))).toBeUndefined();
  });
});

describe('matchSipDelays', () => {
  it('measures ringing and setup delays from the first INVITE transmission', () => {
    const pkts = [
      out(T0, sipRequest('INVITE', 'c1', 1)),
      out(T0 + 500_000, sipRequest('INVITE', 'c1', 1)), // retransmission: ignored
      inn(T0 + 600_000, sipResponse(100, 'Trying', 'c1', 1)),
      inn(T0 + 700_000, sipResponse(180, 'Ringing', 'c1', 1)),
      inn(T0 + 710_000, sipResponse(180, 'Ringing', 'c1', 1)), // second branch's 180: ignored
      inn(T0 + 900_000, sipResponse(200, 'OK', 'c1', 1)),
      out(T0 + 901_000, sipRequest('ACK', 'c1', 1)),
      inn(T0 + 950_000, sipResponse(200, 'OK', 'c1', 1)), // 200 retransmission: ignored
      out(T0 + 2_000_000, sipRequest('INVITE', 'c1', 2)), // re-INVITE: ignored
      inn(T0 + 2_100_000, sipResponse(200, 'OK', 'c1', 2)),
      out(T0 + 3_000_000, sipRequest('BYE', 'c1', 3)),
      inn(T0 + 3_001_000, sipResponse(200, 'OK', 'c1', 3, 'BYE')),
    ];
    const { calls, stats } = matchSipDelays(pkts, { callerPort: CALLER });
    expect(calls).toEqual([{ callId: 'c1', inviteUs: T0, ringingUs: 700_000, setupUs: 900_000, finalStatus: 200 }]);
    expect(stats.orphanResponses).toBe(1); // the re-INVITE's 200
  });

  it('handles 183, failures, unanswered calls, compact headers and orphans', () => {
    const pkts = [
      out(T0, sipRequest('INVITE', 'ok', 1, { compact: true })),
      out(T0 + 10, sipRequest('INVITE', 'busy', 1)),
      out(T0 + 20, sipRequest('INVITE', 'silent', 1)),
      inn(T0 + 100, sipResponse(183, 'Session Progress', 'ok', 1, 'INVITE', { compact: true })),
      inn(T0 + 150, sipResponse(486, 'Busy Here', 'busy', 1)),
      inn(T0 + 160, sipResponse(200, 'OK', 'ok', 1)),
      inn(T0 + 170, sipResponse(180, 'Ringing', 'never-sent', 1)),
      inn(T0 + 180, Buffer.from('\r\n\r\n')), // keep-alive
      // traffic between two other ports is not the caller's leg
      { ...out(T0 + 190, sipRequest('INVITE', 'other', 1)), srcPort: 5060, dstPort: 5061 },
    ];
    const { calls, stats } = matchSipDelays(pkts, { callerPort: CALLER });
    expect(calls).toEqual([
      { callId: 'ok', inviteUs: T0, ringingUs: 100, setupUs: 160, finalStatus: 200 },
      { callId: 'busy', inviteUs: T0 + 10, finalStatus: 486 },
      { callId: 'silent', inviteUs: T0 + 20 },
    ]);
    expect(stats).toEqual({ sipMessages: 7, notSip: 1, orphanResponses: 1 });
    const s = summarizeDelays(calls);
    expect(s).toMatchObject({ calls: 3, answered: 1, failed: 1, unanswered: 1, failCauses: { '486': 1 } });
    expect(s.setup).toEqual({ count: 1, mean: 160, p50: 160, p95: 160, p99: 160, max: 160 });
    expect(s.ringing.count).toBe(1);
  });

  it('requires the caller address when given', () => {
    const pkts = [out(T0, sipRequest('INVITE', 'c', 1)), inn(T0 + 5, sipResponse(200, 'OK', 'c', 1))];
    expect(matchSipDelays(pkts, { callerPort: CALLER, callerIp: '127.0.0.9' }).calls).toEqual([]);
    expect(matchSipDelays(pkts, { callerPort: CALLER, callerIp: '127.0.0.1' }).calls).toHaveLength(1);
  });
});

describe('filterWindow and summarizeDelays', () => {
  it('keeps calls whose INVITE falls in [start, end)', () => {
    const calls = [0, 1, 2, 3, 4].map((i) => ({ callId: `c${i}`, inviteUs: T0 + i * 1000, setupUs: (i + 1) * 100, finalStatus: 200 }));
    expect(filterWindow(calls, T0 + 1000, T0 + 3000).map((c) => c.callId)).toEqual(['c1', 'c2']);
    const s = summarizeDelays(calls);
    expect(s.setup).toEqual({ count: 5, mean: 300, p50: 300, p95: 500, p99: 500, max: 500 });
    expect(s.ringing.count).toBe(0);
  });
});
