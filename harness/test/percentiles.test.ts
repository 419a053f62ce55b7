import { describe, expect, it } from 'vitest';
import { max, mean, min, percentile, summarize } from '../measure/percentiles.js';

describe('percentiles (nearest rank)', () => {
  const xs = [40, 15, 50, 35, 20]; // unsorted on purpose; sorted: 15 20 35 40 50

  it('follows the nearest-rank definition: rank = ceil(p/100 * n)', () => {
    expect(percentile(xs, 5)).toBe(15); // rank ceil(0.25) = 1
    expect(percentile(xs, 30)).toBe(20); // rank ceil(1.5) = 2
    expect(percentile(xs, 40)).toBe(20); // rank 2 exactly
    expect(percentile(xs, 50)).toBe(35); // rank ceil(2.5) = 3
    expect(percentile(xs, 100)).toBe(50);
    expect(percentile(xs, 0)).toBe(15);
  });

  it('never interpolates and does not modify its input', () => {
    const copy = [...xs];
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([1, 2], 50)).toBe(1);
    expect(xs).toEqual(copy);
  });

  it('sorts numerically, not as strings', () => {
    expect(percentile([100, 9, 1000, 20], 50)).toBe(20);
  });

  it('gives undefined for empty input and rejects p outside 0..100', () => {
    expect(mean([])).toBeUndefined();
    expect(max([])).toBeUndefined();
    expect(percentile([], 50)).toBeUndefined();
    expect(() => percentile(xs, 101)).toThrow(RangeError);
    expect(() => percentile(xs, Number.NaN)).toThrow(RangeError);
  });

  it('mean, min, max and summarize', () => {
    expect(mean(xs)).toBe(32);
    expect(min(xs)).toBe(15);
    expect(max(xs)).toBe(50);
    expect(summarize(xs)).toEqual({ count: 5, mean: 32, p50: 35, p95: 50, p99: 50, max: 50 });
    expect(summarize([])).toEqual({ count: 0, mean: undefined, p50: undefined, p95: undefined, p99: undefined, max: undefined });
  });
});
