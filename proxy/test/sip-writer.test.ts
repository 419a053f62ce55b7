// The bytes the writer produces: forwarded requests (lazy splice and full re-serialisation),
// forwarded responses, and the responses the proxy builds itself, compared byte for byte.
import { describe, expect, it } from 'vitest';
import { parseSip } from '../sip-parser.js';
import type { ParseMode, SipMessage } from '../sip-message.js';
import { SipParseError } from '../sip-message.js';
import { buildResponse, forwardRequest, forwardResponse, type RequestEdits } from '../sip-writer.js';

const MODES: ParseMode[] = ['lazy', 'full'];
const VIA = 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfbtest.1';
const RR = '<sip:127.0.0.1:5060;lr>';

const parse = (text: string, mode: ParseMode): SipMessage => parseSip(Buffer.from(text, 'latin1'), mode);
const fwd = (text: string, mode: ParseMode, edits: Partial<RequestEdits> = {}): string =>
  forwardRequest(parse(text, mode), { via: VIA, removeTopRoute: false, ...edits }).toString('latin1');

/** A request in canonical header form (what full mode writes back), lines joined with CRLF. */
function req(headers: string[], body = ''): string {
  return `INVITE sip:g@127.0.0.1:5060 SIP/2.0\r\n${headers.join('\r\n')}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}
const BASE = ['From: <sip:a@x>;tag=f1', 'To: <sip:g@x>', 'Call-ID: c1', 'CSeq: 1 INVITE'];

describe('forwardRequest', () => {
  it.each(MODES)('%s: pushes our Via, adds Record-Route after the Vias, decrements Max-Forwards, keeps the body', (mode) => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', 'Via: SIP/2.0/UDP 10.0.0.2:7000;branch=z9hG4bKb', 'Record-Route: <sip:up@x;lr>', ...BASE, 'Max-Forwards: 70'], 'v=0\n');
    expect(fwd(text, mode, { requestUri: 'sip:m1@127.0.0.1:6001', recordRoute: RR })).toBe(
      'INVITE sip:m1@127.0.0.1:6001 SIP/2.0\r\n' +
        `Via: ${VIA}\r\n` +
        'Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nVia: SIP/2.0/UDP 10.0.0.2:7000;branch=z9hG4bKb\r\n' +
        `Record-Route: ${RR}\r\nRecord-Route: <sip:up@x;lr>\r\n` +
        `${BASE.join('\r\n')}\r\nMax-Forwards: 69\r\nContent-Length: 4\r\n\r\nv=0\n`,
    );
  });

  it.each(MODES)('%s: keeps the Request-URI when none is given, and adds no Record-Route without one', (mode) => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE, 'Max-Forwards: 5']);
    expect(fwd(text, mode)).toBe(
      `INVITE sip:g@127.0.0.1:5060 SIP/2.0\r\nVia: ${VIA}\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\n${BASE.join('\r\n')}\r\nMax-Forwards: 4\r\nContent-Length: 0\r\n\r\n`,
    );
  });

  it('lazy: a missing Max-Forwards becomes 70, inserted right after our Via', () => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE]);
    expect(fwd(text, 'lazy', { recordRoute: RR })).toBe(
      `INVITE sip:g@127.0.0.1:5060 SIP/2.0\r\nVia: ${VIA}\r\nMax-Forwards: 70\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nRecord-Route: ${RR}\r\n${BASE.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`,
    );
  });

  it('full: a missing Max-Forwards becomes 70, written after the last header', () => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE]);
    expect(fwd(text, 'full', { recordRoute: RR })).toBe(
      `INVITE sip:g@127.0.0.1:5060 SIP/2.0\r\nVia: ${VIA}\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nRecord-Route: ${RR}\r\n${BASE.join('\r\n')}\r\nContent-Length: 0\r\nMax-Forwards: 70\r\n\r\n`,
    );
  });

  it('full: serialises compact and odd-case names in canonical form', () => {
    const text = 'INVITE sip:g@x SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nf: <sip:a@x>;tag=f1\r\nt: <sip:g@x>\r\ni: c1\r\nCSEQ: 1 INVITE\r\nmax-forwards: 9\r\nl: 0\r\n\r\n';
    expect(fwd(text, 'full')).toBe(
      `INVITE sip:g@x SIP/2.0\r\nVia: ${VIA}\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 8\r\nContent-Length: 0\r\n\r\n`,
    );
  });

  it('lazy: Record-Route goes after the leading block of Via lines only', () => {
    const text = 'INVITE sip:g@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: <sip:a@x>;tag=f1\r\nVia: SIP/2.0/UDP 10.0.0.2:7000;branch=z9hG4bKb\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n';
    expect(fwd(text, 'lazy', { recordRoute: RR })).toBe(
      `INVITE sip:g@x SIP/2.0\r\nVia: ${VIA}\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nRecord-Route: ${RR}\r\nFrom: <sip:a@x>;tag=f1\r\nVia: SIP/2.0/UDP 10.0.0.2:7000;branch=z9hG4bKb\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 69\r\nContent-Length: 0\r\n\r\n`,
    );
  });

  it('lazy: with no Via right after the start line, Record-Route and Max-Forwards go right after our Via, in that order', () => {
    const text = 'INVITE sip:g@x SIP/2.0\r\nFrom: <sip:a@x>;tag=f1\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
    expect(fwd(text, 'lazy', { recordRoute: RR })).toBe(
      `INVITE sip:g@x SIP/2.0\r\nVia: ${VIA}\r\nRecord-Route: ${RR}\r\nMax-Forwards: 70\r\nFrom: <sip:a@x>;tag=f1\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
    );
  });

  describe('the top Route (loose routing)', () => {
    const routed = (route: string[]): string =>
      req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...route, ...BASE, 'Max-Forwards: 70']);
    const expected = (route: string[], rr = ''): string =>
      `INVITE sip:g@127.0.0.1:5060 SIP/2.0\r\nVia: ${VIA}\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\n${rr}${route.map((r) => `${r}\r\n`).join('')}${BASE.join('\r\n')}\r\nMax-Forwards: 69\r\nContent-Length: 0\r\n\r\n`;

    it.each(MODES)('%s: drops a one-value top Route line and keeps the next Route line', (mode) => {
      const text = routed(['Route: <sip:127.0.0.1:5060;lr>', 'Route: <sip:next@x;lr>']);
      expect(fwd(text, mode, { removeTopRoute: true })).toBe(expected(['Route: <sip:next@x;lr>']));
    });

    it.each(MODES)('%s: keeps the rest of a multi-value top Route line', (mode) => {
      const text = routed(['Route: <sip:127.0.0.1:5060;lr>, <sip:b@x;lr>,<sip:c@x;lr>']);
      // Lazy joins the remaining values again; full keeps the rest of the line's text.
      expect(fwd(text, mode, { removeTopRoute: true })).toBe(expected([`Route: <sip:b@x;lr>,${mode === 'lazy' ? ' ' : ''}<sip:c@x;lr>`]));
    });

    it.each(MODES)('%s: leaves every Route alone unless asked', (mode) => {
      const text = routed(['Route: <sip:127.0.0.1:5060;lr>, <sip:b@x;lr>']);
      expect(fwd(text, mode)).toBe(expected(['Route: <sip:127.0.0.1:5060;lr>, <sip:b@x;lr>']));
    });

    it.each(MODES)('%s: commas inside <...> and quoted display names do not split a value', (mode) => {
      const text = routed(['Route: "us \\"the, proxy\\"" <sip:a,b@127.0.0.1:5060;lr>, "n,x" <sip:b@x;lr>']);
      expect(fwd(text, mode, { removeTopRoute: true })).toBe(expected(['Route: "n,x" <sip:b@x;lr>']));
    });

    it.each(MODES)('%s: Record-Route and a consumed Route right after the Vias', (mode) => {
      const text = routed(['Route: <sip:127.0.0.1:5060;lr>, <sip:b@x;lr>']);
      expect(fwd(text, mode, { removeTopRoute: true, recordRoute: RR })).toBe(expected(['Route: <sip:b@x;lr>'], `Record-Route: ${RR}\r\n`));
    });

    it.each(MODES)('%s: a leading empty list element is no value: the Route after it is the one dropped', (mode) => {
      const text = routed(['Route: , <sip:127.0.0.1:5060;lr>, <sip:b@x;lr>']);
      expect(fwd(text, mode, { removeTopRoute: true })).toBe(expected(['Route: <sip:b@x;lr>']));
      const two = routed(['Route: , ,<sip:127.0.0.1:5060;lr>, <sip:b@x;lr>']);
      expect(fwd(two, mode, { removeTopRoute: true })).toBe(expected(['Route: <sip:b@x;lr>']));
    });

    it('lazy: a Route before the Vias and Max-Forwards, without Max-Forwards', () => {
      const text = 'INVITE sip:g@x SIP/2.0\r\nRoute: <sip:127.0.0.1:5060;lr>\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
      expect(fwd(text, 'lazy', { removeTopRoute: true, recordRoute: RR })).toBe(
        `INVITE sip:g@x SIP/2.0\r\nVia: ${VIA}\r\nRecord-Route: ${RR}\r\nMax-Forwards: 70\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
      );
    });

    it('lazy: a consumed Route right after the Vias, and Max-Forwards missing', () => {
      const text = 'INVITE sip:g@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nRoute: <sip:127.0.0.1:5060;lr>, <sip:b@x;lr>\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
      expect(fwd(text, 'lazy', { removeTopRoute: true, recordRoute: RR })).toBe(
        `INVITE sip:g@x SIP/2.0\r\nVia: ${VIA}\r\nMax-Forwards: 70\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nRecord-Route: ${RR}\r\nRoute: <sip:b@x;lr>\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
      );
    });

    it('lazy: Max-Forwards before a consumed Route, both after a header in between', () => {
      const text = 'INVITE sip:g@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: <sip:a@x>;tag=f1\r\nMax-Forwards: 3\r\nRoute: <sip:127.0.0.1:5060;lr>\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
      expect(fwd(text, 'lazy', { removeTopRoute: true })).toBe(
        `INVITE sip:g@x SIP/2.0\r\nVia: ${VIA}\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: <sip:a@x>;tag=f1\r\nMax-Forwards: 2\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
      );
    });
  });

  it.each(MODES)('%s: forwards Content-Length bytes of body, never the datagram trailing octets', (mode) => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE, 'Max-Forwards: 70'], 'v=0\n').replace('Content-Length: 4', 'Content-Length: 2') + 'junk';
    expect(fwd(text, mode).endsWith('Content-Length: 2\r\n\r\nv=')).toBe(true);
  });

  it.each(MODES)('%s: a body without Content-Length is the rest of the datagram', (mode) => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE, 'Max-Forwards: 70']).replace('Content-Length: 0\r\n', '') + 'abc';
    expect(fwd(text, mode).endsWith('Max-Forwards: 69\r\n\r\nabc')).toBe(true);
  });

  it.each(MODES)('%s: one message forwarded with different edits gives each its own head (the cache is keyed)', (mode) => {
    const msg = parse(req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', 'Route: <sip:127.0.0.1:5060;lr>', ...BASE, 'Max-Forwards: 70']), mode);
    const out = (e: Partial<RequestEdits>): string => forwardRequest(msg, { via: VIA, removeTopRoute: false, ...e }).toString('latin1');
    const a = out({ recordRoute: '<sip:rra@x;lr>', requestUri: 'sip:m1@x' });
    const a2 = out({ recordRoute: '<sip:rra@x;lr>', requestUri: 'sip:m2@x' });
    const b = out({ recordRoute: '<sip:rrb@x;lr>' });
    const c = out({ recordRoute: '<sip:rrb@x;lr>', removeTopRoute: true });
    const d = out({});
    expect(a).toContain('\r\nRecord-Route: <sip:rra@x;lr>\r\nRoute: <sip:127.0.0.1:5060;lr>\r\n');
    expect(a.replace('sip:m1@x', 'sip:m2@x')).toBe(a2);
    expect(b).toContain('\r\nRecord-Route: <sip:rrb@x;lr>\r\nRoute: <sip:127.0.0.1:5060;lr>\r\n');
    expect(b).not.toContain('rra');
    expect(c).toContain('\r\nRecord-Route: <sip:rrb@x;lr>\r\nFrom:');
    expect(c).not.toContain('Route: <sip:127');
    expect(d).not.toContain('Record-Route');
    expect(d).toContain(`\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nRoute: <sip:127.0.0.1:5060;lr>\r\n`);
  });

  it('writes each Via given, also after another of the same prefix length, and one without a branch', () => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE, 'Max-Forwards: 70']);
    const topVia = (via: string): string => fwd(text, 'lazy', { via }).split('\r\n')[1]!;
    expect(topVia('SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1')).toBe('Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1');
    expect(topVia('SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK2')).toBe('Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK2');
    expect(topVia('SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK3')).toBe('Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK3');
    expect(topVia('SIP/2.0/UDP 127.0.0.2:5060')).toBe('Via: SIP/2.0/UDP 127.0.0.2:5060');
    expect(topVia('SIP/2.0/UDP 127.0.0.2:5060;rport;branch=z9hG4bK4')).toBe('Via: SIP/2.0/UDP 127.0.0.2:5060;rport;branch=z9hG4bK4');
    expect(topVia('SIP/2.0/UDP 127.0.0.2:5060;rport')).toBe('Via: SIP/2.0/UDP 127.0.0.2:5060;rport');
    expect(topVia('SIP/2.0/UDP 127.0.0.2:5060;rport;branch=z9hG4bK5')).toBe('Via: SIP/2.0/UDP 127.0.0.2:5060;rport;branch=z9hG4bK5');
    expect(topVia('SIP/2.0/UDP 127.0.0.2:5')).toBe('Via: SIP/2.0/UDP 127.0.0.2:5');
  });

  it('a cached Via prefix is used only for a Via that starts with it', () => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE, 'Max-Forwards: 70']);
    const topVia = (via: string): string => fwd(text, 'lazy', { via }).split('\r\n')[1]!;
    expect(topVia('SIP/2.0/UDP h;branch=z9hG4bK1')).toBe('Via: SIP/2.0/UDP h;branch=z9hG4bK1');
    // Same cut length, and it ends with the cached prefix: still its own prefix.
    expect(topVia('SIP/2.0/UDP k;branch=SIP/2.0/UDP h;branch=')).toBe('Via: SIP/2.0/UDP k;branch=SIP/2.0/UDP h;branch=');
  });

  it.each(MODES)('%s: the head shared by every branch is built once per message and edit set', (mode) => {
    const msg = parse(req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE, 'Max-Forwards: 70']), mode);
    forwardRequest(msg, { via: VIA, removeTopRoute: false, requestUri: 'sip:m1@x' });
    if (mode === 'full') {
      expect(msg.forwardCache).toBeUndefined(); // full mode serialises every branch again, as a general-purpose stack does
      return;
    }
    const first = msg.forwardCache;
    expect(first).toMatchObject({ rr: '', removeTopRoute: false });
    forwardRequest(msg, { via: VIA, removeTopRoute: false, requestUri: 'sip:m2@x' });
    expect(msg.forwardCache).toBe(first);
    forwardRequest(msg, { via: VIA, removeTopRoute: false, recordRoute: RR });
    expect(msg.forwardCache).toMatchObject({ rr: RR, removeTopRoute: false });
    const second = msg.forwardCache;
    forwardRequest(msg, { via: VIA, removeTopRoute: false, recordRoute: RR });
    expect(msg.forwardCache).toBe(second);
  });

  it.each(MODES)('%s: bytes above 0x7f go out as they came, and non-ASCII edits are written one byte a character', (mode) => {
    const raw = Buffer.concat([
      Buffer.from('INVITE sip:g@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: "', 'latin1'),
      Buffer.from('Zoë Ünal', 'utf8'),
      Buffer.from('" <sip:a@x>;tag=f1\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n', 'latin1'),
    ]);
    const out = forwardRequest(parseSip(raw, mode), { via: 'SIP/2.0/UDP h\u00e9;branch=z9hG4bK\u00e9', removeTopRoute: false, recordRoute: '<sip:r\u00e9@x;lr>' });
    const expected = Buffer.concat([
      Buffer.from('INVITE sip:g@x SIP/2.0\r\nVia: SIP/2.0/UDP h\u00e9;branch=z9hG4bK\u00e9\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nRecord-Route: <sip:r\u00e9@x;lr>\r\nFrom: "', 'latin1'),
      Buffer.from('Zoë Ünal', 'utf8'),
      Buffer.from('" <sip:a@x>;tag=f1\r\nTo: <sip:g@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 69\r\nContent-Length: 0\r\n\r\n', 'latin1'),
    ]);
    expect(out.equals(expected)).toBe(true);
  });

  it('writes each Record-Route given, one after another', () => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE, 'Max-Forwards: 70']);
    for (const rr of ['<sip:p1@x;lr>', '<sip:p2@x;lr>', '<sip:p2@x;lr>', '<sip:p1@x;lr>']) {
      expect(fwd(text, 'lazy', { recordRoute: rr })).toContain(`;branch=z9hG4bKa\r\nRecord-Route: ${rr}\r\nFrom:`);
    }
  });

  it('keeps writing correct Via and Record-Route lines past the constant cache bound', () => {
    const text = req(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', ...BASE, 'Max-Forwards: 70']);
    for (let i = 0; i < 200; i++) {
      const via = `SIP/2.0/UDP 127.0.0.${i % 70}:5060;branch=z9hG4bK${i}`;
      const out = fwd(text, 'lazy', { via, recordRoute: `<sip:p${i % 67}@x;lr>` });
      expect(out.split('\r\n').slice(1, 4)).toEqual([`Via: ${via}`, 'Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa', `Record-Route: <sip:p${i % 67}@x;lr>`]);
    }
  });
});

describe('forwardResponse', () => {
  const res = (vias: string[], extra = ''): string =>
    `SIP/2.0 180 Ringing\r\n${vias.join('\r\n')}\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>;tag=t1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n${extra}Content-Length: 0\r\n\r\n`;
  const out = (text: string, mode: ParseMode): string => forwardResponse(parse(text, mode)).toString('latin1');

  it.each(MODES)('%s: takes off the top Via line when it holds one value', (mode) => {
    const text = res([`Via: ${VIA}`, 'Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa']);
    expect(out(text, mode)).toBe(res(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa']));
  });

  it.each(MODES)('%s: takes off only the first value of a multi-value top Via line', (mode) => {
    const text = res([`Via: ${VIA}, SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa,SIP/2.0/UDP 10.0.0.2:7000;branch=z9hG4bKb`, 'Via: SIP/2.0/UDP 10.0.0.3:7000;branch=z9hG4bKc']);
    // Lazy joins the remaining values again; full keeps the rest of the line's text.
    const sep = mode === 'lazy' ? ', ' : ',';
    expect(out(text, mode)).toBe(
      res([`Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa${sep}SIP/2.0/UDP 10.0.0.2:7000;branch=z9hG4bKb`, 'Via: SIP/2.0/UDP 10.0.0.3:7000;branch=z9hG4bKc']),
    );
  });

  it.each(MODES)('%s: keeps the reason phrase and the body, and drops the trailing octets', (mode) => {
    const text = `SIP/2.0 183 Session Progress\r\nVia: ${VIA}\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>;tag=t1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 4\r\n\r\nv=0\nxx`;
    expect(out(text, mode)).toBe(
      'SIP/2.0 183 Session Progress\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>;tag=t1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 4\r\n\r\nv=0\n',
    );
  });

  it('lazy: drops leading CRLF keep-alive bytes and copies the rest as received', () => {
    const text = res([`v:  ${VIA}`, 'Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa'], 'x-odd :  kept  as is\r\n');
    expect(out(`\r\n\r\n${text}`, 'lazy')).toBe(res(['Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa'], 'x-odd :  kept  as is\r\n'));
  });

  it('full: writes headers again in canonical form, the second Via value of a compact top line kept', () => {
    const text = `SIP/2.0 486 Busy Here\r\nv: ${VIA} , SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nf: <sip:a@x>;tag=f1\r\nt: <sip:g@x>;tag=t1\r\ni: c1\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n`;
    expect(out(text, 'full')).toBe(
      'SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>;tag=t1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it.each(MODES)('%s: takes off the top Via also when another header comes first', (mode) => {
    const text = `SIP/2.0 200 OK\r\nFrom: <sip:a@x>;tag=f1\r\nVia: ${VIA}\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nTo: <sip:g@x>;tag=t1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
    expect(out(text, mode)).toBe(text.replace(`Via: ${VIA}\r\n`, ''));
  });

  it('full: writes bytes above 0x7f back as they came', () => {
    const head = (via: string): Buffer =>
      Buffer.concat([Buffer.from(`SIP/2.0 486 Busy Here\r\n${via}To: "`, 'latin1'), Buffer.from('Zoë', 'utf8'), Buffer.from('" <sip:g@x>;tag=t1\r\nFrom: <sip:a@x>;tag=f1\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n', 'latin1')]);
    const got = forwardResponse(parseSip(head(`Via: ${VIA}\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\n`), 'full'));
    expect(got.equals(head('Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\n'))).toBe(true);
  });

  it('full: only the first Via header is touched', () => {
    const text = res([`Via: ${VIA}`, 'Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.2:7000;branch=z9hG4bKb']);
    expect(out(text, 'full')).toBe(text.replace(`Via: ${VIA}\r\n`, ''));
  });
});

