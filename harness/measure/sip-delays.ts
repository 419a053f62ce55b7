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

// ---------------------------------------------------------------------------------------------
// The proxy's own delay (issue 10): from a capture of every leg of the proxy under test (the
// centralized proxy's port, or the head's and every fork node's), per call:
//   fan-out     = caller's INVITE in -> last branch INVITE out to a member
//   180 transit = first 180/183 from a member in -> first 180/183 out to the caller
//   200 transit = first 200 (INVITE) from a member in -> first 200 out to the caller
// The "system" is the set of proxy ports: messages between two of them (head <-> fork node) are
// internal and only their ends count, so distributed fan-out includes the fork node hop.
// Retransmissions are ignored: only each message's first transmission per destination counts.

export interface ProxyLegOptions {
  proxyPorts: readonly number[]; // every port of the proxy under test (centralized: one)
  callerPort: number;
}

export interface ProxyLegCall {
  callId: string;
  inviteInUs: number; // caller's INVITE reached the proxy
  branches: number; // distinct members an INVITE was sent to
  fanoutUs?: number; // -> last branch INVITE out
  ringTransitUs?: number; // first 180 in -> first 180 out to the caller
  answerTransitUs?: number; // 200 in -> 200 out to the caller
}

export interface ProxyLegStats {
  sipMessages: number;
  notSip: number;
  perCallMessages: Map<string, number>; // SIP messages at the proxy under test per Call-ID (in + out)
}

/** Per-call delays inside the proxy under test; `packets` in capture order. */
export function matchProxyLegs(packets: Iterable<UdpPacket>, opts: ProxyLegOptions): { calls: ProxyLegCall[]; stats: ProxyLegStats } {
  const sys = new Set(opts.proxyPorts);
  const stats: ProxyLegStats = { sipMessages: 0, notSip: 0, perCallMessages: new Map() };
  interface State extends ProxyLegCall {
    branchDst: Set<string>;
    lastBranchUs?: number;
    ring180InUs?: number;
    ring180OutUs?: number;
    ok200InUs?: number;
    ok200OutUs?: number;
  }
  const calls = new Map<string, State>();
  for (const p of packets) {
    const fromSys = sys.has(p.srcPort);
    const toSys = sys.has(p.dstPort);
    if (!fromSys && !toSys) continue;
    const m = parseSipHead(p.payload);
    if (!m) {
      stats.notSip++;
      continue;
    }
    stats.sipMessages++;
    if (m.callId === undefined) continue;
    // A message between two proxy ports is both sent and received by the system (two counters).
    stats.perCallMessages.set(m.callId, (stats.perCallMessages.get(m.callId) ?? 0) + (fromSys && toSys ? 2 : 1));
    if (fromSys && toSys) continue; // internal hop
    const fromCaller = p.srcPort === opts.callerPort;
    const toCaller = p.dstPort === opts.callerPort;
    if (m.isRequest && m.method === 'INVITE') {
      if (fromCaller && toSys) {
        if (!calls.has(m.callId)) calls.set(m.callId, { callId: m.callId, inviteInUs: p.tsUs, branches: 0, branchDst: new Set() });
        continue;
      }
      const c = calls.get(m.callId);
      if (c && fromSys && !toCaller) {
        const dst = `${p.dstIp}:${p.dstPort}`;
        if (!c.branchDst.has(dst)) {
          c.branchDst.add(dst);
          c.lastBranchUs = Math.max(c.lastBranchUs ?? p.tsUs, p.tsUs);
        }
      }
      continue;
    }
    if (m.isRequest || m.cseqMethod !== 'INVITE' || m.status === undefined) continue;
    const c = calls.get(m.callId);
    if (!c) continue;
    const ringing = m.status === 180 || m.status === 183;
    const ok = m.status >= 200 && m.status < 300;
    if (toSys && !fromCaller) {
      // from a member
      if (ringing && c.ring180InUs === undefined) c.ring180InUs = p.tsUs;
      if (ok && c.ok200InUs === undefined) c.ok200InUs = p.tsUs;
    } else if (fromSys && toCaller) {
      if (ringing && c.ring180OutUs === undefined) c.ring180OutUs = p.tsUs;
      if (ok && c.ok200OutUs === undefined) c.ok200OutUs = p.tsUs;
    }
  }
  const out: ProxyLegCall[] = [];
  for (const c of calls.values()) {
    const r: ProxyLegCall = { callId: c.callId, inviteInUs: c.inviteInUs, branches: c.branchDst.size };
    if (c.lastBranchUs !== undefined) r.fanoutUs = c.lastBranchUs - c.inviteInUs;
    if (c.ring180InUs !== undefined && c.ring180OutUs !== undefined) r.ringTransitUs = c.ring180OutUs - c.ring180InUs;
    if (c.ok200InUs !== undefined && c.ok200OutUs !== undefined) r.answerTransitUs = c.ok200OutUs - c.ok200InUs;
    out.push(r);
  }
  return { calls: out, stats };
}

export interface ProxyDelaySummary {
  calls: number;
  fanout: Summary; // µs
  ringTransit: Summary;
  answerTransit: Summary;
}

/** Summaries of the calls whose INVITE reached the proxy inside [startUs, endUs) (all when omitted). */
export function summarizeProxyLegs(calls: readonly ProxyLegCall[], startUs = -Infinity, endUs = Infinity): ProxyDelaySummary {
  const inWin = calls.filter((c) => c.inviteInUs >= startUs && c.inviteInUs < endUs);
  const vals = (k: 'fanoutUs' | 'ringTransitUs' | 'answerTransitUs'): number[] => inWin.map((c) => c[k]).filter((v): v is number => v !== undefined);
  return { calls: inWin.length, fanout: summarize(vals('fanoutUs')), ringTransit: summarize(vals('ringTransitUs')), answerTransit: summarize(vals('answerTransitUs')) };
}
