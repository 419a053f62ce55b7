// Freed memory, checked directly: the wheel's buckets and linked slots (cancelled ones included),
// the tables, and, after a forced GC, that a finished call's transactions are unreachable.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMERS } from '../config.js';
import { TimerSlot, TimerWheel } from '../timer-wheel.js';
import { keep, type InviteClientTx } from '../transactions.js';
import { CALLER, invite, responseTo } from './sip-fixtures.js';
import { MEMBER_PORTS, responseAck, setup, T1, type Rig } from './proxy-rig.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('timer wheel', () => {
  it('unlinks a disarmed slot at once: no bucket keeps it until its due time', () => {
    let t = 0;
    const wheel = new TimerWheel(() => t, 10);
    const fired: number[] = [];
    const slots = Array.from({ length: 1000 }, (_v, i) => new TimerSlot({ onTimer: () => fired.push(i) }));
    slots.forEach((s, i) => wheel.arm(s, 180_000 + i));
    expect(wheel.linkedSlots()).toBe(1000);
    for (const s of slots.slice(0, 999)) wheel.disarm(s);
    expect(wheel.pending()).toBe(1);
    expect(wheel.linkedSlots()).toBe(1);
    expect(wheel.bucketCount()).toBe(1);
    t = 200_000;
    expect(wheel.advance()).toBe(1);
    expect(fired).toEqual([999]);
    expect(wheel.bucketCount()).toBe(0);
  });

  it('re-arming moves the one slot: it fires once, at the new time', () => {
    let t = 0;
    const wheel = new TimerWheel(() => t, 10);
    let fired = 0;
    const slot = new TimerSlot({ onTimer: () => fired++ });
    wheel.arm(slot, 100);
    wheel.arm(slot, 50);
    wheel.arm(slot, 300);
    expect(wheel.linkedSlots()).toBe(1);
    t = 299;
    wheel.advance();
    expect(fired).toBe(0);
    t = 300;
    wheel.advance();
    expect(fired).toBe(1);
    t = 1000;
    wheel.advance();
    expect(fired).toBe(1);
    expect(slot.armed).toBe(false);
  });

  it('disarming neighbours in the same bucket keeps the rest of the list intact', () => {
    let t = 0;
    const wheel = new TimerWheel(() => t, 10);
    const fired: string[] = [];
    const mk = (name: string) => new TimerSlot({ onTimer: () => fired.push(name) });
    const [a, b, c, d] = [mk('a'), mk('b'), mk('c'), mk('d')];
    for (const s of [a, b, c, d]) wheel.arm(s, 55);
    wheel.disarm(c); // middle
    wheel.disarm(d); // head (armed last)
    wheel.disarm(d); // twice: no effect
    t = 60;
    wheel.advance();
    expect(fired.sort()).toEqual(['a', 'b']);
    expect(wheel.pending()).toBe(0);
  });

  it('jumps over idle time instead of walking every tick', () => {
    let t = 0;
    const wheel = new TimerWheel(() => t, 10);
    t = 3_600_000; // an idle hour
    wheel.advance();
    let fired = 0;
    wheel.arm(new TimerSlot({ onTimer: () => fired++ }), 10);
    t += 10;
    expect(wheel.advance()).toBe(1);
    expect(fired).toBe(1);
  });
});

function oneCall(p: Rig, callId: string): void {
  const text = invite({ callId, branch: `z9hG4bK-${callId}` });
  p.fromCaller(text);
  const inv = MEMBER_PORTS.map((port) => p.toPort(port, 'INVITE')[0]!);
  inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 180, 'Ringing', `m${i + 1}`)));
  p.fromMember(6001, responseTo(inv[0]!.text, 200, 'OK', 'm1'));
  for (let i = 1; i < 4; i++) {
    const cancel = p.toPort(6001 + i, 'CANCEL')[0]!;
    p.fromMember(6001 + i, responseTo(cancel.text, 200, 'OK', `m${i + 1}`));
    p.fromMember(6001 + i, responseTo(inv[i]!.text, 487, 'Request Terminated', `m${i + 1}`));
  }
  p.take(() => true);
}

