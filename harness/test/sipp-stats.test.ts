// The SIPp output readers, on files produced by real SIPp runs (ports 15100-15199) and on
// small inline samples for the pure parsers.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSipp, waitUntilUdpBound, type SippProcess } from '../testbed/load/sipp.js';
import { parseFinalCodes, parseSippRtt, readSippRttFile, readSippStatFile, sippDateEpochMs, sippDurationMs } from '../measure/sipp-stats.js';

const started: SippProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop(1000)));
});

describe('pure parsers', () => {
  it('reads SIPp durations and dates', () => {
    expect(sippDurationMs('00:00:00:055000')).toBe(55);
    expect(sippDurationMs('01:02:03:000250')).toBeCloseTo(3_723_000.25, 6);
    expect(() => sippDurationMs('55')).toThrow();
    expect(sippDateEpochMs('2026-11-25\t12:33:17.711085\t1795609997.711085')).toBeCloseTo(1795609997711.085, 1);
  });

  it('reads rtt lines relative or absolute', () => {
    const text = 'Date_ms;response_time_ms;rtd_no\n508.001;4;ringing\n560.001;56;setup\n';
    expect(parseSippRtt(text)).toEqual([
      { dateMs: 508.001, responseTimeMs: 4, rtdName: 'ringing' },
      { dateMs: 560.001, responseTimeMs: 56, rtdName: 'setup' },
    ]);
    expect(parseSippRtt(text, 1000)[1].dateMs).toBeCloseTo(1560.001, 6);
  });

  it('counts the final codes of caller-expect-fail', () => {
    expect(parseFinalCodes('final 1-9@127.0.0.1 486\nfinal 2-9@127.0.0.1 487\nfinal 3-9@127.0.0.1 486\n')).toEqual({ '486': 2, '487': 1 });
  });
});

describe('files written by real SIPp runs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'forkbench-sipp-stats-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('successful run: totals, named response times, rtt samples', async () => {
    const uas = startSipp({ role: 'answerer', localPort: 15110, calls: 10, ringMs: 30, outDir: dir, name: 'member-01', timeoutS: 20 });
    started.push(uas);
    await waitUntilUdpBound(15110);
    const t0 = Date.now();
    const uac = startSipp({ role: 'caller', localPort: 15111, remote: '127.0.0.1:15110', service: 'g1', calls: 10, rate: 50, outDir: dir, name: 'caller', timeoutS: 20 });
    started.push(uac);
    const exit = await uac.done;
    const t1 = Date.now();
    expect(exit.code).toBe(0);

    const stats = await readSippStatFile(join(dir, 'caller_stat.csv'));
    expect(stats.totalCalls).toBe(10);
    expect(stats.successfulCalls).toBe(10);
    expect(stats.failedCalls).toBe(0);
    expect(stats.retransmissions).toBe(0);
    expect(stats.raw['SuccessfulCall(C)']).toBe('10');
    expect(stats.responseTimeMs.setup.mean).toBeGreaterThanOrEqual(25); // 30 ms ring, ms clock
    expect(stats.responseTimeMs.setup.mean).toBeLessThan(200);
    expect(stats.responseTimeMs.ringing.mean).toBeLessThan(stats.responseTimeMs.setup.mean);
    expect(stats.startEpochMs).toBeGreaterThan(t0 - 2000);

    const rtt = await readSippRttFile(join(dir, 'caller_rtt.csv'));
    const setup = rtt.filter((r) => r.rtdName === 'setup');
    expect(setup).toHaveLength(10);
    expect(rtt.filter((r) => r.rtdName === 'ringing')).toHaveLength(10);
    // SIPp's cumulative mean is the samples' mean in whole milliseconds (truncated).
    const mean = setup.reduce((a, r) => a + r.responseTimeMs, 0) / setup.length;
    expect(Math.abs(mean - stats.responseTimeMs.setup.mean)).toBeLessThan(1);
    // Absolute dates, within the run.
    for (const r of rtt) {
      expect(r.dateMs).toBeGreaterThan(t0 - 1000);
      expect(r.dateMs).toBeLessThan(t1 + 1000);
    }
    await uas.done;
  });

  it('failed run: causes come from the Failed*(C) columns', async () => {
    // Nothing listens on 15121: the INVITE is retransmitted once and the call fails.
    const uac = startSipp({
      role: 'caller',
      localPort: 15120,
      remote: '127.0.0.1:15121',
      service: 'g1',
      calls: 1,
      outDir: dir,
      name: 'caller-fail',
      timeoutS: 20,
      extraArgs: ['-max_invite_retrans', '1'],
    });
    started.push(uac);
    const exit = await uac.done;
    expect(exit.code).toBe(1);
    expect(readFileSync(exit.errFile!, 'utf8')).toMatch(/Max retransmission|retrans/i);
    const stats = await readSippStatFile(exit.statFile as string);
    expect(stats.totalCalls).toBe(1);
    expect(stats.successfulCalls).toBe(0);
    expect(stats.failedCalls).toBe(1);
    expect(stats.failuresByCause).toEqual({ FailedMaxUDPRetrans: 1 });
    expect(stats.responseTimeMs.setup.mean).toBe(0);
  });
});
