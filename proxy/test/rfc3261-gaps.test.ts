// RFC 3261 behaviours a SIP reviewer checks, each on the fake clock (issue 8 item 6), plus the
// stateless rejections, stray responses and the relay checks at the level of the core.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_TABLE_ENTRIES, DEFAULT_TIMERS } from '../config.js';
import { buildProxyConfig } from '../proxy-options.js';
import { CALLER, invite, responseTo } from './sip-fixtures.js';
import { cancelOf, MEMBER_PORTS, responseAck, setup, T1, type Rig } from './proxy-rig.js';

function forkAll(p: Rig, text = invite()) {
  p.fromCaller(text);
  expect(p.toPort(CALLER.port, '100')).toHaveLength(1);
  return MEMBER_PORTS.map((port) => {
    const got = p.toPort(port, 'INVITE');
    expect(got).toHaveLength(1);
    return got[0]!;
  });
}

const requests = (p: Rig, method: string) => p.take((s) => s.msg.isRequest && s.msg.method === method);

describe('forking (16.7, 16.10)', () => {
  it('a 6xx from one branch CANCELs every other pending branch, then the 6xx goes upstream', () => {
    const p = setup();
    const inv = forkAll(p);
    p.fromMember(6001, responseTo(inv[0]!.text, 180, 'Ringing', 'm1'));
    p.fromMember(6002, responseTo(inv[1]!.text, 180, 'Ringing', 'm2'));
    p.take(() => true);
    p.fromMember(6003, responseTo(inv[2]!.text, 603, 'Decline', 'm3'));
    expect(p.toPort(6003, 'ACK')).toHaveLength(1);
    // Ringing branches get a CANCEL now; the silent one (m4) is closed with our own 487.
    expect(p.toPort(6001, 'CANCEL')).toHaveLength(1);
    expect(p.toPort(6002, 'CANCEL')).toHaveLength(1);
    expect(p.toPort(6004, 'CANCEL')).toHaveLength(0);
    expect(p.toPort(CALLER.port, '603')).toHaveLength(0); // waits for the cancelled branches
    p.fromMember(6001, responseTo(inv[0]!.text, 487, 'Request Terminated', 'm1'));
    p.fromMember(6002, responseTo(inv[1]!.text, 487, 'Request Terminated', 'm2'));
    const final = p.toPort(CALLER.port, '603');
    expect(final).toHaveLength(1);
    expect(p.toPort(CALLER.port, '487')).toHaveLength(0);
  });

  it('Timer C is reset by each provisional (16.7 step 2)', () => {
    const p = setup('centralized', { timers: { ...DEFAULT_TIMERS, timerC: 2000 } });
    const inv = forkAll(p);
    p.fromMember(6001, responseTo(inv[0]!.text, 180, 'Ringing', 'm1'));
    p.clock.advance(1500);
    p.fromMember(6002, responseTo(inv[1]!.text, 180, 'Ringing', 'm2'));
    p.clock.advance(1500); // 3000 ms after the INVITE, 1500 after the last provisional
    expect(p.toPort(CALLER.port, '408')).toHaveLength(0);
    p.clock.advance(600);
    expect(p.toPort(CALLER.port, '408')).toHaveLength(1);
  });

  it('after a CANCEL a branch that never sent a provisional is closed with a local 487, not after Timer B', () => {
    const p = setup();
    const inv = forkAll(p);
    p.fromMember(6001, responseTo(inv[0]!.text, 180, 'Ringing', 'm1'));
    p.take(() => true);
    p.fromCaller(cancelOf(invite()));
    expect(p.toPort(CALLER.port, '200')).toHaveLength(1);
    expect(p.toPort(6001, 'CANCEL')).toHaveLength(1);
    expect(requests(p, 'CANCEL')).toHaveLength(0); // 9.1: no CANCEL before a provisional
    p.fromMember(6001, responseTo(inv[0]!.text, 487, 'Request Terminated', 'm1'));
    const final = p.toPort(CALLER.port, '487');
    expect(final).toHaveLength(1); // at once, not 32 s later
    p.fromCaller(responseAck(invite(), final[0]!.text));
    expect(p.core.table.forksActive).toBe(0);
    // The silent branches stop retransmitting their INVITE...
    p.clock.advance(4 * T1);
    expect(requests(p, 'INVITE')).toHaveLength(0);
    // ...and a provisional that still comes gets its CANCEL, its 487 its ACK; nothing goes upstream.
    p.fromMember(6003, responseTo(inv[2]!.text, 180, 'Ringing', 'm3'));
    expect(p.toPort(6003, 'CANCEL')).toHaveLength(1);
    p.fromMember(6003, responseTo(inv[2]!.text, 487, 'Request Terminated', 'm3'));
    expect(p.toPort(6003, 'ACK')).toHaveLength(1);
    expect(p.sent.filter((s) => s.to.port === CALLER.port)).toHaveLength(0);
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD + 100);
    expect(p.drained()).toBe(true);
  });

  it('the 200 to a CANCEL carries the To tag of the INVITE response the caller has seen', () => {
    const p = setup();
    const inv = forkAll(p);
    p.fromMember(6002, responseTo(inv[1]!.text, 180, 'Ringing', 'm2'));
    p.take(() => true);
    p.fromCaller(cancelOf(invite()));
    const ok = p.toPort(CALLER.port, '200');
    expect(ok).toHaveLength(1);
    expect(ok[0]!.msg.toTag).toBe('m2');
    expect(ok[0]!.msg.cseqMethod).toBe('CANCEL');
    // A retransmitted CANCEL gets the same 200 again (its own server transaction).
    p.fromCaller(cancelOf(invite()));
    expect(p.toPort(CALLER.port, '200').map((s) => s.msg.toTag)).toEqual(['m2']);
  });
});

