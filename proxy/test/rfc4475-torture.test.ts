// RFC 4475 torture messages through a real UDP socket to the real proxy (ProxyCore behind
// udp-proxy), in both parse modes. Each message's Request-URI is pointed at the proxy; the
// expected outcome per mode is in rfc4475/expected.json. Answers go where the message's top Via
// says (its port, at our source address), so the sender binds 127.0.0.47 on those ports.
// Ports: proxy 17600 (lazy) / 17610 (full), member 17601 / 17611; sender 127.0.0.47:5060 and :5050.
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localProxyConfig } from '../config.js';
import { HOSTILE_KINDS, hostileDatagram } from '../fuzz.js';
import { parseGroups } from '../groups.js';
import type { ParseMode } from '../sip-message.js';
import { startUdpProxy, type RunningProxy } from '../udp-proxy.js';

const DIR = fileURLToPath(new URL('./rfc4475/', import.meta.url));
type Outcome = number | 'route' | 'drop';
const EXPECTED = JSON.parse(readFileSync(`${DIR}expected.json`, 'utf8')) as Record<string, { section: string; full: Outcome; lazy: Outcome }>;
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith('.dat'))
  .map((f) => f.slice(0, -4))
  .sort();

const SENDER_HOST = '127.0.0.47';
const SENDER_PORTS = [5060, 5050]; // the sent-by ports the messages use (default 5060; quotbal 5050)

/**
 * Point a request's Request-URI at the proxy: the host[:port] of a sip:/sips: URI (after the
 * userinfo, found at the first '@') becomes host:port; user, password, params and headers stay.
 * Non-SIP URIs (unkscm, novelsc) and responses are left as they are. Only the start line changes,
 * so Content-Length still describes the body byte for byte.
 */
export function pointAtProxy(buf: Buffer, hostPort: string): Buffer {
  const nl = buf.indexOf('\n');
  const line = buf.toString('latin1', 0, nl);
  if (line.startsWith('SIP/')) return buf;
  const sp1 = line.indexOf(' ');
  const sipAt = line.toLowerCase().indexOf('sip', sp1);
  const scheme = /^<?sips?:/i.exec(line.slice(sp1 + 1));
  if (!scheme || sipAt < 0) return buf;
  let hostStart = sp1 + 1 + scheme[0].length;
  const end = line.indexOf(' ', hostStart) < 0 ? line.length : line.indexOf(' ', hostStart);
  const at = line.indexOf('@', hostStart);
  if (at >= 0 && at < end) hostStart = at + 1;
  let hostEnd = hostStart;
  while (hostEnd < end && !':;?> '.includes(line[hostEnd]!)) hostEnd++;
  if (line[hostEnd] === ':') {
    hostEnd++;
    while (hostEnd < end && /\d/.test(line[hostEnd]!)) hostEnd++;
  }
  const out = line.slice(0, hostStart) + hostPort + line.slice(hostEnd);
  return Buffer.concat([Buffer.from(out, 'latin1'), buf.subarray(nl)]);
}

interface Got {
  port: number;
  text: string;
}

function bind(host: string, port: number, inbox: Got[]): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('message', (m) => inbox.push({ port, text: m.toString('latin1') }));
  return new Promise((resolve, reject) => {
    s.once('error', (e) => reject(new Error(`cannot bind ${host}:${port} for the torture test (${e.message}); free that address`)));
    s.bind(port, host, () => resolve(s));
  });
}

const statusOf = (text: string): number => Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1] ?? 0);

