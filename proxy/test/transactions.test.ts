// The RFC 3261 section 17 transactions (proxy/transactions.ts) driven directly on a fake clock:
// what each one sends and when (Timers A, B, D, E, F, G, H, I, J, K, L, M), its state changes,
// what it reports to its owner, and when it leaves the table and the wheel.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMERS, type HostPort, type ProxyConfig, type SipTimers, localProxyConfig } from '../config.js';
import { ProxyMetrics } from '../metrics.js';
import { parseSip } from '../sip-parser.js';
import type { SipMessage, Via } from '../sip-message.js';
import { FakeClock } from '../timer-wheel.js';
import {
  InviteClientTx,
  InviteServerTx,
  NonInviteClientTx,
  NonInviteServerTx,
  keep,
  serverKey,
  TransactionTable,
  type BranchOwner,
  type ProxyContext,
} from '../transactions.js';
import type { SentInvite } from '../branch-requests.js';
import { CALLER, invite, responseTo } from './sip-fixtures.js';
import { GROUPS } from './proxy-rig.js';

/** Distinct values so a swapped or mis-scaled timer shows: 64*T1 = 6400, T2 = 400, T4 = 1000, D = 5000. */
const TIMERS: SipTimers = { t1: 100, t2: 400, t4: 1000, timerC: 60_000, timerD: 5000 };
const MEMBER: HostPort = { host: '127.0.0.1', port: 6001 };

interface Out {
  /** ms since the rig was made */
  at: number;
  buf: Buffer;
  text: string;
  to: HostPort;
  what: string | number;
}

function rig(timers: Partial<SipTimers> = {}) {
  const clock = new FakeClock();
  const t0 = clock.t;
  const table = new TransactionTable();
  const out: Out[] = [];
  const config: ProxyConfig = localProxyConfig({
    groups: GROUPS,
    recordRoute: false,
    timers: { ...DEFAULT_TIMERS, ...TIMERS, ...timers },
  });
  const ctx: ProxyContext = {
    config,
    sched: clock.wheel,
    metrics: new ProxyMetrics(),
    table,
    send: (buf, to, what) => void out.push({ at: clock.t - t0, buf, text: buf.toString('latin1'), to, what }),
  };
  /** Advance the clock to `ms` after the rig was made. */
  const to = (ms: number): void => clock.advance(t0 + ms - clock.t);
  const now = (): number => clock.t - t0;
  /** Times at which `what` was sent. */
  const times = (what: string | number): number[] => out.filter((o) => o.what === what).map((o) => o.at);
  return { clock, table, out, ctx, to, now, times };
}

/** A fresh, pool-backed buffer (a slice of the shared slab, as most small Buffers are). */
const pooled = (text: string): Buffer => Buffer.from(text, 'latin1');

const INVITE_TEXT = invite();
const parsed = (text: string): SipMessage => parseSip(Buffer.from(text, 'latin1'), 'full');

const BRANCH = 'z9hG4bK-px1';
const VIA = `SIP/2.0/UDP 127.0.0.1:5060;branch=${BRANCH}`;

function sentInvite(): SentInvite {
  return { requestUri: 'sip:m1@127.0.0.1:6001', via: VIA, invite: parsed(INVITE_TEXT), routeLine: '', maxForwards: 69 };
}

/** The branch INVITE as forwarded (what a member answers). */
const BRANCH_INVITE = INVITE_TEXT.replace('INVITE sip:g4@127.0.0.1:5060', 'INVITE sip:m1@127.0.0.1:6001').replace(
  'Via: ',
  `Via: ${VIA}\r\nVia: `,
);
const memberResponse = (status: number, reason: string): SipMessage => parsed(responseTo(BRANCH_INVITE, status, reason, 'mt1'));

interface OwnerLog {
  provisional: number[];
  success: number[];
  failure: { status: number; res: SipMessage | undefined; at: number }[];
}

function owner(now: () => number): BranchOwner & { log: OwnerLog } {
  const log: OwnerLog = { provisional: [], success: [], failure: [] };
  return {
    log,
    onProvisional: (_b, res) => void log.provisional.push(res.status),
    onSuccess: (_b, res) => void log.success.push(res.status),
    onFailure: (_b, status, res) => void log.failure.push({ status, res, at: now() }),
  };
}

