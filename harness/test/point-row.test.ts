// The pure row builder: every column of points.csv from hand-made raw measurements.
import { describe, expect, it } from 'vitest';
import type { SweepPoint } from '../plan/bench-config.js';
import { POINT_COLUMNS } from '../records/columns.js';
import type { WindowSample } from '../measure/cpu-sampler.js';
import type { UdpPacket } from '../measure/pcap.js';
import { baseRow, buildPointRow, callsAnsweredWithin, totalMessages, type PointMeasurements } from '../records/point-row.js';
import type { RttSample } from '../measure/sipp-stats.js';
import { sipRequest, sipResponse } from './sip-test-messages.js';

// 3 calls in a 5 s window: offered 0.6 calls/s, so the caller achieves the offered rate (test-bed guard).
const point: SweepPoint = { pointId: 'forkbench/distributed/lazy/n4/r0.6/t1', target: 'forkbench', mode: 'distributed', parse: 'lazy', groupSize: 4, forkNodes: 2, rate: 0.6, trial: 1 };
const START_US = 1_700_000_000_000_000;
const WINDOW = { startUs: START_US, endUs: START_US + 5_000_000 }; // 5 s

const cpu = (cpuUs: number, wallUs = 5_000_000, peakRssKb = 50_000): WindowSample => ({ ok: true, pid: 1, pids: [1], cpuUs, wallUs, cpuPct: (cpuUs / wallUs) * 100, peakRssKb, rssKb: 40_000 });
const CALLER = 5100;
const pkt = (tsUs: number, payload: Buffer, fromCaller: boolean): UdpPacket => ({
  tsUs,
  srcIp: '127.0.0.1',
  dstIp: '127.0.0.1',
  srcPort: fromCaller ? CALLER : 5060,
  dstPort: fromCaller ? 5060 : CALLER,
  payload,
});

/** Calls in the capture: each INVITE at `at`, 180 after `ring` us, final `status` after `setup` us. */
function calls(list: { at: number; ring?: number; setup?: number; status?: number }[]): UdpPacket[] {
  const out: UdpPacket[] = [];
  list.forEach((c, i) => {
    const id = `call-${i}`;
    out.push(pkt(START_US + c.at, sipRequest('INVITE', id, 1), true));
    if (c.ring !== undefined) out.push(pkt(START_US + c.at + c.ring, sipResponse(180, 'Ringing', id, 1), false));
    if (c.setup !== undefined) out.push(pkt(START_US + c.at + c.setup, sipResponse(c.status ?? 200, c.status && c.status >= 300 ? 'Busy Here' : 'OK', id, 1), false));
  });
  return out.sort((a, b) => a.tsUs - b.tsUs);
}

const rtt = (setupMs: number[], atUs = START_US + 1000): RttSample[] => setupMs.map((ms) => ({ dateMs: atUs / 1000, responseTimeMs: ms, rtdName: 'setup' }));

function measurements(over: Partial<PointMeasurements> = {}): PointMeasurements {
  return {
    point,
    warmupS: 1,
    window: WINDOW,
    sippStats: { successfulCalls: 120, failedCalls: 0, totalCalls: 120, retransmissions: 0, failuresByCause: {}, responseTimeMs: {}, raw: {} },
    sippRtt: rtt([1, 1, 2]),
    capture: {
      packets: calls([
        { at: 0, ring: 300, setup: 1000 },
        { at: 100_000, ring: 500, setup: 2000 },
        { at: 200_000, ring: 400, setup: 1500 },
      ]),
      callerPort: CALLER,
      truncated: false,
    },
    cpu: { central: cpu(300_000), forkNodes: [cpu(100_000), cpu(200_000)] },
    counters: { start: { received: { INVITE: 10 }, sent: { '200': 10 } }, end: { received: { INVITE: 40, '180': 20 }, sent: { '200': 30, INVITE: 26 } } },
    ...over,
  };
}

