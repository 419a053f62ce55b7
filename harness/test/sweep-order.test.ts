import { describe, expect, it } from 'vitest';
import { sweepPoints, DEFAULT_CONFIG, validateConfig, mergeConfig } from '../plan/bench-config.js';
import { designOf, interleavedOrder } from '../plan/sweep-order.js';

describe('interleavedOrder', () => {
  const config = validateConfig(mergeConfig(DEFAULT_CONFIG, {}, { modes: ['centralized', 'distributed'], groupSizes: [2, 8], rates: [25, 100], repeat: 3, targets: ['forkbench'] }));
  const points = sweepPoints(config);

  it('runs repeats A B A B across designs within each cell, cells in config order', () => {
    const order = interleavedOrder(points);
    expect(order).toHaveLength(points.length);
    expect(new Set(order.map((p) => p.pointId)).size).toBe(points.length);
    const first = order.slice(0, 6).map((p) => `${designOf(p)}/t${p.trial}`);
    expect(first).toEqual([
      'forkbench/centralized/full/t1',
      'forkbench/distributed/lazy/t1',
      'forkbench/centralized/full/t2',
      'forkbench/distributed/lazy/t2',
      'forkbench/centralized/full/t3',
      'forkbench/distributed/lazy/t3',
    ]);
    expect(order.slice(0, 6).every((p) => p.groupSize === 2 && p.rate === 25)).toBe(true);
    // No two consecutive points of one cell share a design.
    for (let i = 1; i < order.length; i++) {
      const [a, b] = [order[i - 1]!, order[i]!];
      if (a.groupSize === b.groupSize && a.rate === b.rate) expect(designOf(a)).not.toBe(designOf(b));
    }
    // The block order it replaces ran every trial of one design back to back.
    expect(designOf(points[0]!)).toBe(designOf(points[1]!));
  });
});
