// received and rport on the top Via (RFC 3261 18.2.1, RFC 3581): when they are added, the exact
// Via text that results, and the message rebuilt around it.
import { describe, expect, it } from 'vitest';
import { parseSip } from '../sip-parser.js';
import type { ParseMode, SipMessage } from '../sip-message.js';
import { needsReceived, viaWithReceived, withReceived } from '../via-received.js';

const SRC = { host: '127.0.0.9', port: 7777 };

function request(viaLine: string, mode: ParseMode = 'lazy'): SipMessage {
  const text = `OPTIONS sip:g@x SIP/2.0\r\n${viaLine}\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
  return parseSip(Buffer.from(text, 'latin1'), mode);
}

describe('needsReceived', () => {
  const cases: [string, string, boolean][] = [
    ['sent-by is the source', 'Via: SIP/2.0/UDP 127.0.0.9:7000;branch=z9hG4bKa', false],
    ['sent-by is another host', 'Via: SIP/2.0/UDP 10.1.1.1:7000;branch=z9hG4bKa', true],
    ['another host, received already the source', 'Via: SIP/2.0/UDP 10.1.1.1:7000;branch=z9hG4bKa;received=127.0.0.9', false],
    ['another host, received another address', 'Via: SIP/2.0/UDP 10.1.1.1:7000;branch=z9hG4bKa;received=10.2.2.2', true],
    ['sent-by is the source, received another address', 'Via: SIP/2.0/UDP 127.0.0.9:7000;branch=z9hG4bKa;received=10.2.2.2', false],
    ['rport asked, sent-by is the source', 'Via: SIP/2.0/UDP 127.0.0.9:7000;branch=z9hG4bKa;rport', true],
    ['rport already filled in, sent-by is the source', 'Via: SIP/2.0/UDP 127.0.0.9:7000;branch=z9hG4bKa;rport=7777', false],
    ['rport already filled in, another host', 'Via: SIP/2.0/UDP 10.1.1.1:7000;branch=z9hG4bKa;rport=7777', true],
  ];
  it.each(cases)('%s', (_name, via, want) => {
    expect(needsReceived(request(via), SRC)).toBe(want);
    expect(needsReceived(request(via, 'full'), SRC)).toBe(want);
  });
});

describe('viaWithReceived', () => {
  const cases: [string, string, boolean, string][] = [
    ['appends received', 'SIP/2.0/UDP h:1;branch=z9hG4bKa', false, 'SIP/2.0/UDP h:1;branch=z9hG4bKa;received=127.0.0.9'],
    ['replaces a received already there', 'SIP/2.0/UDP h:1;received=10.0.0.1;branch=z9hG4bKa', false, 'SIP/2.0/UDP h:1;branch=z9hG4bKa;received=127.0.0.9'],
    ['replaces a received in any case and spacing, at the end', 'SIP/2.0/UDP h:1;branch=z9hG4bKa ; ReCeIvEd = 10.0.0.1', false, 'SIP/2.0/UDP h:1;branch=z9hG4bKa ;received=127.0.0.9'],
    ['fills in an asked rport', 'SIP/2.0/UDP h:1;rport;branch=z9hG4bKa', true, 'SIP/2.0/UDP h:1;rport=7777;branch=z9hG4bKa;received=127.0.0.9'],
    ['fills in an asked rport at the end', 'SIP/2.0/UDP h:1;branch=z9hG4bKa;rport', true, 'SIP/2.0/UDP h:1;branch=z9hG4bKa;rport=7777;received=127.0.0.9'],
    ['fills in an asked rport in any case and spacing', 'SIP/2.0/UDP h:1;branch=z9hG4bKa; RPort ;x=1', true, 'SIP/2.0/UDP h:1;branch=z9hG4bKa;rport=7777;x=1;received=127.0.0.9'],
    ['leaves rport alone when not asked', 'SIP/2.0/UDP h:1;rport;branch=z9hG4bKa', false, 'SIP/2.0/UDP h:1;rport;branch=z9hG4bKa;received=127.0.0.9'],
    ['leaves a parameter that only starts with rport', 'SIP/2.0/UDP h:1;rportx;branch=z9hG4bKa;rport', true, 'SIP/2.0/UDP h:1;rportx;branch=z9hG4bKa;rport=7777;received=127.0.0.9'],
    ['leaves an rport that has a value', 'SIP/2.0/UDP h:1;rport=5;branch=z9hG4bKa', true, 'SIP/2.0/UDP h:1;rport=5;branch=z9hG4bKa;received=127.0.0.9'],
  ];
  it.each(cases)('%s', (_name, value, rport, want) => {
    expect(viaWithReceived(value, SRC, rport)).toBe(want);
  });
});

describe('withReceived', () => {
  it.each(['lazy', 'full'] as ParseMode[])('%s: rewrites only the top Via value, and parses the result in the same mode', (mode) => {
    const msg = request('v:  SIP/2.0/UDP 10.1.1.1:7000;branch=z9hG4bKa;rport , SIP/2.0/UDP 10.3.3.3:5060;branch=z9hG4bKb', mode);
    const out = withReceived(msg, SRC);
    expect(out).not.toBe(msg);
    expect(out.mode).toBe(mode);
    expect(out.buf.toString('latin1')).toBe(
      msg.buf
        .toString('latin1')
        .replace('10.1.1.1:7000;branch=z9hG4bKa;rport ,', '10.1.1.1:7000;branch=z9hG4bKa;rport=7777;received=127.0.0.9 ,'),
    );
    expect(out.vias[0]).toMatchObject({ host: '10.1.1.1', received: '127.0.0.9', rport: 7777 });
    expect(out.vias[1]).toMatchObject({ host: '10.3.3.3', branch: 'z9hG4bKb' });
    expect(msg.vias[0]!.received).toBeUndefined(); // the received message is left as it was
  });

  it('keeps bytes above 0x7f in the Via line as they came', () => {
    const head = 'OPTIONS sip:g@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.1.1:7000;branch=z9hG4bKa;x="';
    const tail = '"\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
    const name = Buffer.from('Zoë', 'utf8');
    const msg = parseSip(Buffer.concat([Buffer.from(head, 'latin1'), name, Buffer.from(tail, 'latin1')]), 'lazy');
    const want = Buffer.concat([Buffer.from(head, 'latin1'), name, Buffer.from(`";received=127.0.0.9${tail.slice(1)}`, 'latin1')]);
    expect(withReceived(msg, SRC).buf.equals(want)).toBe(true);
  });

  it('without rport: received only', () => {
    const msg = request('Via: SIP/2.0/UDP caller.invalid:7000;branch=z9hG4bKa');
    const out = withReceived(msg, SRC);
    expect(out.buf.toString('latin1')).toContain('\r\nVia: SIP/2.0/UDP caller.invalid:7000;branch=z9hG4bKa;received=127.0.0.9\r\nFrom: ');
    expect(out.vias[0]!.rport).toBeUndefined();
  });

  it('edits a folded top Via in place, the folding kept', () => {
    const msg = request('Via: SIP/2.0/UDP 10.1.1.1:7000\r\n ;branch=z9hG4bKa;rport');
    expect(withReceived(msg, SRC).buf.toString('latin1')).toContain('\r\nVia: SIP/2.0/UDP 10.1.1.1:7000\r\n ;branch=z9hG4bKa;rport=7777;received=127.0.0.9\r\nFrom: ');
  });
});
