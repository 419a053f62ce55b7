// The proxy tried as an attacker would, over real UDP sockets on loopback: a listener on another
// address (127.0.0.2) stands in for the victim, hostile datagrams go to the real proxy, and the
// test asserts the victim receives nothing (or exactly one datagram per datagram sent) and that
// the proxy's /metrics.json says why.
// Ports: 18500-18519 (proxy 18500, metrics 18501 tcp, victim 127.0.0.2:18502, members 18510-18511).
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TIMERS, type ProxyConfig, localProxyConfig } from '../config.js';
import { parseGroups } from '../groups.js';
import type { MetricsSnapshot } from '../metrics.js';
import { startUdpProxy, type RunningProxy } from '../udp-proxy.js';

const PROXY = { host: '127.0.0.1', port: 18500 };
const METRICS = { host: '127.0.0.1', port: 18501 };
const VICTIM = { host: '127.0.0.2', port: 18502 };
const MEMBERS = [18510, 18511];
const T1 = 20; // 64*T1 = 1.28 s: a stateful answer would be retransmitted several times in that window

interface Listener {
  socket: Socket;
  got: string[];
  port: number;
}

async function listen(host: string, port = 0): Promise<Listener> {
  const socket = createSocket('udp4');
  const got: string[] = [];
  socket.on('message', (b) => got.push(b.toString('latin1')));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  return { socket, got, port: socket.address().port };
}

let proxy: RunningProxy;
let victim: Listener;
let attacker: Listener;
let spoofed: Listener; // a socket on the victim's address: what a spoofed source looks like
let members: Listener[];

async function counters(): Promise<MetricsSnapshot> {
  const res = await fetch(`http://${METRICS.host}:${METRICS.port}/metrics.json`);
  return (await res.json()) as MetricsSnapshot;
}

const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait (bounded) until `cond` holds: positive checks do not depend on how loaded the machine is. */
async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await settle(10);
  }
}

function send(from: Listener, text: string): void {
  from.socket.send(Buffer.from(text, 'latin1'), PROXY.port, PROXY.host);
}

function request(o: { method: string; uri: string; via: string; toTag?: string; callId?: string; route?: string; fromTag?: string }): string {
  const { method, uri, via, toTag, callId = 'sec-1@attacker', route, fromTag = 'a1' } = o;
  return (
    `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP ${via}\r\n` +
    (route ? `Route: ${route}\r\n` : '') +
    `From: <sip:mallory@127.0.0.1>;tag=${fromTag}\r\nTo: <${uri}>${toTag ? `;tag=${toTag}` : ''}\r\nCall-ID: ${callId}\r\n` +
    `CSeq: 1 ${method}\r\nContact: <sip:mallory@127.0.0.1>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`
  );
}

const via = (l: Listener, branch: string): string => `127.0.0.1:${l.port};branch=z9hG4bK${branch}`;
const statusOf = (text: string): number => Number(text.slice(8, 11));

beforeAll(async () => {
  const config: ProxyConfig = localProxyConfig({
    listen: PROXY,
    groups: parseGroups(JSON.stringify({ groups: { g2: MEMBERS.map((p, i) => `sip:m${i + 1}@127.0.0.1:${p}`) } })),
    timers: { ...DEFAULT_TIMERS, t1: T1, t4: 100, timerD: 200 },
  });
  proxy = await startUdpProxy(config, METRICS);
  victim = await listen(VICTIM.host, VICTIM.port);
  attacker = await listen('127.0.0.1');
  spoofed = await listen(VICTIM.host);
  members = await Promise.all(MEMBERS.map((p) => listen('127.0.0.1', p)));
});

afterAll(async () => {
  await proxy?.close();
  for (const l of [victim, attacker, spoofed, ...(members ?? [])]) l?.socket.close();
});

beforeEach(() => {
  for (const l of [victim, attacker, spoofed, ...members]) l.got.length = 0;
});

