// Memory of the centralized proxy over many group calls, in process (see synthetic-calls.ts).
// Prints RSS and heap (after a forced GC) once the tables have reached their steady state
// (warm-up), after the measured calls, and after the tables drain.
// Not a test: run with  node --expose-gc dist/proxy/bench/call-memory.js [calls] [N] [rate] [warmup]
import { SyntheticCalls } from './synthetic-calls.js';

const calls = Number(process.argv[2] ?? 10_000);
const n = Number(process.argv[3] ?? 32);
const rate = Number(process.argv[4] ?? 100);
const warmup = Number(process.argv[5] ?? 4_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('call-memory: run node with --expose-gc');
  process.exit(2);
}

const sim = new SyntheticCalls(n, rate);
const { core, wheel } = sim;

function sample(label: string): { rss: number; heap: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  const row = { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
  const mb = (x: number): string => (x / 2 ** 20).toFixed(1);
  console.log(
    `${label.padEnd(34)} RSS ${row.rss.toFixed(1)} MB, heap ${row.heap.toFixed(1)} MB (of ${mb(m.heapTotal)}), buffers ${mb(m.arrayBuffers)} MB, table ${core.table.size()}, ` +
      `timers ${wheel.pending()} (linked ${wheel.linkedSlots()}, buckets ${wheel.bucketCount()})`,
  );
  return row;
}

sample('start');
sim.run(warmup);
const w = sample(`after ${warmup} warm-up calls`);
const step = Math.max(1, Math.ceil(calls / 5));
let m = w;
for (let k = step; k <= calls; k += step) {
  sim.run(Math.min(step, calls - (k - step)));
  m = sample(`after ${Math.min(k, calls)} more calls`);
}
const { timers } = core.config;
sim.advance(timers.timerD + 64 * timers.t1 + 1000);
sample('after the tables drain');
console.log(`N=${n}, ${rate} calls/s simulated, answered ${sim.answered} of ${sim.done}; RSS growth over the measured calls: ${(m.rss - w.rss).toFixed(1)} MB, heap ${(m.heap - w.heap).toFixed(1)} MB`);
if (sim.answered !== sim.done) process.exitCode = 1;