describe('keep()', () => {
  it('keeps a datagram as a string of the same bytes, also above 0x7f: no Buffer, so no pool slab or backing store is held', () => {
    const b = pooled('SIP/2.0 486 Busy Here\r\nX: \xe9\xff\r\n\r\n');
    expect(b.buffer.byteLength).toBeGreaterThan(b.byteLength);
    const k = keep(b);
    expect(typeof k).toBe('string');
    b.fill(0x58);
    expect(Buffer.from(k, 'latin1').equals(pooled('SIP/2.0 486 Busy Here\r\nX: \xe9\xff\r\n\r\n'))).toBe(true);
  });
});

describe('serverKey() (RFC 3261 17.2.3)', () => {
  const msg = parsed(INVITE_TEXT);
  const via = (branch: string): Via => ({ ...msg.vias[0]!, host: '10.0.0.9', port: 5099, branch });

  it('a magic-cookie branch is the key, with the sent-by', () => {
    expect(serverKey(via('z9hG4bK-abc'), msg)).toBe('z9hG4bK-abc|10.0.0.9:5099');
  });

  it('without the cookie (RFC 2543) the key is Request-URI, From tag, Call-ID, CSeq, sent-by and branch', () => {
    expect(serverKey(via('abc'), msg)).toBe('2543|sip:g4@127.0.0.1:5060|ft1|call-1@test|1|10.0.0.9:5099|abc');
    // The cookie must open the branch; one further in does not count.
    expect(serverKey(via('x-z9hG4bK'), msg)).toBe('2543|sip:g4@127.0.0.1:5060|ft1|call-1@test|1|10.0.0.9:5099|x-z9hG4bK');
  });
});

describe('TransactionTable', () => {
  it('size() counts the three maps; each transaction is active until it settles', () => {
    const r = rig();
    expect(r.table.size()).toBe(0);
    new InviteServerTx(r.ctx, 'is', CALLER);
    new NonInviteServerTx(r.ctx, 'ns', CALLER);
    new NonInviteClientTx(r.ctx, 'b', 'BYE', MEMBER, pooled('BYE'));
    new NonInviteClientTx(r.ctx, 'b', 'CANCEL', MEMBER, pooled('CANCEL'));
    expect(r.table.size()).toBe(4);
    expect(r.table.active).toBe(4);
    expect([...r.table.client.keys()]).toEqual(['b|BYE', 'b|CANCEL']);
  });
});

