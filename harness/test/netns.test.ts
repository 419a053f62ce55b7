// netns hosts for real: a lab of namespaces on a bridge, a UDP echo from one namespace to another,
// and nothing left afterwards (namespaces, veths, bridge, processes): after destroy(), after the
// owner is killed with SIGINT halfway, and after it dies with SIGKILL (the next lab's cleanup).
// Needs root. Addresses 198.18.201.0/24 - 198.18.203.0/24; UDP port 24300 inside the namespaces.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsLab, STATE_DIR, cleanupLeftovers, labResources } from '../testbed/hosts/netns.js';
import type { NetnsHostSpec } from '../testbed/hosts/topology.js';

const ECHO = `const d=require('dgram');const s=d.createSocket('udp4');s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address));s.bind(24300,process.argv[1],()=>console.log('ready'));`;
const SEND = `const d=require('dgram');const s=d.createSocket('udp4');s.on('message',m=>{console.log(m.toString());process.exit(0)});s.send('hi',24300,process.argv[1]);setTimeout(()=>process.exit(3),1000);`;

function hosts(subnet: string, names: string[]): NetnsHostSpec[] {
  return names.map((name, i) => ({ name, kind: 'netns', address: `${subnet}.${2 + i}`, roles: [] }));
}

function nsList(): string {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
}
function links(): string {
  return execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
}

/** Alive and not a zombie (an orphan may wait a moment for its reaper). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const labs: NetnsLab[] = [];
afterAll(() => {
  for (const l of labs) l.destroySync();
});

describe('netns lab', () => {
  it('runs a UDP echo across namespaces and removes everything', async () => {
    const lab = await NetnsLab.create(hosts('198.18.201', ['a', 'b']), { rootAddress: '198.18.201.1' });
    labs.push(lab);
    const a = lab.host('a');
    const b = lab.host('b');
    expect(nsList()).toContain(a.namespace);
    expect(links()).toContain(lab.bridge);
    // The namespace's own view: only lo and eth0 with its address.
    expect(await b.exec('ip', ['-4', '-o', 'addr'])).toMatch(/eth0\s+inet 198\.18\.201\.3\/15/);

    const echo = b.spawn(process.execPath, ['-e', ECHO, '198.18.201.3'], { name: 'echo' });
    for (let i = 0; i < 50 && !echo.child.stdoutTail().includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(echo.child.stdoutTail()).toContain('ready');
    expect(await a.exec(process.execPath, ['-e', SEND, '198.18.201.3'])).toBe('echo:hi\n');
    // The root namespace reaches it through the bridge address.
    expect(execFileSync(process.execPath, ['-e', SEND, '198.18.201.3'], { encoding: 'utf8' })).toBe('echo:hi\n');
    // Isolation: inside a, the echo is not on loopback.
    await expect(a.exec(process.execPath, ['-e', SEND, '127.0.0.1'])).rejects.toThrow();
    // CPU sampled from /proc with the pid ip netns exec became.
    const pid = await echo.pid;
    const s = await b.sampleCpu([pid]);
    expect(s.get(pid)?.ok).toBe(true);

    await lab.destroy();
    await echo.child.exited;
    expect(nsList()).not.toContain(lab.id);
    expect(links()).not.toContain(`fb${lab.id}`);
    expect(labResources(lab.id)).toEqual({ namespaces: [], links: [] });
    expect(existsSync(join(STATE_DIR, lab.id))).toBe(false);
  });

  it('a failed create removes what it made', async () => {
    // The second host's name makes "ip netns add" fail (a slash), after the first namespace exists.
    const bad: NetnsHostSpec[] = [...hosts('198.18.202', ['ok']), { name: 'x/y', kind: 'netns', address: '198.18.202.9', roles: [] }];
    const ours = (): string[] => links().match(/fb[0-9a-f]{6}(?:br|v\d+)/g) ?? [];
    const before = nsList();
    const linksBefore = ours();
    await expect(NetnsLab.create(bad)).rejects.toThrow();
    expect(nsList()).toBe(before);
    expect(ours()).toEqual(linksBefore); // no bridge, no veth of the failed lab
  });

  it('Ctrl-C halfway (SIGINT to the owner) and SIGKILL leave nothing behind', async () => {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const script = join(here, 'netns-owner.fixture.mjs');
    for (const sig of ['SIGINT', 'SIGKILL'] as const) {
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      for (let i = 0; i < 200 && !out.includes('running'); i++) await new Promise((r) => setTimeout(r, 50));
      const id = /lab (\w+) running/.exec(out)?.[1];
      expect(id, out).toBeDefined();
      expect(labResources(id!).namespaces).toHaveLength(2);
      const sleeper = Number(/sleeper (\d+)/.exec(out)?.[1]);
      child.kill(sig);
      await new Promise((r) => child.once('exit', r));
      if (sig === 'SIGKILL') {
        // No exit hook ran: the owner is dead, so the next cleanup takes its lab.
        expect(labResources(id!).namespaces).toHaveLength(2);
        expect(cleanupLeftovers()).toContain(id);
      }
      expect(labResources(id!)).toEqual({ namespaces: [], links: [] });
      for (let i = 0; i < 40 && alive(sleeper); i++) await new Promise((r) => setTimeout(r, 50));
      expect(alive(sleeper)).toBe(false);
    }
  });

  it('cleanup never takes a lab whose owner is alive', async () => {
    const lab = await NetnsLab.create(hosts('198.18.203', ['solo']));
    labs.push(lab);
    expect(cleanupLeftovers()).not.toContain(lab.id);
    expect(labResources(lab.id).namespaces).toHaveLength(1);
    // A stale state file of a dead owner with no resources is removed quietly.
    writeFileSync(join(STATE_DIR, 'abcdef'), '999999999\n');
    expect(cleanupLeftovers()).toContain('abcdef');
    expect(existsSync(join(STATE_DIR, 'abcdef'))).toBe(false);
    await lab.destroy();
    expect(labResources(lab.id).namespaces).toHaveLength(0);
  });
});
