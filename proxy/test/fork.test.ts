// The fork's decisions (RFC 3261 16.6-16.10), driven through a ProxyCore on a fake clock: which
// final goes upstream when nobody answers (16.7 step 6) in every ordering, what is CANCELled when,
// and Timer C.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMERS } from '../config.js';
import { BRANCH_PREFIX, newBranch, newTag, STATELESS_TAG } from '../fork.js';
import { CALLER, invite, responseTo } from './sip-fixtures.js';
import { cancelOf, MEMBER_PORTS, setup, T1, type Rig, type Sent } from './proxy-rig.js';

/** Start a call to g4 and return the INVITE each member got (the 100 to the caller is taken). */
function call(p: Rig): Sent[] {
  p.fromCaller(invite());
  expect(p.toPort(CALLER.port, '100')).toHaveLength(1);
  return MEMBER_PORTS.map((port) => p.toPort(port, 'INVITE')[0]!);
}

const REASONS: Record<number, string> = {
  180: 'Ringing',
  200: 'OK',
  404: 'Not Found',
  480: 'Temporarily Unavailable',
  486: 'Busy Here',
  487: 'Request Terminated',
  500: 'Server Internal Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  600: 'Busy Everywhere',
  603: 'Decline',
};

/** Member `i` (0-based) answers its INVITE with `status`, To tag m<i+1>. */
function answer(p: Rig, inv: Sent[], i: number, status: number): void {
  p.fromMember(MEMBER_PORTS[i]!, responseTo(inv[i]!.text, status, REASONS[status]!, `m${i + 1}`));
}

/** Everything sent to the caller, as start lines. */
function toCaller(p: Rig): string[] {
  return p.take((s) => s.to.port === CALLER.port).map((s) => s.text.slice(0, s.text.indexOf('\r\n')));
}

const cancels = (p: Rig): number[] => p.take((s) => s.msg.isRequest && s.msg.method === 'CANCEL').map((s) => s.to.port);

