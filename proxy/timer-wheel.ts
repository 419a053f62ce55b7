// Timers for SIP transactions. At 100 calls/s and N=32 a proxy holds tens of thousands of
// pending timers (Timer D alone lasts 32 s); one Node timer each costs more than a coarse wheel.
//
// Each transaction (and each fork, for Timer C) owns ONE re-armable slot: a node of an intrusive
// doubly linked list hung in the bucket of its due tick. Arming relinks the node, disarming unlinks
// it at once (O(1)), so a cancelled timer holds nothing alive; no closure is made per timer, the
// wheel calls the owner's onTimer(). The real-time driver ticks only while something is pending,
// so an idle proxy does not wake up. A fake clock advances the same wheel by hand in tests.

export interface TimerOwner {
  /** Called when the slot's due time has come; the slot is already disarmed. */
  onTimer(): void;
}

/** One timer slot, owned by one transaction or fork and re-armed for each of its timers. */
export class TimerSlot {
  /** Absolute due time (ms on the scheduler's clock). */
  due = 0;
  /** Bucket (tick) the slot is linked into, or -1 when not armed. */
  tick = -1;
  prev: TimerSlot | undefined = undefined;
  next: TimerSlot | undefined = undefined;
  constructor(readonly owner: TimerOwner) {}
  get armed(): boolean {
    return this.tick >= 0;
  }
}

export interface Scheduler {
  now(): number;
  /** Arm (or re-arm) `slot` to fire after delayMs, rounded up to the wheel's tick. */
  arm(slot: TimerSlot, delayMs: number): void;
  /** Disarm `slot`: unlinked at once, nothing of it stays in the wheel. */
  disarm(slot: TimerSlot | undefined): void;
  /** Slots armed and not yet fired. */
  pending(): number;
}

export class TimerWheel implements Scheduler {
  /** Head of each non-empty bucket's list, by tick. */
  private readonly buckets = new Map<number, TimerSlot>();
  private lastTick: number;
  private live = 0;
  /** Told when the wheel goes from empty to non-empty (the real-time driver starts ticking). */
  onBusy: (() => void) | undefined;

  constructor(
    private readonly clock: () => number,
    readonly tickMs = 10,
  ) {
    this.lastTick = Math.floor(clock() / tickMs);
  }

  now(): number {
    return this.clock();
  }

  arm(slot: TimerSlot, delayMs: number): void {
    if (slot.armed) this.unlink(slot);
    if (this.live === 0) {
      // Nothing pending: nothing can be due before now, so skip the idle ticks at once.
      this.lastTick = Math.max(this.lastTick, Math.floor(this.clock() / this.tickMs));
    }
    const due = this.clock() + Math.max(0, delayMs);
    const tick = Math.max(this.lastTick + 1, Math.ceil(due / this.tickMs));
    slot.due = due;
    slot.tick = tick;
    const head = this.buckets.get(tick);
    slot.prev = undefined;
    slot.next = head;
    if (head) head.prev = slot;
    this.buckets.set(tick, slot);
    if (this.live++ === 0) this.onBusy?.();
  }

  disarm(slot: TimerSlot | undefined): void {
    if (slot?.armed) this.unlink(slot);
  }

  private unlink(slot: TimerSlot): void {
    const { prev, next } = slot;
    if (next) next.prev = prev;
    if (prev) prev.next = next;
    else if (next) this.buckets.set(slot.tick, next);
    else this.buckets.delete(slot.tick);
    slot.prev = slot.next = undefined;
    slot.tick = -1;
    this.live--;
  }

  pending(): number {
    return this.live;
  }

  /** Buckets held (each holds at least one armed slot): shows that nothing cancelled lingers. */
  bucketCount(): number {
    return this.buckets.size;
  }

  /** Every slot linked into the wheel, counted by walking the buckets (for tests). */
  linkedSlots(): number {
    let n = 0;
    for (const head of this.buckets.values()) for (let s: TimerSlot | undefined = head; s; s = s.next) n++;
    return n;
  }

  /** Fire everything due up to the clock's now. Returns how many timers fired. */
  advance(): number {
    const nowTick = Math.floor(this.clock() / this.tickMs);
    let fired = 0;
    while (this.lastTick < nowTick) {
      if (this.live === 0) {
        this.lastTick = nowTick;
        break;
      }
      this.lastTick++;
      // Unlink one slot at a time: a firing owner may re-arm or disarm others in this bucket.
      for (let s = this.buckets.get(this.lastTick); s; s = this.buckets.get(this.lastTick)) {
        this.unlink(s);
        fired++;
        s.owner.onTimer();
      }
    }
    return fired;
  }
}

/**
 * A wheel driven by the real clock. The interval runs only while timers are pending: an idle
 * proxy (no calls) gets no wake-ups at all. Unref'd so it never keeps a process alive.
 */
export function startRealWheel(tickMs = 10): { wheel: TimerWheel; stop(): void } {
  const wheel = new TimerWheel(() => performance.now(), tickMs);
  let handle: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = (): void => {
    wheel.advance();
    if (wheel.pending() === 0 && handle) {
      clearInterval(handle);
      handle = undefined;
    }
  };
  wheel.onBusy = () => {
    if (handle || stopped) return;
    handle = setInterval(tick, tickMs);
    handle.unref();
  };
  return {
    wheel,
    stop: () => {
      stopped = true;
      if (handle) clearInterval(handle);
      handle = undefined;
    },
  };
}

/** A hand-driven clock for tests. */
export class FakeClock {
  t = 1_000_000;
  readonly wheel = new TimerWheel(() => this.t, 1);
  /** Move time forward in steps so timers scheduled by fired timers also run in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + 1);
      this.wheel.advance();
    }
  }
}