describe('InviteServerTx (RFC 3261 17.2.1, RFC 6026)', () => {
  it('relays provisionals, answers INVITE retransmissions with the last one, keeps the first To tag', () => {
    const r = rig();
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    expect(r.table.inviteServer.get('k')).toBe(tx);
    expect(tx.state).toBe('proceeding');
    expect(tx.absorbsAck).toBe(false);
    tx.onRetransmission(); // nothing sent yet: nothing to repeat
    expect(r.out).toEqual([]);
    const ringing = pooled('180');
    tx.respond(ringing, 180, 'tag-a');
    tx.respond(pooled('183'), 183); // no tag given: keeps the one it has
    expect(tx.toTag).toBe('tag-a');
    tx.onRetransmission();
    expect(r.out.map((o) => [o.what, o.text, o.to])).toEqual([
      [180, '180', CALLER],
      [183, '183', CALLER],
      [183, '183', CALLER],
    ]);
    expect(tx.state).toBe('proceeding');
    expect(r.table.active).toBe(1);
    expect(tx.timerArmed).toBe(false);
  });

  it('has no To tag until a response carries one', () => {
    const r = rig();
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    expect(tx.toTag).toBe('');
    tx.respond(pooled('100'), 100);
    expect(tx.toTag).toBe('');
    tx.respond(pooled('180'), 180, 'tag-r');
    expect(tx.toTag).toBe('tag-r');
  });

  it('a 2xx: Accepted, later 2xx still relayed, nothing else; gone after Timer L (64*T1)', () => {
    const r = rig();
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    tx.respond(pooled('180'), 180);
    tx.respond(pooled('200a'), 200, 'tag-ok');
    expect(tx.state).toBe('accepted');
    expect(tx.toTag).toBe('tag-ok');
    expect(r.table.active).toBe(0);
    expect(tx.absorbsAck).toBe(false);
    tx.onRetransmission(); // the provisional is no longer repeated
    tx.respond(pooled('200b'), 200);
    tx.respond(pooled('299'), 299);
    tx.respond(pooled('300'), 300);
    tx.respond(pooled('199'), 199);
    tx.respond(pooled('486'), 486);
    expect(r.out.map((o) => o.text)).toEqual(['180', '200a', '200b', '299']);
    expect(tx.toTag).toBe('tag-ok');
    r.to(6399);
    expect(r.table.inviteServer.has('k')).toBe(true);
    expect(r.out).toHaveLength(4); // Accepted does not retransmit
    r.to(6400);
    expect(tx.state).toBe('terminated');
    expect(r.table.inviteServer.has('k')).toBe(false);
    expect(tx.timerArmed).toBe(false);
    expect(r.table.active).toBe(0);
  });

  it('299 is a 2xx and 300 is not', () => {
    const a = rig();
    const ta = new InviteServerTx(a.ctx, 'k', CALLER);
    ta.respond(pooled('299'), 299);
    expect(ta.state).toBe('accepted');
    const b = rig();
    const tb = new InviteServerTx(b.ctx, 'k', CALLER);
    tb.respond(pooled('300'), 300);
    expect(tb.state).toBe('completed');
    const c = rig();
    const tc = new InviteServerTx(c.ctx, 'k', CALLER);
    tc.respond(pooled('199'), 199);
    expect(tc.state).toBe('proceeding');
    tc.respond(pooled('200'), 200);
    expect(tc.state).toBe('accepted');
  });

  it('a non-2xx final: retransmitted on Timer G (T1 doubling up to T2) until Timer H (64*T1) ends it', () => {
    const r = rig();
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    const final = pooled('486 Busy Here');
    tx.respond(final, 486, 'tag-b');
    final.fill(0x58); // the caller's buffer may be reused: retransmissions come from a copy of our own
    expect(tx.state).toBe('completed');
    expect(tx.absorbsAck).toBe(true);
    expect(r.table.active).toBe(0);
    r.to(6399);
    expect(r.times(486)).toEqual([0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300, 4700, 5100, 5500, 5900, 6300]);
    expect(r.out.every((o) => o.text === '486 Busy Here' && o.to === CALLER)).toBe(true);
    expect(r.table.inviteServer.has('k')).toBe(true);
    r.to(6400);
    expect(tx.state).toBe('terminated');
    expect(r.table.inviteServer.has('k')).toBe(false);
    expect(tx.timerArmed).toBe(false);
    r.to(20_000);
    expect(r.out).toHaveLength(18);
  });

  it('Timer H wins over a retransmission due at the same moment', () => {
    const r = rig({ t2: 100 }); // retransmit every 100 ms: one falls on 6400, Timer H's time
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    tx.respond(pooled('486'), 486);
    r.to(6400);
    const t = r.times(486);
    expect(t.length).toBe(64);
    expect(t.at(-1)).toBe(6300);
    expect(tx.state).toBe('terminated');
  });

  it('after a non-2xx final: INVITE retransmissions get the final, a 2xx is still relayed, other finals are not', () => {
    const r = rig();
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    tx.respond(pooled('603'), 603);
    tx.onRetransmission();
    tx.respond(pooled('200'), 200);
    tx.respond(pooled('404'), 404);
    tx.respond(pooled('180'), 180);
    expect(r.out.map((o) => [o.what, o.text])).toEqual([
      [603, '603'],
      [603, '603'],
      [200, '200'],
    ]);
    expect(tx.state).toBe('completed');
  });

  it('the ACK: Confirmed, no more retransmissions, gone after Timer I (T4); a second ACK changes nothing', () => {
    const r = rig();
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    tx.onAck(); // no final yet: ignored
    expect(tx.state).toBe('proceeding');
    tx.respond(pooled('486'), 486);
    r.to(150);
    tx.onAck();
    expect(tx.state).toBe('confirmed');
    expect(tx.absorbsAck).toBe(true);
    tx.onRetransmission(); // Confirmed: the final is not repeated
    r.to(500);
    tx.onAck(); // absorbed: Timer I is not restarted
    r.to(1149);
    expect(r.times(486)).toEqual([0, 100]);
    expect(tx.state).toBe('confirmed');
    expect(r.table.inviteServer.has('k')).toBe(true);
    r.to(1150);
    expect(tx.state).toBe('terminated');
    expect(tx.absorbsAck).toBe(false);
    expect(r.table.inviteServer.has('k')).toBe(false);
  });

  it('destroy() leaves table, wheel and active count once; the CANCEL hook is dropped', () => {
    const r = rig();
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    tx.onCancel = () => undefined;
    tx.respond(pooled('486'), 486);
    expect(tx.timerArmed).toBe(true);
    tx.destroy();
    tx.destroy();
    expect(tx.state).toBe('terminated');
    expect(tx.onCancel).toBeUndefined();
    expect(tx.timerArmed).toBe(false);
    expect(r.table.active).toBe(0);
    expect(r.ctx.sched.pending()).toBe(0);
    const other = new InviteServerTx(r.ctx, 'k2', CALLER);
    tx.destroy(); // a second destroy must not settle anyone else's count
    expect(r.table.active).toBe(1);
    other.destroy();
    expect(r.table.active).toBe(0);
    r.to(10_000);
    expect(r.times(486)).toEqual([0]);
  });

  it('a second destroy() does not take a newer transaction with the same key out of the table', () => {
    const r = rig();
    const old = new InviteServerTx(r.ctx, 'k', CALLER);
    old.destroy();
    const fresh = new InviteServerTx(r.ctx, 'k', CALLER);
    old.destroy();
    expect(r.table.inviteServer.get('k')).toBe(fresh);
    expect(fresh.state).toBe('proceeding');
  });

  it('once terminated, INVITE retransmissions are not answered any more', () => {
    const r = rig();
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    tx.respond(pooled('180'), 180);
    tx.destroy();
    tx.onRetransmission();
    const h = new InviteServerTx(r.ctx, 'h', CALLER);
    h.respond(pooled('486'), 486);
    r.to(6400); // Timer H
    expect(h.state).toBe('terminated');
    const before = r.out.length;
    h.onRetransmission();
    expect(r.out.length).toBe(before);
    expect(r.times(180)).toEqual([0]);
  });

  it('destroy() of a transaction still in progress takes it out of the active count', () => {
    const r = rig();
    const tx = new InviteServerTx(r.ctx, 'k', CALLER);
    tx.respond(pooled('180'), 180);
    expect(r.table.active).toBe(1);
    tx.destroy();
    expect(r.table.active).toBe(0);
    tx.respond(pooled('200'), 200); // terminated: only a 2xx would still be relayed
    expect(r.out.map((o) => o.text)).toEqual(['180', '200']);
    expect(tx.state).toBe('terminated');
  });
});

