import { describe, expect, it } from 'vitest';
import { parseSip, parseSipUri, parseVias, scanNameAddr, splitCommas, tagOf, MAX_HEADERS } from '../sip-parser.js';
import { SipParseError, type ParseMode } from '../sip-message.js';
import { buildResponse, forwardRequest, forwardResponse } from '../sip-writer.js';
import { invite, responseTo } from './sip-fixtures.js';

const modes: ParseMode[] = ['lazy', 'full'];
const buf = (s: string): Buffer => Buffer.from(s, 'latin1');

function parseError(text: string, mode: ParseMode): SipParseError {
  try {
    parseSip(buf(text), mode);
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

describe.each(modes)('parseSip (%s)', (mode) => {
  it('reads the routing fields of an INVITE', () => {
    const m = parseSip(buf(invite({ extra: 'Route: <sip:127.0.0.1:5060;lr>, <sip:10.0.0.1;lr>\r\n' })), mode);
    expect(m.isRequest).toBe(true);
    expect(m.method).toBe('INVITE');
    expect(m.requestUri).toBe('sip:g4@127.0.0.1:5060');
    expect(m.vias[0]).toMatchObject({ host: '127.0.0.1', port: 7000, branch: 'z9hG4bK-c1', transport: 'UDP' });
    expect(m.callId).toBe('call-1@test');
    expect([m.cseq, m.cseqMethod]).toEqual([1, 'INVITE']);
    expect(m.fromTag).toBe('ft1');
    expect(m.toTag).toBe('');
    expect(m.maxForwards).toBe(70);
    expect(m.contentLength).toBe(4);
    expect(m.routeLines[0]!.values).toEqual(['<sip:127.0.0.1:5060;lr>', '<sip:10.0.0.1;lr>']);
    expect(m.buf.toString('latin1', m.bodyStart)).toBe('v=0\n');
    if (mode === 'full') expect(m.headers!.map((h) => h.name)).toContain('Content-Type');
    else expect(m.headers).toBeUndefined();
  });

  it('reads compact header forms and folded headers', () => {
    const text =
      'BYE sip:m1@127.0.0.1:6001 SIP/2.0\r\n' +
      'v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa,\r\n SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bKb;rport=7000;received=127.0.0.1\r\n' +
      'f: "Alice, A." <sip:a@x;tag=inuri>;tag=from1\r\n' +
      't: <sip:b@y>\r\n  ;tag=to1\r\n' +
      'i: abc\r\n' +
      'CSeq: 2 BYE\r\n' +
      'l: 0\r\n\r\n';
    const m = parseSip(buf(text), mode);
    expect(m.viaCount).toBe(2);
    expect(m.vias[1]).toMatchObject({ host: '127.0.0.1', port: 7000, rport: 7000, received: '127.0.0.1' });
    expect(m.fromTag).toBe('from1');
    expect(m.toTag).toBe('to1');
    expect(m.callId).toBe('abc');
    expect(m.contentLength).toBe(0);
    if (mode === 'full') expect(m.headers!.find((h) => h.name === 'To')!.value).toBe('<sip:b@y> ;tag=to1');
  });

  it('reads a response and takes its method from CSeq', () => {
    const m = parseSip(buf(responseTo(invite(), 180, 'Ringing', 'tt')), mode);
    expect(m.isRequest).toBe(false);
    expect(m.status).toBe(180);
    expect(m.method).toBe('INVITE');
    expect(m.toTag).toBe('tt');
  });

  const answerable: [string, string, string][] = [
    ['bad CSeq', invite().replace('CSeq: 1 INVITE', 'CSeq: one INVITE'), 'Bad CSeq'],
    ['CSeq method mismatch', invite().replace('CSeq: 1 INVITE', 'CSeq: 1 BYE'), 'CSeq method does not match'],
    ['bad Max-Forwards', invite().replace('Max-Forwards: 70', 'Max-Forwards: lots'), 'Bad Max-Forwards'],
    ['Content-Length too large', invite().replace('Content-Length: 4', 'Content-Length: 400'), 'Content-Length larger than the datagram'],
    ['bad Content-Length', invite().replace('Content-Length: 4', 'Content-Length: -4'), 'Bad Content-Length'],
    ['header without colon', invite().replace('Max-Forwards: 70', 'Max-Forwards 70'), 'Header without colon'],
    ['bad Request-URI', invite().replace('INVITE sip:g4@127.0.0.1:5060', 'INVITE nonsense'), 'Bad Request-URI'],
    ['wrong SIP version', invite().replace('SIP/2.0\r\nVia', 'SIP/3.0\r\nVia'), 'Version Not Supported'],
    // RFC 4475 insuf: a request without Call-ID, From or To still gets its 400.
    ['missing Call-ID', invite().replace(/Call-ID: .*\r\n/, ''), 'Missing Call-ID'],
    ...(mode === 'full'
      ? ([['bad second Via (full mode reads every Via)', invite().replace('Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-c1', 'Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-c1, garbage'), 'Bad Via']] as [string, string, string][])
      : []),
  ];
  it.each(answerable)('rejects %s, answerable with 400', (_name, text, reason) => {
    const e = parseError(text, mode);
    expect(e.message).toBe(reason);
    expect(e.answerable).toBe(true);
  });

  const unanswerable: [string, string | Buffer][] = [
    ['no Via', invite().replace(/Via: .*\r\n/, '')],
    // A 400 without CSeq could not be matched by the client: dropped and counted.
    ['missing CSeq', invite().replace(/CSeq: .*\r\n/, '')],
    ['garbage bytes', Buffer.from([0xff, 0x00, 0x13, 0x37, 0x0a, 0x0d, 0x0a, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46])],
    ['a bad status line', 'SIP/2.0 99 Odd\r\nVia: SIP/2.0/UDP 1.2.3.4\r\n\r\n'],
    ['no end of headers', invite().split('\r\n\r\n')[0]!],
    ['a continuation before any header', 'OPTIONS sip:x@y SIP/2.0\r\n folded\r\n\r\n'],
    ['an oversized datagram', Buffer.alloc(70_000, 0x41)],
    ['too many headers', invite().replace('Max-Forwards: 70\r\n', 'X-A: 1\r\n'.repeat(MAX_HEADERS + 1))],
    ['a bad top Via', invite().replace('Via: SIP/2.0/UDP 127.0.0.1:7000', 'Via: HTTP/1.1 127.0.0.1:7000')],
  ];
  it.each(unanswerable)('drops %s', (_name, input) => {
    const e = (() => {
      try {
        parseSip(typeof input === 'string' ? buf(input) : input, mode);
      } catch (err) {
        return err as SipParseError;
      }
      throw new Error('parsed');
    })();
    expect(e).toBeInstanceOf(SipParseError);
    expect(e.answerable).toBe(false);
  });

  it('flags a bad From only in full mode (lazy reads the tag alone)', () => {
    const text = invite().replace('From: <sip:caller@127.0.0.1:7000>;tag=ft1', 'From: garbage;tag=ft1');
    if (mode === 'full') expect(parseError(text, mode).message).toBe('Bad From');
    else expect(parseSip(buf(text), mode).fromTag).toBe('ft1');
  });
});

describe('forwarding is the same message in both modes', () => {
  const original = invite({ extra: 'Route: <sip:127.0.0.1:5060;lr>, <sip:127.0.0.1:9999;lr>\r\nX-Custom:   kept as is\r\n' });
  const edits = { requestUri: 'sip:m1@127.0.0.1:6001', via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx', recordRoute: '<sip:127.0.0.1:5060;lr>', removeTopRoute: true };
  // Parsed inside the test, not while collecting: Stryker counts code run at collection time as
  // covered by no test ("static"), and re-runs every test for each such mutant.
  const forwarded = (mode: ParseMode) => parseSip(forwardRequest(parseSip(buf(original), mode), edits), 'full');

  it.each(modes)('rewrites start line, Via, Record-Route, Max-Forwards and Route (%s)', (mode) => {
    const m = forwarded(mode);
    expect(m.requestUri).toBe('sip:m1@127.0.0.1:6001');
    expect(m.viaCount).toBe(2);
    expect(m.vias[0]!.branch).toBe('z9hG4bKx');
    expect(m.vias[1]!.branch).toBe('z9hG4bK-c1');
    expect(m.maxForwards).toBe(69);
    expect(m.routeLines.flatMap((l) => l.values)).toEqual(['<sip:127.0.0.1:9999;lr>']);
    expect(m.headers!.find((h) => h.name === 'Record-Route')!.value).toBe('<sip:127.0.0.1:5060;lr>');
    expect(m.buf.toString('latin1', m.bodyStart)).toBe('v=0\n');
  });

  it('lazy copies untouched header bytes exactly', () => {
    const lazy = forwardRequest(parseSip(buf(original), 'lazy'), edits).toString('latin1');
    expect(lazy).toContain('X-Custom:   kept as is\r\n');
    expect(lazy).toContain('From: <sip:caller@127.0.0.1:7000>;tag=ft1\r\n');
  });

  it.each(modes)('strips our Via from a response (%s)', (mode) => {
    const fwd = forwardRequest(parseSip(buf(invite()), mode), edits).toString('latin1');
    const res = parseSip(forwardResponse(parseSip(buf(responseTo(fwd, 180, 'Ringing', 'm1')), mode)), 'full');
    expect(res.viaCount).toBe(1);
    expect(res.vias[0]!.branch).toBe('z9hG4bK-c1');
    expect(res.status).toBe(180);
  });

  it('builds a response that copies Via, From, Call-ID, CSeq and tags To', () => {
    const res = parseSip(buildResponse(parseSip(buf(invite()), 'lazy'), 404, 'Not Found', 'tag9'), 'full');
    expect(res.status).toBe(404);
    expect(res.toTag).toBe('tag9');
    expect(res.fromTag).toBe('ft1');
    expect(res.callId).toBe('call-1@test');
    expect(res.vias[0]!.branch).toBe('z9hG4bK-c1');
  });
});

describe('helpers', () => {
  it('splits commas outside quotes and brackets', () => {
    expect(splitCommas('"a,b" <sip:x>, <sip:y;p=1,2>')).toEqual(['"a,b" <sip:x>', '<sip:y;p=1,2>']);
  });
  it('takes the tag from header params, not from the URI', () => {
    expect(tagOf('<sip:a@b;tag=no>;tag=yes')).toBe('yes');
    expect(tagOf('sip:a@b;tag=plain')).toBe('plain');
  });
  it('parses SIP URIs', () => {
    expect(parseSipUri('sip:m1@127.0.0.1:6001;transport=udp')).toMatchObject({ user: 'm1', host: '127.0.0.1', port: 6001 });
    expect(parseSipUri('sip:127.0.0.1;lr')).toMatchObject({ user: '', host: '127.0.0.1', port: 5060 });
    expect(parseSipUri('http://x')).toBeUndefined();
  });
});

describe.each(modes)('numbers from bytes, limits and RFC 4475 rules (%s)', (mode) => {
  it('accepts leading zeros (RFC 4475 3.1.2 wsinv: Max-Forwards 0068, CSeq 0009)', () => {
    const m = parseSip(buf(invite().replace('Max-Forwards: 70', 'Max-Forwards: 0068').replace('CSeq: 1 INVITE', 'CSeq: 0009\r\n  INVITE')), mode);
    expect(m.maxForwards).toBe(68);
    expect([m.cseq, m.cseqMethod]).toEqual([9, 'INVITE']);
  });

  it.each([
    ['CSeq 2**31', invite().replace('CSeq: 1 INVITE', 'CSeq: 2147483648 INVITE'), 'Bad CSeq'],
    ['CSeq 36893488147419103232', invite().replace('CSeq: 1 INVITE', 'CSeq: 36893488147419103232 INVITE'), 'Bad CSeq'],
    ['Max-Forwards 256', invite().replace('Max-Forwards: 70', 'Max-Forwards: 256'), 'Bad Max-Forwards'],
    ['two Content-Length', invite().replace('Content-Length: 4', 'Content-Length: 4\r\nl: 4'), 'Multiple Content-Length headers'],
    ['two Call-ID', invite().replace('Call-ID: call-1@test', 'Call-ID: call-1@test\r\ni: other'), 'Multiple Call-ID headers'],
    ['an unterminated quote in From', invite().replace('From: <sip:caller', 'From: "Mr. C <sip:caller'), 'Bad From'],
    ['an unquoted display name with a comma', invite().replace('From: <sip:caller', 'From: Bell, Alexander <sip:caller'), 'Bad From'],
    ['empty Via parameters', invite().replace(';branch=z9hG4bK-c1', ';;,;,,'), 'Bad Via'],
    ['headers in the Request-URI', invite().replace('INVITE sip:g4@127.0.0.1:5060', 'INVITE sip:g4@127.0.0.1:5060?Route=%3Csip:x%3E'), 'Bad Request-URI (headers are not allowed in a Request-URI)'],
    ['two spaces in the Request-Line', invite().replace('INVITE sip:', 'INVITE  sip:'), 'Bad Request-Line'],
    ['trailing space after the version', invite().replace('SIP/2.0\r\nVia', 'SIP/2.0 \r\nVia'), 'Bad Request-Line'],
  ])('refuses %s with 400', (_n, text, reason) => {
    const e = parseError(text, mode);
    expect([e.message, e.status, e.answerable]).toEqual([reason, 400, true]);
  });

  it('answers 2**31-1 and 255 (the largest legal values)', () => {
    const m = parseSip(buf(invite().replace('CSeq: 1 INVITE', 'CSeq: 2147483647 INVITE').replace('Max-Forwards: 70', 'Max-Forwards: 255')), mode);
    expect([m.cseq, m.maxForwards]).toEqual([2147483647, 255]);
  });

  it('answers 505 for another SIP version and 416 for another URI scheme', () => {
    const v = parseError(invite().replace('SIP/2.0\r\nVia', 'SIP/7.0\r\nVia').replace('SIP/2.0/UDP', 'SIP/7.0/UDP'), mode);
    expect([v.status, v.answerable]).toEqual([505, true]);
    const s = parseError(invite().replace('INVITE sip:g4@127.0.0.1:5060', 'INVITE nobodyKnowsThisScheme:x'), mode);
    expect([s.status, s.message]).toEqual([416, 'Unsupported URI Scheme']);
  });

  it('reads Proxy-Require option tags (compact and folded lists too)', () => {
    const m = parseSip(buf(invite({ extra: 'Proxy-Require: foo,\r\n bar\r\nproxy-require: baz\r\n' })), mode);
    expect(m.proxyRequire).toEqual(['foo', 'bar', 'baz']);
    expect(parseSip(buf(invite()), mode).proxyRequire).toEqual([]);
  });

  it('never forwards more body than Content-Length (RFC 3261 18.3, RFC 4475 dblreq)', () => {
    const junk = 'INVITE sip:joe@example.com SIP/2.0\r\nVia: SIP/2.0/UDP x\r\n\r\n';
    const m = parseSip(buf(invite() + junk), mode);
    expect(m.contentLength).toBe(4);
    const edits = { requestUri: 'sip:m1@127.0.0.1:6001', via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx', removeTopRoute: false };
    const out = forwardRequest(m, edits).toString('latin1');
    expect(out.endsWith('\r\n\r\nv=0\n')).toBe(true);
    expect(out).not.toContain('joe@example.com');
    const res = parseSip(buf(responseTo(out, 200, 'OK', 'm1').replace('Content-Length: 0\r\n\r\n', 'Content-Length: 2\r\n\r\nabJUNK')), mode);
    expect(forwardResponse(res).toString('latin1').endsWith('\r\n\r\nab')).toBe(true);
  });

  it('only start line and Via differ per branch; lazy builds the shared part once per fork, full re-serialises', () => {
    const m = parseSip(buf(invite()), mode);
    const a = forwardRequest(m, { requestUri: 'sip:m1@127.0.0.1:6001', via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa', recordRoute: '<sip:127.0.0.1:5060;lr>', removeTopRoute: false });
    const shared = m.forwardCache?.head;
    const b = forwardRequest(m, { requestUri: 'sip:m2@127.0.0.1:6002', via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKb', recordRoute: '<sip:127.0.0.1:5060;lr>', removeTopRoute: false });
    if (mode === 'full') expect(shared).toBeUndefined();
    else expect(m.forwardCache!.head).toBe(shared);
    const tail = (x: Buffer): string => x.toString('latin1').split('\r\n').slice(2).join('\r\n');
    expect(tail(a)).toBe(tail(b));
    expect(a.toString('latin1')).toMatch(/^INVITE sip:m1@127\.0\.0\.1:6001 SIP\/2\.0\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:5060;branch=z9hG4bKa\r\n/);
    expect(b.toString('latin1')).toMatch(/^INVITE sip:m2@127\.0\.0\.1:6002 SIP\/2\.0\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:5060;branch=z9hG4bKb\r\n/);
    // Other edits are not served from the cache.
    forwardRequest(m, { via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKc', removeTopRoute: false });
    if (mode === 'lazy') expect(m.forwardCache!.head).not.toBe(shared);
  });
});

describe('lazy mode reads on demand', () => {
  it('leaves Call-ID, tags of responses and lower Vias unread until asked, then gives the same answers as full', () => {
    const text = responseTo(invite(), 180, 'Ringing', 'tt');
    const lazy = parseSip(buf(text), 'lazy');
    const full = parseSip(buf(text), 'full');
    for (const k of ['callId', 'fromTag', 'toTag', 'cseq', 'cseqMethod', 'status', 'viaCount'] as const) expect(lazy[k]).toEqual(full[k]);
    expect(lazy.vias[0]).toEqual(full.vias[0]);
  });
});

describe.each(modes)('responses keep their bytes when forwarded (%s)', (mode) => {
  it('a UTF-8 reason phrase comes out byte for byte; leading CRLFs do not', () => {
    const reason = Buffer.from('= 2**3 * 5**2 но сто', 'utf8').toString('latin1');
    const fwd = forwardRequest(parseSip(buf(invite()), mode), { via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx', removeTopRoute: false }).toString('latin1');
    const text = '\r\n' + responseTo(fwd, 200, reason, 'm1');
    const out = forwardResponse(parseSip(buf(text), mode)).toString('latin1');
    expect(out.startsWith(`SIP/2.0 200 ${reason}\r\n`)).toBe(true);
    expect(out).not.toContain('z9hG4bKx');
  });
});

describe('Via values (RFC 3261 20.42, LWS as RFC 4475 wsinv writes it)', () => {
  it('reads sent-protocol and sent-by with LWS around / : ; =', () => {
    const v = parseVias('SIP  /   2.0 /UDP    192.0.2.2;branch=390skdjuw')!;
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ version: '2.0', transport: 'UDP', host: '192.0.2.2', port: 5060, portGiven: false, branch: '390skdjuw' });
    const two = parseVias('SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8  , SIP  /    2.0   / udp  192.168.255.111   ; branch= z9hG4bK30239')!;
    expect(two.map((x) => [x.transport, x.host, x.branch])).toEqual([
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ]);
  });

  it('reads ports, IPv6 sent-by, rport and received', () => {
    expect(parseVias('SIP/2.0/UDP 127.0.0.1 : 05070;rport;received=10.0.0.1')![0]).toMatchObject({ port: 5070, portGiven: true, rport: true, received: '10.0.0.1' });
    expect(parseVias('SIP/2.0/UDP [2001:db8::9:1]:5061;rport=7000;branch=z9hG4bKa')![0]).toMatchObject({ host: '[2001:db8::9:1]', port: 5061, rport: 7000 });
    expect(parseVias('SIP/2.0/UDP h;received=[2001:db8::9:255]')![0]!.received).toBe('[2001:db8::9:255]');
    expect(parseVias('SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw')![0]!.version).toBe('7.0');
  });

  it.each([
    ['empty parameters', 'SIP/2.0/UDP 192.0.2.15;;,;,,'],
    ['a trailing comma', 'SIP/2.0/UDP a;branch=z9hG4bK1,'],
    ['a branch without value', 'SIP/2.0/UDP a;branch'],
    ['port 0', 'SIP/2.0/UDP a:0'],
    ['port 65536', 'SIP/2.0/UDP a:65536'],
    ['a bad rport', 'SIP/2.0/UDP a;rport=x'],
    ['no LWS before sent-by', 'SIP/2.0/UDPa'],
    ['another protocol', 'HTTP/1.1/TCP a'],
    ['no host', 'SIP/2.0/UDP ;branch=z9hG4bK1'],
    ['an unclosed IPv6 reference', 'SIP/2.0/UDP [::1;branch=z9hG4bK1'],
    ['too many parameters', `SIP/2.0/UDP a${';x'.repeat(65)}`],
  ])('refuses %s', (_n, value) => {
    expect(parseVias(value)).toBeUndefined();
  });
});

describe('name-addr scanning (From, To, Contact, Route)', () => {
  it.each([
    ['<sip:a@b>;tag=1', true, '1'],
    ['"A \\" B" <sip:a@b> ; tag = x9', true, 'x9'],
    ['sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n', true, '1918181833n'],
    ["token1~` token2'+_ <sip:mundane@example.com>;p=\"x;tag=no\";tag=_token~1'+`*%!-.", true, "_token~1'+`*%!-."],
    ['caller<sip:caller@example.com>;tag=323', true, '323'],
    ['<sip:a@b;tag=inuri>', true, ''],
    ['isbn:2983792873', true, ''],
    ['"Mr. J. User <sip:j.user@example.com>', false, ''],
    ['Bell, Alexander <sip:a.g.bell@example.com>;tag=43', false, ''],
    ['<sip:a@b', false, ''],
    ['<sip:a@b>;;tag=1', false, ''],
    ['<sip:a@b>;tag=1 junk', false, ''],
  ])('%s', (value, ok, tag) => {
    for (const strict of [false, true]) {
      const r = scanNameAddr(value, strict);
      if (ok) expect(r?.tag).toBe(tag);
      else expect(r).toBeUndefined();
    }
  });

  it.each([
    ['spaces inside <...> (badaspec)', '"Watson, Thomas" < sip:t.watson@example.org >'],
    ['an addr-spec with a header (regbadct)', 'sip:user@example.com?Route=%3Csip:sip.example.com%3E'],
    ['no URI inside <>', '<>'],
  ])('strict (full mode) also refuses %s; lenient (lazy) reads past it', (_n, value) => {
    expect(scanNameAddr(value, true)).toBeUndefined();
    expect(scanNameAddr(value, false)).toBeDefined();
  });
});

describe('lazy mode reads From/To tags from bytes exactly as the lenient scanner does', () => {
  it.each([
    '<sip:a@b>;tag=1',
    '"A \\" B" <sip:a@b> ; tag = x9',
    'sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n',
    "token1~` token2'+_ <sip:mundane@example.com>;p=\"x;tag=no\";tag=_token~1'+`*%!-.",
    '<sip:a@b;tag=inuri>',
    '"Mr. J. User <sip:j.user@example.com>',
    'Bell, Alexander <sip:a.g.bell@example.com>;tag=43',
    '<sip:a@b>;;tag=1',
    '"Watson, Thomas" < sip:t.watson@example.org >;TAG=w',
    'garbage;tag=ft1',
    'sip:a@b,sip:c@d;tag=2',
    '<sip:a@b>\r\n ;tag=folded',
  ])('%s', (value) => {
    const want = scanNameAddr(value, false);
    const text = invite().replace('From: <sip:caller@127.0.0.1:7000>;tag=ft1', `From: ${value}`);
    if (!want) expect(parseError(text, 'lazy').message).toBe('Bad From');
    else expect(parseSip(buf(text), 'lazy').fromTag).toBe(want.tag);
  });
});
