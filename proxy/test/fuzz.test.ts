import { describe, expect, it } from 'vitest';
import { runFuzz } from '../fuzz.js';

describe.each(['lazy', 'full'] as const)('seeded fuzz (%s parse)', (mode) => {
  it.each([1, 2, 3])('seed %i: 20,000 mutated and random datagrams, no throw, no internal error', (seed) => {
    const r = runFuzz(seed, 20_000, mode);
    expect(r.thrown).toBe(0);
    expect(r.internalErrors).toBe(0);
    // The fuzz must reach both the reject path and the working path, or it tests nothing.
    expect(r.parseErrors).toBeGreaterThan(1000);
    expect(r.sent).toBeGreaterThan(1000);
  });
});
