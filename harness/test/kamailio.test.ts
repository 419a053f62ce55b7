// Kamailio as a proxy under test: config generation and check, lifecycle, the routing rules
// (404/403/483, single member, no-answer timer) and a real SIPp group-call load through it.
// Ports 17000-17999 on 127.0.0.1 only.
import { afterEach, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkKamailioConfig,
  kamailioTemplatePath,
  parseGroups,
  renderGroupsInclude,
  sipRequest,
  startKamailio,
  writeKamailioConfig,
  type KamailioProcess,
} from '../testbed/targets/kamailio-launcher.js';
import { spawnTracked, type TrackedChild } from '../testbed/processes.js';
import { findKamailio, kamailioVersion, processTree } from '../testbed/system.js';
import { waitUntilUdpBound } from '../testbed/load/sipp.js';

const HOST = '127.0.0.1';
const SCENARIOS = fileURLToPath(new URL('../../scenarios/', import.meta.url));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  // Reverse order: SIPp before Kamailio before temp dirs.
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fb-kam-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function groupsFile(dir: string, groups: Record<string, string[]>): Promise<string> {
  const p = join(dir, 'groups.json');
  await writeFile(p, JSON.stringify({ groups }));
  return p;
}

async function kamailio(dir: string, port: number, groups: Record<string, string[]>, frInvTimerMs?: number): Promise<KamailioProcess> {
  const opts = { listen: `${HOST}:${port}`, groupsFile: await groupsFile(dir, groups), workDir: join(dir, 'kam'), ...(frInvTimerMs ? { frInvTimerMs } : {}) };
  const k = await startKamailio(opts);
  cleanups.push(() => k.stop());
  return k;
}

function sipp(cwd: string, args: string[]): TrackedChild {
  const c = spawnTracked('sipp', ['-i', HOST, '-nostdin', '-timeout', '40', '-timeout_error', ...args], { name: `sipp ${args.join(' ')}`, cwd });
  cleanups.push(() => c.stop(1000));
  return c;
}