describe('NonInviteServerTx (RFC 3261 17.2.2)', () => {
  it('Trying -> Proceeding on a provisional, which request retransmissions get again', () => {
    const r = rig();
    const tx = new NonInviteServerTx(r.ctx, 'k', CALLER);
    expect(r.table.nonInviteServer.get('k')).toBe(tx);
    expect(tx.state).toBe('trying');
    tx.onRetransmission(); // nothing to repeat yet
    expect(r.out).toEqual([]);
    const p = pooled('100');
    tx.respond(p, 100);
    expect(tx.state).toBe('proceeding');
    tx.onRetransmission();
    expect(r.out.map((o) => [o.what, o.text, o.to])).toEqual([
      [100, '100', CALLER],
      [100, '100', CALLER],
    ]);
    expect(r.out[1]!.buf).toBe(p); // a provisional is not copied
    expect(r.table.active).toBe(1);
    expect(tx.timerArmed).toBe(false);
  });

  it('a final: Completed, retransmissions answered with it (an owned copy), later responses dropped, gone after Timer J', () => {
    const r = rig();
    const tx = new NonInviteServerTx(r.ctx, 'k', CALLER);
    tx.respond(pooled('100'), 100);
    const final = pooled('200 OK');
    tx.respond(final, 200);
    final.fill(0x58); // the caller's buffer may be reused: the retransmission comes from our own copy
    expect(tx.state).toBe('completed');
    expect(r.table.active).toBe(0);
    tx.respond(pooled('481'), 481);
    tx.respond(pooled('180'), 180);
    tx.onRetransmission();
    expect(r.out.map((o) => [o.what, o.text])).toEqual([
      [100, '100'],
      [200, '200 OK'],
      [200, '200 OK'],
    ]);
    r.to(6399);
    expect(r.out).toHaveLength(3); // no retransmission on a timer for non-INVITE
    expect(r.table.nonInviteServer.has('k')).toBe(true);
    r.to(6400);
    expect(tx.state).toBe('terminated');
    expect(r.table.nonInviteServer.has('k')).toBe(false);
    tx.respond(pooled('500'), 500);
    expect(r.out).toHaveLength(3);
  });

  it('199 is provisional and 200 final', () => {
    const r = rig();
    const tx = new NonInviteServerTx(r.ctx, 'k', CALLER);
    const p = pooled('199');
    tx.respond(p, 199);
    expect(tx.state).toBe('proceeding');
    expect(r.table.active).toBe(1);
    tx.onRetransmission();
    expect(r.out[1]!.buf).toBe(p);
    const f = pooled('200');
    tx.respond(f, 200);
    tx.onRetransmission();
    expect(r.out[3]!.buf).not.toBe(f);
    expect(r.out[3]!.what).toBe(200);
  });

  it('a final straight from Trying', () => {
    const r = rig();
    const tx = new NonInviteServerTx(r.ctx, 'k', CALLER);
    tx.respond(pooled('404'), 404);
    expect(tx.state).toBe('completed');
    expect(r.times(404)).toEqual([0]);
  });

  it('after destroy() nothing more is sent', () => {
    const r = rig();
    const tx = new NonInviteServerTx(r.ctx, 'k', CALLER);
    tx.destroy();
    expect(tx.state).toBe('terminated');
    tx.respond(pooled('100'), 100);
    tx.respond(pooled('200'), 200);
    expect(r.out).toEqual([]);
    expect(r.table.active).toBe(0);
  });
});

