// Where each process of a sweep point listens, and the groups.json it uses. Pure data, so the
// port plan is testable and visible in the point's folder.
import type { SweepPoint } from './bench-config.js';

export interface PointLayout {
  proxyPort: number;
  metricsPort: number; // TCP, the proxy's (or head's) /metrics
  forkNodePorts: number[];
  forkNodeMetricsPorts: number[];
  memberPorts: number[];
  callerPort: number;
  group: string;
  groupsJson: string;
}

/**
 * Ports from `base`: proxy, fork nodes and metrics in the first 20, members from base+20, the caller
 * last. SIPp media ports are derived by the SIPp runner from each instance's SIP port.
 */
export function layoutPoint(point: Pick<SweepPoint, 'groupSize' | 'forkNodes'>, base: number): PointLayout {
  const n = point.groupSize;
  const k = point.forkNodes;
  const memberPorts = Array.from({ length: n }, (_v, j) => base + 20 + j);
  const group = `g${n}`;
  const members = memberPorts.map((p, j) => `sip:m${j + 1}@127.0.0.1:${p}`);
  return {
    proxyPort: base,
    metricsPort: base + 1,
    forkNodePorts: Array.from({ length: k }, (_v, i) => base + 2 + i),
    forkNodeMetricsPorts: Array.from({ length: k }, (_v, i) => base + 12 + i),
    memberPorts,
    callerPort: base + 20 + n,
    group,
    groupsJson: JSON.stringify({ groups: { [group]: members } }, null, 1),
  };
}

/** UDP and TCP ports a point needs, to check they are free before anything starts. */
export function portsOf(l: PointLayout): { udp: number[]; tcp: number[] } {
  return { udp: [l.proxyPort, ...l.forkNodePorts, ...l.memberPorts, l.callerPort], tcp: [l.metricsPort, ...l.forkNodeMetricsPorts] };
}