describe('CANCEL and ACK the proxy builds (9.1, 17.1.1.3)', () => {
  it('carry the branch INVITE Route set and Max-Forwards', () => {
    const p = setup();
    // An in-dialog re-INVITE routed through us: Route = our recorded route, then a next hop.
    const rr = p.core.tokens.recordRoute('127.0.0.1', 5060, 'call-1@test', 'ft1');
    const reinvite = invite({ maxForwards: 30, extra: `Route: ${rr}, <sip:127.0.0.9:5099;lr>\r\n` }).replace(
      'To: <sip:g4@127.0.0.1:5060>',
      'To: <sip:g4@127.0.0.1:5060>;tag=m1',
    );
    p.fromCaller(reinvite);
    const fwd = p.take((s) => s.msg.isRequest && s.msg.method === 'INVITE');
    expect(fwd).toHaveLength(1);
    expect(fwd[0]!.to).toEqual({ host: '127.0.0.9', port: 5099 });
    expect(fwd[0]!.msg.maxForwards).toBe(29);
    p.fromMember(5099, responseTo(fwd[0]!.text, 180, 'Ringing', 'm1'));
    p.fromCaller(cancelOf(reinvite));
    const cancel = requests(p, 'CANCEL');
    expect(cancel).toHaveLength(1);
    expect(cancel[0]!.text).toContain('\r\nRoute: <sip:127.0.0.9:5099;lr>\r\n');
    expect(cancel[0]!.msg.maxForwards).toBe(29);
    expect(cancel[0]!.msg.vias[0]!.branch).toBe(fwd[0]!.msg.vias[0]!.branch);
    p.fromMember(5099, responseTo(fwd[0]!.text, 487, 'Request Terminated', 'm1'));
    const ack = requests(p, 'ACK');
    expect(ack).toHaveLength(1);
    expect(ack[0]!.text).toContain('\r\nRoute: <sip:127.0.0.9:5099;lr>\r\n');
    expect(ack[0]!.msg.maxForwards).toBe(29);
    expect(ack[0]!.msg.toTag).toBe('m1');
  });
});

describe('transaction matching without the magic cookie (RFC 2543, 17.2.3)', () => {
  it.each([
    ['a branch without the cookie', ';branch=1a2b3c'],
    ['no branch at all', ''],
  ])('%s: retransmission absorbed, CANCEL matched, ACK of the final absorbed', (_name, branchParam) => {
    const p = setup();
    const text = invite().replace(';branch=z9hG4bK-c1', branchParam);
    const inv = forkAll(p, text);
    inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 180, 'Ringing', `m${i + 1}`)));
    p.take(() => true);
    p.fromCaller(text); // retransmission: the last provisional again, no new branches
    expect(p.take(() => true).map((s) => s.msg.status)).toEqual([180]);
    expect(p.core.metrics.branchesCreated).toBe(4);
    p.fromCaller(cancelOf(text));
    expect(p.toPort(CALLER.port, '200')).toHaveLength(1);
    expect(requests(p, 'CANCEL')).toHaveLength(4);
    inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 487, 'Request Terminated', `m${i + 1}`)));
    const final = p.toPort(CALLER.port, '487');
    expect(final).toHaveLength(1);
    p.take(() => true);
    p.fromCaller(responseAck(text, final[0]!.text));
    expect(p.sent).toHaveLength(0); // absorbed, not forwarded
    p.clock.advance(8 * T1);
    expect(p.toPort(CALLER.port, '487')).toHaveLength(0); // Timer G stopped by the ACK
    // Another call from the same UA with the same (or no) branch is a new transaction, not a retransmission.
    forkAll(p, text.replace('Call-ID: call-1@test', 'Call-ID: call-2@test'));
    expect(p.core.metrics.branchesCreated).toBe(8);
  });
});