describe('buildPointRow', () => {
  it('fills every column from the capture, CPU and counters, status ok', () => {
    const row = buildPointRow(measurements());
    for (const c of POINT_COLUMNS) expect(row, c).toHaveProperty(c);
    expect(row).toMatchObject({
      point_id: point.pointId,
      target: 'forkbench',
      mode: 'distributed',
      parse: 'lazy',
      group_size: 4,
      fork_nodes: 2,
      offered_rate_cps: 0.6,
      warmup_s: 1,
      window_s: 5,
      calls_attempted: 120,
      calls_succeeded: 3,
      calls_failed: 0,
      fail_causes: '',
      ser: 1,
      achieved_rate_cps: 0.6,
      delay_source: 'pcap',
      ringing_mean_us: 400,
      ringing_p50_us: 400,
      ringing_p95_us: 500,
      setup_mean_us: 1500,
      setup_p50_us: 1500,
      setup_p95_us: 2000,
      setup_p99_us: 2000,
      setup_max_us: 2000,
      sipp_setup_mean_ms: 1.333,
      sipp_setup_p95_ms: 2,
      head_cpu_pct: 6,
      forknodes_cpu_pct: 6,
      total_cpu_pct: 12,
      cpu_us_per_call: 100_000,
      total_cpu_us_per_call: 200_000,
      head_peak_rss_kb: 50_000,
      // (40+20+30+26) - (10+10) = 96 messages over 3 attempted calls
      msgs_per_call: 32,
      flagged: 0,
      flag_reason: '',
      status: 'ok',
      error: '',
    });
  });

  it('counts only calls whose INVITE left inside the window', () => {
    const packets = calls([
      { at: -1000, ring: 100, setup: 2000 }, // warm-up call: before the window
      { at: 0, ring: 300, setup: 1000 },
      { at: 5_000_000, ring: 300, setup: 1000 }, // at the end: outside [start, end)
    ]);
    const row = buildPointRow(measurements({ capture: { packets, callerPort: CALLER, truncated: false } }));
    expect(row.calls_succeeded).toBe(1);
    expect(row.setup_max_us).toBe(1000);
  });

  it('fail_causes lists final statuses and unanswered calls as timeout; SER drops', () => {
    const packets = calls([{ at: 0, ring: 300, setup: 1000 }, { at: 1000, ring: 300, setup: 900, status: 486 }, { at: 2000, ring: 300, setup: 900, status: 486 }, { at: 3000, ring: 200 }]);
    const row = buildPointRow(measurements({ capture: { packets, callerPort: CALLER, truncated: false } }));
    expect(row.fail_causes).toBe('486:2;timeout:1');
    expect(row.calls_succeeded).toBe(1);
    expect(row.calls_failed).toBe(3);
    expect(row.ser).toBe(0.25);
    expect(row.status).toBe('ok'); // failed calls are a result, not a failed point
  });

  it('flags a row when SIPp and the capture disagree, and when the capture was truncated', () => {
    const far = buildPointRow(measurements({ sippRtt: rtt([9, 9, 9]) }));
    expect(far.flagged).toBe(1);
    expect(far.flag_reason).toBe('SIPp mean setup 9.00 ms vs capture 1.50 ms');
    const near = buildPointRow(measurements({ sippRtt: rtt([3, 3, 3]) })); // 1.5 ms apart: within 2 ms
    expect(near.flagged).toBe(0);
    const cut = buildPointRow(measurements({ sippRtt: rtt([9]), capture: { ...measurements().capture!, truncated: true } }));
    expect(cut.flag_reason).toBe('SIPp mean setup 9.00 ms vs capture 1.50 ms; capture truncated (last record cut short)');
    expect(cut.capture_truncated).toBe(1);
  });

  it('without a capture takes delays from SIPp (ms -> us) and failures from its counters', () => {
    const sippRtt: RttSample[] = [...rtt([1, 2, 3, 4]), { dateMs: (START_US + 2000) / 1000, responseTimeMs: 1, rtdName: 'ringing' }, ...rtt([50], START_US - 10_000)];
    const row = buildPointRow(
      measurements({
        capture: undefined,
        sippRtt,
        sippStats: { successfulCalls: 4, failedCalls: 2, totalCalls: 6, retransmissions: 0, failuresByCause: { FailedMaxUDPRetrans: 2, FailedCallRejected: 0 }, responseTimeMs: {}, raw: {} },
      }),
    );
    expect(row).toMatchObject({
      delay_source: 'sipp',
      calls_succeeded: 4,
      calls_failed: 2,
      fail_causes: 'FailedMaxUDPRetrans:2',
      ser: 0.6667,
      ringing_mean_us: 1000,
      setup_mean_us: 2500,
      setup_p50_us: 2000,
      setup_max_us: 4000, // the 50 ms sample is before the window
      flagged: 0,
    });
  });

  it('counts the calls of the window answered within a setup bound, from the capture or else from SIPp', () => {
    const m = measurements({
      capture: {
        packets: calls([
          { at: 0, ring: 300, setup: 150_000 },
          { at: 100_000, ring: 500, setup: 200_000 }, // exactly at the bound: in time
          { at: 200_000, ring: 400, setup: 450_000 }, // answered, but late
          { at: 300_000, ring: 400, setup: 50_000, status: 486 }, // fast, but not answered
          { at: 6_000_000, ring: 300, setup: 1000 }, // after the window
        ]),
        callerPort: CALLER,
        truncated: false,
      },
    });
    expect(callsAnsweredWithin(m, 200_000)).toBe(2);
    expect(callsAnsweredWithin(m, 500_000)).toBe(3);
    expect(callsAnsweredWithin({ ...m, capture: undefined, sippRtt: [...rtt([30, 199, 201, 5000]), ...rtt([1], START_US + 9_000_000)] }, 200_000)).toBe(2);
    expect(callsAnsweredWithin({ ...m, window: undefined }, 200_000)).toBeUndefined();
  });
  it('a point that never reached its window is the base row with the error', () => {
    const row = buildPointRow(measurements({ window: undefined, error: 'head exited at start:\n  EADDRINUSE' }));
    expect(row).toEqual(baseRow(point, 1, 'head exited at start: EADDRINUSE'));
    expect(row.status).toBe('failed');
    expect(row.window_s).toBeUndefined(); // capacity reads this as "the trial could not run"
  });

  it('a missing CPU sample fails the point and says why', () => {
    const gone: WindowSample = { ok: false, pid: 9, error: 'process 9 has exited before the window ended' };
    const row = buildPointRow(measurements({ cpu: { central: cpu(1), forkNodes: [cpu(1), gone] } }));
    expect(row.status).toBe('failed');
    expect(row.error).toBe('process 9 has exited before the window ended');
    expect(row.head_cpu_pct).toBeUndefined();
    expect(buildPointRow(measurements({ cpu: { forkNodes: [] } })).error).toBe('no CPU sample');
  });

  it('an error (a hung caller) keeps the measurements but fails the point', () => {
    const row = buildPointRow(measurements({ error: 'caller did not finish within the 60 s deadline (hung SIPp killed)' }));
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/hung SIPp killed/);
    expect(row.ser).toBe(1);
  });

  it('no counters (Kamailio): msgs_per_call stays empty; no successful call: CPU per call empty', () => {
    const row = buildPointRow(measurements({ counters: {} }));
    expect(row.msgs_per_call).toBeUndefined();
    const none = buildPointRow(measurements({ capture: { packets: calls([{ at: 0, ring: 10 }]), callerPort: CALLER, truncated: false } }));
    expect(none.cpu_us_per_call).toBe('');
    expect(none.ser).toBe(0);
    expect(totalMessages({ received: { INVITE: 2, ACK: 1 }, sent: { '100': 1 } })).toBe(4);
  });
});