describe('InviteClientTx (RFC 3261 17.1.1, RFC 6026)', () => {
  function branch(r: ReturnType<typeof rig>) {
    const o = owner(r.now);
    const tx = new InviteClientTx(r.ctx, BRANCH, sentInvite(), MEMBER, pooled('INVITE-bytes'), o);
    return { tx, log: o.log };
  }

  it('Timer A retransmits the INVITE (T1 doubling, no T2 cap) until Timer B: a 408 for the fork', () => {
    const r = rig();
    const { tx, log } = branch(r);
    expect(r.table.client.get(BRANCH)).toBe(tx);
    expect(tx.key).toBe(BRANCH);
    tx.start();
    expect(tx.state).toBe('calling');
    expect(tx.finished).toBe(false);
    r.to(6399);
    expect(r.times('INVITE')).toEqual([0, 100, 300, 700, 1500, 3100, 6300]);
    expect(r.out.every((o) => o.text === 'INVITE-bytes' && o.to === MEMBER)).toBe(true);
    expect(log.failure).toEqual([]);
    r.to(6400);
    expect(log.failure).toEqual([{ status: 408, res: undefined, at: 6400 }]);
    expect(tx.state).toBe('terminated');
    expect(tx.finished).toBe(true);
    expect(r.table.client.has(BRANCH)).toBe(false);
    expect(r.table.active).toBe(0);
    r.to(20_000);
    expect(log.failure).toHaveLength(1);
    expect(r.out).toHaveLength(7);
  });

  it('Timer A is capped at 16*T2', () => {
    const r = rig({ t2: 100 }); // cap 1600
    const { tx } = branch(r);
    tx.start();
    r.to(6399);
    expect(r.times('INVITE')).toEqual([0, 100, 300, 700, 1500, 3100, 4700, 6300]);
  });

  it('start() without bytes (nothing to send) still runs Timer B', () => {
    const r = rig();
    const o = owner(r.now);
    const tx = new InviteClientTx(r.ctx, BRANCH, sentInvite(), MEMBER, undefined, o);
    const log = o.log;
    tx.start();
    r.to(6400);
    expect(r.out).toEqual([]);
    expect(log.failure.map((f) => f.status)).toEqual([408]);
  });

  it('100 Trying: Proceeding, no more retransmissions and no Timer B; not reported to the fork', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    r.to(50);
    tx.onResponse(memberResponse(100, 'Trying'));
    expect(tx.state).toBe('proceeding');
    expect(tx.finished).toBe(false);
    expect(tx.timerArmed).toBe(false);
    r.to(60_000);
    expect(r.times('INVITE')).toEqual([0]);
    expect(log).toEqual({ provisional: [], success: [], failure: [] });
    expect(r.table.client.has(BRANCH)).toBe(true);
    expect(r.table.active).toBe(1);
  });

  it('every provisional above 100 goes to the fork, in Calling and Proceeding', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    tx.onResponse(memberResponse(101, 'Early'));
    expect(tx.state).toBe('proceeding');
    tx.onResponse(memberResponse(180, 'Ringing'));
    tx.onResponse(memberResponse(183, 'Session Progress'));
    expect(log.provisional).toEqual([101, 180, 183]);
    r.to(1000);
    expect(r.times('INVITE')).toEqual([0]);
  });

  it('a 2xx: Accepted, reported (and each retransmitted 2xx too), gone after Timer M; provisionals and non-2xx ignored', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    tx.onResponse(memberResponse(180, 'Ringing'));
    r.to(1000);
    tx.onResponse(memberResponse(200, 'OK'));
    expect(tx.state).toBe('accepted');
    expect(tx.finished).toBe(true);
    expect(r.table.active).toBe(0);
    r.to(2000);
    tx.onResponse(memberResponse(299, 'OK')); // a retransmitted 2xx does not restart Timer M
    tx.onResponse(memberResponse(183, 'Late'));
    tx.onResponse(memberResponse(486, 'Busy Here'));
    expect(log.success).toEqual([200, 299]);
    expect(log.provisional).toEqual([180]);
    expect(log.failure).toEqual([]);
    expect(r.times('ACK')).toEqual([]); // the 2xx ACK is end to end
    r.to(7399);
    expect(r.table.client.has(BRANCH)).toBe(true);
    r.to(7400);
    expect(tx.state).toBe('terminated');
    expect(r.table.client.has(BRANCH)).toBe(false);
    expect(log.failure).toEqual([]); // Timer M is no failure
    expect(r.times('INVITE')).toEqual([0]);
  });

  it('a 2xx straight from Calling stops Timer A', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    tx.onResponse(memberResponse(200, 'OK'));
    expect(log.success).toEqual([200]);
    r.to(6000);
    expect(r.times('INVITE')).toEqual([0]);
  });

  it('300 is a failure, not a success', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    tx.onResponse(memberResponse(300, 'Multiple Choices'));
    expect(log.success).toEqual([]);
    expect(log.failure.map((f) => f.status)).toEqual([300]);
    expect(tx.state).toBe('completed');
  });

  it('a non-2xx final: ACKed with the response To tag, reported once, re-ACKed on retransmission, gone after Timer D', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    r.to(150);
    const busy = memberResponse(486, 'Busy Here');
    tx.onResponse(busy);
    expect(tx.state).toBe('completed');
    expect(tx.finished).toBe(true);
    expect(r.table.active).toBe(0);
    expect(log.failure).toEqual([{ status: 486, res: busy, at: 150 }]);
    const acks = r.out.filter((o) => o.what === 'ACK');
    expect(acks).toHaveLength(1);
    expect(acks[0]!.to).toBe(MEMBER);
    expect(acks[0]!.text).toBe(
      `ACK sip:m1@127.0.0.1:6001 SIP/2.0\r\nVia: ${VIA}\r\n` +
        'From: <sip:caller@127.0.0.1:7000>;tag=ft1\r\n' +
        'To: <sip:g4@127.0.0.1:5060>;tag=mt1\r\n' +
        'Call-ID: call-1@test\r\nCSeq: 1 ACK\r\nMax-Forwards: 69\r\nContent-Length: 0\r\n\r\n',
    );
    r.to(400);
    tx.onResponse(memberResponse(486, 'Busy Here'));
    tx.onResponse(memberResponse(200, 'OK')); // no 2xx after a non-2xx final
    tx.onResponse(memberResponse(180, 'Ringing'));
    expect(r.times('ACK')).toEqual([150, 400]);
    expect(r.out.filter((o) => o.what === 'ACK')[1]!.text).toBe(acks[0]!.text);
    expect(log.failure).toHaveLength(1);
    expect(log.success).toEqual([]);
    expect(log.provisional).toEqual([]);
    expect(r.times('INVITE')).toEqual([0, 100]);
    r.to(5149);
    expect(r.table.client.has(BRANCH)).toBe(true);
    r.to(5150);
    expect(tx.state).toBe('terminated');
    expect(r.table.client.has(BRANCH)).toBe(false);
    expect(log.failure).toHaveLength(1); // Timer D is no second failure
  });

  it('cancel() before any provisional: no CANCEL yet, retransmissions stop, a local 487 for the fork at once', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    r.to(200);
    tx.cancel();
    tx.cancel(); // again: nothing more
    expect(log.failure).toEqual([{ status: 487, res: undefined, at: 200 }]);
    expect(tx.state).toBe('calling');
    r.to(6399);
    expect(r.times('INVITE')).toEqual([0, 100]);
    expect(r.times('CANCEL')).toEqual([]);
    expect(r.table.client.has(BRANCH)).toBe(true);
    r.to(6400); // still Timer B's time: the branch ends silently, the fork has its 487
    expect(tx.state).toBe('terminated');
    expect(r.table.client.has(BRANCH)).toBe(false);
    expect(log.failure).toHaveLength(1);
  });

  it('cancel() before start(): the give-up is 64*T1 from the cancel', () => {
    const r = rig();
    const { tx, log } = branch(r);
    r.to(100);
    tx.cancel();
    expect(log.failure.map((f) => f.status)).toEqual([487]);
    r.to(6499);
    expect(r.table.client.has(BRANCH)).toBe(true);
    r.to(6500);
    expect(r.table.client.has(BRANCH)).toBe(false);
  });

  it('cancelled before a provisional: the provisional triggers the CANCEL and is not passed on', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    tx.cancel();
    r.to(300);
    tx.onResponse(memberResponse(180, 'Ringing'));
    expect(tx.state).toBe('proceeding');
    expect(log.provisional).toEqual([]);
    const cancels = r.out.filter((o) => o.what === 'CANCEL');
    expect(cancels.map((c) => c.at)).toEqual([300]);
    expect(cancels[0]!.to).toBe(MEMBER);
    expect(cancels[0]!.text).toBe(
      `CANCEL sip:m1@127.0.0.1:6001 SIP/2.0\r\nVia: ${VIA}\r\n` +
        'From: <sip:caller@127.0.0.1:7000>;tag=ft1\r\nTo: <sip:g4@127.0.0.1:5060>\r\n' +
        'Call-ID: call-1@test\r\nCSeq: 1 CANCEL\r\nMax-Forwards: 69\r\nContent-Length: 0\r\n\r\n',
    );
    expect(r.table.client.get(`${BRANCH}|CANCEL`)).toBeInstanceOf(NonInviteClientTx);
    tx.onResponse(memberResponse(183, 'Session Progress')); // later provisionals: passed on again
    expect(log.provisional).toEqual([183]);
    expect(r.times('CANCEL')).toEqual([300]);
    tx.onResponse(memberResponse(487, 'Request Terminated'));
    expect(tx.state).toBe('completed');
    expect(log.failure.map((f) => f.status)).toEqual([487]); // reported once, at the cancel
    expect(r.times('ACK')).toEqual([300]);
  });

  it('cancel() in Proceeding sends the CANCEL at once, only once; no final within 64*T1 counts as 408', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    tx.onResponse(memberResponse(180, 'Ringing'));
    r.to(1000);
    tx.cancel();
    tx.cancel();
    expect(r.times('CANCEL')).toEqual([1000]);
    expect(log.failure).toEqual([]);
    r.to(7399);
    expect(r.table.client.has(BRANCH)).toBe(true);
    expect(log.failure).toEqual([]);
    r.to(7400);
    expect(log.failure).toEqual([{ status: 408, res: undefined, at: 7400 }]);
    expect(r.table.client.has(BRANCH)).toBe(false);
  });

  it('a provisional after our CANCEL does not stop the 64*T1 give-up', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    tx.onResponse(memberResponse(180, 'Ringing'));
    r.to(1000);
    tx.cancel();
    r.to(2000);
    tx.onResponse(memberResponse(183, 'Session Progress'));
    expect(log.provisional).toEqual([180, 183]);
    r.to(7400);
    expect(log.failure).toEqual([{ status: 408, res: undefined, at: 7400 }]);
  });

  it('non-INVITE client and INVITE client keys do not collide: the CANCEL is "<branch>|CANCEL"', () => {
    const r = rig();
    const { tx } = branch(r);
    tx.start();
    tx.onResponse(memberResponse(180, 'Ringing'));
    tx.cancel();
    expect([...r.table.client.keys()]).toEqual([BRANCH, `${BRANCH}|CANCEL`]);
    expect(r.table.active).toBe(2);
  });

  it('cancel() after a final does nothing', () => {
    for (const status of [200, 486]) {
      const r = rig();
      const { tx, log } = branch(r);
      tx.start();
      tx.onResponse(memberResponse(status, 'X'));
      tx.cancel();
      expect(r.times('CANCEL')).toEqual([]);
      expect(log.failure.filter((f) => f.status === 487)).toEqual([]);
      expect(tx.state).toBe(status === 200 ? 'accepted' : 'completed');
    }
  });

  it('cancel() after destroy() does nothing', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    tx.onResponse(memberResponse(180, 'Ringing'));
    tx.destroy();
    expect(tx.finished).toBe(true);
    tx.cancel();
    expect(r.times('CANCEL')).toEqual([]);
    expect(log.failure).toEqual([]);
  });

  it('responses after destroy() are ignored', () => {
    const r = rig();
    const { tx, log } = branch(r);
    tx.start();
    tx.destroy();
    tx.onResponse(memberResponse(180, 'Ringing'));
    tx.onResponse(memberResponse(200, 'OK'));
    tx.onResponse(memberResponse(486, 'Busy Here'));
    expect(log).toEqual({ provisional: [], success: [], failure: [] });
    expect(r.times('ACK')).toEqual([]);
    expect(tx.state).toBe('terminated');
  });
});