describe('no open relay', () => {
  it.each([
    ['an INVITE for a foreign user with a preloaded Route', 'INVITE', `sip:victim@${VICTIM.host}:${VICTIM.port}`, `<sip:${PROXY.host}:${PROXY.port};lr>`],
    ['a MESSAGE for a foreign user with a preloaded Route', 'MESSAGE', `sip:victim@${VICTIM.host}:${VICTIM.port}`, `<sip:${PROXY.host}:${PROXY.port};lr>`],
    ['an INVITE for a served group whose Route names a foreign next hop', 'INVITE', `sip:g2@${PROXY.host}:${PROXY.port}`, `<sip:${PROXY.host}:${PROXY.port};lr>, <sip:${VICTIM.host}:${VICTIM.port};lr>`],
    ['an INVITE for a foreign domain, no Route', 'INVITE', `sip:victim@${VICTIM.host}:${VICTIM.port}`, undefined],
  ])('%s: 403, nothing reaches the victim or the members', async (_name, method, uri, route) => {
    const before = await counters();
    send(attacker, request({ method, uri, via: via(attacker, `r${method}${route?.length ?? 0}`), route }));
    await until(() => attacker.got.length > 0);
    await settle();
    expect(victim.got).toEqual([]);
    expect(members.flatMap((m) => m.got)).toEqual([]);
    expect(attacker.got.map(statusOf)).toEqual([403]);
    if (route) expect(attacker.got[0]).toContain('Preload Route denied');
    const after = await counters();
    expect(after.relayRejected - before.relayRejected).toBe(1);
  });

  it('in-dialog: relays along a Route it recorded for that dialog, refuses a forged or borrowed one', async () => {
    // A real call attempt: the member sees our Record-Route with its dialog token.
    send(attacker, request({ method: 'INVITE', uri: `sip:m1@${PROXY.host}:${PROXY.port}`, via: via(attacker, 'dlg1'), callId: 'dialog-1@attacker' }));
    await until(() => members[0]!.got.some((t) => t.startsWith('INVITE')));
    const inv = members[0]!.got.find((t) => t.startsWith('INVITE'))!;
    const rr = /Record-Route: (<[^>]+>)/.exec(inv)![1]!;
    const bye = (callId: string, routeValue: string, uri: string, branch: string): string =>
      request({ method: 'BYE', uri, via: via(attacker, branch), toTag: 'm1', callId, route: routeValue });
    const before = await counters();
    const victimUri = `sip:victim@${VICTIM.host}:${VICTIM.port}`;
    send(attacker, bye('dialog-1@attacker', `<sip:${PROXY.host}:${PROXY.port};lr>`, victimUri, 'f1')); // no token
    send(attacker, bye('other@attacker', rr, victimUri, 'f2')); // a token for another dialog
    send(attacker, bye('dialog-1@attacker', rr.replace(/ftok=(.)/, (_m, c: string) => `ftok=${c === 'A' ? 'B' : 'A'}`), victimUri, 'f3')); // tampered
    send(attacker, request({ method: 'ACK', uri: victimUri, via: via(attacker, 'f4'), toTag: 'm1', callId: 'other@attacker', route: rr }));
    await until(async () => (await counters()).relayRejected - before.relayRejected === 4);
    await settle();
    expect(victim.got).toEqual([]);
    expect(attacker.got.filter((t) => t.startsWith('SIP/2.0 403'))).toHaveLength(3);
    const after = await counters();
    expect(after.relayRejected - before.relayRejected).toBe(4);
    expect((after.dropped['ack-unroutable'] ?? 0) - (before.dropped['ack-unroutable'] ?? 0)).toBe(1);
    // The dialog's own BYE goes through, to its remote target.
    members[0]!.got.length = 0;
    send(attacker, bye('dialog-1@attacker', rr, `sip:m1@127.0.0.1:${MEMBERS[0]}`, 'ok1'));
    await until(() => members[0]!.got.some((t) => t.startsWith('BYE')));
    const byes = members[0]!.got.filter((t) => t.startsWith('BYE'));
    expect(byes.length).toBeGreaterThan(0); // retransmitted by Timer E until it times out: the member never answers
    expect(byes.every((t) => t.includes('Call-ID: dialog-1@attacker'))).toBe(true);
    expect(victim.got).toEqual([]);
  });
});

