// sippArgs unit tests, and real SIPp runs of each scenario pair on 127.0.0.1 (ports 15000-15199).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  scenarioFile,
  sippArgs,
  startSipp,
  waitUntilUdpBound,
  type SippOptions,
  type SippProcess,
} from '../testbed/load/sipp.js';
import { readFinalCodes, readSippRttFile, readSippStatFile } from '../measure/sipp-stats.js';
import { findSipp, sippVersion } from '../testbed/system.js';

const started: SippProcess[] = [];
function start(opts: SippOptions): SippProcess {
  const p = startSipp(opts);
  started.push(p);
  return p;
}
let relay: Socket | undefined;
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop(1000)));
  relay?.close();
  relay = undefined;
});

/**
 * A minimal record-routing relay for one caller and one member, enough to check that the
 * scenarios handle Record-Route: requests get our Via (and Record-Route on INVITE) and go to
 * the member, responses lose our Via and go back to the caller.
 */
function startRelay(port: number, callerPort: number, memberPort: number): Promise<Socket> {
  const sock = createSocket('udp4');
  const me = `127.0.0.1:${port}`;
  sock.on('message', (buf, rinfo) => {
    const text = buf.toString('latin1');
    if (rinfo.port === callerPort && !text.startsWith('SIP/2.0')) {
      const [head, ...rest] = text.split('\r\n');
      const lines = rest.filter((l) => !new RegExp(`^Route: <sip:${me};lr>`, 'i').test(l));
      const added = [`Via: SIP/2.0/UDP ${me};branch=z9hG4bK-relay-${head.split(' ')[0]}-${Date.now()}`];
      if (head.startsWith('INVITE ')) added.push(`Record-Route: <sip:${me};lr>`);
      sock.send(Buffer.from([head, ...added, ...lines].join('\r\n'), 'latin1'), memberPort, '127.0.0.1');
    } else if (rinfo.port === memberPort && text.startsWith('SIP/2.0')) {
      const lines = text.split('\r\n');
      const i = lines.findIndex((l) => l.startsWith('Via: ') && l.includes(me));
      if (i >= 0) lines.splice(i, 1);
      sock.send(Buffer.from(lines.join('\r\n'), 'latin1'), callerPort, '127.0.0.1');
    }
  });
  return new Promise((res) => sock.bind(port, '127.0.0.1', () => res(sock)));
}

