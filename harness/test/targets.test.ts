// Which target runs a point.
import { describe, expect, it } from 'vitest';
import { targetFor } from '../testbed/targets/index.js';
import { forkbenchCentralized, forkbenchDistributed } from '../testbed/targets/forkbench.js';
import { kamailioCentralized, kamailioDistributed } from '../testbed/targets/kamailio.js';

describe('targetFor', () => {
  it('maps target and mode to one implementation', () => {
    expect(targetFor({ target: 'forkbench', mode: 'centralized' })).toBe(forkbenchCentralized);
    expect(targetFor({ target: 'forkbench', mode: 'distributed' })).toBe(forkbenchDistributed);
    expect(targetFor({ target: 'kamailio', mode: 'centralized' })).toBe(kamailioCentralized);
    expect(targetFor({ target: 'kamailio', mode: 'distributed' })).toBe(kamailioDistributed);
  });
});