describe('NonInviteClientTx (RFC 3261 17.1.2)', () => {
  function bye(r: ReturnType<typeof rig>, buf: Buffer = pooled('BYE-bytes')) {
    const finals: (number | undefined)[] = [];
    const provisionals: number[] = [];
    const tx = new NonInviteClientTx(
      r.ctx,
      'z9hG4bK-n1',
      'BYE',
      MEMBER,
      buf,
      (res) => void finals.push(res?.status),
      (res) => void provisionals.push(res.status),
    );
    return { tx, finals, provisionals };
  }
  const resp = (status: number): SipMessage => parsed(`SIP/2.0 ${status} X\r\nVia: ${VIA}\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`);

  it('Timer E retransmits (T1 doubling, capped at T2) until Timer F: the owner gets no response', () => {
    const r = rig();
    const { tx, finals } = bye(r);
    expect(tx.key).toBe('z9hG4bK-n1|BYE');
    expect(r.table.client.get('z9hG4bK-n1|BYE')).toBe(tx);
    tx.start();
    expect(tx.state).toBe('trying');
    r.to(6399);
    expect(r.times('BYE')).toEqual([0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300, 4700, 5100, 5500, 5900, 6300]);
    expect(r.out.every((o) => o.text === 'BYE-bytes' && o.to === MEMBER)).toBe(true);
    expect(finals).toEqual([]);
    r.to(6400);
    expect(finals).toEqual([undefined]);
    expect(tx.state).toBe('terminated');
    expect(r.table.client.has('z9hG4bK-n1|BYE')).toBe(false);
    expect(r.table.active).toBe(0);
  });

  it('a provisional: Proceeding, told to the owner, retransmissions every T2 from then on', () => {
    const r = rig();
    const { tx, finals, provisionals } = bye(r);
    tx.start();
    r.to(50);
    tx.onResponse(resp(100));
    expect(tx.state).toBe('proceeding');
    expect(provisionals).toEqual([100]);
    r.to(2000);
    expect(r.times('BYE')).toEqual([0, 100, 500, 900, 1300, 1700]);
    tx.onResponse(resp(199));
    expect(provisionals).toEqual([100, 199]);
    expect(finals).toEqual([]);
  });

  it('a final: Completed, told to the owner once, no more retransmissions, gone after Timer K (T4)', () => {
    const r = rig();
    const { tx, finals, provisionals } = bye(r);
    tx.start();
    r.to(150);
    tx.onResponse(resp(200));
    expect(tx.state).toBe('completed');
    expect(finals).toEqual([200]);
    expect(r.table.active).toBe(0);
    tx.onResponse(resp(200));
    tx.onResponse(resp(100));
    expect(finals).toEqual([200]);
    expect(provisionals).toEqual([]);
    expect(tx.state).toBe('completed');
    r.to(1149);
    expect(r.times('BYE')).toEqual([0, 100]);
    expect(r.table.client.has('z9hG4bK-n1|BYE')).toBe(true);
    r.to(1150);
    expect(tx.state).toBe('terminated');
    expect(r.table.client.has('z9hG4bK-n1|BYE')).toBe(false);
    expect(finals).toEqual([200]); // Timer K is not a second outcome
  });

  it('works without callbacks (our own CANCELs)', () => {
    const r = rig();
    const tx = new NonInviteClientTx(r.ctx, 'b', 'CANCEL', MEMBER, pooled('CANCEL-bytes'));
    tx.start();
    tx.onResponse(resp(100));
    expect(tx.state).toBe('proceeding');
    tx.onResponse(resp(200));
    expect(tx.state).toBe('completed');
    r.to(10_000);
    expect(r.times('CANCEL')).toEqual([0]);
    expect(tx.state).toBe('terminated');
  });

  it('Timer F without callbacks just ends it', () => {
    const r = rig();
    const tx = new NonInviteClientTx(r.ctx, 'b', 'CANCEL', MEMBER, pooled('CANCEL-bytes'));
    tx.start();
    r.to(6400);
    expect(tx.state).toBe('terminated');
    expect(r.table.size()).toBe(0);
  });

  it('after destroy() responses are ignored and the owner hears nothing', () => {
    const r = rig();
    const { tx, finals, provisionals } = bye(r);
    tx.start();
    tx.destroy();
    tx.onResponse(resp(100));
    tx.onResponse(resp(200));
    expect(finals).toEqual([]);
    expect(provisionals).toEqual([]);
    expect(tx.state).toBe('terminated');
    r.to(10_000);
    expect(r.times('BYE')).toEqual([0]);
  });
});
