// Ringing and setup delays per call, from a capture of the caller's leg only (DESIGN.md, Metrics):
//   ringing delay = caller's INVITE sent -> first 180/183 received      (post-dial delay)
//   setup delay   = caller's INVITE sent -> first 200 OK to it received (RFC 6076 SRD)
// Messages are matched by Call-ID + CSeq number; for each Call-ID the first INVITE the caller sent
// is measured (its first transmission, so retransmissions do not shorten the delay) and later
// INVITEs of the call (re-INVITEs) are ignored. Only the start line, Call-ID and CSeq are parsed.

import type { UdpPacket } from './pcap.js';
import { summarize, type Summary } from './percentiles.js';

export interface CallDelay {
  callId: string;
  inviteUs: number; // capture time of the INVITE's first transmission (µs since epoch)
  ringingUs?: number; // INVITE -> first 180/183
  setupUs?: number; // INVITE -> first 200
  finalStatus?: number; // first final response (>= 200) to the INVITE; undefined if none seen
}

export interface SipMessageHead {
  isRequest: boolean;
  method?: string; // requests
  status?: number; // responses
  callId?: string;
  cseqNum?: number;
  cseqMethod?: string;
}

export interface DelayMatchStats {
  sipMessages: number;
  notSip: number; // datagrams that did not parse as SIP (keep-alives, garbage)
  orphanResponses: number; // INVITE responses whose INVITE was not captured (capture started late)
}

const MAX_HEAD = 8192; // SIP headers of interest are always near the start

/** Parses the start line, Call-ID (or compact `i`) and CSeq of a SIP datagram; undefined if not SIP. */
export function parseSipHead(payload: Buffer): SipMessageHead | undefined {
  const text = payload.subarray(0, MAX_HEAD).toString('latin1');
  let end = text.indexOf('\r\n\r\n');
  if (end < 0) end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split(/\r?\n/);
  const first = lines[0] ?? '';
  let msg: SipMessageHead;
  const resp = /^SIP\/2\.0\s+(\d{3})\b/.exec(first);
  if (resp) msg = { isRequest: false, status: Number(resp[1]) };
  else {
    const req = /^([A-Za-z]+)\s+\S+\s+SIP\/2\.0\s*$/.exec(first);
    if (!req) return undefined;
    msg = { isRequest: true, method: req[1].toUpperCase() };
  }
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === 'call-id' || name === 'i') msg.callId = line.slice(colon + 1).trim();
    else if (name === 'cseq') {
      const m = /^\s*(\d+)\s+([A-Za-z]+)/.exec(line.slice(colon + 1));
      if (m) {
        msg.cseqNum = Number(m[1]);
        msg.cseqMethod = m[2].toUpperCase();
      }
    }
  }
  return msg;
}

export interface MatchOptions {
  callerPort: number; // the caller SIPp's local port: INVITEs leave from it, responses arrive at it
  callerIp?: string; // optionally also require this address
}

export interface DelayMatchResult {
  calls: CallDelay[]; // in INVITE order
  stats: DelayMatchStats;
}

interface Pending extends CallDelay {
  cseqNum: number;
}

/** Matches INVITEs and their responses on the caller's leg; `packets` in capture order. */
export function matchSipDelays(packets: Iterable<UdpPacket>, opts: MatchOptions): DelayMatchResult {
  const stats: DelayMatchStats = { sipMessages: 0, notSip: 0, orphanResponses: 0 };
  const calls = new Map<string, Pending>();
  const fromCaller = (p: UdpPacket) => p.srcPort === opts.callerPort && (!opts.callerIp || p.srcIp === opts.callerIp);
  const toCaller = (p: UdpPacket) => p.dstPort === opts.callerPort && (!opts.callerIp || p.dstIp === opts.callerIp);
  for (const p of packets) {
    const out = fromCaller(p);
    const inn = toCaller(p);
    if (!out && !inn) continue;
    const m = parseSipHead(p.payload);
    if (!m) {
      stats.notSip++;
      continue;
    }
    stats.sipMessages++;
    if (m.callId === undefined || m.cseqNum === undefined) continue;
    if (out && m.isRequest && m.method === 'INVITE') {
      if (!calls.has(m.callId)) calls.set(m.callId, { callId: m.callId, inviteUs: p.tsUs, cseqNum: m.cseqNum });
      continue;
    }
    if (!inn || m.isRequest || m.cseqMethod !== 'INVITE' || m.status === undefined) continue;
    const call = calls.get(m.callId);
    if (!call || call.cseqNum !== m.cseqNum) {
      stats.orphanResponses++;
      continue;
    }
    const dt = p.tsUs - call.inviteUs;
    if ((m.status === 180 || m.status === 183) && call.ringingUs === undefined) call.ringingUs = dt;
    if (m.status >= 200 && call.finalStatus === undefined) {
      call.finalStatus = m.status;
      if (m.status < 300) call.setupUs = dt; // 200 in practice; any 2xx answers the call
    }
  }
  const out: CallDelay[] = [];
  for (const { cseqNum: _c, ...c } of calls.values()) out.push(c);
  return { calls: out, stats };
}

/** Keeps the calls whose INVITE was sent inside [startUs, endUs) (the measured window). */
export function filterWindow(calls: readonly CallDelay[], startUs: number, endUs: number): CallDelay[] {
  return calls.filter((c) => c.inviteUs >= startUs && c.inviteUs < endUs);
}

export interface DelaySummary {
  calls: number; // INVITEs seen
  answered: number; // got a 200
  failed: number; // got a final status >= 300
  unanswered: number; // no final response captured
  failCauses: Record<string, number>; // status -> count, e.g. {"486": 2}
  ringing: Summary; // µs
  setup: Summary; // µs
}

export function summarizeDelays(calls: readonly CallDelay[]): DelaySummary {
  const ringing: number[] = [];
  const setup: number[] = [];
  const failCauses: Record<string, number> = {};
  let failed = 0;
  let unanswered = 0;
  for (const c of calls) {
    if (c.ringingUs !== undefined) ringing.push(c.ringingUs);
    if (c.setupUs !== undefined) setup.push(c.setupUs);
    if (c.finalStatus === undefined) unanswered++;
    else if (c.finalStatus >= 300) {
      failed++;
      failCauses[c.finalStatus] = (failCauses[c.finalStatus] ?? 0) + 1;
    }
  }
  return { calls: calls.length, answered: setup.length, failed, unanswered, failCauses, ringing: summarize(ringing), setup: summarize(setup) };
}
