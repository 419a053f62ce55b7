// A ProxyCore on a fake clock, fed hand-written datagrams; what it sends is parsed and kept.
import { DEFAULT_TIMERS, type HostPort, type ProxyConfig, type ProxyRole, localProxyConfig } from '../config.js';
import { parseGroups } from '../groups.js';
import { ProxyCore } from '../proxy-core.js';
import { parseSip } from '../sip-parser.js';
import type { SipMessage } from '../sip-message.js';
import { FakeClock } from '../timer-wheel.js';
import { CALLER } from './sip-fixtures.js';

export const GROUPS = parseGroups(
  JSON.stringify({
    groups: {
      g4: ['sip:m1@127.0.0.1:6001', 'sip:m2@127.0.0.1:6002', 'sip:m3@127.0.0.1:6003', 'sip:m4@127.0.0.1:6004'],
    },
  }),
);
export const T1 = 500;
export const MEMBER_PORTS = [6001, 6002, 6003, 6004];

export interface Sent {
  to: HostPort;
  text: string;
  msg: SipMessage;
}

export function setup(role: ProxyRole = 'centralized', over: Partial<ProxyConfig> = {}) {
  const clock = new FakeClock();
  const sent: Sent[] = [];
  const config: ProxyConfig = localProxyConfig({
    role,
    parse: 'lazy',
    groups: GROUPS,
    forkNodes: role === 'head' ? [{ host: '127.0.0.1', port: 5071 }, { host: '127.0.0.1', port: 5072 }] : [],
    shard: role === 'fork-node' ? { index: 1, count: 1 } : undefined,
    relay180: role === 'fork-node' ? 'first' : 'all',
    timers: { ...DEFAULT_TIMERS, timerC: 60_000 },
    ...over,
  });
  const core = new ProxyCore(config, clock.wheel, (buf, to) => {
    const text = buf.toString('latin1');
    sent.push({ to, text, msg: parseSip(buf, 'full') });
  });
  const fromCaller = (text: string, from: HostPort = CALLER): void => core.onDatagram(Buffer.from(text, 'latin1'), from);
  const fromMember = (port: number, text: string): void => core.onDatagram(Buffer.from(text, 'latin1'), { host: '127.0.0.1', port });
  const take = (pred: (s: Sent) => boolean): Sent[] => {
    const out = sent.filter(pred);
    for (const s of out) sent.splice(sent.indexOf(s), 1);
    return out;
  };
  const toPort = (port: number, what: string): Sent[] =>
    take((s) => s.to.port === port && (s.msg.isRequest ? s.msg.method === what : String(s.msg.status) === what));
  /** Nothing left anywhere: tables, active count, forks, and the wheel (walked, not only its counter). */
  const drained = (): boolean =>
    core.table.size() === 0 &&
    core.table.active === 0 &&
    core.table.forksActive === 0 &&
    clock.wheel.pending() === 0 &&
    clock.wheel.linkedSlots() === 0 &&
    clock.wheel.bucketCount() === 0;
  const dropped = (reason: string): number => core.metrics.dropped.get(reason) ?? 0;
  return { core, clock, sent, config, fromCaller, fromMember, take, toPort, drained, dropped };
}

export type Rig = ReturnType<typeof setup>;

/** The ACK a UAC sends for a non-2xx final: INVITE's branch, the response's To. */
export function responseAck(invite: string, final: string): string {
  const to = final.split('\r\n').find((l) => l.startsWith('To:'))!;
  return invite
    .replace(/^INVITE /, 'ACK ')
    .replace('CSeq: 1 INVITE', 'CSeq: 1 ACK')
    .replace(/To: .*\r\n/, `${to}\r\n`);
}

/** A CANCEL for `invite` (same Request-URI, Via, From, To, Call-ID, CSeq number). */
export function cancelOf(invite: string): string {
  return invite
    .replace(/^INVITE /, 'CANCEL ')
    .replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL')
    .replace(/Content-Type: .*\r\n/, '')
    .replace(/Content-Length: 4\r\n\r\nv=0\n$/, 'Content-Length: 0\r\n\r\n');
}