describe('a finished call leaves nothing behind', () => {
  it('a datagram kept for seconds is a string of the same bytes: no pool slab pinned, no backing store of its own', () => {
    const pooled = Buffer.from('SIP/2.0 487 Request Terminated\r\nX: \xe9\xff\r\n\r\n', 'latin1');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength); // a slice of Node's pool
    const kept = keep(pooled);
    expect(typeof kept).toBe('string');
    expect(Buffer.from(kept, 'latin1').equals(pooled)).toBe(true); // every byte, also above 0x7f
  });

  it('while a declined call lingers on Timer D, its fork and INVITE are garbage: completed branches keep only their ACK (forced GC)', async () => {
    const p = setup('centralized', { timers: { ...DEFAULT_TIMERS, timerC: 180_000 } });
    const refs: WeakRef<object>[] = [];
    const busy: string[] = []; // the first member's 486 of each call
    const call = (id: string): void => {
      const text = invite({ callId: id, branch: `z9hG4bK-${id}` });
      p.fromCaller(text);
      const inv = MEMBER_PORTS.map((port) => p.toPort(port, 'INVITE')[0]!);
      for (const tx of p.core.table.client.values()) {
        const b = tx as InviteClientTx;
        if (b.state === 'completed') continue; // an earlier call's
        refs.push(new WeakRef(b['owner']!), new WeakRef(b['sent']!), new WeakRef(b['sent']!.invite));
      }
      inv.forEach((x, i) => {
        const res = responseTo(x.text, 486, 'Busy Here', `m${i + 1}`);
        if (i === 0) busy.push(res);
        p.fromMember(6001 + i, res);
      });
      const final = p.toPort(CALLER.port, '486')[0]!;
      p.fromCaller(responseAck(text, final.text));
    };
    for (let i = 0; i < 5; i++) call(`declined-${i}`);
    const firstAcks = p.toPort(MEMBER_PORTS[0]!, 'ACK').map((s) => s.text);
    expect(firstAcks).toHaveLength(5);
    p.clock.advance(DEFAULT_TIMERS.t4 + 100); // past Timer I: only the branches (Timer D, 32 s) are left
    expect(p.core.table.inviteServer.size).toBe(0);
    expect(p.core.table.client.size).toBe(5 * MEMBER_PORTS.length);
    expect(refs).toHaveLength(5 * MEMBER_PORTS.length * 3);
    await new Promise((r) => setImmediate(r));
    gc();
    const alive = refs.flatMap((r) => { const x = r.deref(); return x ? [x.constructor.name] : []; });
    expect(alive).toEqual([]);
    // ...and each branch still answers a retransmitted 486 with its ACK, byte for byte the first one.
    busy.forEach((res) => p.fromMember(MEMBER_PORTS[0]!, res));
    expect(p.toPort(MEMBER_PORTS[0]!, 'ACK').map((s) => s.text)).toEqual(firstAcks);
  });

  it('with a 180 s Timer C, every slot a call used is unlinked when the call ends, not when Timer C would be due', () => {
    const p = setup('centralized', { timers: { ...DEFAULT_TIMERS, timerC: 180_000 } });
    for (let i = 0; i < 50; i++) oneCall(p, `c${i}`);
    // Only the lingering transactions (Timers D, K, L, M) hold a slot: one each, no cancelled ones.
    expect(p.clock.wheel.linkedSlots()).toBe(p.core.table.size());
    expect(p.core.table.forksActive).toBe(0);
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD + 100); // far less than Timer C
    expect(p.drained()).toBe(true);
  });

  it('after the tables drain, the call’s transactions and fork are garbage (forced GC)', async () => {
    const p = setup('centralized', { timers: { ...DEFAULT_TIMERS, timerC: 180_000 } });
    const refs: WeakRef<object>[] = [];
    // In a function of its own: a suspended async frame may keep the last loop values alive.
    const watch = (): void => {
      for (const tx of p.core.table.inviteServer.values()) refs.push(new WeakRef(tx));
      for (const tx of p.core.table.client.values()) refs.push(new WeakRef(tx));
    };
    for (let i = 0; i < 20; i++) {
      oneCall(p, `g${i}`);
      watch();
    }
    expect(refs.length).toBeGreaterThan(20 * 5);
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD + 100);
    expect(p.drained()).toBe(true);
    await new Promise((r) => setImmediate(r));
    gc();
    const alive = (): string[] => refs.flatMap((r) => { const x = r.deref(); return x ? [x.constructor.name] : []; });
    expect(alive()).toEqual([]);
  });

  it('an ACKed rejection and a timed-out group leave nothing either', () => {
    const p = setup('centralized', { timers: { ...DEFAULT_TIMERS, timerC: 2000 } });
    const text = invite();
    p.fromCaller(text);
    const inv = MEMBER_PORTS.map((port) => p.toPort(port, 'INVITE')[0]!);
    inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 180, 'Ringing', `m${i + 1}`)));
    p.clock.advance(2100); // Timer C: 408 upstream, CANCEL to all
    const final = p.toPort(CALLER.port, '408')[0]!;
    p.fromCaller(responseAck(text, final.text));
    inv.forEach((x, i) => p.fromMember(6001 + i, responseTo(x.text, 487, 'Request Terminated', `m${i + 1}`)));
    p.clock.advance(64 * T1 + DEFAULT_TIMERS.timerD + 100);
    expect(p.drained()).toBe(true);
  });
});
