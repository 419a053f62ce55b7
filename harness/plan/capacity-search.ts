// RFC 7502-style capacity search: the highest call rate a whole, fresh trial sustains while meeting
// the criterion (SER floor and p95 setup delay bound). Pure logic: the caller supplies runTrial, so
// this module knows nothing about SIPp or proxies and is tested with fake trial functions.
//
// Phase 1 (step-up): start at startRate and multiply by stepFactor until a trial fails or maxRate
// passes. Phase 2 (binary search): halve the interval between the highest passing and the lowest
// failing rate until they are within `resolution` calls/s. The reported capacity is always a rate
// that actually passed (the "proving trial"), never an interpolation.
//
// Convergence rules (issue 10): each trial measures at least 10 s (or 1,000 calls, see
// checkTrialLength); the final rate is run once more as a confirmation trial; a trial the test bed
// could not carry (testbedBound) is never the proxy's failure: the search stops there and reports no
// number. The stop reason is one of STOP_REASONS, with a sentence of detail.
//
// A rate is settled by the majority of its trials (at most 3). At the knee a trial is a coin flip:
// when "one failure excludes the rate", a search whose confirmation failed at 53, then at 51, then
// at 50 walked down to 25 (make capacity, Dec 7). Now a confirmation that fails makes a tie, and
// one more trial at that rate breaks it: 2 of 3 passed holds the rate, 2 of 3 failed excludes it.
// A rate tried once has the verdict of that trial, so a single failure still bounds the search.

export interface CapacitySearchOptions {
  startRate: number; // first rate tried, calls/s
  maxRate: number; // never tried above this; reported as capacity when it passes
  stepFactor: number; // step-up multiplier, > 1 (each step adds at least 1 call/s)
  resolution: number; // stop when first failing - last passing <= resolution (calls/s)
  resolutionPct?: number; // ... or <= this % of the first failing rate, when that is finer (never below 1 call/s)
  minSer: number; // criterion: SER floor (0..1)
  maxP95SetupMs: number; // criterion: p95 setup delay bound
  maxTrials: number; // hard bound on trials run (confirmation trials included)
  confirm?: boolean; // run a confirmation trial at the final rate (default true)
}

