// Every way the real CLI (bin/forkbench.js, as a child process) refuses bad input: exit code 2, one
// line on stderr naming the problem and the fix, nothing started or written. Ports 26300-26399.
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findSipp, findTcpdump, packageRoot } from '../testbed/system.js';

const CLI = join(packageRoot(), 'bin', 'forkbench.js');
const dir = mkdtempSync(join(tmpdir(), 'forkbench-cli-'));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    const base = { ...process.env };
    delete base.SIPP;
    delete base.FORKBENCH_KAMAILIO;
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...base, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Exit 2 and exactly one stderr line matching `line`. */
function refused(r: Result, line: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^forkbench: /);
  expect(lines[0]).toMatch(line);
}

describe('unknown and missing flags (commander) exit 2 with the --help hint', () => {
  it('an unknown flag names itself and the closest one', async () => {
    refused(await run(['bench', '--modez', 'centralized']), /^forkbench: unknown option '--modez' \(Did you mean --modes\?\); run forkbench bench --help for the flags$/);
  });
  it('a flag without its value', async () => {
    refused(await run(['bench', '--rates']), /option '--rates <list>' argument missing; run forkbench bench --help/);
  });
  it('a required flag left out', async () => {
    refused(await run(['capacity']), /required option '--group-size <n>' not specified; run forkbench capacity --help/);
    refused(await run(['proxy']), /required option '--groups <file>' not specified; run forkbench proxy --help/);
  });
  it('an unknown command', async () => {
    refused(await run(['benchh']), /unknown command 'benchh' \(Did you mean bench\?\); run forkbench --help/);
  });
  it('no command prints the usage on stderr and exits 2; --help and --version exit 0', async () => {
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: forkbench/);
    const help = await run(['bench', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: forkbench bench/);
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('preflight: missing tools, checked before anything starts', () => {
  const tools = join(dir, 'sipp-only');
  beforeAll(() => {
    // PATH dirs holding only some of the tools (symlinks to the real ones), so each check is hit in turn.
    const sipp = findSipp();
    const tcpdump = findTcpdump();
    expect(sipp, 'sipp must be installed').not.toBeNull();
    expect(tcpdump, 'tcpdump must be installed').not.toBeNull();
    mkdirSync(tools);
    symlinkSync(sipp!, join(tools, 'sipp'));
    const both = join(dir, 'sipp-tcpdump');
    mkdirSync(both);
    symlinkSync(sipp!, join(both, 'sipp'));
    symlinkSync(tcpdump!, join(both, 'tcpdump'));
  });

  const out = (name: string): string => join(dir, name);

  it('no sipp on PATH', async () => {
    const r = await run(['bench', '--out', out('nosipp')], { PATH: join(dir, 'empty-path') });
    refused(r, /^forkbench: sipp not found: install it with apt-get install -y sip-tester/);
    expect(existsSync(out('nosipp'))).toBe(false);
  });

  it('no tcpdump on PATH (capture asked for), and --no-capture goes past that check', async () => {
    refused(await run(['bench', '--out', out('notcpdump')], { PATH: tools }), /^forkbench: tcpdump not found: install it with apt-get install -y tcpdump, or pass --no-capture$/);
    refused(await run(['capacity', '--group-size', '2', '--out', out('notcpdump')], { PATH: tools }), /tcpdump not found/);
    // With --no-capture the next check speaks instead: here Kamailio, asked for but absent.
    refused(await run(['bench', '--no-capture', '--targets', 'forkbench,kamailio', '--out', out('notcpdump')], { PATH: tools, FORKBENCH_KAMAILIO: join(dir, 'missing-kamailio') }), /kamailio not found/);
    expect(existsSync(out('notcpdump'))).toBe(false);
  });

  it('no kamailio when a command needs it: bench with --targets kamailio, capacity --target kamailio, make perf, make capacity', async () => {
    const env = { PATH: join(dir, 'sipp-tcpdump'), FORKBENCH_KAMAILIO: join(dir, 'missing-kamailio') };
    const msg = /^forkbench: kamailio not found: install it with apt-get install -y kamailio, or drop it from --targets$/;
    refused(await run(['bench', '--targets', 'forkbench,kamailio', '--out', out('nokam')], env), msg);
    refused(await run(['capacity', '--target', 'kamailio', '--group-size', '2', '--out', out('nokam')], env), msg);
    refused(await run(['perf', '--out', out('nokam')], env), msg);
    refused(await run(['capacity-sweep', '--out', out('nokam')], env), msg);
    expect(existsSync(out('nokam'))).toBe(false);
  });

  it('forkbench-only capacity, capacity-sweep and perf do not ask for Kamailio (they stop at the next check: a busy port)', async () => {
    const env = { PATH: join(dir, 'sipp-tcpdump'), FORKBENCH_KAMAILIO: join(dir, 'missing-kamailio') };
    const sock: Socket = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(26300, '127.0.0.1', () => r()));
    try {
      const busy = /^forkbench: UDP port 26300 is in use: stop what holds it or choose another --base-port$/;
      refused(await run(['capacity', '--target', 'forkbench', '--group-size', '2', '--base-port', '26300', '--out', out('fbonly')], env), busy);
      refused(await run(['capacity-sweep', '--targets', 'forkbench', '--base-port', '26300', '--out', out('fbonly')], env), busy);
      refused(await run(['perf', '--targets', 'forkbench', '--base-port', '26300', '--out', out('fbonly')], env), busy);
    } finally {
      sock.close();
    }
    expect(existsSync(out('fbonly'))).toBe(false);
  });
});

describe('bad values', () => {
  it('capacity flags', async () => {
    refused(await run(['capacity', '--group-size', '0']), /^forkbench: --group-size "0" must be a positive number$/);
    refused(await run(['capacity', '--group-size', '4', '--start-rate', 'abc']), /--start-rate "abc" must be a positive number/);
    refused(await run(['capacity', '--group-size', '4', '--resolution-pct', '120']), /--resolution-pct "120" must be a percentage from 0 \(off\) to below 100, e.g. 5/);
    refused(await run(['capacity', '--group-size', '4', '--mode', 'sideways']), /unknown mode "sideways": use centralized or distributed/);
    refused(await run(['capacity', '--group-size', '4', '--target', 'asterisk']), /unknown target "asterisk": use forkbench or kamailio/);
    refused(await run(['capacity-sweep', '--targets', 'forkbench,opensips']), /unknown target "opensips" in --targets: use forkbench and\/or kamailio/);
    refused(await run(['capacity-sweep', '--group-sizes', '2,x']), /--group-sizes "x" must be a positive number/);
    refused(await run(['perf', '--calls', '-5']), /--calls "-5" must be a positive number/);
    refused(await run(['overload', '--group-size', '4', '--capacity', '30', '--cpu-budget', 'abc']), /CPU budget NaN cores is not 0 \(none\) or at least 0\.1: give --cpu-budget 0\.2/);
    refused(await run(['overload', '--group-size', '4', '--capacity', '30', '--mode', 'centralized,distributed']), /--capacity is one number for one mode: with several modes give --capacity-from FILE/);
    refused(await run(['overload', '--group-size', '4', '--mode', 'centralized,sideways']), /unknown mode "sideways"/);
    refused(await run(['overload', '--group-size', '4', '--capacity-from', join(dir, 'no-such-capacity.csv')]), /--capacity-from .*no-such-capacity\.csv: cannot read it \(ENOENT\)/);
  });

  it('bench flags and config', async () => {
    refused(await run(['bench', '--modes', 'central']), /unknown mode "central"/);
    refused(await run(['bench', '--group-sizes', '0,2']), /group size 0/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"rates": [10], "colour": "red"}');
    refused(await run(['bench', '--config', bad]), /colour/);
    refused(await run(['bench', '--config', join(dir, 'missing.json')]), /missing\.json/);
  });

  it('proxy and fork-node flags', async () => {
    const groups = join(dir, 'groups.json');
    writeFileSync(groups, JSON.stringify({ groups: { g2: ['sip:m1@127.0.0.1:26310', 'sip:m2@127.0.0.1:26311'] } }));
    refused(await run(['proxy', '--groups', groups, '--mode', 'sideways']), /unknown mode "sideways": use --mode centralized or --mode distributed/);
    refused(await run(['proxy', '--groups', join(dir, 'nogroups.json')]), /cannot read groups file .*nogroups\.json/);
    refused(await run(['proxy', '--groups', groups, '--parse', 'sloppy', '--listen', '127.0.0.1:26301']), /parse/);
    refused(await run(['proxy', '--groups', groups, '--listen', 'nowhere']), /listen/);
    refused(await run(['fork-node', '--groups', groups, '--shard', '3/2', '--listen', '127.0.0.1:26302']), /shard/);
  });

  it('compare and report name the missing results folder', async () => {
    refused(await run(['compare', join(dir, 'no-run')]), /no-run\/points\.csv does not exist: run forkbench bench --out .*no-run first/);
    const r = await run(['report', join(dir, 'no-run')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no-run\/points\.csv: not found/);
  });
});