describe('the best final response when nobody answers (16.7 step 6)', () => {
  // Each row: the members' finals in the order they come, and what the caller gets.
  const cases: { name: string; order: [number, number][]; final: string; tag: string }[] = [
    { name: 'same class: the first one', order: [[0, 486], [1, 480], [2, 404], [3, 486]], final: 'SIP/2.0 486 Busy Here', tag: 'm1' },
    { name: 'same class, another first', order: [[2, 404], [0, 486], [1, 480], [3, 486]], final: 'SIP/2.0 404 Not Found', tag: 'm3' },
    { name: 'a lower class that comes later', order: [[0, 502], [1, 500], [2, 486], [3, 502]], final: 'SIP/2.0 486 Busy Here', tag: 'm3' },
    { name: 'a lower class that comes first', order: [[2, 486], [0, 502], [1, 500], [3, 502]], final: 'SIP/2.0 486 Busy Here', tag: 'm3' },
    { name: 'a 5xx, not 503, is relayed as it is', order: [[0, 502], [1, 503], [2, 500], [3, 503]], final: 'SIP/2.0 502 Bad Gateway', tag: 'm1' },
  ];
  it.each(cases)('$name', ({ order, final, tag }) => {
    const p = setup();
    const inv = call(p);
    order.forEach(([i, status], n) => {
      answer(p, inv, i, status);
      if (n < order.length - 1) expect(toCaller(p)).toEqual([]); // nothing before every branch is done
    });
    const got = p.take((s) => s.to.port === CALLER.port);
    expect(got.map((s) => s.text.slice(0, s.text.indexOf('\r\n')))).toEqual([final]);
    expect(got[0]!.msg.toTag).toBe(tag); // the member's own response, relayed
    expect(got[0]!.msg.viaCount).toBe(1);
    const status = final.split(' ')[1]!;
    expect(p.core.metrics.sent.toRecord()[status]).toBe(1); // counted as the status it has
    expect(p.core.metrics.sent.toRecord()['500']).toBeUndefined();
    expect(p.core.table.forksActive).toBe(0);
  });

  // 6xx: every member rings first, so the 6xx CANCELs them and the rest of their answers still counts.
  const sixes: { name: string; order: [number, number][]; final: string; tag: string }[] = [
    { name: 'a 6xx after a 4xx', order: [[0, 486], [2, 600], [1, 480], [3, 487]], final: 'SIP/2.0 600 Busy Everywhere', tag: 'm3' },
    { name: 'a 6xx before a 4xx', order: [[2, 603], [0, 486], [1, 480], [3, 404]], final: 'SIP/2.0 603 Decline', tag: 'm3' },
    { name: 'two 6xx: the first one', order: [[1, 603], [2, 600], [0, 486], [3, 487]], final: 'SIP/2.0 603 Decline', tag: 'm2' },
    { name: 'two 6xx, the other first', order: [[2, 600], [1, 603], [0, 486], [3, 487]], final: 'SIP/2.0 600 Busy Everywhere', tag: 'm3' },
  ];
  it.each(sixes)('$name', ({ order, final, tag }) => {
    const p = setup();
    const inv = call(p);
    [0, 1, 2, 3].forEach((i) => answer(p, inv, i, 180));
    toCaller(p);
    order.forEach(([i, status], n) => {
      answer(p, inv, i, status);
      if (n < order.length - 1) expect(toCaller(p)).toEqual([]);
    });
    const got = p.take((s) => s.to.port === CALLER.port);
    expect(got.map((s) => s.text.slice(0, s.text.indexOf('\r\n')))).toEqual([final]);
    expect(got[0]!.msg.toTag).toBe(tag);
  });

  it('a best 503 goes upstream as our own 500 Server Internal Error, counted as a 500', () => {
    const p = setup();
    const inv = call(p);
    [503, 503, 503, 503].forEach((s, i) => answer(p, inv, i, s));
    const got = p.take((s) => s.to.port === CALLER.port);
    expect(got).toHaveLength(1);
    const lines = got[0]!.text.split('\r\n');
    expect(lines[0]).toBe('SIP/2.0 500 Server Internal Error');
    expect(lines).toContain('Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-c1');
    expect(got[0]!.msg.toTag).toMatch(/^fb[0-9a-z]+$/); // our tag, not a member's
    expect(p.core.metrics.sent.toRecord()['500']).toBe(1);
    expect(p.core.metrics.sent.toRecord()['503']).toBeUndefined();
  });

  it('a real 4xx beats our own 408 for a silent branch, also when the 408 comes first', () => {
    const p = setup();
    const inv = call(p);
    [0, 1, 2].forEach((i) => answer(p, inv, i, 180));
    expect(toCaller(p)).toHaveLength(3);
    p.clock.advance(64 * T1 + 10); // Timer B on member 4: our 408 for it
    expect(toCaller(p)).toEqual([]);
    answer(p, inv, 0, 503);
    answer(p, inv, 1, 480);
    answer(p, inv, 2, 486);
    const got = p.take((s) => s.to.port === CALLER.port);
    expect(got.map((s) => s.msg.status)).toEqual([480]);
    expect(got[0]!.msg.toTag).toBe('m2');
  });

  it('our own 408 beats a real 5xx, sent as 408 Request Timeout with our tag', () => {
    const p = setup();
    const inv = call(p);
    [0, 1, 2].forEach((i) => answer(p, inv, i, 180));
    toCaller(p);
    p.clock.advance(64 * T1 + 10);
    [0, 1, 2].forEach((i) => answer(p, inv, i, 502));
    const got = p.take((s) => s.to.port === CALLER.port);
    expect(got).toHaveLength(1);
    expect(got[0]!.text.startsWith('SIP/2.0 408 Request Timeout\r\n')).toBe(true);
    expect(got[0]!.msg.toTag).toMatch(/^fb[0-9a-z]+$/);
    expect(p.core.metrics.sent.toRecord()['408']).toBe(1);
  });

  it('a real 5xx that comes after our own 408: still our 408', () => {
    const p = setup();
    const inv = call(p);
    [0, 1, 2].forEach((i) => answer(p, inv, i, 180));
    toCaller(p);
    answer(p, inv, 0, 502);
    p.clock.advance(64 * T1 + 10);
    [1, 2].forEach((i) => answer(p, inv, i, 502));
    expect(toCaller(p)).toEqual(['SIP/2.0 408 Request Timeout']);
  });

  it('our own 487 for a silent branch beats our own later 408 for a cancelled one that never answers', () => {
    const p = setup();
    const inv = call(p);
    answer(p, inv, 0, 180);
    toCaller(p);
    p.fromCaller(cancelOf(invite()));
    expect(toCaller(p)).toEqual(['SIP/2.0 200 OK']);
    expect(cancels(p)).toEqual([6001]);
    p.clock.advance(64 * T1 + 10); // member 1 never answers our CANCEL: 408 for it
    const got = p.take((s) => s.to.port === CALLER.port && s.msg.cseqMethod === 'INVITE');
    expect(got.map((s) => s.text.slice(0, s.text.indexOf('\r\n')))).toEqual(['SIP/2.0 487 Request Terminated']);
    expect(p.core.table.forksActive).toBe(0);
  });

  it('a caller CANCEL before any member answered: our own 487 Request Terminated', () => {
    const p = setup();
    call(p);
    p.fromCaller(cancelOf(invite()));
    const got = p.take((s) => s.to.port === CALLER.port);
    expect(got.map((s) => s.text.slice(0, s.text.indexOf('\r\n')))).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 487 Request Terminated']);
    expect(got[1]!.msg.cseqMethod).toBe('INVITE');
    expect(got[1]!.msg.toTag).toMatch(/^fb[0-9a-z]+$/);
    expect(cancels(p)).toEqual([]); // nobody sent a provisional: no CANCEL yet (16.10)
    expect(p.core.table.forksActive).toBe(0);
  });
});