function argAfter(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

describe('sippArgs', () => {
  it('builds a caller command line', () => {
    const args = sippArgs({
      role: 'caller',
      localPort: 15001,
      remote: '127.0.0.1:5060',
      service: 'g4',
      calls: 100,
      rate: 25,
      holdMs: 30,
      outDir: '/tmp/x',
      name: 'caller',
      timeoutS: 60,
      extraArgs: ['-max_recv_loops', '2000'],
    });
    expect(args.slice(0, 3)).toEqual(['-sf', scenarioFile('caller'), '127.0.0.1:5060']);
    expect(argAfter(args, '-i')).toBe('127.0.0.1');
    expect(argAfter(args, '-p')).toBe('15001');
    expect(argAfter(args, '-s')).toBe('g4');
    expect(argAfter(args, '-m')).toBe('100');
    expect(argAfter(args, '-r')).toBe('25');
    expect(argAfter(args, '-l')).toBe('100');
    expect(argAfter(args, '-d')).toBe('30');
    expect(argAfter(args, '-stf')).toBe('/tmp/x/caller_stat.csv');
    expect(argAfter(args, '-error_file')).toBe('/tmp/x/caller_errors.log');
    expect(argAfter(args, '-rtt_freq')).toBe('1');
    expect(argAfter(args, '-timeout')).toBe('60s');
    expect(args).toContain('-timeout_error');
    expect(args).toContain('-nostdin');
    expect(args).not.toContain('-bg');
    expect(args.slice(-2)).toEqual(['-max_recv_loops', '2000']);
  });

  it('builds UAS command lines without UAC-only options', () => {
    const args = sippArgs({ role: 'answerer', localPort: 15002, calls: 10, ringMs: 80, rate: 5, service: 'g4', outDir: 'out', name: 'member-01' });
    expect(args.slice(0, 2)).toEqual(['-sf', scenarioFile('answerer')]);
    expect(args[2]).toBe('-i');
    expect(argAfter(args, '-d')).toBe('80');
    expect(argAfter(args, '-m')).toBe('10');
    for (const f of ['-r', '-l', '-s', '-trace_rtt', '-timeout']) expect(args).not.toContain(f);
    expect(argAfter(args, '-stf')).toMatch(/out\/member-01_stat\.csv$/);
    const ringer = sippArgs({ role: 'ringer', localPort: 15003, outDir: 'out', name: 'r' });
    expect(ringer).not.toContain('-d');
    expect(ringer).not.toContain('-m');
  });

  it('defaults the ring and hold times', () => {
    expect(argAfter(sippArgs({ role: 'answerer', localPort: 1, outDir: 'o', name: 'a' }), '-d')).toBe('50');
    expect(argAfter(sippArgs({ role: 'caller', localPort: 1, remote: '127.0.0.1:2', outDir: 'o', name: 'c' }), '-d')).toBe('0');
  });

  it('asks for the log file only for caller-expect-fail, and pins ports on request', () => {
    const args = sippArgs({ role: 'caller-expect-fail', localPort: 1, remote: '127.0.0.1:2', outDir: '/o', name: 'f', mediaPort: 15500, controlPort: 15600 });
    expect(argAfter(args, '-log_file')).toBe('/o/f_logs.log');
    expect(argAfter(args, '-mp')).toBe('15500');
    expect(argAfter(args, '-cp')).toBe('15600');
    expect(sippArgs({ role: 'caller', localPort: 1, remote: '127.0.0.1:2', outDir: '/o', name: 'c' })).not.toContain('-trace_logs');
  });

  it('refuses a UAC without a remote', () => {
    expect(() => sippArgs({ role: 'caller', localPort: 1, outDir: 'o', name: 'c' })).toThrow(/remote/);
  });
});

describe('real SIPp runs on 127.0.0.1', () => {
  let dir: string;
  beforeAll(() => {
    expect(findSipp(), 'sipp must be installed').not.toBeNull();
    dir = mkdtempSync(join(tmpdir(), 'forkbench-sipp-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports its version', async () => {
    expect(await sippVersion()).toMatch(/^3\.\d+\.\d+/);
  });

  it('caller -> answerer: 20 calls at 20 cps all succeed, with both timers', async () => {
    const out = join(dir, 'answer');
    const uas = start({ role: 'answerer', localPort: 15010, calls: 20, ringMs: 20, outDir: out, name: 'member-01', timeoutS: 20 });
    await waitUntilUdpBound(15010);
    const uac = start({ role: 'caller', localPort: 15011, remote: '127.0.0.1:15010', service: 'g4', calls: 20, rate: 20, holdMs: 10, outDir: out, name: 'caller', timeoutS: 20 });
    const [cExit, sExit] = await Promise.all([uac.done, uas.done]);
    expect(cExit.code, readFileSync(cExit.stderrFile ?? '/dev/null', 'utf8')).toBe(0);
    expect(sExit.code).toBe(0);
    expect(cExit.errFile).toBeUndefined();

    const stats = await readSippStatFile(cExit.statFile as string);
    expect(stats.successfulCalls).toBe(20);
    expect(stats.failedCalls).toBe(0);
    expect(stats.totalCalls).toBe(20);
    expect(stats.failuresByCause).toEqual({});
    expect(Object.keys(stats.responseTimeMs).sort()).toEqual(['ringing', 'setup']);
    // setup includes the 20 ms ring; SIPp's clock has 1 ms (often coarser) resolution.
    expect(stats.responseTimeMs.setup.mean).toBeGreaterThanOrEqual(15);
    expect(stats.responseTimeMs.setup.mean).toBeGreaterThan(stats.responseTimeMs.ringing.mean);

    const rtt = await readSippRttFile(cExit.rttFile as string);
    expect(rtt.filter((r) => r.rtdName === 'ringing')).toHaveLength(20);
    expect(rtt.filter((r) => r.rtdName === 'setup')).toHaveLength(20);
    // Dates are absolute (StartTime of the stat file + SIPp's relative ms).
    const now = Date.now();
    for (const r of rtt) expect(Math.abs(r.dateMs - now)).toBeLessThan(60_000);

    const uasStats = await readSippStatFile(sExit.statFile as string);
    expect(uasStats.successfulCalls).toBe(20);
  });

  it('caller -> record-routing relay -> answerer: ACK and BYE follow the Route set', async () => {
    const out = join(dir, 'record-route');
    relay = await startRelay(15080, 15081, 15082);
    const uas = start({ role: 'answerer', localPort: 15082, calls: 3, ringMs: 5, outDir: out, name: 'member-01', timeoutS: 20, traceMessages: true });
    await waitUntilUdpBound(15082);
    const uac = start({ role: 'caller', localPort: 15081, remote: '127.0.0.1:15080', service: 'g1', calls: 3, rate: 10, outDir: out, name: 'caller', timeoutS: 20, traceMessages: true });
    const [cExit, sExit] = await Promise.all([uac.done, uas.done]);
    expect(cExit.code).toBe(0);
    expect(sExit.code).toBe(0);
    expect((await readSippStatFile(cExit.statFile as string)).successfulCalls).toBe(3);
    const member = readFileSync(join(out, 'member-01_messages.log'), 'utf8');
    expect(member).toMatch(/SIP\/2\.0 200 OK\r?\n(?:[^\r\n]+\r?\n)*?Record-Route: <sip:127\.0\.0\.1:15080;lr>/);
    const caller = readFileSync(join(out, 'caller_messages.log'), 'utf8');
    // In-dialog requests: Request-URI = the member's Contact, Route = the relay.
    expect(caller).toMatch(/ACK sip:member@127\.0\.0\.1:15082[^\r\n]*\r?\nVia: [^\r\n]+\r?\nRoute: <sip:127\.0\.0\.1:15080;lr>/);
    expect(caller).toMatch(/BYE sip:member@127\.0\.0\.1:15082[^\r\n]*\r?\nVia: [^\r\n]+\r?\nRoute: <sip:127\.0\.0\.1:15080;lr>/);
  });

  it('caller-cancel -> ringer: CANCEL, 200, 487, ACK', async () => {
    const out = join(dir, 'cancel-ringer');
    const uas = start({ role: 'ringer', localPort: 15020, calls: 5, outDir: out, name: 'member-02', timeoutS: 20 });
    await waitUntilUdpBound(15020);
    const uac = start({ role: 'caller-cancel', localPort: 15021, remote: '127.0.0.1:15020', service: 'g2', calls: 5, rate: 10, holdMs: 10, outDir: out, name: 'caller', timeoutS: 20, traceMessages: true });
    const [cExit, sExit] = await Promise.all([uac.done, uas.done]);
    expect(cExit.code).toBe(0);
    expect(sExit.code).toBe(0);
    expect((await readSippStatFile(cExit.statFile as string)).successfulCalls).toBe(5);
    expect((await readSippStatFile(sExit.statFile as string)).successfulCalls).toBe(5);
    const msgs = readFileSync(join(out, 'caller_messages.log'), 'utf8');
    // CANCEL and the ACK for the 487 reuse the INVITE's branch (RFC 3261 9.1, 17.1.1.3).
    const branches = [...msgs.matchAll(/^(INVITE|CANCEL|ACK) .*\r?\nVia: [^\r\n]*branch=([^;\s]+)/gm)].filter((m) => m[2].endsWith('-1-inv'));
    expect(branches.map((m) => m[1])).toEqual(['INVITE', 'CANCEL', 'ACK']);
    expect(msgs).toMatch(/SIP\/2\.0 487 Request Terminated[\s\S]*?CSeq: 1 INVITE/);
  });

  it('caller-cancel -> answerer: a CANCEL during the ring ends both sides cleanly', async () => {
    const out = join(dir, 'cancel-answerer');
    const uas = start({ role: 'answerer', localPort: 15030, calls: 3, ringMs: 2000, outDir: out, name: 'member-01', timeoutS: 20 });
    await waitUntilUdpBound(15030);
    const uac = start({ role: 'caller-cancel', localPort: 15031, remote: '127.0.0.1:15030', service: 'g2', calls: 3, rate: 10, holdMs: 10, outDir: out, name: 'caller', timeoutS: 20 });
    const [cExit, sExit] = await Promise.all([uac.done, uas.done]);
    expect(cExit.code).toBe(0);
    expect(sExit.code).toBe(0);
    expect((await readSippStatFile(sExit.statFile as string)).successfulCalls).toBe(3);
  });

  it('caller-expect-fail -> busy: 486 counted as success and logged', async () => {
    const out = join(dir, 'busy');
    const uas = start({ role: 'busy', localPort: 15040, calls: 4, outDir: out, name: 'member-01', timeoutS: 20 });
    await waitUntilUdpBound(15040);
    const uac = start({ role: 'caller-expect-fail', localPort: 15041, remote: '127.0.0.1:15040', service: 'g1', calls: 4, rate: 20, outDir: out, name: 'caller', timeoutS: 20 });
    const [cExit, sExit] = await Promise.all([uac.done, uas.done]);
    expect(cExit.code).toBe(0);
    expect(sExit.code).toBe(0);
    expect((await readSippStatFile(cExit.statFile as string)).successfulCalls).toBe(4);
    expect(await readFinalCodes(cExit.logFile as string)).toEqual({ '486': 4 });
  });

  it('caller-expect-fail fails the call when it is answered', async () => {
    const out = join(dir, 'expect-fail-answered');
    const uas = start({ role: 'answerer', localPort: 15050, calls: 1, ringMs: 0, outDir: out, name: 'member-01', timeoutS: 10 });
    await waitUntilUdpBound(15050);
    const uac = start({ role: 'caller-expect-fail', localPort: 15051, remote: '127.0.0.1:15050', service: 'g1', calls: 1, outDir: out, name: 'caller', timeoutS: 10 });
    const cExit = await uac.done;
    expect(cExit.code).toBe(1);
    const stats = await readSippStatFile(cExit.statFile as string);
    expect(stats.failedCalls).toBe(1);
    expect(stats.failuresByCause).toEqual({ FailedUnexpectedMessage: 1 });
  });

  it('stop() ends a UAS waiting for calls, and the stat file has its final row', async () => {
    const out = join(dir, 'stop');
    const uas = start({ role: 'ringer', localPort: 15060, outDir: out, name: 'member-09' });
    await waitUntilUdpBound(15060);
    const exit = await uas.stop(2000);
    expect(exit.signal).toBeNull(); // SIGTERM was enough: it exited by itself, not by SIGKILL
    expect(exit.code).toBe(0);
    expect((await readSippStatFile(exit.statFile as string)).totalCalls).toBe(0);
  });

  it('the caller is open-loop: against a proxy that never answers it still places every call on time', async () => {
    // SIPp's default open-call cap (3 x rate) would stop it at ~60 calls after 3 s here.
    const out = join(dir, 'openloop');
    const seen = new Set<string>();
    relay = createSocket('udp4');
    relay.on('message', (m) => {
      const id = /^Call-ID:\s*(\S+)/im.exec(m.toString('latin1'));
      if (id && m.toString('latin1', 0, 7) === 'INVITE ') seen.add(id[1]!);
    });
    await new Promise<void>((r) => relay!.bind(15080, '127.0.0.1', () => r()));
    const uac = start({ role: 'caller', localPort: 15081, remote: '127.0.0.1:15080', service: 'g1', calls: 120, rate: 20, outDir: out, name: 'caller', timeoutS: 8 });
    await uac.done;
    expect(seen.size).toBe(120);
  });

  it('-timeout with -timeout_error ends a SIPp whose call hangs', async () => {
    const out = join(dir, 'timeout');
    // A ringer is never CANCELled here, so the caller's call hangs until the global timeout.
    const uas = start({ role: 'ringer', localPort: 15070, calls: 1, outDir: out, name: 'member-01', timeoutS: 3 });
    await waitUntilUdpBound(15070);
    const uac = start({ role: 'caller', localPort: 15071, remote: '127.0.0.1:15070', service: 'g1', calls: 1, outDir: out, name: 'caller', timeoutS: 2 });
    const cExit = await uac.done;
    expect(cExit.code).toBe(255); // -timeout_error's exit code: the global timeout ended it
    const stats = await readSippStatFile(cExit.statFile as string);
    expect(stats.totalCalls).toBe(1);
    expect(stats.successfulCalls).toBe(0);
    expect((await uas.done).code).toBe(255);
  });
});
