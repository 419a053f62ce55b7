// The capacity engine hands the search what the row says about the test bed and the achieved rate,
// and picks the trial length by the convergence rules.
import { describe, expect, it } from 'vitest';
import { trialCallsAt, trialOutcome } from '../engine/capacity-engine.js';
import { baseRow } from '../records/point-row.js';

const point = { pointId: 'p', target: 'forkbench', mode: 'centralized', parse: 'full', groupSize: 16, forkNodes: 0, rate: 40, trial: 1 } as const;

describe('trialOutcome', () => {
  it('passes on the test-bed reason and the achieved rate', () => {
    const row = { ...baseRow(point, 1), window_s: 10, ser: 1, setup_p95_us: 30_000, status: 'ok', achieved_rate_cps: 39.4, testbed_bound: 1, flagged: 1, flag_reason: 'capture dropped 213 packets (kernel); test bed bound: machine 91% busy (> 90%); capture dropped 213 packets' };
    expect(trialOutcome(row, 40)).toMatchObject({ ok: true, ser: 1, achievedRate: 39.4, testbedBound: 'machine 91% busy (> 90%); capture dropped 213 packets' });
    const fine = { ...row, testbed_bound: 0, flag_reason: '' };
    expect(trialOutcome(fine, 40).testbedBound).toBeUndefined();
  });
});

describe('trialCallsAt', () => {
  it('auto: a 10 s window, or 1,000 calls when that comes sooner; an explicit count wins', () => {
    expect(trialCallsAt({ trialCalls: 0 }, 40)).toBe(400);
    expect(trialCallsAt({ trialCalls: 0 }, 250)).toBe(1000);
    expect(trialCallsAt({ trialCalls: 300 }, 250)).toBe(300);
  });
});
