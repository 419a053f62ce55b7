// node dist/harness/measure/cpuprofile-top.js FILE.cpuprofile... [--top N]: the top functions by self
// time of each profile (scripts/profile-proxy.sh runs it on the proxy's --cpu-prof output).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { formatTop, topSelfTime, type CpuProfile } from './cpuprofile.js';

const args = process.argv.slice(2);
const at = args.indexOf('--top');
const n = at >= 0 ? Number(args.splice(at, 2)[1]) : 15;
if (args.length === 0 || !(n > 0)) {
  console.error('usage: cpuprofile-top FILE.cpuprofile... [--top N]');
  process.exit(2);
}
for (const file of args) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(formatTop(basename(file), topSelfTime(profile, n)).join('\n'));
}
