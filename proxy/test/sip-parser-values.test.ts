// The parser's value readers, each by its exact result: Via parameters (RFC 3261 20.42), name-addr
// and tag scanning (strict for full mode, lenient and byte-level for lazy mode), header names
// (compact forms, canonical spelling), comma splitting, unfolding, and the lazy getters.
import { describe, expect, it } from 'vitest';
import { canonicalName, parseSip, parseVia, parseViaAt, parseVias, scanNameAddr, splitCommas, tagOf, uriOf, MAX_PARAMS } from '../sip-parser.js';
import { SipParseError, type ParseMode, type SipMessage } from '../sip-message.js';
import { invite, responseTo } from './sip-fixtures.js';

const modes: ParseMode[] = ['lazy', 'full'];
const buf = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('Via values', () => {
  it('reads every field of one via-parm, its text trimmed', () => {
    expect(parseVias('  SIP/2.0/UDP host-a.example_1:5070 ;branch=z9hG4bKx;received=10.0.0.1;rport=7000  ')).toEqual([
      { value: 'SIP/2.0/UDP host-a.example_1:5070 ;branch=z9hG4bKx;received=10.0.0.1;rport=7000', version: '2.0', transport: 'UDP', host: 'host-a.example_1', port: 5070, portGiven: true, branch: 'z9hG4bKx', received: '10.0.0.1', rport: 7000 },
    ]);
  });

  it('defaults to port 5060, no branch, no rport or received', () => {
    const v = parseVias('SIP/2.0/TCP h')![0]!;
    expect(v).toEqual({ value: 'SIP/2.0/TCP h', version: '2.0', transport: 'TCP', host: 'h', port: 5060, portGiven: false, branch: '' });
    expect('rport' in v || 'received' in v).toBe(false);
  });

  it('reads the protocol name in any case and upper-cases the transport', () => {
    expect(parseVias('sIp/2.0/udp h')![0]).toMatchObject({ transport: 'UDP', version: '2.0' });
    expect(parseVias('SIP/2.0/Tls h')![0]!.transport).toBe('TLS');
    expect(parseVias('SIP/2.0/sctp h')![0]!.transport).toBe('SCTP');
  });

  it('reads every host and token character at the edges of its class (0-9, A-Z, a-z, - . _)', () => {
    const v = parseVias('SIP/2.0/UDP 0aZ9-z.A_:5060;branch=z9AZaz09-._!%*+`\'~')![0]!;
    expect([v.host, v.branch]).toEqual(['0aZ9-z.A_', "z9AZaz09-._!%*+`'~"]);
    expect(parseVias('SIP/2.0/Xa h')![0]!.transport).toBe('XA');
    expect(parseVias('SIP/2.0/Xz h')![0]!.transport).toBe('XZ');
  });

  it('reads parameter names in any case; other parameters of the same lengths are not taken', () => {
    expect(parseVias('SIP/2.0/UDP h;BRANCH=z9A;Received=1.2.3.4;RPORT=9')![0]).toMatchObject({ branch: 'z9A', received: '1.2.3.4', rport: 9 });
    const v = parseVias('SIP/2.0/UDP h;brunch=x;receive=y;rpart=1;received2=z;maddr=a:b:c')![0]!;
    expect([v.branch, v.received, v.rport]).toEqual(['', undefined, undefined]);
  });

  it('reads a received without value as empty, a quoted and an IPv6 parameter value', () => {
    expect(parseVias('SIP/2.0/UDP h;received')![0]!.received).toBe('');
    expect(parseVias('SIP/2.0/UDP h;x="a;b, c";branch=z9q')![0]!.branch).toBe('z9q');
    expect(parseVias('SIP/2.0/UDP h;received=[::1];branch=z9v6')![0]).toMatchObject({ received: '[::1]', branch: 'z9v6' });
    expect(parseVias('SIP/2.0/UDP h;branch="z9 q"')![0]!.branch).toBe('"z9 q"');
    expect(parseVias('SIP/2.0/UDP [::1]')![0]).toMatchObject({ host: '[::1]', port: 5060 });
  });

  it('takes rport 65535 and refuses 0, 65536 and trailing junk', () => {
    expect(parseVias('SIP/2.0/UDP h;rport=65535')![0]!.rport).toBe(65535);
    expect(parseVias('SIP/2.0/UDP h:65535')![0]!.port).toBe(65535);
    for (const bad of ['rport=0', 'rport=65536', 'rport=12x', 'rport=']) expect(parseVias(`SIP/2.0/UDP h;${bad}`)).toBeUndefined();
  });

  it(`takes ${MAX_PARAMS} parameters and refuses ${MAX_PARAMS + 1}`, () => {
    expect(parseVias(`SIP/2.0/UDP a${';x'.repeat(MAX_PARAMS)}`)).toHaveLength(1);
    expect(parseVias(`SIP/2.0/UDP a${';x'.repeat(MAX_PARAMS + 1)}`)).toBeUndefined();
  });

  it('splits values on commas and keeps each value text', () => {
    const v = parseVias('SIP/2.0/UDP a;branch=z9a , SIP/2.0/TCP b:5070')!;
    expect(v.map((x) => [x.value, x.host, x.transport, x.port])).toEqual([
      ['SIP/2.0/UDP a;branch=z9a', 'a', 'UDP', 5060],
      ['SIP/2.0/TCP b:5070', 'b', 'TCP', 5070],
    ]);
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['no "/" after SIP', 'SIP 2.0/UDP h'],
    ['no "/" after the version', 'SIP/2.0 UDP h'],
    ['an empty version', 'SIP//UDP h'],
    ['no transport', 'SIP/2.0/'],
    ['no transport before the host', 'SIP/2.0/ ;x'],
    ['SIx', 'SIX/2.0/UDP h'],
    ['SxP', 'SXP/2.0/UDP h'],
    ['xIP', 'XIP/2.0/UDP h'],
    ['a port that is no number', 'SIP/2.0/UDP h:x'],
    ['an empty port', 'SIP/2.0/UDP h:'],
    ['junk after sent-by', 'SIP/2.0/UDP h junk'],
    ['junk after a parameter', 'SIP/2.0/UDP h;branch=z9 junk'],
    ['a host character outside the grammar', 'SIP/2.0/UDP h@x'],
    ['an empty parameter value', 'SIP/2.0/UDP h;x='],
    ['an unclosed quoted value', 'SIP/2.0/UDP h;x="abc'],
    ['an unclosed IPv6 value', 'SIP/2.0/UDP h;received=[::1'],
    ['a trailing comma and blanks', 'SIP/2.0/UDP h,  '],
    ['a broken second value', 'SIP/2.0/UDP h, SIP/2.0'],
  ])('refuses %s', (_n, value) => {
    expect(parseVias(value)).toBeUndefined();
  });

  it('parseVia takes exactly one via-parm; parseViaAt starts where told and says where the next begins', () => {
    expect(parseVia('SIP/2.0/UDP a;branch=z9a')!.host).toBe('a');
    expect(parseVia('SIP/2.0/UDP a, SIP/2.0/UDP b')).toBeUndefined();
    expect(parseVia('garbage')).toBeUndefined();
    const s = 'SIP/2.0/UDP a, SIP/2.0/UDP b';
    const first = parseViaAt(s, 0)!;
    expect([first.via.host, first.next]).toEqual(['a', s.indexOf(',') + 1]);
    const second = parseViaAt(s, first.next)!;
    expect([second.via.host, second.via.value, second.next]).toEqual(['b', 'SIP/2.0/UDP b', s.length]);
  });
});

