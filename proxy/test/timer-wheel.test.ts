// The timer wheel on a hand-set clock: when a slot fires (tick rounding, boundaries, re-arm,
// cancel), what advance() returns, the onBusy signal, and the real-time driver on fake timers.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClock, startRealWheel, TimerSlot, TimerWheel } from '../timer-wheel.js';

/** A wheel on a settable clock with 10 ms ticks, and slots that log their name when they fire. */
function rig(start = 0, tickMs = 10) {
  const clock = { t: start };
  const wheel = new TimerWheel(() => clock.t, tickMs);
  const fired: string[] = [];
  const slot = (name: string): TimerSlot => new TimerSlot({ onTimer: () => fired.push(name) });
  /** Set the clock to `t` and advance; returns what advance() returned. */
  const at = (t: number): number => {
    clock.t = t;
    return wheel.advance();
  };
  return { clock, wheel, fired, slot, at };
}

describe('TimerWheel: when a slot fires', () => {
  it('fires at its due time rounded up to the tick, not a tick earlier', () => {
    const { wheel, fired, slot, at } = rig(1000);
    wheel.arm(slot('a'), 15); // due 1015 -> tick 102 (1020 ms)
    expect(at(1015)).toBe(0);
    expect(at(1019)).toBe(0);
    expect(fired).toEqual([]);
    expect(at(1020)).toBe(1);
    expect(fired).toEqual(['a']);
  });

  it('records the absolute due time and the tick on the slot, and is armed until it fires', () => {
    const { wheel, slot, at } = rig(1000);
    const s = slot('a');
    expect(s.armed).toBe(false);
    expect(s.tick).toBe(-1);
    wheel.arm(s, 25);
    expect(s.due).toBe(1025);
    expect(s.tick).toBe(103);
    expect(s.armed).toBe(true);
    at(1030);
    expect(s.armed).toBe(false);
    expect(s.tick).toBe(-1);
  });

  it('a slot linked in bucket 0 counts as armed (tick 0 is a real bucket; -1 means none)', () => {
    // A clock just below zero puts the first tick at 0.
    const { wheel, fired, slot, at } = rig(-1, 1);
    const s = slot('a');
    wheel.arm(s, 0);
    expect(s.tick).toBe(0);
    expect(s.armed).toBe(true);
    wheel.disarm(s);
    expect(s.armed).toBe(false);
    expect(wheel.pending()).toBe(0);
    expect(at(5)).toBe(0);
    expect(fired).toEqual([]);
  });

  it('a negative delay fires like a zero delay: on the next tick', () => {
    const { wheel, fired, slot, at } = rig(1000);
    const s = slot('a');
    wheel.arm(s, -500);
    expect(s.due).toBe(1000);
    expect(s.tick).toBe(101);
    expect(at(1009)).toBe(0);
    expect(at(1010)).toBe(1);
    expect(fired).toEqual(['a']);
  });

  it('a zero delay armed after the current tick was processed goes to the next tick, never a past one', () => {
    const { wheel, fired, slot, at } = rig(1000);
    wheel.arm(slot('keep'), 1000); // keeps the wheel busy so lastTick is not reset on arm
    at(1100); // tick 110 processed
    const s = slot('now');
    wheel.arm(s, 0); // due 1100 = tick 110, already behind us
    expect(s.tick).toBe(111);
    expect(at(1110)).toBe(1);
    expect(fired).toEqual(['now']);
  });

  it('the start time is the clock at construction: a first timer on a late clock fires on time', () => {
    const { wheel, fired, slot, at } = rig(50_000);
    wheel.arm(slot('a'), 30);
    expect(at(50_029)).toBe(0);
    expect(at(50_030)).toBe(1);
    expect(fired).toEqual(['a']);
  });

  it('fires due slots in tick order and counts each fired slot in the return value', () => {
    const { wheel, fired, slot, at } = rig(0);
    wheel.arm(slot('c'), 300);
    wheel.arm(slot('a'), 100);
    wheel.arm(slot('b'), 200);
    wheel.arm(slot('b2'), 200);
    expect(wheel.pending()).toBe(4);
    expect(at(250)).toBe(3);
    expect(fired.slice(0, 1)).toEqual(['a']);
    expect(fired.slice(1).sort()).toEqual(['b', 'b2']);
    expect(wheel.pending()).toBe(1);
    expect(at(400)).toBe(1);
    expect(fired).toHaveLength(4);
    expect(wheel.pending()).toBe(0);
    expect(at(500)).toBe(0);
  });

  it('a timer armed on a busy wheel after the clock moved on, before advance(), does not hide earlier ones', () => {
    const { clock, wheel, fired, slot, at } = rig(0);
    wheel.arm(slot('a'), 10); // tick 1
    clock.t = 50; // no advance yet
    wheel.arm(slot('b'), 10); // due 60, tick 6
    expect(at(50)).toBe(1);
    expect(fired).toEqual(['a']);
    expect(at(60)).toBe(1);
    expect(fired).toEqual(['a', 'b']);
  });

  it('an owner may re-arm itself from onTimer: it fires again one interval later', () => {
    const { wheel, at } = rig(0);
    const times: number[] = [];
    const clock = { now: () => wheel.now() };
    const s: TimerSlot = new TimerSlot({
      onTimer: () => {
        times.push(clock.now());
        if (times.length < 3) wheel.arm(s, 20);
      },
    });
    wheel.arm(s, 20);
    for (let t = 0; t <= 200; t += 10) at(t);
    expect(times).toEqual([20, 40, 60]);
    expect(wheel.pending()).toBe(0);
  });

  it('an owner firing first may disarm the other slot of its bucket: that one does not fire', () => {
    const { wheel, fired, at } = rig(0);
    let other: TimerSlot | undefined;
    const first = new TimerSlot({
      onTimer: () => {
        fired.push('first');
        wheel.disarm(other);
      },
    });
    other = new TimerSlot({ onTimer: () => fired.push('other') });
    wheel.arm(other, 50);
    wheel.arm(first, 50); // head of the bucket: fires first
    expect(at(50)).toBe(1);
    expect(fired).toEqual(['first']);
    expect(wheel.pending()).toBe(0);
    expect(wheel.bucketCount()).toBe(0);
  });

  it('now() is the clock', () => {
    const { clock, wheel } = rig(1234);
    expect(wheel.now()).toBe(1234);
    clock.t = 5678;
    expect(wheel.now()).toBe(5678);
  });

  it('tickMs defaults to 10', () => {
    const wheel = new TimerWheel(() => 0);
    expect(wheel.tickMs).toBe(10);
  });
});

