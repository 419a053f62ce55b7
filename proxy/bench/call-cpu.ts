// The core's own CPU per group call, in process (see synthetic-calls.ts): parsing, matching,
// forking, writing and timers, without sockets, kernel or scheduler. It isolates the part of the
// proxy's cost that parse mode and the hot path change, which `make perf` sees only through the
// noise of a shared 2-core machine. Not a test and not timed in one: it prints what it measured.
//   node dist/proxy/bench/call-cpu.js [calls] [N] [rate] [warmup]   (both parse modes, interleaved)
import { SyntheticCalls } from './synthetic-calls.js';
import type { ParseMode } from '../sip-message.js';

const calls = Number(process.argv[2] ?? 3_000);
const n = Number(process.argv[3] ?? 16);
const rate = Number(process.argv[4] ?? 100);
const warmup = Number(process.argv[5] ?? 2_000);
const rounds = 3;

const modes: ParseMode[] = ['full', 'lazy'];
const sims = new Map(modes.map((m) => [m, new SyntheticCalls(n, rate, m)]));
const perCall = new Map<ParseMode, number[]>(modes.map((m) => [m, []]));
for (const sim of sims.values()) sim.run(warmup);
for (let r = 0; r < rounds; r++) {
  for (const m of modes) {
    const sim = sims.get(m)!;
    const before = sim.coreMs;
    sim.run(calls);
    perCall.get(m)!.push(((sim.coreMs - before) * 1000) / calls);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const msgs = 7 * n + 6;
for (const m of modes) {
  const us = median(perCall.get(m)!);
  const sim = sims.get(m)!;
  console.log(
    `${m.padEnd(4)} N=${n}: ${us.toFixed(0)} us of core time per call (median of ${rounds} x ${calls} calls; ${(us / msgs).toFixed(2)} us per message at 7N+6 = ${msgs}), answered ${sim.answered}/${sim.done}`,
  );
}
const [f, l] = modes.map((m) => median(perCall.get(m)!));
console.log(`lazy / full: ${(l! / f!).toFixed(2)}`);
