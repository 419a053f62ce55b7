// The external target: the files a user pastes into their proxy, and a Kamailio that the test starts
// itself from those files (as a user would start theirs), driven by real SIPp, with the target's CPU
// from --target-pid, from a Prometheus endpoint, and not measured at all.
// Ports 24100-24199 on 127.0.0.1.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readPoints } from '../records/results-csv.js';
import { packageRoot } from '../testbed/system.js';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkKamailioConfig, optionsRequest, sipRequest } from '../testbed/targets/kamailio-launcher.js';
import { findKamailio } from '../testbed/system.js';
import {
  cpuColumns,
  metricsProbe,
  noProbe,
  parseMetricsUrl,
  parsePrometheusCpuSeconds,
  parseProxyAddress,
  parseTargetPid,
  pidProbe,
  processTreeOn,
  writeTargetFiles,
} from '../testbed/targets/external-target.js';
import { LocalHost } from '../testbed/hosts/host.js';
import { startSippOn, type HostSipp } from '../testbed/load/host-sipp.js';
import { spawnTracked, type TrackedChild } from '../testbed/processes.js';
import { readSippStatFile } from '../measure/sipp-stats.js';
import { sampleCpu } from '../measure/cpu-sampler.js';

const HOST = '127.0.0.1';
const here = new LocalHost({ name: 'local', kind: 'local', address: HOST, roles: [] });
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

describe('external target: input', () => {
  it('flags: one line naming the problem and the fix', () => {
    expect(parseProxyAddress('10.0.0.1:5060')).toEqual({ host: '10.0.0.1', port: 5060 });
    expect(() => parseProxyAddress('sip.example.com:5060')).toThrow(/--proxy "sip.example.com:5060" is not IPv4:PORT: give the address your proxy listens on/);
    expect(() => parseProxyAddress('10.0.0.1:70000')).toThrow(/not IPv4:PORT/);
    expect(() => parseProxyAddress(undefined)).toThrow(/--proxy ""/);
    expect(parseTargetPid('1234')).toBe(1234);
    expect(() => parseTargetPid('12a')).toThrow(/--target-pid "12a" is not a process id/);
    expect(parseMetricsUrl('http://1.2.3.4:9090/metrics').port).toBe('9090');
    expect(() => parseMetricsUrl('1.2.3.4:9090')).toThrow(/is not a URL|must be http/);
  });

  it('reads process_cpu_seconds_total from Prometheus text', () => {
    expect(parsePrometheusCpuSeconds('# HELP x\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\n')).toBe(12.5);
    expect(parsePrometheusCpuSeconds('process_cpu_seconds_total{job="a"} 1\nprocess_cpu_seconds_total{job="b"} 2.25 1700000000000\n')).toBe(3.25);
    expect(parsePrometheusCpuSeconds('process_cpu_seconds_total_other 3\nnode_cpu 1\n')).toBeNull();
    expect(parsePrometheusCpuSeconds('process_cpu_seconds_total NaN\n')).toBeNull();
  });

  it('not measured is an empty column and a flag, never a number', async () => {
    const p = noProbe();
    await p.start();
    const r = await p.end();
    expect(r.measured).toBe(false);
    expect(cpuColumns(r, 100)).toEqual({ head_cpu_pct: '', cpu_us_per_call: '', flag: 'target CPU not measured (give --target-pid or --target-metrics)' });
    expect(cpuColumns({ measured: true, cpuUs: 50_000, wallUs: 1_000_000, source: 'x' }, 100)).toEqual({ head_cpu_pct: 5, cpu_us_per_call: 500 });
  });

  it('a metrics endpoint that restarts or lacks the metric is not measured', async () => {
    let v = 'process_cpu_seconds_total 5\n';
    const p = metricsProbe(new URL('http://x/metrics'), async () => v);
    await p.start();
    v = 'process_cpu_seconds_total 1\n';
    expect(await p.end()).toMatchObject({ measured: false, reason: expect.stringMatching(/went down/) });
    const q = metricsProbe(new URL('http://x/metrics'), async () => 'up 1\n');
    await expect(q.start()).rejects.toThrow(/has no process_cpu_seconds_total/);
  });
});

