// The speed probe process (see speed-probe.ts): every interval, run a sample of probe units and
// print the CPU nanoseconds one unit took. CPU time, not wall time: being preempted does not count,
// only how fast this host ran the same instructions. It exits when its stdin closes (the harness
// stopped or died) or after its time limit, whichever comes first.
import { probeUnit } from './speed-probe-unit.js';

const [limitArg = '600', intervalArg = '50', unitsArg = '10'] = process.argv.slice(2);
const limitMs = Number(limitArg) * 1000;
const intervalMs = Number(intervalArg);
const units = Number(unitsArg);
const endAt = Date.now() + limitMs;
let salt = 1;

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

function sample(): void {
  if (Date.now() >= endAt) process.exit(0);
  const before = process.cpuUsage();
  for (let i = 0; i < units; i++) salt = probeUnit(salt) || 1;
  const used = process.cpuUsage(before);
  process.stdout.write(`${Math.round(((used.user + used.system) * 1000) / units)}\n`);
  setTimeout(sample, intervalMs);
}
sample();
