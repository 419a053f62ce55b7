// Real tcpdump on lo: capture a caller's leg made with node:dgram, read it with the pcap reader and
// measure the delays. Traffic stays on 127.0.0.1, ports 16000-16099.
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canCapture, captureArgs, parseTcpdumpStats, startCapture, type Capture } from '../measure/capture.js';
import { LINKTYPE, readPcapFile } from '../measure/pcap.js';
import { stopAll } from '../testbed/processes.js';
import { matchSipDelays, summarizeDelays } from '../measure/sip-delays.js';
import { sipRequest, sipResponse } from './sip-test-messages.js';

const GAP_MS = 20;
let dir: string;
const sockets: Socket[] = [];
let capture: Capture | undefined;

async function bound(port: number): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  return s;
}

/** Sends and returns when it was sent (µs, monotonic clock): taken right before send(), which libuv
 * hands to the kernel at once when nothing is queued; the callback may run much later on a busy box. */
function send(from: Socket, toPort: number, msg: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const at = Number(process.hrtime.bigint() / 1000n);
    from.send(msg, toPort, '127.0.0.1', (err) => (err ? reject(err) : resolve(at)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fb-capture-'));
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await capture?.stop().catch(() => undefined);
  capture = undefined;
});

afterAll(async () => {
  await stopAll(500);
  rmSync(dir, { recursive: true, force: true });
});

/** One call: INVITE, GAP 180, GAP 200, from/to the caller port; returns the real gaps in µs. */
async function oneCall(caller: Socket, proxy: Socket, proxyPort: number, callerPort: number, callId: string) {
  const t0 = await send(caller, proxyPort, sipRequest('INVITE', callId, 1));
  await sleep(GAP_MS);
  const t1 = await send(proxy, callerPort, sipResponse(180, 'Ringing', callId, 1));
  await sleep(GAP_MS);
  const t2 = await send(proxy, callerPort, sipResponse(200, 'OK', callId, 1));
  await send(caller, proxyPort, sipRequest('ACK', callId, 1));
  return { ringing: t1 - t0, setup: t2 - t0 };
}

describe('capture', () => {
  it('can capture here (root or CAP_NET_RAW)', async () => {
    expect(await canCapture()).toEqual({ ok: true });
    const missing = await canCapture('no-such-tcpdump-binary');
    expect(missing.ok).toBe(false);
    expect(missing.reason).toMatch(/not found/);
  });

  it('builds the tcpdump command for the caller port only', () => {
    expect(captureArgs({ file: '/x.pcap', port: 16000 })).toEqual(['-i', 'lo', '-w', '/x.pcap', '-U', '--immediate-mode', '-s', '4096', 'udp and port 16000']);
  });

  it('parses the counters tcpdump prints on exit', () => {
    const text = 'tcpdump: listening on lo\n12 packets captured\n24 packets received by filter\n3 packets dropped by kernel\n';
    expect(parseTcpdumpStats(text)).toEqual({ captured: 12, receivedByFilter: 24, droppedByKernel: 3 });
    expect(parseTcpdumpStats('1 packet captured\n1 packet received by filter\n0 packets dropped by kernel')).toEqual({
      captured: 1, receivedByFilter: 1, droppedByKernel: 0,
    });
  });

  it('captures the caller leg on lo and measures delays within a few ms of the real gaps', async () => {
    const CALLER = 16010;
    const PROXY = 16011;
    const OTHER = 16012;
    const file = join(dir, 'lo.pcap');
    capture = await startCapture({ file, port: CALLER });
    const caller = await bound(CALLER);
    const proxy = await bound(PROXY);
    const other = await bound(OTHER);
    const real: { ringing: number; setup: number }[] = [];
    for (let i = 0; i < 3; i++) real.push(await oneCall(caller, proxy, PROXY, CALLER, `call-${i}@127.0.0.1`));
    await send(proxy, OTHER, sipRequest('INVITE', 'not-captured', 1)); // not the caller's port
    const result = await capture.stop();
    capture = undefined;
    expect(result.exitCode).toBe(0);
    expect(result.droppedByKernel).toBe(0);
    expect(result.captured).toBe(12); // 3 calls x 4 datagrams, each seen once
    expect(statSync(file).size).toBeGreaterThan(24);

    const { packets, stats } = await readPcapFile(file);
    expect(stats.linkType).toBe(LINKTYPE.EN10MB);
    expect(stats.truncatedTail).toBe(false);
    expect(packets).toHaveLength(12);
    const { calls } = matchSipDelays(packets, { callerPort: CALLER });
    expect(calls.map((c) => c.callId)).toEqual(['call-0@127.0.0.1', 'call-1@127.0.0.1', 'call-2@127.0.0.1']);
    calls.forEach((c, i) => {
      expect(c.finalStatus).toBe(200);
      expect(c.ringingUs).toBeGreaterThan(0);
      expect(c.setupUs).toBeGreaterThan(c.ringingUs!);
      expect(c.ringingUs!).toBeGreaterThanOrEqual(GAP_MS * 1000 - 1000);
      expect(Math.abs(c.ringingUs! - real[i].ringing)).toBeLessThan(3000);
      expect(Math.abs(c.setupUs! - real[i].setup)).toBeLessThan(3000);
    });
    // timestamps are wall-clock microseconds since the epoch
    expect(Math.abs(calls[0].inviteUs - Date.now() * 1000)).toBeLessThan(60_000_000);
    expect(summarizeDelays(calls).setup.count).toBe(3);
  });

  it('a capture stalled for a moment loses nothing: 1,000 datagrams sent while tcpdump is stopped all reach the file', async () => {
    // The ring holds one snaplen-sized frame per packet (TPACKET_V2 in immediate mode): with -s 0 a
    // 8 MiB buffer held ~32 packets and this lost most of them.
    const SRC = 16040;
    const DST = 16041;
    const file = join(dir, 'stall.pcap');
    capture = await startCapture({ file, port: DST, bufferKib: 8192 });
    const src = await bound(SRC);
    await bound(DST);
    const msg = sipRequest('INVITE', 'stall@127.0.0.1', 1);
    process.kill(capture.pid, 'SIGSTOP');
    try {
      for (let i = 0; i < 1000; i++) src.send(msg, DST, '127.0.0.1');
      await sleep(300);
    } finally {
      process.kill(capture.pid, 'SIGCONT');
    }
    const result = await capture.stop();
    capture = undefined;
    expect(result.droppedByKernel).toBe(0);
    expect(result.captured).toBe(1000);
    const { packets, stats } = await readPcapFile(file);
    expect(packets).toHaveLength(1000);
    expect(stats.snapped).toBe(0); // a whole INVITE fits the snapshot length
  });

  it('reads a LINUX_SLL2 capture from the "any" interface', async () => {
    const CALLER = 16020;
    const PROXY = 16021;
    const file = join(dir, 'any.pcap');
    capture = await startCapture({ file, port: CALLER, iface: 'any' });
    const caller = await bound(CALLER);
    const proxy = await bound(PROXY);
    const real = await oneCall(caller, proxy, PROXY, CALLER, 'any-1');
    await capture.stop();
    capture = undefined;
    const { packets, stats } = await readPcapFile(file);
    expect([LINKTYPE.LINUX_SLL, LINKTYPE.LINUX_SLL2]).toContain(stats.linkType);
    const { calls } = matchSipDelays(packets, { callerPort: CALLER });
    expect(calls).toHaveLength(1);
    expect(Math.abs(calls[0].setupUs! - real.setup)).toBeLessThan(3000);
  });

  it('fails clearly when tcpdump cannot start', async () => {
    await expect(startCapture({ file: join(dir, 'bad.pcap'), port: 16030, iface: 'no-such-if0' })).rejects.toThrow(/tcpdump exited before listening/);
  });
});