describe('TimerWheel: cancel and re-arm', () => {
  it('a cancelled timer never fires and leaves nothing pending', () => {
    const { wheel, fired, slot, at } = rig(0);
    const s = slot('a');
    wheel.arm(s, 100);
    expect(wheel.pending()).toBe(1);
    wheel.disarm(s);
    expect(s.armed).toBe(false);
    expect(wheel.pending()).toBe(0);
    expect(wheel.bucketCount()).toBe(0);
    expect(wheel.linkedSlots()).toBe(0);
    expect(at(1000)).toBe(0);
    expect(fired).toEqual([]);
  });

  it('disarm of an unarmed slot or of undefined changes nothing', () => {
    const { wheel, fired, slot, at } = rig(0);
    const a = slot('a');
    wheel.arm(a, 100);
    expect(() => wheel.disarm(undefined)).not.toThrow();
    wheel.disarm(slot('never armed'));
    expect(wheel.pending()).toBe(1);
    expect(at(100)).toBe(1);
    wheel.disarm(a); // already fired
    expect(wheel.pending()).toBe(0);
    expect(fired).toEqual(['a']);
  });

  it('cancelling one of several slots in a bucket (head, middle, tail) leaves the others to fire', () => {
    for (const victim of ['a', 'b', 'c']) {
      const { wheel, fired, slot, at } = rig(0);
      const slots = new Map(['a', 'b', 'c'].map((n) => [n, slot(n)]));
      for (const s of slots.values()) wheel.arm(s, 30); // list order: c, b, a
      wheel.disarm(slots.get(victim));
      expect(wheel.pending()).toBe(2);
      expect(wheel.linkedSlots()).toBe(2);
      expect(wheel.bucketCount()).toBe(1);
      expect(at(30)).toBe(2);
      expect(fired.sort()).toEqual(['a', 'b', 'c'].filter((n) => n !== victim));
      expect(wheel.bucketCount()).toBe(0);
    }
  });

  it('re-arming moves the slot: it fires once, at the later time, and is counted once', () => {
    const { wheel, fired, slot, at } = rig(0);
    const s = slot('a');
    wheel.arm(s, 50);
    wheel.arm(s, 200);
    expect(wheel.pending()).toBe(1);
    expect(wheel.linkedSlots()).toBe(1);
    expect(wheel.bucketCount()).toBe(1);
    expect(at(100)).toBe(0);
    expect(at(200)).toBe(1);
    expect(fired).toEqual(['a']);
  });

  it('re-arming earlier moves the slot forward', () => {
    const { wheel, fired, slot, at } = rig(0);
    const s = slot('a');
    wheel.arm(s, 500);
    wheel.arm(s, 20);
    expect(at(20)).toBe(1);
    expect(fired).toEqual(['a']);
    expect(at(600)).toBe(0);
  });

  it('linkedSlots walks every bucket list; bucketCount counts non-empty buckets', () => {
    const { wheel, slot } = rig(0);
    for (let i = 0; i < 5; i++) wheel.arm(slot(`x${i}`), 50);
    for (let i = 0; i < 3; i++) wheel.arm(slot(`y${i}`), 90);
    expect(wheel.linkedSlots()).toBe(8);
    expect(wheel.bucketCount()).toBe(2);
    expect(wheel.pending()).toBe(8);
  });
});