describe('buildResponse', () => {
  const request =
    'INVITE sip:g@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nVia: SIP/2.0/UDP 10.0.0.2:7000;branch=z9hG4bKb, SIP/2.0/UDP 10.0.0.3:7000;branch=z9hG4bKc\r\n' +
    'From: <sip:a@x>;tag=f1\r\nTo:  <sip:g@x>  \r\nCall-ID: c1\r\nCSeq: 7 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:a@10.0.0.1>\r\nContent-Length: 0\r\n\r\n';
  const vias = 'Via: SIP/2.0/UDP 10.0.0.1:7000;branch=z9hG4bKa\r\nVia: SIP/2.0/UDP 10.0.0.2:7000;branch=z9hG4bKb, SIP/2.0/UDP 10.0.0.3:7000;branch=z9hG4bKc\r\n';
  const trailer = 'Server: forkbench\r\nContent-Length: 0\r\n\r\n';

  it.each(MODES)('%s: a 4xx copies every Via, From, Call-ID and CSeq, and tags the To', (mode) => {
    expect(buildResponse(parse(request, mode), 486, 'Busy Here', 'tg1').toString('latin1')).toBe(
      `SIP/2.0 486 Busy Here\r\n${vias}From: <sip:a@x>;tag=f1\r\nTo:  <sip:g@x>;tag=tg1\r\nCall-ID: c1\r\nCSeq: 7 INVITE\r\n${trailer}`,
    );
  });

  it('a 100 Trying never gets a To tag', () => {
    expect(buildResponse(parse(request, 'lazy'), 100, 'Trying', 'tg1').toString('latin1')).toBe(
      `SIP/2.0 100 Trying\r\n${vias}From: <sip:a@x>;tag=f1\r\nTo:  <sip:g@x>  \r\nCall-ID: c1\r\nCSeq: 7 INVITE\r\n${trailer}`,
    );
  });

  it('no tag given: the To line is copied as it is', () => {
    expect(buildResponse(parse(request, 'lazy'), 404, 'Not Found').toString('latin1')).toBe(
      `SIP/2.0 404 Not Found\r\n${vias}From: <sip:a@x>;tag=f1\r\nTo:  <sip:g@x>  \r\nCall-ID: c1\r\nCSeq: 7 INVITE\r\n${trailer}`,
    );
  });

  it('a To that has a tag keeps it, and extra headers come before the trailer', () => {
    const tagged = request.replace('To:  <sip:g@x>  ', 'To: <sip:g@x>;tag=dlg');
    expect(buildResponse(parse(tagged, 'lazy'), 503, 'Service Unavailable', 'tg1', ['Retry-After: 5', 'Warning: 399 x "y"']).toString('latin1')).toBe(
      `SIP/2.0 503 Service Unavailable\r\n${vias}From: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>;tag=dlg\r\nCall-ID: c1\r\nCSeq: 7 INVITE\r\nRetry-After: 5\r\nWarning: 399 x "y"\r\n${trailer}`,
    );
  });

  it('a To with a bare LF line end gets its tag before a CRLF', () => {
    const bare = request.replace('To:  <sip:g@x>  \r\n', 'To: <sip:g@x>\n');
    expect(buildResponse(parse(bare, 'lazy'), 480, 'Temporarily Unavailable', 'tg2').toString('latin1')).toContain('\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:g@x>;tag=tg2\r\nCall-ID: c1\r\n');
  });

  it('a 400 for a request missing To and Call-ID leaves those lines out', () => {
    const broken = request.replace('To:  <sip:g@x>  \r\n', '').replace('Call-ID: c1\r\n', '');
    let partial: SipMessage | undefined;
    try {
      parse(broken, 'lazy');
    } catch (e) {
      if (e instanceof SipParseError) partial = e.partial;
    }
    expect(partial).toBeDefined();
    expect(buildResponse(partial!, 400, 'Missing Call-ID', 'tg3').toString('latin1')).toBe(
      `SIP/2.0 400 Missing Call-ID\r\n${vias}From: <sip:a@x>;tag=f1\r\nCSeq: 7 INVITE\r\n${trailer}`,
    );
  });
});