describe('external target against a Kamailio the test starts', () => {
  it('writes the paste-ready files; the Kamailio config starts as is; calls succeed; CPU from --target-pid and from a Prometheus endpoint', async () => {
    const kam = findKamailio();
    expect(kam, 'kamailio is installed by make test (scripts/ensure-deps.sh)').not.toBeNull();
    const dir = await mkdtemp(join(tmpdir(), 'fb-ext-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const n = 4;
    const members = Array.from({ length: n }, (_v, j) => `sip:m${j + 1}@${HOST}:${24110 + j}`);
    const files = await writeTargetFiles(dir, { g4: members }, `${HOST}:24100`);
    expect(JSON.parse(await readFile(files.groupsJson, 'utf8'))).toEqual({ groups: { g4: members } });
    expect((await readFile(files.membersCsv, 'utf8')).split('\n')[2]).toBe(`m2,sip:m2@${HOST}:24111,${HOST},24111`);
    await checkKamailioConfig(files.kamailioCfg);

    // The user's side: start Kamailio from the written config, the way its README says.
    const work = dirname(files.kamailioCfg);
    const proxy: TrackedChild = spawnTracked(kam!, ['-f', files.kamailioCfg, '-DD', '-E', '-m', '64', '-M', '8', '-P', join(work, 'k.pid'), '-Y', work, '-w', work], { name: 'user kamailio', cwd: work });
    cleanups.push(() => proxy.stop(5000));
    const target = parseProxyAddress(`${HOST}:24100`);
    for (let i = 0; ; i++) {
      if ((await sipRequest(target, (lp) => optionsRequest(target, lp), 200)) === 200) break;
      expect(i, proxy.stderrTail()).toBeLessThan(50);
    }
    expect((await processTreeOn(here, proxy.pid)).length).toBeGreaterThan(2); // main + workers

    // A Prometheus endpoint of the kind node/process exporters serve, fed from the same /proc.
    const server: Server = createServer((_req, res) => {
      void processTreeOn(here, proxy.pid)
        .then((pids) => sampleCpu(pids))
        .then((s) => {
          const us = [...s.values()].reduce((a, v) => a + (v.ok ? v.cpuUs : 0), 0);
          res.end(`# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ${us / 1e6}\n`);
        });
    });
    await new Promise<void>((r) => server.listen(24140, HOST, r));
    cleanups.push(() => new Promise((r) => server.close(r)));

    const calls = 40;
    const sipps: HostSipp[] = [];
    for (let j = 0; j < n; j++) {
      const m = await startSippOn(here, { role: j === 0 ? 'answerer' : 'ringer', address: HOST, localPort: 24110 + j, outDir: dir, name: `member-${j + 1}`, calls, ringMs: 20, timeoutS: 60 });
      cleanups.push(() => m.stop());
      sipps.push(m);
    }
    await new Promise((r) => setTimeout(r, 300));
    const byPid = pidProbe(here, proxy.pid);
    const byMetrics = metricsProbe(parseMetricsUrl(`http://${HOST}:24140/metrics`));
    const none = noProbe();
    await Promise.all([byPid.start(), byMetrics.start(), none.start()]);
    const caller = await startSippOn(here, { role: 'caller', address: HOST, localPort: 24130, remote: `${HOST}:24100`, service: 'g4', rate: 20, calls, holdMs: 50, outDir: dir, name: 'caller', timeoutS: 60 });
    cleanups.push(() => caller.stop());
    expect(await caller.done).toBe(0);
    const [rp, rm_, rn] = await Promise.all([byPid.end(), byMetrics.end(), none.end()]);
    await caller.collect();
    const stat = await readSippStatFile(join(dir, 'caller_stat.csv'));
    expect(stat.successfulCalls).toBe(calls);
    expect(stat.failedCalls).toBe(0);

    expect(rp.measured && rp.cpuUs).toBeGreaterThan(0);
    expect(rp.source).toBe(`pid ${proxy.pid} on local (local)`);
    expect(rm_.measured && rm_.cpuUs).toBeGreaterThan(0);
    // Same process tree, same window give or take the probes' own timing: the two sources agree.
    if (rp.measured && rm_.measured) expect(Math.abs(rp.cpuUs - rm_.cpuUs)).toBeLessThan(Math.max(30_000, 0.3 * rp.cpuUs));
    expect(rn.measured).toBe(false);
    expect(cpuColumns(rp, calls).cpu_us_per_call).toBeGreaterThan(0);

    // A pid that is not running is refused before anything is measured.
    await expect(pidProbe(here, 999_999_999).start()).rejects.toThrow(/--target-pid 999999999: no such process on local/);
  });
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [join(packageRoot(), 'bin', 'forkbench.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => res({ code, stdout, stderr }));
  });
}

describe('forkbench bench --targets external (through the CLI)', () => {
  it('external-files, the user starts Kamailio from them, then a sweep with and without --target-pid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fb-extcli-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const files = await cli(['external-files', '--proxy', `${HOST}:24190`, '--group-sizes', '2,3', '--base-port', '24150', '--out', join(dir, 'ext')]);
    expect(files.code, files.stderr).toBe(0);
    const groups = JSON.parse(await readFile(join(dir, 'ext', 'groups.json'), 'utf8')) as { groups: Record<string, string[]> };
    expect(groups.groups.g3).toEqual([24170, 24171, 24172].map((p, j) => `sip:m${j + 1}@${HOST}:${p}`));
    const work = join(dir, 'ext', 'kamailio');
    const kam: TrackedChild = spawnTracked(findKamailio()!, ['-f', join(work, 'kamailio.cfg'), '-DD', '-E', '-m', '64', '-M', '8', '-P', join(work, 'k.pid'), '-Y', work, '-w', work], { name: 'user kamailio', cwd: work });
    cleanups.push(() => kam.stop(5000));
    const target = parseProxyAddress(`${HOST}:24190`);
    for (let i = 0; (await sipRequest(target, (lp) => optionsRequest(target, lp), 200)) !== 200; i++) expect(i, kam.stderrTail()).toBeLessThan(50);

    const sweep = ['bench', '--targets', 'external', '--proxy', `${HOST}:24190`, '--group-sizes', '3', '--rates', '20', '--calls', '30', '--warmup', '1', '--base-port', '24150'];
    const withPid = await cli([...sweep, '--target-pid', String(kam.pid), '--out', join(dir, 'with')]);
    expect(withPid.code, withPid.stderr).toBe(0);
    const [a] = await readPoints(join(dir, 'with', 'points.csv'));
    expect(a!.status, String(a!.error)).toBe('ok');
    expect(a!.point_id).toBe('external/centralized/n/a/n3/r20/t1');
    expect(a!.ser).toBe(1);
    expect(Number(a!.head_cpu_pct)).toBeGreaterThan(0);
    expect(Number(a!.cpu_us_per_call)).toBeGreaterThan(0);
    expect(a!.head_peak_rss_kb).toBe('');
    expect(a!.flagged).toBe(0);

    const without = await cli([...sweep, '--out', join(dir, 'without')]);
    expect(without.code, without.stderr).toBe(0);
    const [b] = await readPoints(join(dir, 'without', 'points.csv'));
    expect(b!.status, String(b!.error)).toBe('ok');
    expect(b!.ser).toBe(1);
    expect(b!.head_cpu_pct).toBe('');
    expect(b!.cpu_us_per_call).toBe('');
    expect(b!.flagged).toBe(1);
    expect(b!.flag_reason).toMatch(/target CPU not measured/);

    const bad = await cli(['bench', '--targets', 'external', '--out', join(dir, 'bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--proxy "" is not IPv4:PORT/);
  }, 120_000);
});

