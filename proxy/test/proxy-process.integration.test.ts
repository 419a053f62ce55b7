// The built proxy as a user runs it (`forkbench proxy` / `fork-node`, a child process), driven by
// plain UDP sockets: the start-up line, /metrics and /metrics.json, 405, 505, drops counted by
// reason, every 2xx relayed upstream, and an idle proxy that stays asleep. Ports 26600-26699 on
// 127.0.0.1.
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launchProxy, readCounters, type ProxyProcess } from '../../harness/testbed/targets/proxy-launcher.js';
import { spawnTracked, type TrackedChild } from '../../harness/testbed/processes.js';
import { packageRoot } from '../../harness/testbed/system.js';
import { CpuWindow } from '../../harness/measure/cpu-sampler.js';
import { FAST_TIMERS } from './group-call-rig.js';

const HOST = '127.0.0.1';
const started: ProxyProcess[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  await Promise.allSettled(started.splice(0).map((p) => p.child.stop()));
  for (const s of sockets.splice(0)) s.close();
});

async function groupsFile(members: number[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'forkbench-proxyproc-'));
  const file = join(dir, 'groups.json');
  await writeFile(file, JSON.stringify({ groups: { g2: members.map((p, j) => `sip:m${j + 1}@${HOST}:${p}`) } }));
  return file;
}

async function proxy(o: Parameters<typeof launchProxy>[0]): Promise<ProxyProcess> {
  const p = await launchProxy({ ...o, extraArgs: [...FAST_TIMERS, ...(o.extraArgs ?? [])] });
  started.push(p);
  return p;
}

/** A UDP socket on `port` that records what it receives. */
async function endpoint(port: number, onMessage?: (text: string, s: Socket) => void): Promise<{ sock: Socket; got: string[] }> {
  const sock = createSocket('udp4');
  sockets.push(sock);
  const got: string[] = [];
  sock.on('message', (buf) => {
    const text = buf.toString('latin1');
    got.push(text);
    onMessage?.(text, sock);
  });
  await new Promise<void>((r) => sock.bind(port, HOST, () => r()));
  return { sock, got };
}

const send = (s: Socket, text: string, port: number): Promise<void> => new Promise((r) => s.send(Buffer.from(text, 'latin1'), port, HOST, () => r()));

/** Waits until `cond` holds (polling every 20 ms), at most `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function request(method: string, uri: string, from: number, opts: { callId?: string; version?: string } = {}): string {
  const id = opts.callId ?? `c${Math.random().toString(36).slice(2)}`;
  return [
    `${method} ${uri} ${opts.version ?? 'SIP/2.0'}`,
    `Via: SIP/2.0/UDP ${HOST}:${from};branch=z9hG4bK-${id}`,
    'Max-Forwards: 70',
    `From: <sip:caller@${HOST}:${from}>;tag=t-${id}`,
    `To: <${uri}>`,
    `Call-ID: ${id}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:caller@${HOST}:${from}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A member's final answer to a request it received: every Via, From, To with a tag, Call-ID, CSeq. */