describe('received and rport (18.2.1, RFC 3581)', () => {
  it('adds received and rport to the top Via and sends responses to the source address and port', () => {
    const p = setup();
    const src = { host: '127.0.0.1', port: 7777 };
    p.fromCaller(invite().replace('Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-c1', 'Via: SIP/2.0/UDP 10.9.9.9:7000;branch=z9hG4bK-c1;rport'), src);
    expect(p.take((s) => s.msg.status === 100).map((s) => s.to)).toEqual([src]);
    const inv = p.toPort(6001, 'INVITE')[0]!;
    expect(inv.text).toContain('Via: SIP/2.0/UDP 10.9.9.9:7000;branch=z9hG4bK-c1;rport=7777;received=127.0.0.1\r\n');
    p.fromMember(6001, responseTo(inv.text, 180, 'Ringing', 'm1'));
    expect(p.take((s) => s.msg.status === 180).map((s) => s.to)).toEqual([src]);
  });

  it('without rport: received only, responses to the source address at the Via port', () => {
    const p = setup();
    p.fromCaller(invite().replace('127.0.0.1:7000;branch', 'caller.invalid:7000;branch'), { host: '127.0.0.1', port: 7777 });
    const inv = p.toPort(6001, 'INVITE')[0]!;
    expect(inv.text).toContain('Via: SIP/2.0/UDP caller.invalid:7000;branch=z9hG4bK-c1;received=127.0.0.1\r\n');
    p.fromMember(6001, responseTo(inv.text, 180, 'Ringing', 'm1'));
    expect(p.take((s) => s.msg.status === 180).map((s) => s.to)).toEqual([{ host: '127.0.0.1', port: 7000 }]);
  });

  it('leaves an honest Via untouched', () => {
    const p = setup();
    p.fromCaller(invite());
    expect(p.toPort(6001, 'INVITE')[0]!.text).toContain('Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-c1\r\n');
  });
});

describe('non-INVITE timeouts and loops', () => {
  it('sends no 408 upstream when a relayed non-INVITE times out (RFC 4320), and drains', () => {
    const p = setup();
    p.fromCaller(invite({ user: 'm2' }).replace('INVITE sip:m2', 'OPTIONS sip:m2').replace('CSeq: 1 INVITE', 'CSeq: 1 OPTIONS'));
    expect(p.toPort(6002, 'OPTIONS')).toHaveLength(1);
    p.clock.advance(64 * T1 + 100);
    expect(p.toPort(6002, 'OPTIONS').length).toBeGreaterThan(3); // Timer E retransmissions
    expect(p.sent.filter((s) => s.to.port === CALLER.port)).toHaveLength(0);
    expect(p.dropped('non-invite-timeout')).toBe(1);
    p.clock.advance(64 * T1);
    expect(p.drained()).toBe(true);
  });

  it('answers 482 to a request that carries one of our own branches in a Via (16.3 item 4)', () => {
    const p = setup();
    const inv = forkAll(p);
    // The INVITE we sent comes back to us (a member URI that points at the proxy).
    const looped = inv[0]!.text.replace('INVITE sip:m1@127.0.0.1:6001', 'INVITE sip:m1@127.0.0.1:5060');
    p.fromMember(6001, looped);
    const out = p.take(() => true);
    expect(out.map((s) => s.msg.status)).toEqual([482]);
    expect(p.core.metrics.branchesCreated).toBe(4);
  });
});