describe('cancelling the other branches', () => {
  it('a 6xx cancels every other ringing branch at once, and not itself', () => {
    const p = setup();
    const inv = call(p);
    [0, 1, 2, 3].forEach((i) => answer(p, inv, i, 180));
    toCaller(p);
    answer(p, inv, 0, 486);
    expect(cancels(p)).toEqual([]);
    answer(p, inv, 2, 600);
    expect(cancels(p).sort()).toEqual([6002, 6004]);
    expect(toCaller(p)).toEqual([]);
    answer(p, inv, 1, 487);
    answer(p, inv, 3, 487);
    expect(toCaller(p)).toEqual(['SIP/2.0 600 Busy Everywhere']);
  });

  it('a 5xx cancels nobody', () => {
    const p = setup();
    const inv = call(p);
    [0, 1].forEach((i) => answer(p, inv, i, 180));
    answer(p, inv, 0, 503);
    expect(cancels(p)).toEqual([]);
    expect(p.core.table.forksActive).toBe(1);
  });

  it('relays every 2xx, and cancels the others once', () => {
    const p = setup();
    const inv = call(p);
    [0, 1, 2, 3].forEach((i) => answer(p, inv, i, 180));
    toCaller(p);
    answer(p, inv, 1, 200);
    expect(cancels(p).sort()).toEqual([6001, 6003, 6004]);
    answer(p, inv, 0, 200); // crossed our CANCEL
    answer(p, inv, 1, 200); // retransmitted
    expect(cancels(p)).toEqual([]);
    expect(toCaller(p)).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 200 OK', 'SIP/2.0 200 OK']);
    answer(p, inv, 2, 487);
    answer(p, inv, 3, 487);
    expect(toCaller(p)).toEqual([]); // no other final after the answer
    expect(p.core.table.forksActive).toBe(0);
    answer(p, inv, 3, 180);
    expect(toCaller(p)).toEqual([]); // nor a provisional
  });
});

describe('every branch answers', () => {
  it('relays each 2xx and ends the fork without a final of its own', () => {
    const p = setup();
    const inv = call(p);
    [0, 1, 2, 3].forEach((i) => answer(p, inv, i, 200));
    expect(toCaller(p)).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 200 OK', 'SIP/2.0 200 OK', 'SIP/2.0 200 OK']);
    expect(p.core.table.forksActive).toBe(0);
    expect(p.core.metrics.dropped.size).toBe(0);
  });
});

describe('provisionals', () => {
  const ringing = (p: Rig, inv: Sent, status: number, tag: string, body = false): void => {
    let text = responseTo(inv.text, status, status === 183 ? 'Session Progress' : 'Ringing', tag);
    if (body) text = text.replace('Content-Length: 0\r\n\r\n', 'Content-Type: application/sdp\r\nContent-Length: 1\r\n\r\nv');
    p.fromMember(Number(inv.to.port), text);
  };

  it('relay-180 first: the first plain 180 only, but every 183 and every 18x with a body', () => {
    const p = setup('fork-node', { relay180: 'first', shard: { index: 1, count: 1 } });
    const inv = call(p);
    ringing(p, inv[0]!, 180, 'm1');
    ringing(p, inv[1]!, 180, 'm2');
    ringing(p, inv[2]!, 181, 'm3');
    expect(p.take((s) => s.to.port === CALLER.port).map((s) => s.msg.toTag)).toEqual(['m1']);
    ringing(p, inv[3]!, 183, 'm4');
    ringing(p, inv[3]!, 183, 'm4');
    ringing(p, inv[1]!, 180, 'm2', true);
    ringing(p, inv[2]!, 181, 'm3', true);
    ringing(p, inv[0]!, 180, 'm1');
    expect(p.take((s) => s.to.port === CALLER.port).map((s) => `${s.msg.status} ${s.msg.toTag}`)).toEqual(['183 m4', '183 m4', '180 m2', '181 m3']);
  });

  it('relay-180 first: a 183 first counts as the first provisional, so no plain 180 follows it', () => {
    const p = setup('fork-node', { relay180: 'first', shard: { index: 1, count: 1 } });
    const inv = call(p);
    ringing(p, inv[3]!, 183, 'm4');
    ringing(p, inv[0]!, 180, 'm1');
    ringing(p, inv[1]!, 180, 'm2');
    expect(p.take((s) => s.to.port === CALLER.port).map((s) => `${s.msg.status} ${s.msg.toTag}`)).toEqual(['183 m4']);
  });

  it('relay-180 all: every provisional', () => {
    const p = setup('fork-node', { relay180: 'all', shard: { index: 1, count: 1 } });
    const inv = call(p);
    [0, 1, 2, 3].forEach((i) => ringing(p, inv[i]!, 180, `m${i + 1}`));
    ringing(p, inv[0]!, 180, 'm1');
    expect(p.take((s) => s.to.port === CALLER.port).map((s) => s.msg.toTag)).toEqual(['m1', 'm2', 'm3', 'm4', 'm1']);
  });
});