function invite(user: string, hostPort: string, opts: { maxForwards?: number } = {}) {
  return (lp: number): string => {
    const id = `${Date.now()}${Math.random().toString(16).slice(2)}`;
    return [
      `INVITE sip:${user}@${hostPort} SIP/2.0`,
      `Via: SIP/2.0/UDP ${HOST}:${lp};branch=z9hG4bK-t${id}`,
      `Max-Forwards: ${opts.maxForwards ?? 70}`,
      `From: <sip:t@${HOST}:${lp}>;tag=${id}`,
      `To: <sip:${user}@${hostPort}>`,
      `Call-ID: ${id}@test`,
      'CSeq: 1 INVITE',
      `Contact: <sip:t@${HOST}:${lp}>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  };
}

/** Last row of a SIPp ';' CSV as column -> value. */
async function lastRow(path: string): Promise<Record<string, string>> {
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  return Object.fromEntries(head.map((h, i) => [h, last[i] ?? '']));
}

async function sippFile(dir: string, suffix: string): Promise<string> {
  const f = (await readdir(dir)).find((n) => n.endsWith(suffix));
  if (!f) throw new Error(`no *${suffix} in ${dir}`);
  return join(dir, f);
}

async function waitExit(c: TrackedChild, ms: number): Promise<number | null> {
  const t = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());
  const r = await Promise.race([c.exited, t]);
  if (r === 'timeout') throw new Error(`${c.name} still running after ${ms} ms: ${c.stderrTail()}`);
  return r.code;
}

describe('kamailio config', () => {
  it('finds kamailio 5.x', async () => {
    expect(findKamailio()).not.toBeNull();
    expect(await kamailioVersion()).toMatch(/^5\.\d+\.\d+/);
  });

  it('the template checks standalone and the generated config passes kamailio -c', async () => {
    await checkKamailioConfig(kamailioTemplatePath());
    const dir = await tempDir();
    const cfg = await writeKamailioConfig({
      listen: `${HOST}:17001`,
      groupsFile: await groupsFile(dir, { g4: [1, 2, 3, 4].map((i) => `sip:m${i}@${HOST}:${17001 + i}`), g1: [`sip:m1@${HOST}:17002`] }),
      workDir: join(dir, 'kam'),
      frInvTimerMs: 1500,
      children: 3,
    });
    const out = await checkKamailioConfig(cfg);
    expect(out).toContain(`udp: ${HOST} [${HOST}]:17001`);
    const params = await readFile(join(dir, 'kam', 'params.cfg'), 'utf8');
    expect(params).toContain('FB_FR_INV_TIMER 1500');
    expect(params).toContain('FB_CHILDREN 3');
    const include = await readFile(join(dir, 'kam', 'groups.cfg'), 'utf8');
    expect(include).toContain('case "g4":');
    expect(include).toContain(`append_branch("sip:m4@${HOST}:17005");`);
    expect(include).toContain('case "m3":');
  });

  it('refuses groups Kamailio cannot fork or the cfg cannot quote', () => {
    const big = Array.from({ length: 31 }, (_, i) => `sip:m${i}@${HOST}:${17500 + i}`);
    expect(() => parseGroups(JSON.stringify({ groups: { big } }))).toThrow(/at most 30/);
    expect(() => parseGroups(JSON.stringify({ groups: { 'g"x': ['sip:a@h'] } }))).toThrow(/group name/);
    expect(() => renderGroupsInclude(parseGroups(JSON.stringify({ groups: { g: ['sip:a"b@h'] } })))).toThrow(/member URI/);
    expect(() => renderGroupsInclude(parseGroups(JSON.stringify({ groups: { g: ['sip:a@h:1'], h: ['sip:a@h:2'] } })))).toThrow(/both/);
    expect(() => parseGroups('{"groups": {"g": []}}')).toThrow(/non-empty/);
  });
});

describe('kamailio process and routing', () => {
  it('starts, answers per the rules, relays to a single member with Record-Route, stops with no process left', async () => {
    const dir = await tempDir();
    const port = 17100;
    const k = await kamailio(dir, port, { g2: [`sip:m1@${HOST}:17101`, `sip:m2@${HOST}:17102`] });
    expect(existsSync(join(dir, 'kam', 'kamailio.pid'))).toBe(true);
    const pids = await k.pids();
    expect(pids[0]).toBe(k.mainPid);
    expect(pids.length).toBeGreaterThanOrEqual(3); // main + 2 UDP workers + timers
    const target = { host: HOST, port };
    expect(await sipRequest(target, invite('nobody', `${HOST}:${port}`), 2000)).toBe(404);
    expect(await sipRequest(target, invite('g2', `${HOST}:${port}`, { maxForwards: 0 }), 2000)).toBe(483);
    // Not addressed to the proxy: refused before any relaying (no open relay).
    expect(await sipRequest(target, invite('g2', `${HOST}:17199`), 2000)).toBe(403);
    expect(await sipRequest(target, invite('g2', 'example.com'), 2000)).toBe(403);

    // A single member's user goes to that member alone; a fake member answers 486.
    const member: Socket = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => member.close(() => r())));
    const seen: string[] = [];
    member.on('message', (buf, rinfo) => {
      const msg = buf.toString('latin1');
      seen.push(msg);
      if (!msg.startsWith('INVITE ')) return;
      const hdr = (name: string): string[] => msg.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
      const reply = ['SIP/2.0 486 Busy Here', ...hdr('Via'), ...hdr('From'), `${hdr('To')[0]};tag=busy`, ...hdr('Call-ID'), ...hdr('CSeq'), 'Content-Length: 0', '', ''].join('\r\n');
      member.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => member.bind(17102, HOST, () => r()));
    expect(await sipRequest(target, invite('m2', `${HOST}:${port}`), 3000)).toBe(486);
    const inv = seen.find((m) => m.startsWith('INVITE '));
    expect(inv).toBeDefined();
    expect(inv!.split('\r\n')[0]).toBe(`INVITE sip:m2@${HOST}:17102 SIP/2.0`);
    expect(inv).toMatch(new RegExp(`^Record-Route: <sip:${HOST.replace(/\./g, '\\.')}:${port};lr>`, 'mi'));
    expect(inv).toMatch(/^Max-Forwards: 69/im);

    await k.stop();
    expect(await processTree(k.mainPid)).toEqual([]);
    for (const p of pids) expect(await processTree(p)).toEqual([]); // gone (or a zombie awaiting its reaper)
  });

  it('fails fast with the reason when the port is taken', async () => {
    const dir = await tempDir();
    const busy: Socket = createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => busy.close(() => r())));
    await new Promise<void>((r) => busy.bind(17150, HOST, () => r()));
    await expect(startKamailio({ listen: `${HOST}:17150`, groupsFile: await groupsFile(dir, { g: [`sip:a@${HOST}:17151`] }), workDir: join(dir, 'kam') })).rejects.toThrow(
      /exited during startup.*Address already in use/s,
    );
  });

  it('no-answer timer: CANCELs the ringing member and answers 408 after frInvTimerMs', async () => {
    const dir = await tempDir();
    const port = 17200;
    await kamailio(dir, port, { g1: [`sip:r1@${HOST}:17201`] }, 1000);
    const ringer = sipp(dir, ['-sf', join(SCENARIOS, 'ringer.xml'), '-p', '17201', '-m', '1', '-trace_counts']);
    await waitUntilUdpBound(17201);
    const t0 = Date.now();
    expect(await sipRequest({ host: HOST, port }, invite('g1', `${HOST}:${port}`), 5000)).toBe(408);
    // Not before the timer: a lower bound only (a loaded machine may answer later, never earlier).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(await waitExit(ringer, 10_000)).toBe(0);
    const counts = await lastRow(await sippFile(dir, '_counts.csv'));
    expect(counts['2_CANCEL_Recv']).toBe('1');
  });
});

describe('kamailio under SIPp load', () => {
  it('group of 4 (1 answerer + 3 ringers): 50 calls at 20 cps all succeed; every ringer sees 50 INVITEs and 50 CANCELs', async () => {
    const dir = await tempDir();
    const port = 17300;
    const ports = [17301, 17302, 17303, 17304];
    const k = await kamailio(dir, port, { g4: ports.map((p, i) => `sip:m${i + 1}@${HOST}:${p}`) });
    const members = await Promise.all(
      ports.map(async (p, i) => {
        const cwd = join(dir, `member${p}`);
        await mkdir(cwd);
        const xml = join(SCENARIOS, i === 0 ? 'answerer.xml' : 'ringer.xml');
        // -d: the answerer rings 20 ms before answering.
        return { cwd, proc: sipp(cwd, ['-sf', xml, '-p', String(p), '-m', '50', '-d', '20', '-trace_counts', '-trace_stat']) };
      }),
    );
    await Promise.all(ports.map((p) => waitUntilUdpBound(p)));
    const callerDir = join(dir, 'caller');
    await mkdir(callerDir);
    const caller = sipp(callerDir, [
      '-sf', join(SCENARIOS, 'caller.xml'), '-s', 'g4', `${HOST}:${port}`, '-p', '17310',
      '-m', '50', '-r', '20', '-d', '100', '-trace_stat', '-trace_counts',
    ]);
    const cpuPids = await k.pids();
    expect(await waitExit(caller, 30_000)).toBe(0);
    const stat = await lastRow(await sippFile(callerDir, '_.csv'));
    expect(stat['SuccessfulCall(C)']).toBe('50');
    expect(stat['FailedCall(C)']).toBe('0');
    // The ringers' 487s were absorbed by Kamailio: the caller saw nothing unexpected.
    const callerCounts = await lastRow(await sippFile(callerDir, '_counts.csv'));
    const unexpected = Object.entries(callerCounts).filter(([col]) => col.endsWith('_Unexp'));
    expect(unexpected.length).toBeGreaterThan(0);
    for (const [col, v] of unexpected) expect(v, col).toBe('0');
    for (const [i, m] of members.entries()) {
      expect(await waitExit(m.proc, 15_000)).toBe(0);
      const counts = await lastRow(await sippFile(m.cwd, '_counts.csv'));
      expect(counts['0_INVITE_Recv']).toBe('50');
      if (i > 0) expect(counts['2_CANCEL_Recv']).toBe('50');
    }
    await k.stop();
    for (const p of cpuPids) expect(await processTree(p)).toEqual([]);
  });

  it('caller CANCEL while ringing: relayed to every branch, the caller gets 487 for each of 10 calls', async () => {
    const dir = await tempDir();
    const port = 17400;
    const ports = [17401, 17402];
    await kamailio(dir, port, { g2: ports.map((p, i) => `sip:r${i + 1}@${HOST}:${p}`) });
    const ringers = await Promise.all(
      ports.map(async (p) => {
        const cwd = join(dir, `ringer${p}`);
        await mkdir(cwd);
        return { cwd, proc: sipp(cwd, ['-sf', join(SCENARIOS, 'ringer.xml'), '-p', String(p), '-m', '10', '-trace_counts']) };
      }),
    );
    await Promise.all(ports.map((p) => waitUntilUdpBound(p)));
    const callerDir = join(dir, 'caller');
    await mkdir(callerDir);
    const caller = sipp(callerDir, [
      '-sf', join(SCENARIOS, 'caller-cancel.xml'), '-s', 'g2', `${HOST}:${port}`, '-p', '17410',
      '-m', '10', '-r', '10', '-d', '50', '-trace_stat',
      '-pause_msg_ign', // caller-cancel.xml aborts on the second branch's 180 arriving during its <pause/>
    ]);
    expect(await waitExit(caller, 20_000)).toBe(0);
    expect((await lastRow(await sippFile(callerDir, '_.csv')))['SuccessfulCall(C)']).toBe('10');
    for (const r of ringers) {
      expect(await waitExit(r.proc, 10_000)).toBe(0);
      const counts = await lastRow(await sippFile(r.cwd, '_counts.csv'));
      expect(counts['0_INVITE_Recv']).toBe('10');
      expect(counts['2_CANCEL_Recv']).toBe('10');
    }
  });
});