describe.each([
  ['lazy', 17600],
  ['full', 17610],
] as [ParseMode, number][])('RFC 4475 torture messages over UDP (%s parse)', (mode, port) => {
  const memberPort = port + 1;
  let proxy: RunningProxy;
  const replies: Got[] = [];
  const atMember: Got[] = [];
  const sockets: Socket[] = [];
  let probeSeq = 0;

  const config = localProxyConfig({
    listen: { host: '127.0.0.1', port },
    parse: mode,
    groups: parseGroups(JSON.stringify({ groups: { torture: ['user', 'vivekg', 'UserB', 'm1'].map((u) => `sip:${u}@127.0.0.1:${memberPort}`) } })),
  });

  beforeAll(async () => {
    for (const p of SENDER_PORTS) sockets.push(await bind(SENDER_HOST, p, replies));
    sockets.push(await bind('127.0.0.1', memberPort, atMember));
  });

  afterEach(async () => {
    await proxy?.close();
  });

  afterAll(async () => {
    for (const s of sockets) s.close();
  });

  /** Send, then an OPTIONS to the proxy itself; its 200 comes after every answer to the first datagram. */
  async function exchange(buf: Buffer): Promise<{ replies: Got[]; forwarded: Got[] }> {
    replies.length = 0;
    atMember.length = 0;
    const sender = sockets[0]!;
    sender.send(buf, port, '127.0.0.1');
    const id = `probe-${mode}-${++probeSeq}`;
    const probe =
      `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${SENDER_HOST}:5060;branch=z9hG4bK${id}\r\nFrom: <sip:t@x>;tag=${id}\r\n` +
      `To: <sip:127.0.0.1:${port}>\r\nCall-ID: ${id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
    sender.send(Buffer.from(probe, 'latin1'), port, '127.0.0.1');
    const deadline = Date.now() + 3000;
    while (!replies.some((r) => r.text.includes(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 20)); // let the other sockets' queues be read
    expect(replies.some((r) => r.text.includes(id)), 'the probe was answered').toBe(true);
    return { replies: replies.filter((r) => !r.text.includes(id)), forwarded: [...atMember] };
  }

  it('has all 49 messages with an expected outcome', () => {
    expect(NAMES).toHaveLength(49);
    expect(NAMES.every((n) => EXPECTED[n] !== undefined)).toBe(true);
  });

  // A fresh proxy per message: many of them share a Via branch and sent-by, and would match one
  // another's transaction as retransmissions (RFC 3261 17.2.3) if sent to one proxy back to back.
  it.each(NAMES)('%s', async (name) => {
    proxy = await startUdpProxy(config);
    const raw = readFileSync(`${DIR}${name}.dat`);
    const sent = pointAtProxy(raw, `127.0.0.1:${port}`);
    const want = EXPECTED[name]![mode];
    // Earlier messages' retransmissions (Timer A, G) may still arrive: keep only this message's.
    const text = raw.toString('latin1');
    const key = /\r\n(?:Call-ID|i)\s*:\s*(\S+)/i.exec(text)?.[1] ?? /\r\nCSeq:\s*([^\r]+)/i.exec(text)![1]!;
    const all = await exchange(sent);
    const got = all.replies.filter((r) => r.text.includes(key));
    const forwarded = all.forwarded.filter((r) => r.text.includes(key));
    const statuses = got.map((r) => statusOf(r.text));
    if (want === 'drop') {
      expect(statuses).toEqual([]);
      expect(forwarded).toEqual([]);
    } else if (want === 'route') {
      expect(forwarded.length, 'forwarded to the member').toBeGreaterThanOrEqual(1);
      const fwd = forwarded[0]!.text;
      const method = raw.toString('latin1', 0, raw.indexOf(' '));
      expect(fwd.startsWith(`${method} sip:`)).toBe(true);
      // RFC 3261 18.3: never more than Content-Length bytes of body.
      const cl = /\r\n(?:Content-Length|l)\s*:\s*(\d+)/i.exec(fwd);
      const body = fwd.length - fwd.indexOf('\r\n\r\n') - 4;
      if (cl) expect(body).toBe(Number(cl[1]));
      expect(statuses.filter((s) => s !== 100)).toEqual([]);
      if (method === 'INVITE') expect(statuses).toEqual([100]);
    } else {
      expect(statuses).toEqual([want]);
      expect(forwarded).toEqual([]);
      if (want === 420) expect(got[0]!.text).toMatch(/\r\nUnsupported: noProxiesSupportThis, norDoAnyProxiesSupportThis\r\n/);
    }
  });

  it('one proxy takes all 49 and a burst of 60 KB hostile datagrams, then still serves a normal call (INVITE forwarded, 180 and 200 relayed)', async () => {
    proxy = await startUdpProxy(config);
    for (const name of NAMES) sockets[0]!.send(pointAtProxy(readFileSync(`${DIR}${name}.dat`), `127.0.0.1:${port}`), port, '127.0.0.1');
    for (let i = 0; i < 3; i++) for (const kind of HOSTILE_KINDS) sockets[0]!.send(hostileDatagram(kind, 60_000), port, '127.0.0.1');
    const id = `after-${mode}`;
    const inv =
      `INVITE sip:m1@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${SENDER_HOST}:5060;branch=z9hG4bK${id};rport\r\nFrom: <sip:a@x>;tag=${id}\r\n` +
      `To: <sip:m1@127.0.0.1:${port}>\r\nCall-ID: ${id}\r\nCSeq: 1 INVITE\r\nContact: <sip:a@${SENDER_HOST}:5060>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
    const { replies: got, forwarded } = await exchange(Buffer.from(inv, 'latin1'));
    expect(got.filter((r) => r.text.includes(id)).map((r) => statusOf(r.text))).toEqual([100]);
    const mine = forwarded.filter((r) => r.text.includes(id));
    expect(mine).toHaveLength(1);
    // The member answers 180 then 200: both come back to the caller.
    const fwd = mine[0]!.text;
    const vias = fwd.split('\r\n').filter((l) => /^Via:/i.test(l));
    const head = (status: string): string =>
      [`SIP/2.0 ${status}`, ...vias, `From: <sip:a@x>;tag=${id}`, `To: <sip:m1@127.0.0.1:${port}>;tag=m1`, `Call-ID: ${id}`, 'CSeq: 1 INVITE', 'Content-Length: 0', '', ''].join('\r\n');
    const member = sockets[sockets.length - 1]!;
    replies.length = 0;
    member.send(Buffer.from(head('180 Ringing'), 'latin1'), port, '127.0.0.1');
    member.send(Buffer.from(head('200 OK'), 'latin1'), port, '127.0.0.1');
    const deadline = Date.now() + 3000;
    const relayed = (): Got[] => replies.filter((r) => r.text.includes(id));
    while (relayed().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    expect(relayed().map((r) => statusOf(r.text))).toEqual([180, 200]);
  });
});
