// Microbenchmarks: parse and forward (what the proxy does with each message of a group call) per
// message type and parse mode, ns per operation. `make microbench`; never part of `make test`.
// PARSER_DIR=<dir with sip-parser.ts and sip-writer.ts> benchmarks another copy (e.g. main's) the same way.
import { bench, describe } from 'vitest';
import type { ParseMode, SipMessage } from '../sip-message.js';
import { MESSAGES } from './messages.js';

interface Impl {
  parseSip(buf: Buffer, mode: ParseMode): SipMessage;
  forwardRequest(msg: SipMessage, edits: { requestUri?: string; via: string; recordRoute?: string; removeTopRoute: boolean }): Buffer;
  forwardResponse(msg: SipMessage): Buffer;
  buildResponse(req: SipMessage, status: number, reason: string, toTag?: string): Buffer;
}

const dir = process.env.PARSER_DIR ?? '..';
const impl = { ...(await import(`${dir}/sip-parser.js`)), ...(await import(`${dir}/sip-writer.js`)) } as Impl;
const VIA = 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfbabc123.';
const RR = '<sip:127.0.0.1:5060;lr>';
let seq = 0;

// What the proxy does with each message (proxy-core.ts): touch the fields it reads, then write.
const work: Record<keyof typeof MESSAGES, (m: SipMessage) => unknown> = {
  INVITE: (m) => {
    void m.vias[0]!.branch, m.callId, m.toTag, m.maxForwards, m.routeLines.length;
    return impl.forwardRequest(m, { requestUri: 'sip:m1@127.0.0.1:6001', via: VIA + ++seq, recordRoute: RR, removeTopRoute: false });
  },
  '180': (m) => (void m.vias[0]!.branch, m.status, m.method, impl.forwardResponse(m)),
  '200': (m) => (void m.vias[0]!.branch, m.status, m.method, impl.forwardResponse(m)),
  '487': (m) => (void m.vias[0]!.branch, m.status, m.method, impl.forwardResponse(m)),
  ACK: (m) => {
    void m.vias[0]!.branch, m.maxForwards, m.routeLines.map((l) => l.values);
    return impl.forwardRequest(m, { via: VIA + ++seq, removeTopRoute: true });
  },
  CANCEL: (m) => (void m.vias[0]!.branch, m.callId, impl.buildResponse(m, 200, 'OK', 'fbt1')),
};

const modes: ParseMode[] = ['lazy', 'full'];
for (const type of Object.keys(MESSAGES) as (keyof typeof MESSAGES)[]) {
  describe(`${type}: parse + forward`, () => {
    for (const mode of modes) bench(`${type} ${mode}`, () => void work[type](impl.parseSip(MESSAGES[type], mode)));
  });
}
// A fork at N=16: one INVITE parsed, sixteen branches written (the shared part once per fork).
describe('INVITE fork N=16: parse + 16 branches', () => {
  for (const mode of modes)
    bench(`fork16 ${mode}`, () => {
      const m = impl.parseSip(MESSAGES.INVITE, mode);
      for (let i = 0; i < 16; i++) impl.forwardRequest(m, { requestUri: `sip:m${i}@127.0.0.1:${6001 + i}`, via: VIA + ++seq, recordRoute: RR, removeTopRoute: false });
    });
});
