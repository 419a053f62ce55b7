// Timers for SIP transactions. At 100 calls/s and N=32 a proxy holds tens of thousands of
// pending timers (Timer D alone lasts 32 s); one Node timer each costs more than a coarse wheel
// driven by a single interval. The wheel is also what makes the state machines testable: a fake
// clock advances it by hand (FakeClock below), so tests need no real waiting.

export interface Timer {
  due: number;
  fn: () => void;
  cancelled: boolean;
}

export interface Scheduler {
  now(): number;
  /** Run fn after delayMs (rounded up to the wheel's tick). */
  schedule(delayMs: number, fn: () => void): Timer;
  cancel(timer: Timer | undefined): void;
  /** Timers not yet fired nor cancelled. */
  pending(): number;
}

export class TimerWheel implements Scheduler {
  private readonly buckets = new Map<number, Timer[]>();
  private lastTick: number;
  private live = 0;

  constructor(
    private readonly clock: () => number,
    private readonly tickMs = 10,
  ) {
    this.lastTick = Math.floor(clock() / tickMs);
  }

  now(): number {
    return this.clock();
  }

  schedule(delayMs: number, fn: () => void): Timer {
    const due = this.clock() + Math.max(0, delayMs);
    const timer: Timer = { due, fn, cancelled: false };
    const tick = Math.max(this.lastTick + 1, Math.ceil(due / this.tickMs));
    const bucket = this.buckets.get(tick);
    if (bucket) bucket.push(timer);
    else this.buckets.set(tick, [timer]);
    this.live++;
    return timer;
  }

  cancel(timer: Timer | undefined): void {
    if (timer && !timer.cancelled) {
      timer.cancelled = true;
      this.live--;
    }
  }

  pending(): number {
    return this.live;
  }

  /** Fire everything due up to the clock's now. Returns how many timers fired. */
  advance(): number {
    const nowTick = Math.floor(this.clock() / this.tickMs);
    let fired = 0;
    while (this.lastTick < nowTick) {
      this.lastTick++;
      const bucket = this.buckets.get(this.lastTick);
      if (!bucket) continue;
      this.buckets.delete(this.lastTick);
      for (const t of bucket) {
        if (t.cancelled) continue;
        t.cancelled = true;
        this.live--;
        fired++;
        t.fn();
      }
    }
    return fired;
  }
}

/** A wheel driven by the real clock: one interval, unref'd so it never keeps a process alive. */
export function startRealWheel(tickMs = 10): { wheel: TimerWheel; stop(): void } {
  const wheel = new TimerWheel(() => performance.now(), tickMs);
  const handle = setInterval(() => wheel.advance(), tickMs);
  handle.unref();
  return { wheel, stop: () => clearInterval(handle) };
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