function answer(req: string, status: number, reason: string, tag: string, contactPort: number): string {
  const lines = req.split('\r\n');
  const keep = (name: string): string[] => lines.filter((l) => l.toLowerCase().startsWith(`${name}:`));
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...keep('via'),
    ...keep('record-route'),
    ...keep('from'),
    `${keep('to')[0]};tag=${tag}`,
    ...keep('call-id'),
    ...keep('cseq'),
    `Contact: <sip:m@${HOST}:${contactPort}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const status = (text: string): number => Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1] ?? 0);

describe('start-up line', () => {
  it('names role, parse mode and whether it was the default, 180 policy, address, metrics URL and pid', async () => {
    const groups = await groupsFile([26611, 26612]);
    const c = await proxy({ role: 'centralized', port: 26600, metricsPort: 26601, groupsFile: groups, parse: 'full' });
    const line = c.child.stdoutTail().trim();
    expect(line).toBe(
      `forkbench proxy: centralized, parse=full, relay-180=all, listening on udp:${HOST}:26600, 1 groups, metrics http://${HOST}:26601/metrics, pid ${c.child.pid}`,
    );
    // It exits cleanly (code 0, not killed) on SIGTERM.
    expect(await c.child.stop(3000, 'SIGTERM')).toMatchObject({ code: 0, signal: null });
  });

  it('an idle proxy does not wake up: under 1 ms of CPU in 1 s with no traffic (the timer wheel ticks only while a timer is pending)', async () => {
    const groups = await groupsFile([26681, 26682]);
    const c = await proxy({ role: 'centralized', port: 26680, metricsPort: 26683, groupsFile: groups, parse: 'full' });
    await new Promise((r) => setTimeout(r, 300)); // start-up's own work (JIT, the readiness poll) is over
    const win = new CpuWindow([{ pid: c.child.pid }]);
    await win.start();
    await new Promise((r) => setTimeout(r, 1000));
    const use = (await win.end()).get(c.child.pid)!;
    if (!use.ok) throw new Error(use.error);
    // A wheel ticking every 10 ms costs about 8 ms per second here (0.8 %, measured before the fix).
    expect(use.cpuUs).toBeLessThan(1000);
  });

  it('prints the parse default of each role: lazy for the head, full for a fork node and the centralized proxy', async () => {
    const groups = await groupsFile([26621, 26622]);
    // launchProxy always passes --parse: start these by hand to see the defaults.
    const cli = join(packageRoot(), 'dist', 'cli', 'forkbench.js');
    const run = (args: string[]): TrackedChild => spawnTracked(process.execPath, [cli, ...args, '--groups', groups]);
    const node = run(['fork-node', '--listen', `${HOST}:26603`, '--shard', '1/1']);
    const head = run(['proxy', '--mode', 'distributed', '--listen', `${HOST}:26605`, '--fork-nodes', `${HOST}:26603`]);
    const central = run(['proxy', '--listen', `${HOST}:26606`]);
    try {
      await until(() => [node, head, central].every((c) => c.stdoutTail().includes('listening')));
      expect(node.stdoutTail()).toMatch(/^forkbench fork-node: fork node, shard 1\/1, parse=full \(default\), relay-180=first, listening on udp:127\.0\.0\.1:26603, 1 groups, pid \d+\n$/);
      expect(head.stdoutTail()).toMatch(/^forkbench proxy: distributed head, 1 fork nodes \(127\.0\.0\.1:26603\), parse=lazy \(default\), relay-180=all, /);
      expect(central.stdoutTail()).toMatch(/^forkbench proxy: centralized, parse=full \(default\), /);
      // ... and on SIGINT.
      expect(await central.stop(3000, 'SIGINT')).toMatchObject({ code: 0, signal: null });
    } finally {
      await Promise.all([node.stop(), head.stop(), central.stop()]);
    }
  });
});

