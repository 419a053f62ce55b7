import { describe, expect, it } from 'vitest';
import { meetsCriterion, nextStepRate, searchCapacity, type CapacitySearchOptions, type TrialOutcome } from '../capacity-search.js';

const base: CapacitySearchOptions = {
  startRate: 10,
  maxRate: 1000,
  stepFactor: 2,
  resolution: 5,
  minSer: 1,
  maxP95SetupMs: 50,
  maxTrials: 30,
};

// A fake system: full SER and fast setup up to `threshold` cps, then setup delay blows up.
function thresholdSystem(threshold: number): { run: (rate: number) => Promise<TrialOutcome>; rates: number[] } {
  const rates: number[] = [];
  return {
    rates,
    run: async (rate) => {
      rates.push(rate);
      return rate <= threshold ? { ok: true, ser: 1, setupP95Us: 2_000 } : { ok: true, ser: 1, setupP95Us: 400_000 };
    },
  };
}

describe('searchCapacity', () => {
  it('finds a threshold at 137 cps within the resolution, proving trial passed', async () => {
    const sys = thresholdSystem(137);
    const seen: number[] = [];
    const r = await searchCapacity(base, sys.run, (t) => seen.push(t.rate));
    expect(r.capacityCps).toBeLessThanOrEqual(137);
    expect(137 - r.capacityCps).toBeLessThan(base.resolution);
    expect(r.provingTrial?.rate).toBe(r.capacityCps);
    expect(r.provingTrial?.pass).toBe(true);
    // Some trial just above capacity failed, within the resolution.
    const fails = r.trials.filter((t) => !t.pass).map((t) => t.rate);
    expect(Math.min(...fails) - r.capacityCps).toBeLessThanOrEqual(base.resolution);
    expect(seen).toEqual(sys.rates);
    expect(r.trials.map((t) => t.rate)).toEqual(sys.rates);
    // Step-up phase is 10, 20, 40, 80, 160 (first failure), then the search stays inside (80, 160).
    expect(sys.rates.slice(0, 5)).toEqual([10, 20, 40, 80, 160]);
    for (const x of sys.rates.slice(5)) {
      expect(x).toBeGreaterThan(80);
      expect(x).toBeLessThan(160);
    }
    expect(r.trials.length).toBeLessThanOrEqual(base.maxTrials);
    expect(r.stoppedBecause).toMatch(/resolution/);
  });

  it('is monotone in the threshold and exact with resolution 1', async () => {
    let prev = 0;
    for (const threshold of [3, 17, 64, 137, 138, 500, 999]) {
      const r = await searchCapacity({ ...base, startRate: 1, resolution: 1 }, thresholdSystem(threshold).run);
      expect(r.capacityCps).toBe(threshold);
      expect(r.capacityCps).toBeGreaterThanOrEqual(prev);
      prev = r.capacityCps;
    }
  });

  it('reports 0 when every trial fails', async () => {
    const r = await searchCapacity(base, async () => ({ ok: true, ser: 0.5, setupP95Us: 1_000 }));
    expect(r.capacityCps).toBe(0);
    expect(r.provingTrial).toBeUndefined();
    expect(r.trials.every((t) => !t.pass)).toBe(true);
    expect(r.trials[0]!.rate).toBe(base.startRate);
    expect(Math.min(...r.trials.map((t) => t.rate))).toBeLessThanOrEqual(base.resolution);
  });

  it('reports maxRate when every trial passes, never trying above it', async () => {
    const rates: number[] = [];
    const r = await searchCapacity({ ...base, maxRate: 300 }, async (rate) => {
      rates.push(rate);
      return { ok: true, ser: 1, setupP95Us: 10 };
    });
    expect(r.capacityCps).toBe(300);
    expect(Math.max(...rates)).toBe(300);
    expect(rates).toEqual([10, 20, 40, 80, 160, 300]);
    expect(r.stoppedBecause).toMatch(/maxRate/);
  });

  it('never runs more than maxTrials', async () => {
    const sys = thresholdSystem(137);
    const r = await searchCapacity({ ...base, startRate: 1, resolution: 1, maxTrials: 6 }, sys.run);
    expect(sys.rates.length).toBe(6);
    expect(r.trials.length).toBe(6);
    expect(r.stoppedBecause).toMatch(/maxTrials/);
    // Still reports the best rate proven so far.
    expect(r.capacityCps).toBe(Math.max(...r.trials.filter((t) => t.pass).map((t) => t.rate)));
  });

  it('uses integer rates with a fractional step factor', async () => {
    const sys = thresholdSystem(137);
    const r = await searchCapacity({ ...base, startRate: 3, stepFactor: 1.3 }, sys.run);
    expect(sys.rates.every((x) => Number.isInteger(x))).toBe(true);
    expect(137 - r.capacityCps).toBeLessThan(base.resolution);
  });

  it('treats an incomplete trial (ok=false) as failing and keeps its detail', async () => {
    const r = await searchCapacity({ ...base, maxRate: 40 }, async (rate) =>
      rate >= 20 ? { ok: false, ser: 1, setupP95Us: 10, detail: 'sipp exited 99' } : { ok: true, ser: 1, setupP95Us: 10 },
    );
    expect(r.capacityCps).toBeGreaterThanOrEqual(15);
    expect(r.capacityCps).toBeLessThan(20);
    expect(r.trials.find((t) => t.rate === 20)?.detail).toBe('sipp exited 99');
  });

  it('rejects invalid options', async () => {
    const run = async (): Promise<TrialOutcome> => ({ ok: true, ser: 1, setupP95Us: 1 });
    await expect(searchCapacity({ ...base, stepFactor: 1 }, run)).rejects.toThrow(/stepFactor/);
    await expect(searchCapacity({ ...base, startRate: 2000 }, run)).rejects.toThrow(/maxRate/);
    await expect(searchCapacity({ ...base, resolution: 0 }, run)).rejects.toThrow(/resolution/);
    await expect(searchCapacity({ ...base, maxTrials: 0 }, run)).rejects.toThrow(/maxTrials/);
  });
});

describe('criterion helpers', () => {
  it('meetsCriterion checks SER floor and p95 bound (ms -> us)', () => {
    const c = { minSer: 0.99, maxP95SetupMs: 50 };
    expect(meetsCriterion({ ok: true, ser: 1, setupP95Us: 50_000 }, c)).toBe(true);
    expect(meetsCriterion({ ok: true, ser: 1, setupP95Us: 50_001 }, c)).toBe(false);
    expect(meetsCriterion({ ok: true, ser: 0.98, setupP95Us: 1 }, c)).toBe(false);
    expect(meetsCriterion({ ok: false, ser: 1, setupP95Us: 1 }, c)).toBe(false);
    expect(meetsCriterion({ ok: true, ser: Number.NaN, setupP95Us: 1 }, c)).toBe(false);
  });
  it('nextStepRate multiplies, adds at least one, caps at maxRate', () => {
    expect(nextStepRate(10, 2, 1000)).toBe(20);
    expect(nextStepRate(1, 1.2, 1000)).toBe(2);
    expect(nextStepRate(600, 2, 1000)).toBe(1000);
  });
});
