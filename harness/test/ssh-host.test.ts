// ssh hosts against a real OpenSSH server (Debian openssh-server) that this test starts inside a
// network namespace, with a host key and a client key generated in a temp dir (own sshd_config,
// -D, own port; the system's sshd is not touched). Remote processes are tracked and die with their
// ssh session; CPU comes from the remote /proc; files go there and come back; and a group call
// with its members running "remotely" succeeds. Needs root.
// Addresses 198.18.205.0/24; sshd on 198.18.205.2:24400; proxy 198.18.205.1:24401-24402,
// members 198.18.205.2:24410-24413, caller 198.18.205.1:24420; the CLI sweep uses base port 24700.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readPoints } from '../records/results-csv.js';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab } from '../testbed/hosts/netns.js';
import { SshHost, shQuote, wrappedCommand } from '../testbed/hosts/ssh-host.js';
import { LocalHost, type HostProcess } from '../testbed/hosts/host.js';
import { startSippOn } from '../testbed/load/host-sipp.js';
import { readSippStatFile } from '../measure/sipp-stats.js';
import { packageRoot } from '../testbed/system.js';
import { spawnTracked, type TrackedChild } from '../testbed/processes.js';
import type { SshHostSpec } from '../testbed/hosts/topology.js';

const NS_ADDR = '198.18.205.2';
const ROOT_ADDR = '198.18.205.1';
const SSH_PORT = 24400;

const dir = mkdtempSync(join(tmpdir(), 'fb-ssh-'));
let lab: NetnsLab;
let sshd: HostProcess;
let host: SshHost;
let madePrivsep = false;
const stops: (() => Promise<unknown>)[] = [];

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  chmodSync(dir, 0o700);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${SSH_PORT}`,
      `ListenAddress ${NS_ADDR}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      'MaxStartups 100',
      'MaxSessions 100',
      '',
    ].join('\n'),
  );
  // OpenSSH's privilege-separation directory is compiled in; create it only if missing, and remove it after.
  if (!existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    madePrivsep = true;
  }
  lab = await NetnsLab.create([{ name: 'remote', kind: 'netns', address: NS_ADDR, roles: [] }], { rootAddress: ROOT_ADDR });
  sshd = lab.host('remote').spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { name: 'sshd' });
  const spec: SshHostSpec = {
    name: 'remote',
    kind: 'ssh',
    address: NS_ADDR,
    ssh: `root@${NS_ADDR}`,
    sshPort: SSH_PORT,
    identity: join(dir, 'client_key'),
    sshOptions: [`UserKnownHostsFile=${join(dir, 'known_hosts')}`, 'StrictHostKeyChecking=accept-new'],
    roles: ['members'],
  };
  host = new SshHost(spec);
  await until(
    'sshd',
    () =>
      host.exec('true', []).then(
        () => true,
        () => false,
      ),
    15_000,
  );
}, 60_000);