describe('TimerWheel: onBusy and idle time', () => {
  it('onBusy is told only when the wheel goes from empty to non-empty', () => {
    const { wheel, slot, at } = rig(0);
    let busy = 0;
    wheel.onBusy = () => busy++;
    const a = slot('a');
    wheel.arm(a, 10);
    expect(busy).toBe(1);
    wheel.arm(slot('b'), 20);
    wheel.arm(a, 30); // re-arm of a pending slot: still busy
    expect(busy).toBe(1);
    at(100);
    expect(wheel.pending()).toBe(0);
    wheel.arm(slot('c'), 10);
    expect(busy).toBe(2);
  });

  it('after an idle hour, advance() and the next timer look at a handful of buckets, not every tick', () => {
    // The work bound of the idle skip (arm and advance on an empty wheel), counted in bucket lookups.
    const { clock, wheel, fired, slot } = rig(0);
    const get = vi.spyOn(Map.prototype, 'get');
    try {
      clock.t = 3_600_000;
      expect(wheel.advance()).toBe(0);
      expect(get.mock.calls.length).toBeLessThanOrEqual(2);
      clock.t = 7_200_000; // another idle hour, now without advance() before arming
      wheel.arm(slot('a'), 10);
      get.mockClear();
      clock.t += 10;
      expect(wheel.advance()).toBe(1);
      expect(get.mock.calls.length).toBeLessThanOrEqual(4);
      expect(fired).toEqual(['a']);
    } finally {
      get.mockRestore();
    }
  });
});

describe('FakeClock', () => {
  it('steps 1 ms at a time so timers armed by fired timers run in order within one advance', () => {
    const c = new FakeClock();
    const times: number[] = [];
    const s: TimerSlot = new TimerSlot({
      onTimer: () => {
        times.push(c.t);
        if (times.length < 4) c.wheel.arm(s, 5);
      },
    });
    c.wheel.arm(s, 5);
    const start = c.t;
    c.advance(100);
    expect(c.t).toBe(start + 100);
    expect(times.map((t) => t - start)).toEqual([5, 10, 15, 20]);
  });
});

describe('startRealWheel (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function fake(): void {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
  }

  it('ticks only while timers are pending: no interval when idle, one while busy, none after', () => {
    fake();
    const { wheel, stop } = startRealWheel(10);
    try {
      expect(vi.getTimerCount()).toBe(0);
      let fired = 0;
      wheel.arm(new TimerSlot({ onTimer: () => fired++ }), 50);
      wheel.arm(new TimerSlot({ onTimer: () => fired++ }), 70);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(60);
      expect(fired).toBe(1);
      expect(vi.getTimerCount()).toBe(1); // one still pending: keeps ticking
      vi.advanceTimersByTime(30);
      expect(fired).toBe(2);
      expect(wheel.pending()).toBe(0);
      expect(vi.getTimerCount()).toBe(0); // idle: the interval is gone
      wheel.arm(new TimerSlot({ onTimer: () => fired++ }), 10);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(30);
      expect(fired).toBe(3);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      stop();
    }
  });

  it('uses the given tick and the performance clock', () => {
    fake();
    const { wheel, stop } = startRealWheel(25);
    try {
      expect(wheel.tickMs).toBe(25);
      const t0 = performance.now();
      expect(wheel.now()).toBe(t0);
      vi.advanceTimersByTime(100);
      expect(wheel.now()).toBe(t0 + 100);
    } finally {
      stop();
    }
  });

  it('stop() clears the interval and no later timer starts it again', () => {
    fake();
    const { wheel, stop } = startRealWheel(10);
    let fired = 0;
    const s = new TimerSlot({ onTimer: () => fired++ });
    wheel.arm(s, 50);
    expect(vi.getTimerCount()).toBe(1);
    stop();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(fired).toBe(0);
    wheel.disarm(s);
    wheel.arm(s, 10); // empty -> busy again, after stop(): still no interval
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(fired).toBe(0);
  });

  it('stop() on an idle wheel is harmless and can be repeated', () => {
    fake();
    const { stop } = startRealWheel(10);
    stop();
    stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the interval does not keep the process alive (unref)', () => {
    fake();
    const unref = vi.fn();
    const real = globalThis.setInterval;
    const spy = vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
      const h = real(fn, ms);
      const orig = h.unref.bind(h);
      h.unref = () => {
        unref();
        return orig();
      };
      return h;
    }) as typeof setInterval);
    const { wheel, stop } = startRealWheel(10);
    try {
      wheel.arm(new TimerSlot({ onTimer: () => undefined }), 10);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]?.[1]).toBe(10);
      expect(unref).toHaveBeenCalledTimes(1);
    } finally {
      stop();
      spy.mockRestore();
    }
  });
});
