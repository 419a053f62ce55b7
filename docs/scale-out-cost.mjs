// docs/scale-out.md's cost table: run from the repository root after npm run build (root, nothing else running).
// Members' and caller's CPU per call next to the proxy's, N=8 and N=32, forkbench centralized, local.
import { LocalHost } from '../dist/harness/testbed/hosts/host.js';
import { startSippOn } from '../dist/harness/testbed/load/host-sipp.js';
import { sampleCpu } from '../dist/harness/measure/cpu-sampler.js';
import { spawnTracked } from '../dist/harness/testbed/processes.js';
import { writeFileSync, mkdirSync } from 'node:fs';
const here = new LocalHost({ name: 'l', kind: 'local', address: '127.0.0.1', roles: [] });
const sum = async (pids) => [...(await sampleCpu(pids)).values()].reduce((a, v) => a + (v.ok ? v.cpuUs : 0), 0);
for (const n of [8, 32]) {
  const dir = `/tmp/forkbench-cost/n${n}`; mkdirSync(dir, { recursive: true });
  const base = 24900;
  const members = Array.from({ length: n }, (_v, j) => `sip:m${j + 1}@127.0.0.1:${base + 20 + j}`);
  writeFileSync(`${dir}/groups.json`, JSON.stringify({ groups: { [`g${n}`]: members } }));
  const proxy = spawnTracked(process.execPath, [new URL('../dist/cli/forkbench.js', import.meta.url).pathname, 'proxy', '--listen', `127.0.0.1:${base}`, '--groups', `${dir}/groups.json`, '--metrics', `127.0.0.1:${base + 1}`], { name: 'proxy', stdio: ['ignore', 'pipe', 'pipe'] });
  while (!proxy.stdoutTail().includes('listening on')) await new Promise((r) => setTimeout(r, 20));
  const rate = 50, calls = 600;
  const ms = [];
  for (let j = 0; j < n; j++) ms.push(await startSippOn(here, { role: j ? 'ringer' : 'answerer', address: '127.0.0.1', localPort: base + 20 + j, outDir: dir, name: `m${j}`, calls, ringMs: 20, timeoutS: 120 }));
  await new Promise((r) => setTimeout(r, 500));
  const caller = await startSippOn(here, { role: 'caller', address: '127.0.0.1', localPort: base + 20 + n, remote: `127.0.0.1:${base}`, service: `g${n}`, rate, calls, holdMs: 100, outDir: dir, name: 'caller', timeoutS: 120 });
  await new Promise((r) => setTimeout(r, 2000));
  const mp = await Promise.all(ms.map((m) => m.proc.pid)); const cp = await caller.proc.pid;
  const t0 = process.hrtime.bigint();
  const [m0, c0, p0] = [await sum(mp), await sum([cp]), await sum([proxy.pid])];
  await new Promise((r) => setTimeout(r, 8000));
  const [m1, c1, p1] = [await sum(mp), await sum([cp]), await sum([proxy.pid])];
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const callsIn = rate * wall;
  console.log(`N=${n} rate=${rate} window=${wall.toFixed(2)}s: members ${(m1 - m0) / callsIn | 0} us/call (${((m1 - m0) / callsIn / n) | 0} per member), caller ${(c1 - c0) / callsIn | 0} us/call, proxy ${(p1 - p0) / callsIn | 0} us/call`);
  await caller.done; for (const m of ms) await m.stop(); await proxy.stop();
}
process.exit(0);