describe('answers and counters', () => {
  it('/metrics serves Prometheus text with every promised family, /metrics.json the same counters', async () => {
    const groups = await groupsFile([26631, 26632]);
    const c = await proxy({ role: 'centralized', port: 26630, metricsPort: 26639, groupsFile: groups, parse: 'full' });
    const caller = await endpoint(26633);
    await send(caller.sock, request('OPTIONS', `sip:g2@${HOST}:26630`, 26633), 26630);
    await until(() => caller.got.length > 0);
    const res = await fetch(`http://${HOST}:26639/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const family of [
      'sip_messages_received_total',
      'sip_messages_sent_total',
      'sip_transactions_active',
      'sip_transactions_table',
      'sip_forks_active',
      'sip_calls_forked_total',
      'sip_branches_created_total',
      'sip_parse_errors_total',
      'sip_dropped_total',
      'sip_overload_rejected_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(text, family).toContain(`# TYPE ${family} `);
    }
    expect(text).toContain('sip_messages_received_total{kind="request",method="OPTIONS"} 1\n');
    expect(text).toContain('sip_messages_sent_total{kind="response",status="405"} 1\n');
    expect(text).toMatch(/^process_resident_memory_bytes [1-9]\d{6,}$/m);
    const json = await readCounters(c.metricsUrl);
    expect(json.received).toEqual({ OPTIONS: 1 });
    expect(json.sent).toEqual({ '405': 1 });
    expect((await fetch(`http://${HOST}:26639/nothing`)).status).toBe(404);
  });

  it('a non-INVITE to a group gets 405 with Allow; a SIP/3.0 request gets 505', async () => {
    const groups = await groupsFile([26641, 26642]);
    await proxy({ role: 'centralized', port: 26640, metricsPort: 26649, groupsFile: groups, parse: 'full' });
    const caller = await endpoint(26643);
    await send(caller.sock, request('MESSAGE', `sip:g2@${HOST}:26640`, 26643), 26640);
    await until(() => caller.got.length === 1);
    expect(caller.got[0]).toMatch(/^SIP\/2\.0 405 Method Not Allowed/);
    expect(caller.got[0]).toMatch(/^Allow: .*INVITE/im);
    await send(caller.sock, request('INVITE', `sip:g2@${HOST}:26640`, 26643, { version: 'SIP/3.0' }), 26640);
    await until(() => caller.got.length === 2);
    expect(caller.got[1]).toMatch(/^SIP\/2\.0 505 Version Not Supported/);
  });

  it('what cannot be answered is dropped and counted by reason, in /metrics too', async () => {
    const groups = await groupsFile([26651, 26652]);
    const c = await proxy({ role: 'centralized', port: 26650, metricsPort: 26659, groupsFile: groups, parse: 'full' });
    const caller = await endpoint(26653);
    const noVia = request('INVITE', `sip:g2@${HOST}:26650`, 26653).replace(/^Via: .*\r\n/m, '');
    await send(caller.sock, 'hello, proxy', 26650);
    await send(caller.sock, noVia, 26650);
    // A response for no transaction of ours (its top Via is someone else's).
    await send(caller.sock, answer(request('INVITE', `sip:g2@${HOST}:26650`, 26653), 200, 'OK', 'x', 26653), 26650);
    // The proxy handles one socket's datagrams in order: once this 405 is back, the three were handled.
    await send(caller.sock, request('OPTIONS', `sip:g2@${HOST}:26650`, 26653), 26650);
    await until(() => caller.got.length > 0);
    expect(caller.got.map(status)).toEqual([405]);
    const m = await readCounters(c.metricsUrl);
    const total = Object.values(m.dropped).reduce((a, b) => a + b, 0);
    expect(total).toBe(3);
    expect(Object.keys(m.dropped).length).toBeGreaterThan(1); // not one catch-all reason
    const text = await (await fetch(`http://${HOST}:26659/metrics`)).text();
    for (const [reason, n] of Object.entries(m.dropped)) expect(text).toContain(`sip_dropped_total{reason="${reason}"} ${n}\n`);
  });

  it('every 2xx is relayed upstream: two members answer, the caller gets both 200s', async () => {
    const groups = await groupsFile([26661, 26662]);
    await proxy({ role: 'centralized', port: 26660, metricsPort: 26669, groupsFile: groups, parse: 'full' });
    // Both members answer 200 at once (no 180 first, so neither branch is cancelled before it answers).
    const m1 = await endpoint(26661, (t, s) => t.startsWith('INVITE ') && void send(s, answer(t, 200, 'OK', 'one', 26661), 26660));
    const m2 = await endpoint(26662, (t, s) => t.startsWith('INVITE ') && void send(s, answer(t, 200, 'OK', 'two', 26662), 26660));
    const caller = await endpoint(26663);
    await send(caller.sock, request('INVITE', `sip:g2@${HOST}:26660`, 26663, { callId: 'both-answer' }), 26660);
    const finals = (): string[] => caller.got.filter((t) => status(t) === 200);
    await until(() => finals().length === 2);
    const tags = finals().map((t) => /^To: .*;tag=(\w+)/im.exec(t)?.[1]);
    expect(tags.sort()).toEqual(['one', 'two']);
    expect(m1.got.filter((t) => t.startsWith('INVITE '))).toHaveLength(1);
    expect(m2.got.filter((t) => t.startsWith('INVITE '))).toHaveLength(1);
  });
});