describe('what is answered statelessly, and stray responses', () => {
  it.each([
    ['404', invite({ user: 'nobody' })],
    ['403', invite({ uriHost: '192.0.2.1' })],
    ['483', invite({ maxForwards: 0 })],
    ['481', cancelOf(invite())],
  ])('%s is sent once and nothing is kept', (status, text) => {
    const p = setup();
    p.fromCaller(text);
    expect(p.take(() => true).map((s) => String(s.msg.status))).toEqual([status]);
    expect(p.drained()).toBe(true);
    p.clock.advance(64 * T1 + 100);
    expect(p.sent).toHaveLength(0); // no retransmissions
  });

  it("absorbs the caller's ACK for a stateless rejection", () => {
    const p = setup();
    p.fromCaller(invite({ user: 'nobody' }));
    const final = p.take(() => true)[0]!;
    p.fromCaller(responseAck(invite({ user: 'nobody' }), final.text));
    expect(p.sent).toHaveLength(0);
    expect(p.core.metrics.relayRejected).toBe(0);
  });

  it('answers 503 statelessly past the cap, for non-INVITE requests too', () => {
    const p = setup('centralized', { maxActiveTransactions: 5 });
    p.fromCaller(invite({ branch: 'z9hG4bK-a', callId: 'a' })); // 1 server + 4 branches = 5 active
    p.take(() => true);
    const options = invite({ user: 'm2', branch: 'z9hG4bK-o' }).replace('INVITE sip:m2', 'OPTIONS sip:m2').replace('CSeq: 1 INVITE', 'CSeq: 1 OPTIONS');
    p.fromCaller(options);
    p.fromCaller(invite({ branch: 'z9hG4bK-b', callId: 'b' }));
    const out = p.take(() => true);
    expect(out.map((s) => s.msg.status)).toEqual([503, 503]);
    expect(out[0]!.text).toContain('Retry-After: 5');
    expect(p.core.metrics.overloadRejected).toBe(2);
    expect(p.core.table.size()).toBe(5);
  });

  it('counts lingering transactions too: past --max-table entries in the tables, new requests get 503', () => {
    const p = setup('centralized', { maxActiveTransactions: 2, maxTableEntries: 8 });
    const options = (i: number) =>
      invite({ user: 'm2', branch: `z9hG4bK-o${i}`, callId: `o${i}` }).replace('INVITE sip:m2', 'OPTIONS sip:m2').replace('CSeq: 1 INVITE', 'CSeq: 1 OPTIONS');
    for (let i = 0; i < 4; i++) {
      p.fromCaller(options(i));
      const fwd = p.toPort(6002, 'OPTIONS')[0]!;
      p.fromMember(6002, responseTo(fwd.text, 200, 'OK'));
      expect(p.toPort(CALLER.port, '200')).toHaveLength(1);
    }
    expect(p.core.table.active).toBe(0);
    expect(p.core.table.size()).toBe(8); // server + client transaction of each, waiting on Timers J and K
    p.fromCaller(options(4));
    expect(p.take(() => true).map((s) => s.msg.status)).toEqual([503]);
    p.clock.advance(64 * T1 + 100); // the lingering ones leave: new work is accepted again
    p.fromCaller(options(5));
    expect(p.toPort(6002, 'OPTIONS')).toHaveLength(1);
  });

  it('drops a 2xx that matches no transaction, but relays 2xx retransmissions while the branch is Accepted (Timer M)', () => {
    const p = setup();
    const inv = forkAll(p);
    const ok = responseTo(inv[0]!.text, 200, 'OK', 'm1');
    p.fromMember(6001, ok);
    expect(p.toPort(CALLER.port, '200')).toHaveLength(1);
    p.clock.advance(10 * T1);
    p.fromMember(6001, ok); // retransmission within Timer M
    expect(p.toPort(CALLER.port, '200')).toHaveLength(1);
    p.clock.advance(64 * T1);
    p.take(() => true);
    p.fromMember(6001, ok); // after Timer M: no transaction any more
    expect(p.sent).toHaveLength(0);
    expect(p.dropped('stray-2xx')).toBe(1);
  });
});

describe('--max-table', () => {
  const groups = join(mkdtempSync(join(tmpdir(), 'fb-mt-')), 'groups.json');
  writeFileSync(groups, JSON.stringify({ groups: { g1: ['sip:m1@127.0.0.1:6001'] } }));
  const build = (maxTable?: string) => buildProxyConfig('centralized', { listen: '127.0.0.1:5060', groups, recordRoute: true, maxTable });

  it('defaults far above what honest load lingers (about 66,000 entries at N=16, 100 calls/s), and names a bad value', () => {
    expect(build().config.maxTableEntries).toBe(DEFAULT_MAX_TABLE_ENTRIES);
    expect(DEFAULT_MAX_TABLE_ENTRIES).toBeGreaterThanOrEqual(500_000);
    expect(build('8').config.maxTableEntries).toBe(8);
    expect(() => build('-1')).toThrow(/--max-table/);
  });
});
