// The --cpu-prof summary: self time per function from samples and time deltas, idle left out.
import { describe, expect, it } from 'vitest';
import { formatTop, topSelfTime, type CpuProfile } from '../measure/cpuprofile.js';

const node = (id: number, functionName: string, url = '', lineNumber = 0) => ({ id, callFrame: { functionName, url, lineNumber } });
const profile: CpuProfile = {
  nodes: [node(1, '(root)'), node(2, '(idle)'), node(3, 'parseSip', 'file:///w/dist/proxy/sip-parser.js', 41), node(4, '', 'file:///w/dist/proxy/fork.js', 9), node(5, '(garbage collector)'), node(6, 'parseSip', 'file:///w/dist/proxy/sip-parser.js', 41)],
  samples: [2, 3, 3, 4, 5, 6, 2],
  timeDeltas: [5000, 100, 200, 300, 400, 500, 1000],
};

describe('topSelfTime', () => {
  it('adds the time deltas per function (same name and position = one function), busy time without idle', () => {
    const r = topSelfTime(profile, 2);
    expect(r.busyUs).toBe(1500);
    expect(r.idleUs).toBe(6000);
    expect(r.top).toEqual([
      { name: 'parseSip proxy/sip-parser.js:42', selfUs: 800, pct: (800 / 1500) * 100 },
      { name: '(garbage collector)', selfUs: 400, pct: (400 / 1500) * 100 },
    ]);
    expect(formatTop('p', topSelfTime(profile, 3))).toEqual([
      'p: 2 ms busy (idle 6 ms), top 3 by self time',
      '   1.      0.8 ms  53.3%  parseSip proxy/sip-parser.js:42',
      '   2.      0.4 ms  26.7%  (garbage collector)',
      '   3.      0.3 ms  20.0%  (anonymous) proxy/fork.js:10',
    ]);
  });
});