describe('name-addr scanning', () => {
  it.each([
    // value, strict result, lenient result (undefined: refused)
    ['"A" <sip:a@b>;tag=1', { tag: '1', uri: 'sip:a@b' }, { tag: '1', uri: 'sip:a@b' }],
    ['  sip:a@b ;tag=2', { tag: '2', uri: 'sip:a@b' }, { tag: '2', uri: 'sip:a@b' }],
    ['<sip:a@b>;TAG=Up;lr', { tag: 'Up', uri: 'sip:a@b' }, { tag: 'Up', uri: 'sip:a@b' }],
    ['<sip:a@b>;tag', { tag: '', uri: 'sip:a@b' }, { tag: '', uri: 'sip:a@b' }],
    ['<sip:a@b>;tag=2;xag=3;tax=4;txg=5;ta=6;tags=7', { tag: '2', uri: 'sip:a@b' }, { tag: '2', uri: 'sip:a@b' }],
    ['<sip:a@b>;p="q;tag=no";tag=yes', { tag: 'yes', uri: 'sip:a@b' }, { tag: 'yes', uri: 'sip:a@b' }],
    ['<sip:a@b>;tag=[::1]', { tag: '[::1]', uri: 'sip:a@b' }, { tag: '[::1]', uri: 'sip:a@b' }],
    ['<sip:a@b>;tag="q"', { tag: '"q"', uri: 'sip:a@b' }, { tag: '"q"', uri: 'sip:a@b' }],
    ['"A \\"B\\"" <sip:a@b>', { tag: '', uri: 'sip:a@b' }, { tag: '', uri: 'sip:a@b' }],
    ['abc;tag=1', undefined, { tag: '1', uri: 'abc' }],
    ['abc', undefined, { tag: '', uri: 'abc' }],
    [':abc', undefined, { tag: '', uri: ':abc' }],
    ['sip:a@b,sip:c@d', undefined, undefined],
    ['"A" sip:a@b', undefined, undefined],
    ['"unclosed <sip:a@b>', undefined, undefined],
    ['<sip:a@b>;tag=', undefined, undefined],
    ['<sip:a@b>;tag="x', undefined, undefined],
    ['<sip:a@b>;tag=[::1', undefined, undefined],
    ['<sip:a@b>;=1', undefined, undefined],
    ['<sip:a@b>;', undefined, undefined],
    ['<sip:a@b> x', undefined, undefined],
    ['A B <sip:a@b', undefined, undefined],
    ['A @ <sip:a@b>', undefined, undefined],
    ['< sip:a@b>', undefined, { tag: '', uri: ' sip:a@b' }],
    ['<sip:a@b >', undefined, { tag: '', uri: 'sip:a@b ' }],
    ['<sip:>', undefined, { tag: '', uri: 'sip:' }],
    ['sip:a@b?x=1', undefined, { tag: '', uri: 'sip:a@b?x=1' }],
    ['<sip:a@b>;tag=AZaz09', { tag: 'AZaz09', uri: 'sip:a@b' }, { tag: 'AZaz09', uri: 'sip:a@b' }],
    ['Name <tel:+1555>', { tag: '', uri: 'tel:+1555' }, { tag: '', uri: 'tel:+1555' }],
  ])('%j', (value, strict, lenient) => {
    expect(scanNameAddr(value, true)).toEqual(strict);
    expect(scanNameAddr(value, false)).toEqual(lenient);
    // Lazy mode reads the tag of a request's From from the bytes, with the lenient scanner's answer.
    const text = invite().replace('From: <sip:caller@127.0.0.1:7000>;tag=ft1', `From: ${value}`);
    if (lenient) expect(parseSip(buf(text), 'lazy').fromTag).toBe(lenient.tag);
    else expect(() => parseSip(buf(text), 'lazy')).toThrow('Bad From');
  });

  it(`takes ${MAX_PARAMS} header parameters and refuses ${MAX_PARAMS + 1}, in both scanners`, () => {
    for (const [n, ok] of [[MAX_PARAMS, true], [MAX_PARAMS + 1, false]] as const) {
      const value = `<sip:a@b>${';x=1'.repeat(n - 1)};tag=t`;
      for (const strict of [true, false]) expect(scanNameAddr(value, strict)?.tag).toBe(ok ? 't' : undefined);
      const text = invite().replace('From: <sip:caller@127.0.0.1:7000>;tag=ft1', `From: ${value}`);
      if (ok) expect(parseSip(buf(text), 'lazy').fromTag).toBe('t');
      else expect(() => parseSip(buf(text), 'lazy')).toThrow('Bad From');
    }
  });

  it('tagOf reads the header tag, or gives ""', () => {
    expect(tagOf('<sip:a@b>;tag=x1')).toBe('x1');
    expect(tagOf('"broken <sip:a@b>;tag=x1')).toBe('');
  });

  it('uriOf takes the URI inside <...> or the addr-spec before its parameters', () => {
    expect(uriOf('"A" < sip:a@b >;tag=1')).toBe('sip:a@b');
    expect(uriOf('<sip:a@b;lr')).toBe('sip:a@b;lr');
    expect(uriOf(' sip:a@b ;lr')).toBe('sip:a@b');
    expect(uriOf(' sip:a@b ')).toBe('sip:a@b');
  });
});