/** Why a search stopped: resolution reached, trial cap, test bed bound, or the rate bounds. */
export const STOP_REASONS = ['resolution', 'trial-cap', 'testbed-bound', 'max-rate', 'nothing-passed', 'trial-error'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** Shortest trial that can judge a rate: a window of 10 s, or 1,000 calls when that comes sooner. */
export const MIN_TRIAL_WINDOW_S = 10;
export const MIN_TRIAL_CALLS = 1000;
/**
 * Warm-up of every capacity and overload trial, before its window. A trial is a fresh process: at
 * 1 s its window began while V8 was still compiling the hot path (see budgeted.ts); 3 s at the
 * trial's rate, unthrottled, leaves the window to the warmed proxy.
 */
export const TRIAL_WARMUP_S = 3;

/** Measured calls for a trial at `rate`: enough for a 10 s window (never fewer than 1 call). */
export function trialCallsFor(rate: number, minWindowS = MIN_TRIAL_WINDOW_S): number {
  return Math.max(1, Math.ceil(rate * minWindowS));
}

/** Undefined when `calls` at `rate` is a long enough trial, else why not (and the fix). */
export function checkTrialLength(rate: number, calls: number): string | undefined {
  if (calls >= MIN_TRIAL_CALLS || calls / rate >= MIN_TRIAL_WINDOW_S) return undefined;
  return `a trial of ${calls} calls at ${rate} calls/s measures ${(calls / rate).toFixed(1)} s: use at least ${MIN_TRIAL_WINDOW_S} s (${trialCallsFor(rate)} calls) or ${MIN_TRIAL_CALLS} calls`;
}

export interface TrialOutcome {
  ser: number;
  setupP95Us: number;
  ok: boolean; // false when the trial did not complete (process died, timeout, ...)
  detail?: string;
  achievedRate?: number; // calls/s the caller really placed in the window
  testbedBound?: string; // set when the test bed, not the proxy, limited the trial (the reason)
}

export interface TrialRecord {
  rate: number;
  pass: boolean;
  ser: number;
  setupP95Us: number;
  detail?: string;
  achievedRate?: number;
  confirmation?: boolean; // the trial re-ran a rate that had passed (a confirmation or a tie-break)
  testbedBound?: string;
}

export interface CapacityResult {
  capacityCps: number | undefined; // undefined when the test bed bound the search (no number); 0 when nothing passed
  provingTrial?: TrialRecord; // the passing trial at capacityCps (the confirmation when there was one)
  lowerBoundCps?: number; // test-bed bound: the highest rate the proxy held before the test bed gave out
  confirmed: boolean; // capacityCps held in a majority of at least 2 trials (a confirmation passed)
  trials: TrialRecord[]; // in the order run
  stopReason: StopReason;
  stoppedBecause: string; // the reason in a sentence
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
  const intPos = (name: 'startRate' | 'maxRate' | 'resolution' | 'maxTrials'): void => {
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
  const pct = opts.resolutionPct ?? 0;
  if (!(pct >= 0 && pct < 100)) throw new RangeError(`capacity search: resolutionPct must be in 0..100 (got ${pct})`);
  if (!(opts.minSer >= 0 && opts.minSer <= 1)) throw new RangeError(`capacity search: minSer must be in 0..1 (got ${opts.minSer})`);
  if (!(opts.maxP95SetupMs > 0)) throw new RangeError(`capacity search: maxP95SetupMs must be > 0 (got ${opts.maxP95SetupMs})`);
}

/**
 * The resolution where the first failing rate is `hi`: the absolute one, or `resolutionPct` % of
 * `hi` when that is finer (never below 1 call/s). A fixed 10 calls/s is 40 % of a 25 calls/s
 * capacity: two runs could not agree within 10 % at N = 32 by construction.
 */
export function resolutionAt(hi: number, opts: Pick<CapacitySearchOptions, 'resolution' | 'resolutionPct'>): number {
  const pct = opts.resolutionPct ?? 0;
  return pct > 0 ? Math.max(1, Math.min(opts.resolution, (hi * pct) / 100)) : opts.resolution;
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
  const confirm = opts.confirm ?? true;
  const trials: TrialRecord[] = [];
  const tally = new Map<number, { pass: number; fail: number }>(); // per rate, the proxy's verdicts
  let bound: TrialRecord | undefined; // the trial the test bed could not carry

  const trial = async (rate: number, confirmation = false): Promise<TrialRecord> => {
    const outcome = await runTrial(rate);
    const rec: TrialRecord = { rate, pass: !outcome.testbedBound && meetsCriterion(outcome, opts), ser: outcome.ser, setupP95Us: outcome.setupP95Us };
    if (outcome.detail !== undefined) rec.detail = outcome.detail;
    if (outcome.achievedRate !== undefined) rec.achievedRate = outcome.achievedRate;
    if (confirmation) rec.confirmation = true;
    if (outcome.testbedBound) {
      rec.testbedBound = outcome.testbedBound;
      bound = rec;
    } else {
      const t = tally.get(rate) ?? { pass: 0, fail: 0 };
      if (rec.pass) t.pass++;
      else t.fail++;
      tally.set(rate, t);
    }
    trials.push(rec);
    onTrial?.(rec);
    return rec;
  };
  const passes = (rate: number): number => tally.get(rate)?.pass ?? 0;
  const fails = (rate: number): number => tally.get(rate)?.fail ?? 0;
  const held = (rate: number): boolean => passes(rate) > fails(rate); // the majority passed
  const failed = (rate: number): boolean => fails(rate) > passes(rate); // the majority failed
  // The rate the search stands on: the highest not failed (a tie is still open, to be broken).
  const standing = (): number => Math.max(0, ...[...tally.keys()].filter((r) => !failed(r)));
  // The highest rate held, with its last passing trial (a confirmation's when there is one).
  const best = (): TrialRecord | undefined => {
    const rate = Math.max(0, ...[...tally.keys()].filter(held));
    return rate > 0 ? trials.filter((t) => t.rate === rate && t.pass).at(-1) : undefined;
  };
  const lowestFail = (): number | undefined => {
    const f = [...tally.keys()].filter(failed);
    return f.length ? Math.min(...f) : undefined;
  };
  const confirmedAt = (rate: number): boolean => passes(rate) >= 2 && held(rate);

  const result = (stopReason: StopReason, sentence: string): CapacityResult => {
    const b = best();
    if (stopReason === 'testbed-bound') {
      const r: CapacityResult = { capacityCps: undefined, confirmed: false, trials, stopReason, stoppedBecause: sentence };
      if (b) r.lowerBoundCps = b.rate;
      return r;
    }
    const r: CapacityResult = { capacityCps: b?.rate ?? 0, confirmed: b ? confirmedAt(b.rate) : false, trials, stopReason, stoppedBecause: sentence };
    if (b) r.provingTrial = b;
    return r;
  };
  const boundResult = (): CapacityResult =>
    result('testbed-bound', `test bed bound at ${bound!.rate} cps (${bound!.testbedBound}): no capacity stated, the limit was not the proxy's`);

  // Phase 1: step up until the first failure.
  let rate = opts.startRate;
  for (;;) {
    if (trials.length >= opts.maxTrials) return result('trial-cap', `maxTrials (${opts.maxTrials}) reached during step-up at ${rate} cps`);
    const rec = await trial(rate);
    if (bound) return boundResult();
    if (!rec.pass) break;
    if (rate >= opts.maxRate) break;
    rate = nextStepRate(rate, opts.stepFactor, opts.maxRate);
  }

  const fmtRes = (hi: number): string => String(Math.round(resolutionAt(hi, opts) * 100) / 100);
  // Phase 2: binary search in (lo, hi): lo passed (0 = nothing passed yet), hi failed; then confirm lo.
  // A non-monotone system (a lower rate failing after a higher one passed) only narrows hi further;
  // the capacity stays the highest rate held by the majority of its trials.
  for (;;) {
    const lo = standing();
    const hi = lowestFail();
    let done: [StopReason, string] | undefined;
    if (hi === undefined) done = ['max-rate', `maxRate ${opts.maxRate} cps passed`];
    else if (lo === 0 && hi - lo <= resolutionAt(hi, opts)) done = ['nothing-passed', `lowest rates failed (1..${hi} cps within resolution ${fmtRes(hi)})`];
    else if (hi - lo <= resolutionAt(hi, opts) || Math.floor((lo + hi) / 2) <= lo) done = ['resolution', `resolution ${fmtRes(hi)} cps reached (pass ${lo}, fail ${hi})`];
    if (done) {
      if (!confirm || lo === 0 || confirmedAt(lo)) {
        const of = passes(lo) + fails(lo);
        return result(done[0], done[1] + (lo > 0 && confirm ? `; confirmed at ${lo} cps${of > 2 ? ` (held in ${passes(lo)} of ${of} trials)` : ''}` : ''));
      }
      if (trials.length >= opts.maxTrials) return result('trial-cap', `maxTrials (${opts.maxTrials}) reached before confirming ${lo} cps (pass ${lo}, fail ${hi ?? '-'})`);
      await trial(lo, true);
      if (bound) return boundResult();
      continue; // 2 of 2 or 2 of 3 passed: the next round returns; a tie: one more trial; 2 failed: search below
    }
    if (trials.length >= opts.maxTrials) return result('trial-cap', `maxTrials (${opts.maxTrials}) reached (pass ${lo}, fail ${hi})`);
    await trial(Math.floor((lo + hi!) / 2));
    if (bound) return boundResult();
  }
}
