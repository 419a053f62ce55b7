// Which target runs a sweep point: the one place that maps (target, mode) to an implementation.
import type { SweepPoint } from '../../plan/bench-config.js';
import { forkbenchCentralized, forkbenchDistributed } from './forkbench.js';
import { kamailioCentralized, kamailioDistributed } from './kamailio.js';
import type { ProxyTarget } from './target.js';

export type { MeasuredProcess, Pinning, ProxyTarget, RunningTarget, TargetStart } from './target.js';

export function targetFor(point: Pick<SweepPoint, 'target' | 'mode'>): ProxyTarget {
  if (point.target === 'kamailio') return point.mode === 'distributed' ? kamailioDistributed : kamailioCentralized;
  return point.mode === 'distributed' ? forkbenchDistributed : forkbenchCentralized;
}