describe('header names', () => {
  it.each([
    ['v', 'Via'], ['I', 'Call-ID'], ['f', 'From'], ['t', 'To'], ['l', 'Content-Length'], ['m', 'Contact'], ['c', 'Content-Type'],
    ['e', 'Content-Encoding'], ['k', 'Supported'], ['s', 'Subject'], ['o', 'Event'], ['r', 'Refer-To'], ['b', 'Referred-By'],
    ['u', 'Allow-Events'], ['x', 'Session-Expires'], ['a', 'Accept-Contact'], ['j', 'Reject-Contact'], ['d', 'Request-Disposition'], ['y', 'Identity'],
    ['q', 'q'], ['Z', 'Z'],
    ['VIA', 'Via'], ['route', 'Route'], ['RECORD-route', 'Record-Route'], ['call-id', 'Call-ID'], ['cseq', 'CSeq'], ['from', 'From'], ['TO', 'To'],
    ['max-forwards', 'Max-Forwards'], ['content-length', 'Content-Length'], ['content-type', 'Content-Type'], ['contact', 'Contact'],
    ['www-authenticate', 'WWW-Authenticate'], ['proxy-require', 'Proxy-Require'], ['reply-to', 'Reply-To'],
    ['x-custom-thing', 'X-Custom-Thing'], ['abc', 'Abc'], ['a1-b', 'A1-B'], ['Already-Fine', 'Already-Fine'], ['x--y', 'X--Y'], ['mIxed-case', 'MIxed-Case'],
  ])('canonicalName(%j) is %j', (raw, name) => {
    expect(canonicalName(raw)).toBe(name);
  });

  it.each(modes)('full mode stores every header under its canonical name, value unfolded (%s)', (mode) => {
    const text = invite({ extra: 'x-custom-thing:  a\r\n \t b  \r\nSupported: timer\r\n' });
    const m = parseSip(buf(text), mode);
    if (mode === 'lazy') {
      expect(m.headers).toBeUndefined();
      return;
    }
    expect(m.headers!.map((h) => h.name)).toEqual(['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Max-Forwards', 'X-Custom-Thing', 'Supported', 'Content-Type', 'Content-Length']);
    expect(m.headers!.find((h) => h.name === 'X-Custom-Thing')!.value).toBe('a b');
  });

  // Every long and compact name the parser acts on, in upper case, and a near miss of each
  // (same length, same first letter) that must be left alone.
  it.each(modes)('recognises the headers it reads by name, in any case, and nothing that merely looks alike (%s)', (mode) => {
    const text =
      'BYE sip:m1@127.0.0.1:6001 SIP/2.0\r\n' +
      'VIA: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa\r\n' +
      'V: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb\r\n' +
      'Vix: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bKc\r\n' +
      'ROUTE: <sip:r1;lr>\r\n' +
      'Rxute: <sip:r2;lr>\r\n' +
      'FROM: <sip:a@x>;tag=f1\r\n' +
      'Fxom: <sip:a@x>;tag=f2\r\n' +
      'TO: <sip:b@y>;tag=t1\r\n' +
      'Tx: <sip:b@y>;tag=t2\r\n' +
      'CALL-ID: cid1\r\n' +
      'Cxll-ID: cid2\r\n' +
      'CSEQ: 5 BYE\r\n' +
      'Cxeq: 6 BYE\r\n' +
      'MAX-FORWARDS: 9\r\n' +
      'Mxx-Forwards: 8\r\n' +
      'PROXY-REQUIRE: foo\r\n' +
      'Pxoxy-Require: bar\r\n' +
      'Content-Lengtx: 7\r\n' +
      'Cxntent-Length: 6\r\n' +
      'CONTENT-LENGTH: 0\r\n' +
      'm: <sip:c@z>\r\n' +
      'k: timer\r\n' +
      'q: x\r\n\r\n';
    const m = parseSip(buf(text), mode);
    expect(m.viaCount).toBe(2);
    expect(m.vias.map((v) => v.host)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(m.routeLines.map((l) => l.values)).toEqual([['<sip:r1;lr>']]);
    expect([m.fromTag, m.toTag, m.callId, m.cseq, m.maxForwards, m.contentLength]).toEqual(['f1', 't1', 'cid1', 5, 9, 0]);
    expect(m.proxyRequire).toEqual(['foo']);
  });

  it.each(modes)('reads the compact forms i, f, t, l (%s)', (mode) => {
    const text = 'BYE sip:m1@127.0.0.1:6001 SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9\r\nI: c2\r\nF: <sip:a@x>;tag=f\r\nT: <sip:b@y>;tag=t\r\nCSeq: 1 BYE\r\nL: 0\r\n\r\n';
    const m = parseSip(buf(text), mode);
    expect([m.callId, m.fromTag, m.toTag, m.contentLength, m.viaCount]).toEqual(['c2', 'f', 't', 0, 1]);
  });
});

describe('comma splitting', () => {
  it.each([
    ['', []],
    ['  ', []],
    [' a ', ['a']],
    [',a', ['a']],
    [' , a,, b ,', ['a', 'b']],
    ['"x\\",y" <sip:a>, <sip:b;p=1,2>', ['"x\\",y" <sip:a>', '<sip:b;p=1,2>']],
    ['<sip:a>,"q,r",<s,t>', ['<sip:a>', '"q,r"', '<s,t>']],
    ['a>,b', ['a>', 'b']],
  ])('%j', (value, parts) => {
    expect(splitCommas(value)).toEqual(parts);
  });
});

describe.each(modes)('unfolding and lazy reading (%s)', (mode) => {
  it('unfolds CRLF and bare LF continuation lines, any run of SP/HT, into one space', () => {
    const text = invite().replace('Call-ID: call-1@test', 'Call-ID: \r\n  \t call-1\r\n\t@test');
    expect(parseSip(buf(text), mode).callId).toBe('call-1 @test');
    const lf = invite().replace(/\r\n/g, '\n').replace('Call-ID: call-1@test', 'Call-ID:\n call-1\n  @x');
    expect(parseSip(buf(lf), mode).callId).toBe('call-1 @x');
  });

  it('gives the top two Vias: two on the top line, or the first of the next line; counts them all', () => {
    const top = 'Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-c1';
    const one = parseSip(buf(invite().replace(top, `${top}, SIP/2.0/UDP b;branch=z9b, SIP/2.0/UDP c;branch=z9c`)), mode);
    expect(one.vias.map((v) => v.host)).toEqual(mode === 'lazy' ? ['127.0.0.1', 'b'] : ['127.0.0.1', 'b', 'c']);
    expect(one.viaCount).toBe(3);
    const lines = parseSip(buf(invite().replace(top, `${top}\r\nVia: SIP/2.0/UDP d;branch=z9d, SIP/2.0/UDP e\r\nVia: SIP/2.0/UDP f`)), mode);
    expect(lines.vias.map((v) => v.host)).toEqual(mode === 'lazy' ? ['127.0.0.1', 'd'] : ['127.0.0.1', 'd', 'e', 'f']);
    expect(lines.viaCount).toBe(4);
    expect(lines.viaLines.map((l) => l.values.length)).toEqual([1, 2, 1]);
    const single = parseSip(buf(invite()), mode);
    expect(single.vias).toHaveLength(1);
    expect(single.viaCount).toBe(1);
  });

  it('a response keeps its tags unread until asked, then reads them (broken ones as "")', () => {
    const text = responseTo(invite(), 180, 'Ringing', 'tt').replace('From: <sip:caller@127.0.0.1:7000>;tag=ft1', 'From: <sip:caller@127.0.0.1:7000;tag=ft1');
    if (mode === 'full') {
      expect(() => parseSip(buf(text), mode)).toThrow('Bad From');
      return;
    }
    const m = parseSip(buf(text), mode);
    expect([m.fromTag, m.toTag]).toEqual(['', 'tt']);
  });

  it('reads Proxy-Require from each line, values split on commas', () => {
    expect(parseSip(buf(invite({ extra: 'Proxy-Require: a, b\r\nProxy-Require: c\r\n' })), mode).proxyRequire).toEqual(['a', 'b', 'c']);
  });

  it('gives the same fields when asked twice (cached), and lets the writer replace them', () => {
    const m = parseSip(buf(invite()), mode) as SipMessage & { vias: SipMessage['vias']; viaCount: number; fromTag: string; toTag: string };
    expect(m.vias).toBe(m.vias);
    expect(m.callId).toBe(m.callId);
    m.fromTag = 'F';
    m.toTag = 'T';
    m.viaCount = 9;
    const v = [{ ...m.vias[0]!, host: 'other' }];
    m.vias = v;
    expect([m.fromTag, m.toTag, m.viaCount, m.vias]).toEqual(['F', 'T', 9, v]);
  });
});

describe('partial messages of unanswerable errors still carry what was read', () => {
  it('a missing CSeq leaves the method and top Via readable', () => {
    try {
      parseSip(buf(invite().replace(/CSeq: .*\r\n/, '')), 'lazy');
      throw new Error('parsed');
    } catch (e) {
      expect(e).toBeInstanceOf(SipParseError);
      const p = (e as SipParseError).partial!;
      expect([p.method, p.vias[0]!.branch, p.callId]).toEqual(['INVITE', 'z9hG4bK-c1', 'call-1@test']);
    }
  });
});