afterAll(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
  await sshd?.stop();
  await lab?.destroy();
  if (madePrivsep) rmSync('/run/sshd', { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('ssh host', () => {
  it('quotes for the remote shell', () => {
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(shQuote('a/b.c:1')).toBe('a/b.c:1');
    expect(wrappedCommand('echo', ['a b'], '/tmp/x y')).toMatch(/^cd '\/tmp\/x y' && sh -c '.*' fbwrap echo 'a b'$/s);
  });

  it('runs commands there, reads its /proc, moves files both ways', async () => {
    // The "remote" shell runs in the namespace: it sees the namespace's address.
    expect(await host.exec('ip', ['-4', '-o', 'addr', 'show', 'eth0'])).toContain(`inet ${NS_ADDR}/15`);
    const work = await host.makeWorkDir();
    expect(work).toMatch(/^\/tmp\/forkbench-\w{6}$/);
    await host.writeFile(`${work}/f.txt`, 'hello\n');
    expect((await host.readFile(`${work}/f.txt`)).toString()).toBe('hello\n');
    // A busy remote process: its CPU is read from that host's /proc.
    const busy = host.spawn('sh', ['-c', 'while :; do :; done'], { name: 'busy' });
    stops.push(() => busy.stop());
    const pid = await busy.pid;
    await new Promise((r) => setTimeout(r, 400));
    const s = (await host.sampleCpu([pid, 999_999_999])).get(pid);
    expect(s?.ok && s.cpuUs).toBeGreaterThan(100_000);
    expect((await host.sampleCpu([999_999_999])).get(999_999_999)?.ok).toBe(false);
    await busy.stop();
    await until('busy gone', () => !alive(pid), 5000);
    await host.removeWorkDir(work);
    expect(existsSync(work)).toBe(false);
    await expect(host.removeWorkDir('/etc')).rejects.toThrow(/refusing/);
  });

  it('a remote process dies with its ssh client (Ctrl-C of the harness kills the client)', async () => {
    const p = host.spawn('sleep', ['300'], { name: 'sleeper' });
    const pid = await p.pid;
    expect(alive(pid)).toBe(true);
    p.child.signal('SIGKILL'); // no goodbye: only the closed connection tells the remote side
    await until('remote sleeper gone', () => !alive(pid), 8000);
    // And the exit code of a remote command comes back through ssh.
    const f = host.spawn('sh', ['-c', 'exit 7'], { name: 'seven' });
    expect((await f.child.exited).code).toBe(7);
  });

  it('a group call with its 4 members running on the ssh host: every call succeeds', async () => {
    const out = join(dir, 'point');
    mkdirSync(out);
    const members = Array.from({ length: 4 }, (_v, j) => `sip:m${j + 1}@${NS_ADDR}:${24410 + j}`);
    writeFileSync(join(out, 'groups.json'), JSON.stringify({ groups: { g4: members } }));
    const proxy: TrackedChild = spawnTracked(
      process.execPath,
      [join(packageRoot(), 'dist', 'cli', 'forkbench.js'), 'proxy', '--listen', `${ROOT_ADDR}:24401`, '--groups', join(out, 'groups.json'), '--metrics', `${ROOT_ADDR}:24402`, '--mode', 'centralized'],
      { name: 'proxy', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    stops.push(() => proxy.stop());
    await until('proxy', () => proxy.stdoutTail().includes('listening on') || !proxy.running);
    expect(proxy.running, proxy.stderrTail()).toBe(true);

    const remoteDir = await host.makeWorkDir();
    stops.push(() => host.removeWorkDir(remoteDir));
    const calls = 20;
    const ms = [];
    for (let j = 0; j < 4; j++) {
      const m = await startSippOn(host, { role: j === 0 ? 'answerer' : 'ringer', address: NS_ADDR, localPort: 24410 + j, outDir: out, remoteDir, name: `member-${j + 1}`, calls, ringMs: 20, timeoutS: 60 });
      stops.push(() => m.stop());
      await m.proc.pid; // one ssh session at a time: sshd's MaxStartups throttles bursts
      ms.push(m);
    }
    await new Promise((r) => setTimeout(r, 300));
    const caller = await startSippOn(new LocalHost({ name: 'here', kind: 'local', address: ROOT_ADDR, roles: ['caller'] }), {
      role: 'caller',
      address: ROOT_ADDR,
      localPort: 24420,
      remote: `${ROOT_ADDR}:24401`,
      service: 'g4',
      rate: 10,
      calls,
      holdMs: 50,
      outDir: out,
      name: 'caller',
      timeoutS: 60,
    });
    stops.push(() => caller.stop());
    expect(await caller.done).toBe(0);
    await caller.collect();
    const stat = await readSippStatFile(join(out, 'caller_stat.csv'));
    expect(stat.successfulCalls).toBe(calls);
    expect(stat.failedCalls).toBe(0);
    // The members end after -m calls; their files come back from the remote dir.
    for (const m of ms) {
      expect(await m.done).toBe(0);
      expect(await m.collect()).toContain(`${m.name}_stat.csv`);
    }
    expect((await readSippStatFile(join(out, 'member-1_stat.csv'))).successfulCalls).toBe(calls);
    expect(existsSync(join(out, 'caller_rtt.csv'))).toBe(true);
  });

  it('forkbench bench --topology FILE with the members on the ssh host: both modes succeed, roles recorded', async () => {
    const topo = join(dir, 'topo.json');
    writeFileSync(
      topo,
      JSON.stringify({
        hosts: [
          { name: 'here', kind: 'local', address: ROOT_ADDR, roles: ['caller', 'proxy', 'fork-nodes'] },
          { name: 'remote', kind: 'ssh', ssh: `root@${NS_ADDR}`, sshPort: SSH_PORT, address: NS_ADDR, identity: join(dir, 'client_key'), sshOptions: [`UserKnownHostsFile=${join(dir, 'known_hosts')}`, 'StrictHostKeyChecking=accept-new'], roles: ['members'] },
        ],
      }),
    );
    const out = join(dir, 'sweep');
    const cli = join(packageRoot(), 'bin', 'forkbench.js');
    const args = [cli, 'bench', '--topology', topo, '--modes', 'centralized,distributed', '--group-sizes', '3', '--rates', '20', '--calls', '30', '--warmup', '1', '--base-port', '24700', '--out', out];
    const r = await new Promise<{ code: number | null; err: string }>((res) => {
      const c = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('close', (code) => res({ code, err }));
    });
    expect(r.code, r.err).toBe(0);
    const rows = await readPoints(join(out, 'points.csv'));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.status, String(row.error)).toBe('ok');
      expect(row.ser).toBe(1);
      const placement = JSON.parse(readFileSync(join(out, 'points', String(row.point_id).replace(/\//g, '_'), 'placement.json'), 'utf8')) as { roles: Record<string, string> };
      expect(placement.roles['member-1']).toBe(`remote (ssh ${NS_ADDR})`);
      expect(placement.roles.proxy).toBe(`here (local ${ROOT_ADDR})`);
      // The members' files came back from the remote host.
      expect(existsSync(join(out, 'points', String(row.point_id).replace(/\//g, '_'), 'member-01_stat.csv'))).toBe(true);
    }
    // The run's remote work dir is gone.
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { topology: { hosts: { name: string; workDir?: string }[] } };
    const workDir = meta.topology.hosts.find((h) => h.name === 'remote')?.workDir;
    expect(workDir).toMatch(/^\/tmp\/forkbench-\w{6}$/);
    expect(await host.exec('sh', ['-c', `test -e ${workDir} && echo left || echo gone`])).toBe('gone\n');
  }, 120_000);
});
