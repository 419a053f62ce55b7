// RFC 7502-style capacity search: the highest call rate a whole, fresh trial sustains while meeting
// the criterion (SER floor and p95 setup delay bound). Pure logic: the caller supplies runTrial, so
// this module knows nothing about SIPp or proxies and is tested with fake trial functions.
//
// Phase 1 (step-up): start at startRate and multiply by stepFactor until a trial fails or maxRate
// passes. Phase 2 (binary search): halve the interval between the highest passing and the lowest
// failing rate until they are within `resolution` calls/s. The reported capacity is always a rate
// that actually passed (the "proving trial"), never an interpolation.

export interface CapacitySearchOptions {
  startRate: number; // first rate tried, calls/s
  maxRate: number; // never tried above this; reported as capacity when it passes
  stepFactor: number; // step-up multiplier, > 1 (each step adds at least 1 call/s)
  resolution: number; // stop when first failing - last passing <= resolution (calls/s)
  minSer: number; // criterion: SER floor (0..1)
  maxP95SetupMs: number; // criterion: p95 setup delay bound
  maxTrials: number; // hard bound on trials run
}

export interface TrialOutcome {
  ser: number;
  setupP95Us: number;
  ok: boolean; // false when the trial did not complete (process died, timeout, ...)
  detail?: string;
}

export interface TrialRecord {
  rate: number;
  pass: boolean;
  ser: number;
  setupP95Us: number;
  detail?: string;
}

export interface CapacityResult {
  capacityCps: number; // 0 when no trial passed
  provingTrial?: TrialRecord; // the passing trial at capacityCps
  trials: TrialRecord[]; // in the order run
  stoppedBecause: string;
}

export type RunTrial = (rate: number) => Promise<TrialOutcome>;

/** The pass/fail criterion of one trial. */
export function meetsCriterion(outcome: TrialOutcome, opts: Pick<CapacitySearchOptions, 'minSer' | 'maxP95SetupMs'>): boolean {
  return (
    outcome.ok &&
    Number.isFinite(outcome.ser) &&
    Number.isFinite(outcome.setupP95Us) &&
    outcome.ser >= opts.minSer &&
    outcome.setupP95Us <= opts.maxP95SetupMs * 1000
  );
}

function validate(opts: CapacitySearchOptions): void {
  const intPos = (name: keyof CapacitySearchOptions): void => {
    const v = opts[name];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`capacity search: ${name} must be an integer >= 1 (got ${v})`);
  };
  intPos('startRate');
  intPos('maxRate');
  intPos('resolution');
  intPos('maxTrials');
  if (opts.startRate > opts.maxRate) throw new RangeError(`capacity search: startRate ${opts.startRate} > maxRate ${opts.maxRate}`);
  if (!(opts.stepFactor > 1) || !Number.isFinite(opts.stepFactor)) {
    throw new RangeError(`capacity search: stepFactor must be > 1 (got ${opts.stepFactor})`);
  }
  if (!(opts.minSer >= 0 && opts.minSer <= 1)) throw new RangeError(`capacity search: minSer must be in 0..1 (got ${opts.minSer})`);
  if (!(opts.maxP95SetupMs > 0)) throw new RangeError(`capacity search: maxP95SetupMs must be > 0 (got ${opts.maxP95SetupMs})`);
}

/** Next step-up rate: multiplied, at least +1, integer, capped at maxRate. */
export function nextStepRate(rate: number, stepFactor: number, maxRate: number): number {
  return Math.min(maxRate, Math.max(rate + 1, Math.round(rate * stepFactor)));
}

export async function searchCapacity(
  opts: CapacitySearchOptions,
  runTrial: RunTrial,
  onTrial?: (t: TrialRecord) => void,
): Promise<CapacityResult> {
  validate(opts);
  const trials: TrialRecord[] = [];
  let best: TrialRecord | undefined; // highest passing trial
  let lowestFail: number | undefined; // lowest failing rate

  const trial = async (rate: number): Promise<TrialRecord> => {
    const outcome = await runTrial(rate);
    const rec: TrialRecord = { rate, pass: meetsCriterion(outcome, opts), ser: outcome.ser, setupP95Us: outcome.setupP95Us };
    if (outcome.detail !== undefined) rec.detail = outcome.detail;
    trials.push(rec);
    if (rec.pass) {
      if (best === undefined || rate > best.rate) best = rec;
    } else if (lowestFail === undefined || rate < lowestFail) {
      lowestFail = rate;
    }
    onTrial?.(rec);
    return rec;
  };
  const result = (stoppedBecause: string): CapacityResult => {
    const r: CapacityResult = { capacityCps: best?.rate ?? 0, trials, stoppedBecause };
    if (best) r.provingTrial = best;
    return r;
  };

  // Phase 1: step up until the first failure.
  let rate = opts.startRate;
  for (;;) {
    if (trials.length >= opts.maxTrials) return result(`maxTrials (${opts.maxTrials}) reached during step-up at ${rate} cps`);
    const rec = await trial(rate);
    if (!rec.pass) break;
    if (rate >= opts.maxRate) return result(`maxRate ${opts.maxRate} cps passed`);
    rate = nextStepRate(rate, opts.stepFactor, opts.maxRate);
  }

  // Phase 2: binary search in (lo, hi): lo passed (0 = nothing passed yet), hi failed.
  // A non-monotone system (a lower rate failing after a higher one passed) only narrows hi further;
  // the capacity stays the highest rate that passed.
  for (;;) {
    const lo = best?.rate ?? 0;
    const hi = lowestFail!;
    if (hi <= lo) return result(`non-monotone: ${hi} cps failed at or below passing ${lo} cps`);
    if (hi - lo <= opts.resolution) {
      return result(lo === 0 ? `lowest rates failed (1..${hi} cps within resolution ${opts.resolution})` : `resolution ${opts.resolution} cps reached (pass ${lo}, fail ${hi})`);
    }
    const mid = Math.floor((lo + hi) / 2);
    if (mid <= lo || mid < 1) return result(`no integer rate between ${lo} and ${hi} cps`);
    if (trials.length >= opts.maxTrials) return result(`maxTrials (${opts.maxTrials}) reached (pass ${lo}, fail ${hi})`);
    await trial(mid);
  }
}
