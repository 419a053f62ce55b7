// Summary of a V8 .cpuprofile (node --cpu-prof): self time per function, the top N. Self time of a
// sample is its time delta, credited to the node (function) the sample was taken in; functions are
// keyed by name and source position, so the same function reached by different stacks adds up.

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[]; // microseconds, one per sample
}

export interface SelfTime {
  name: string; // "fn file:line", or V8's "(garbage collector)", "(program)", "(idle)"
  selfUs: number;
  pct: number; // of the busy time: everything but (idle)
}

function keyOf(n: CpuProfileNode): string {
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  const file = f.url.replace(/^file:\/\//, '').split('/').slice(-2).join('/');
  return `${name} ${file}:${f.lineNumber + 1}`;
}

/** Busy time (us) and the top `n` functions by self time. */
export function topSelfTime(p: CpuProfile, n = 15): { busyUs: number; idleUs: number; top: SelfTime[] } {
  const byId = new Map(p.nodes.map((x) => [x.id, keyOf(x)]));
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const k = byId.get(id) ?? `(node ${id})`;
    self.set(k, (self.get(k) ?? 0) + Math.max(0, p.timeDeltas[i] ?? 0));
  });
  const idleUs = self.get('(idle)') ?? 0;
  self.delete('(idle)');
  const busyUs = [...self.values()].reduce((a, b) => a + b, 0);
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([name, selfUs]) => ({ name, selfUs, pct: busyUs > 0 ? (selfUs / busyUs) * 100 : 0 }));
  return { busyUs, idleUs, top };
}

export function formatTop(label: string, r: ReturnType<typeof topSelfTime>): string[] {
  return [
    `${label}: ${(r.busyUs / 1000).toFixed(0)} ms busy (idle ${(r.idleUs / 1000).toFixed(0)} ms), top ${r.top.length} by self time`,
    ...r.top.map((t, i) => `  ${String(i + 1).padStart(2)}. ${(t.selfUs / 1000).toFixed(1).padStart(8)} ms ${t.pct.toFixed(1).padStart(5)}%  ${t.name}`),
  ];
}