describe('no reflection', () => {
  it('a 2xx matching no transaction is dropped and counted, not sent to its second Via', async () => {
    const before = await counters();
    const stray =
      `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP ${PROXY.host}:${PROXY.port};branch=z9hG4bKfbnothing.1\r\n` +
      `Via: SIP/2.0/UDP ${VICTIM.host}:${VICTIM.port};branch=z9hG4bKvictim\r\n` +
      `From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: stray@attacker\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
    for (let i = 0; i < 5; i++) send(attacker, stray);
    await until(async () => ((await counters()).dropped['stray-2xx'] ?? 0) - (before.dropped['stray-2xx'] ?? 0) === 5);
    await settle();
    expect(victim.got).toEqual([]);
    expect(attacker.got).toEqual([]);
    const after = await counters();
    expect((after.dropped['stray-2xx'] ?? 0) - (before.dropped['stray-2xx'] ?? 0)).toBe(5);
  });
});

describe('no amplification', () => {
  // Start from empty tables (the in-dialog test leaves a BYE transaction until its Timer F).
  beforeEach(async () => until(async () => {
    const c = await counters();
    return c.transactionTable === 0 && c.timersPending === 0;
  }));

  it.each([
    ['404 (unknown user)', `sip:nobody@${PROXY.host}:${PROXY.port}`, undefined, 404],
    ['403 (preloaded Route)', `sip:victim@10.0.0.1`, `<sip:${PROXY.host}:${PROXY.port};lr>`, 403],
    ['400 (malformed)', `sip:g2@${PROXY.host}:${PROXY.port}`, undefined, 400],
  ])('a spoofed INVITE rejected with %s: the victim gets one datagram, once, and nothing is kept', async (_name, uri, route, status) => {
    let text = request({ method: 'INVITE', uri, via: `${VICTIM.host}:${VICTIM.port};branch=z9hG4bKamp${status}`, route, callId: `amp-${status}` });
    if (status === 400) text = text.replace('Max-Forwards: 70', 'Max-Forwards: lots');
    send(spoofed, text); // source 127.0.0.2, Via names the victim's port
    await until(() => victim.got.length > 0);
    await settle(64 * T1 + 400); // the whole window in which Timer G would have retransmitted
    expect(victim.got.map(statusOf)).toEqual([status]);
    const c = await counters();
    expect(c.transactionTable).toBe(0);
    expect(c.timersPending).toBe(0);
  });

  it('/metrics.json carries overload, CPU and RSS like /metrics', async () => {
    const c = await counters();
    expect(c.overloadRejected).toBe(0);
    expect(c.cpuSeconds).toBeGreaterThan(0);
    expect(c.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    const text = await (await fetch(`http://${METRICS.host}:${METRICS.port}/metrics`)).text();
    expect(text).toMatch(/\nsip_relay_rejected_total [1-9]\d*\n/);
    expect(text).toMatch(/\nsip_dropped_total\{reason="stray-2xx"\} 5\n/);
    expect(text).toMatch(/\nsip_messages_received_total\{kind="request",method="INVITE"\} [1-9]/);
  });

  it('methods an attacker invents count under one "other" label', async () => {
    for (let i = 0; i < 50; i++) send(attacker, request({ method: `X${i}FOO`, uri: `sip:nobody@${PROXY.host}:${PROXY.port}`, via: via(attacker, `m${i}`) }));
    await until(() => attacker.got.length === 50);
    const c = await counters();
    expect(c.received.other).toBe(50);
    expect(Object.keys(c.received).filter((k) => k.startsWith('X'))).toEqual([]);
  });
});