describe('Timer C', () => {
  const timerC = 2000;

  it('is reset by every provisional, and then fires: 408 upstream, every branch cancelled', () => {
    const p = setup('centralized', { timers: { ...DEFAULT_TIMERS, timerC } });
    const inv = call(p);
    answer(p, inv, 0, 180);
    p.clock.advance(1500);
    answer(p, inv, 1, 180);
    p.clock.advance(1500); // 3000 ms after the INVITE, 1500 after the last 180
    expect(toCaller(p)).toEqual(['SIP/2.0 180 Ringing', 'SIP/2.0 180 Ringing']);
    expect(cancels(p)).toEqual([]);
    p.clock.advance(600);
    const got = p.take((s) => s.to.port === CALLER.port);
    expect(got.map((s) => s.text.slice(0, s.text.indexOf('\r\n')))).toEqual(['SIP/2.0 408 Request Timeout']);
    expect(got[0]!.msg.toTag).toMatch(/^fb[0-9a-z]+$/);
    expect(cancels(p).sort()).toEqual([6001, 6002]); // the silent two have no CANCEL before a provisional
    [0, 1].forEach((i) => answer(p, inv, i, 487));
    expect(toCaller(p)).toEqual([]);
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD + 100);
    expect(p.drained()).toBe(true);
  });

  it('is armed for the configured time from the INVITE', () => {
    const p = setup('centralized', { timers: { ...DEFAULT_TIMERS, timerC } });
    const inv = call(p);
    [0, 1, 2, 3].forEach((i) => answer(p, inv, i, 180));
    toCaller(p);
    p.clock.advance(timerC - 50);
    expect(toCaller(p)).toEqual([]);
    p.clock.advance(100);
    expect(toCaller(p)).toEqual(['SIP/2.0 408 Request Timeout']);
  });

  it('stops once the fork is done', () => {
    const p = setup('centralized', { timers: { ...DEFAULT_TIMERS, timerC } });
    const inv = call(p);
    [0, 1, 2, 3].forEach((i) => answer(p, inv, i, 486));
    expect(toCaller(p)).toEqual(['SIP/2.0 486 Busy Here']);
    p.clock.advance(2 * timerC);
    expect(toCaller(p).filter((l) => !l.startsWith('SIP/2.0 486'))).toEqual([]); // the 486 is retransmitted (no ACK), no 408
    expect(p.core.metrics.sent.toRecord()['408']).toBeUndefined();
  });
});

describe('branches and tags', () => {
  it('sends each branch with our Via and a fresh branch id, and counts them', () => {
    const p = setup();
    const inv = call(p);
    const tops = inv.map((s) => s.text.split('\r\n')[1]!);
    for (const top of tops) expect(top.startsWith(`Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${BRANCH_PREFIX}.`)).toBe(true);
    expect(new Set(tops).size).toBe(4);
    expect(p.core.metrics.callsForked).toBe(1);
    expect(p.core.metrics.branchesCreated).toBe(4);
    expect(p.core.table.forksActive).toBe(1);
  });

  it('branch ids carry the magic cookie and this process prefix, and never repeat', () => {
    expect(BRANCH_PREFIX).toMatch(/^z9hG4bKfb[0-9a-z]{1,6}$/);
    const a = newBranch();
    const b = newBranch();
    expect(a).toMatch(new RegExp(`^${BRANCH_PREFIX}\\.[0-9a-z]+$`));
    expect(b).not.toBe(a);
    expect(parseInt(b.slice(BRANCH_PREFIX.length + 1), 36)).toBe(parseInt(a.slice(BRANCH_PREFIX.length + 1), 36) + 1);
  });

  it('tags are fb, a sequence number and the prefix tail; the stateless tag is sl and the prefix', () => {
    const a = newTag();
    const b = newTag();
    expect(a).not.toBe(b);
    const tail = BRANCH_PREFIX.slice(-4);
    for (const t of [a, b]) {
      expect(t.startsWith('fb')).toBe(true);
      expect(t.endsWith(tail)).toBe(true);
    }
    expect(parseInt(b.slice(2, -4), 36)).toBe(parseInt(a.slice(2, -4), 36) + 1);
    expect(STATELESS_TAG).toBe(`sl${BRANCH_PREFIX.slice(9)}`);
  });
});
