// The transaction and forking state machines, driven message by message on a fake clock.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMERS } from '../config.js';
import { CALLER, invite, responseTo } from './sip-fixtures.js';
import { cancelOf, responseAck as ackFor, setup, T1 } from './proxy-rig.js';

describe('centralized forking', () => {
  it('rings every member, relays the answer, cancels the rest, and drains', () => {
    const p = setup();
    p.fromCaller(invite());
    expect(p.toPort(CALLER.port, '100')).toHaveLength(1);
    const invites = [6001, 6002, 6003, 6004].map((port) => p.toPort(port, 'INVITE'));
    expect(invites.map((x) => x.length)).toEqual([1, 1, 1, 1]);
    const branches = new Set(invites.map((x) => x[0]!.msg.vias[0]!.branch));
    expect(branches.size).toBe(4);
    expect(invites[1]![0]!.msg.requestUri).toBe('sip:m2@127.0.0.1:6002');
    expect(invites[0]![0]!.text).toMatch(/\r\nRecord-Route: <sip:127\.0\.0\.1:5060;lr;ftok=[A-Za-z0-9_-]{22}>\r\n/);
    expect(invites[0]![0]!.msg.maxForwards).toBe(69);

    invites.forEach((x, i) => p.fromMember(6001 + i, responseTo(x[0]!.text, 180, 'Ringing', `m${i + 1}`)));
    expect(p.toPort(CALLER.port, '180')).toHaveLength(4);
    p.fromMember(6001, responseTo(invites[0]![0]!.text, 200, 'OK', 'm1'));
    const ok = p.toPort(CALLER.port, '200');
    expect(ok).toHaveLength(1);
    expect(ok[0]!.msg.viaCount).toBe(1);
    const cancels = [6002, 6003, 6004].map((port) => p.toPort(port, 'CANCEL'));
    expect(cancels.map((c) => c.length)).toEqual([1, 1, 1]);
    expect(cancels[0]![0]!.msg.vias[0]!.branch).toBe(invites[1]![0]!.msg.vias[0]!.branch);
    expect(p.toPort(6001, 'CANCEL')).toHaveLength(0);

    for (let i = 1; i < 4; i++) {
      p.fromMember(6001 + i, responseTo(cancels[i - 1]![0]!.text, 200, 'OK', `m${i + 1}`));
      p.fromMember(6001 + i, responseTo(invites[i]![0]!.text, 487, 'Request Terminated', `m${i + 1}`));
      expect(p.toPort(6001 + i, 'ACK')).toHaveLength(1);
    }
    expect(p.sent.filter((s) => s.to.port === CALLER.port)).toHaveLength(0); // 487s absorbed
    expect(p.core.table.active).toBe(0);
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD + 100);
    expect(p.drained()).toBe(true);
    expect(p.core.metrics.branchesCreated).toBe(4);
  });

  it('sends no CANCEL to a branch before its provisional, and sends it when one comes', () => {
    const p = setup();
    p.fromCaller(invite());
    const inv = [6001, 6002, 6003, 6004].map((port) => p.toPort(port, 'INVITE')[0]!);
    p.fromMember(6001, responseTo(inv[0]!.text, 200, 'OK', 'm1'));
    expect(p.take((s) => s.msg.method === 'CANCEL' && s.msg.isRequest)).toHaveLength(0);
    p.fromMember(6003, responseTo(inv[2]!.text, 180, 'Ringing', 'm3'));
    expect(p.toPort(6003, 'CANCEL')).toHaveLength(1);
    expect(p.toPort(CALLER.port, '180')).toHaveLength(0); // no provisional after the final
  });

  it('cancels every branch on a caller CANCEL and answers 487 upstream', () => {
    const p = setup();
    p.fromCaller(invite());
    const inv = [6001, 6002, 6003, 6004].map((port) => p.toPort(port, 'INVITE')[0]!);
    inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 180, 'Ringing', `m${i + 1}`)));
    p.fromCaller(invite().replace('INVITE sip:g4@127.0.0.1:5060', 'CANCEL sip:g4@127.0.0.1:5060').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL'));
    expect(p.toPort(CALLER.port, '200')).toHaveLength(1);
    const cancels = [6001, 6002, 6003, 6004].map((port) => p.toPort(port, 'CANCEL'));
    expect(cancels.map((c) => c.length)).toEqual([1, 1, 1, 1]);
    inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 487, 'Request Terminated', `m${i + 1}`)));
    const final = p.toPort(CALLER.port, '487');
    expect(final).toHaveLength(1);
    // The caller ACKs the 487 with the INVITE's branch: absorbed by the server transaction.
    p.fromCaller(ackFor(invite(), final[0]!.text));
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD + 100);
    expect(p.drained()).toBe(true);
  });

  it('answers 408 when nobody answers before Timer C, cancelling every branch', () => {
    const p = setup('centralized', { timers: { ...DEFAULT_TIMERS, timerC: 2000 } });
    p.fromCaller(invite());
    const inv = [6001, 6002, 6003, 6004].map((port) => p.toPort(port, 'INVITE')[0]!);
    inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 180, 'Ringing', `m${i + 1}`)));
    p.clock.advance(2100);
    expect(p.toPort(CALLER.port, '408')).toHaveLength(1);
    expect(p.take((s) => s.msg.isRequest && s.msg.method === 'CANCEL')).toHaveLength(4);
    inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 487, 'Request Terminated', `m${i + 1}`)));
    expect(p.toPort(CALLER.port, '487')).toHaveLength(0);
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD + 100);
    expect(p.drained()).toBe(true);
  });

  it('relays the best final response when every member fails (6xx beats 4xx, 503 becomes 500)', () => {
    const p = setup();
    p.fromCaller(invite());
    const inv = [6001, 6002, 6003, 6004].map((port) => p.toPort(port, 'INVITE')[0]!);
    expect(p.toPort(CALLER.port, '100')).toHaveLength(1);
    p.fromMember(6001, responseTo(inv[0]!.text, 486, 'Busy Here', 'm1'));
    p.fromMember(6002, responseTo(inv[1]!.text, 503, 'Service Unavailable', 'm2'));
    p.fromMember(6004, responseTo(inv[3]!.text, 480, 'Temporarily Unavailable', 'm4'));
    expect(p.toPort(CALLER.port, '603')).toHaveLength(0);
    expect(p.sent.filter((s) => s.to.port === CALLER.port)).toHaveLength(0); // not before every branch is done
    p.fromMember(6003, responseTo(inv[2]!.text, 603, 'Decline', 'm3'));
    const final = p.toPort(CALLER.port, '603');
    expect(final).toHaveLength(1);
    expect(final[0]!.msg.toTag).toBe('m3'); // the member's own response, relayed

    const q = setup();
    q.fromCaller(invite());
    const inv2 = [6001, 6002, 6003, 6004].map((port) => q.toPort(port, 'INVITE')[0]!);
    inv2.forEach((x, i) => q.fromMember(6001 + i, responseTo(x.text, 503, 'Service Unavailable', `m${i + 1}`)));
    expect(q.toPort(CALLER.port, '503')).toHaveLength(0);
    expect(q.toPort(CALLER.port, '500')).toHaveLength(1);
  });

  it('retransmits INVITEs to a silent branch (Timer A) and gives up on it at Timer B', () => {
    const p = setup();
    p.fromCaller(invite());
    const inv = [6001, 6002, 6003, 6004].map((port) => p.toPort(port, 'INVITE')[0]!);
    inv.slice(0, 3).forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 486, 'Busy Here', `m${i + 1}`)));
    p.clock.advance(T1 + 20);
    expect(p.toPort(6004, 'INVITE')).toHaveLength(1);
    p.clock.advance(2 * T1);
    expect(p.toPort(6004, 'INVITE')).toHaveLength(1);
    // Timer B fires 64*T1 after the INVITE; we are at 3*T1 + 20 ms.
    p.clock.advance(64 * T1 - (3 * T1 + 20) - 5);
    expect(p.toPort(CALLER.port, '486')).toHaveLength(0);
    expect(p.toPort(6004, 'INVITE')).toHaveLength(4); // Timer A keeps doubling: 3.5, 7.5, 15.5 and 31.5 s
    p.clock.advance(10);
    // The real 486 beats our own 408, sent once; the caller's ACK stops Timer G.
    const final = p.toPort(CALLER.port, '486');
    expect(final).toHaveLength(1);
    expect(p.toPort(CALLER.port, '408')).toHaveLength(0);
    p.fromCaller(ackFor(invite(), final[0]!.text));
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD);
    expect(p.toPort(CALLER.port, '486')).toHaveLength(0);
    expect(p.drained()).toBe(true);
  });

  it('absorbs an INVITE retransmission with the last provisional, no new branch', () => {
    const p = setup();
    p.fromCaller(invite());
    const inv = p.toPort(6001, 'INVITE')[0]!;
    p.fromMember(6001, responseTo(inv.text, 180, 'Ringing', 'm1'));
    p.take(() => true);
    p.fromCaller(invite());
    const again = p.take(() => true);
    expect(again).toHaveLength(1);
    expect(again[0]!.msg.status).toBe(180);
    expect(p.core.metrics.branchesCreated).toBe(4);
  });

  it('routes ACK and BYE along the Route it recorded and relays the BYE response', () => {
    const p = setup();
    p.fromCaller(invite());
    const inv = p.toPort(6001, 'INVITE')[0]!;
    const rr = /Record-Route: (<[^>]+>)/.exec(inv.text)![1]!;
    const ack =
      'ACK sip:m1@127.0.0.1:6001 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bKack1\r\n' +
      `Route: ${rr}\r\nFrom: <sip:caller@127.0.0.1:7000>;tag=ft1\r\nTo: <sip:g4@127.0.0.1:5060>;tag=m1\r\nCall-ID: call-1@test\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
    p.fromCaller(ack);
    const fwdAck = p.toPort(6001, 'ACK');
    expect(fwdAck).toHaveLength(1);
    expect(fwdAck[0]!.msg.routeLines).toHaveLength(0);
    expect(fwdAck[0]!.msg.maxForwards).toBe(69);
    const bye = ack.replace(/ACK/g, 'BYE').replace('z9hG4bKack1', 'z9hG4bKbye1');
    p.fromCaller(bye);
    const fwdBye = p.toPort(6001, 'BYE');
    expect(fwdBye).toHaveLength(1);
    expect(fwdBye[0]!.msg.requestUri).toBe('sip:m1@127.0.0.1:6001');
    // The callee's BYE has the tags swapped: the same Route token proves the same dialog.
    const calleeBye = bye
      .replace('Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bKbye1', 'Via: SIP/2.0/UDP 127.0.0.1:6001;branch=z9hG4bKbye2')
      .replace('BYE sip:m1@127.0.0.1:6001', 'BYE sip:caller@127.0.0.1:7000')
      .replace('From: <sip:caller@127.0.0.1:7000>;tag=ft1', 'From: <sip:g4@127.0.0.1:5060>;tag=m1')
      .replace('To: <sip:g4@127.0.0.1:5060>;tag=m1', 'To: <sip:caller@127.0.0.1:7000>;tag=ft1');
    p.fromMember(6001, calleeBye);
    expect(p.toPort(CALLER.port, 'BYE')).toHaveLength(1);
    p.fromMember(6001, responseTo(fwdBye[0]!.text, 200, 'OK'));
    expect(p.toPort(CALLER.port, '200')).toHaveLength(1);
    expect(p.core.metrics.relayRejected).toBe(0);
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD + 100);
    expect(p.drained()).toBe(true);
  });
});

describe('requests the proxy answers itself', () => {
  const cases: [string, string, string][] = [
    ['Max-Forwards 0', invite({ maxForwards: 0 }), '483'],
    ['an unknown user', invite({ user: 'nobody' }), '404'],
    ['another domain (no open relay)', invite({ uriHost: 'example.com' }), '403'],
    ['a Route that is not ours', invite({ extra: 'Route: <sip:10.1.1.1;lr>\r\n' }), '403'],
    ['a malformed but answerable request', invite().replace('Max-Forwards: 70', 'Max-Forwards: many'), '400'],
  ];
  it.each(cases)('%s', (_name, text, status) => {
    const p = setup();
    p.fromCaller(text);
    const out = p.take(() => true);
    expect(out.map((s) => String(s.msg.status))).toEqual([status]);
    expect(out[0]!.to).toEqual(CALLER);
  });

  it('drops and counts what it cannot answer, and keeps working', () => {
    const p = setup();
    p.fromCaller('garbage\r\n\r\n');
    p.fromCaller(invite().replace(/Via: .*\r\n/, ''));
    expect(p.sent).toHaveLength(0);
    expect(p.dropped('unparseable')).toBe(2);
    p.fromCaller(invite());
    expect(p.toPort(CALLER.port, '100')).toHaveLength(1);
  });

  it('answers 503 with Retry-After past the active transaction limit', () => {
    const p = setup('centralized', { maxActiveTransactions: 5 });
    p.fromCaller(invite({ branch: 'z9hG4bK-a', callId: 'a' }));
    p.take(() => true);
    p.fromCaller(invite({ branch: 'z9hG4bK-b', callId: 'b' }));
    const out = p.take(() => true);
    expect(out.map((s) => s.msg.status)).toEqual([503]);
    expect(out[0]!.text).toContain('Retry-After: 5');
  });

  it('rings a single member for its own user', () => {
    const p = setup();
    p.fromCaller(invite({ user: 'm3' }));
    expect(p.toPort(6003, 'INVITE')).toHaveLength(1);
    expect(p.take((s) => s.msg.isRequest)).toHaveLength(0);
  });
});

describe('distributed forking', () => {
  it('the head sends one branch per fork node, addressed to the node', () => {
    const p = setup('head');
    p.fromCaller(invite());
    const a = p.toPort(5071, 'INVITE');
    const b = p.toPort(5072, 'INVITE');
    expect([a.length, b.length]).toEqual([1, 1]);
    expect(a[0]!.msg.requestUri).toBe('sip:g4@127.0.0.1:5071');
    expect(p.take((s) => s.msg.isRequest)).toHaveLength(0);
  });

  it('a fork node rings its shard only and relays only the first 180, but every 183 and every 18x with a body', () => {
    const p = setup('fork-node', { shard: { index: 2, count: 2 }, listen: { host: '127.0.0.1', port: 5072 } });
    p.fromCaller(invite({ uriHost: '127.0.0.1:5072' }));
    const two = p.toPort(6002, 'INVITE');
    expect(two).toHaveLength(1);
    const four = p.toPort(6004, 'INVITE');
    expect(four).toHaveLength(1);
    expect(p.take((s) => s.msg.isRequest)).toHaveLength(0);
    expect(four[0]!.text).toMatch(/\r\nRecord-Route: <sip:127\.0\.0\.1:5072;lr;ftok=[A-Za-z0-9_-]{22}>\r\n/);

    p.fromMember(6002, responseTo(two[0]!.text, 180, 'Ringing', 'm2'));
    p.fromMember(6004, responseTo(four[0]!.text, 180, 'Ringing', 'm4'));
    p.fromMember(6004, responseTo(four[0]!.text, 180, 'Ringing', 'm4')); // a retransmitted 180 too
    const ringing = p.toPort(CALLER.port, '180');
    expect(ringing).toHaveLength(1);
    expect(ringing[0]!.msg.toTag).toBe('m2');
    // 16.7 step 5 asks for every provisional: the deviation is for plain ringing only.
    p.fromMember(6004, responseTo(four[0]!.text, 183, 'Session Progress', 'm4'));
    expect(p.toPort(CALLER.port, '183')).toHaveLength(1);
    const withBody = responseTo(four[0]!.text, 180, 'Ringing', 'm4').replace('Content-Length: 0\r\n\r\n', 'Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n');
    p.fromMember(6004, withBody);
    expect(p.toPort(CALLER.port, '180')).toHaveLength(1);
  });

  it('with --relay-180 all a fork node relays every 180', () => {
    const p = setup('fork-node', { relay180: 'all' });
    p.fromCaller(invite({ uriHost: '127.0.0.1:5060' }));
    const inv = [6001, 6002, 6003, 6004].map((port) => p.toPort(port, 'INVITE')[0]!);
    inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 180, 'Ringing', `m${i + 1}`)));
    expect(p.toPort(CALLER.port, '180').map((s) => s.msg.toTag)).toEqual(['m1', 'm2', 'm3', 'm4']);
  });
});
