// The parser's error branches, each by its exact outcome: the reason text (which becomes the 400's
// reason phrase or the drop counter's label), the status (400/416/505) and whether it is answerable.
// Also the limits at their boundaries (one under is accepted, one over refused).
import { describe, expect, it } from 'vitest';
import { parseSip, MAX_HEADERS, MAX_HEADER_LINES, MAX_DATAGRAM_BYTES } from '../sip-parser.js';
import { SipParseError, type ParseMode, type SipMessage } from '../sip-message.js';
import { invite, responseTo } from './sip-fixtures.js';

const modes: ParseMode[] = ['lazy', 'full'];
const buf = (s: string): Buffer => Buffer.from(s, 'latin1');

function fail(input: string | Buffer, mode: ParseMode): SipParseError {
  try {
    parseSip(typeof input === 'string' ? buf(input) : input, mode);
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}
/** [reason, status, answerable] of the error a datagram raises. */
const outcome = (input: string | Buffer, mode: ParseMode): [string, number, boolean] => {
  const e = fail(input, mode);
  return [e.message, e.status, e.answerable];
};

/** An INVITE of exactly `size` bytes (padding in an X-Pad header). */
function inviteOfSize(size: number): string {
  const base = invite({ extra: 'X-Pad: \r\n' });
  return base.replace('X-Pad: ', 'X-Pad: ' + 'a'.repeat(size - base.length));
}

const RESPONSE = responseTo(invite(), 200, 'OK', 'tt');

describe.each(modes)('datagram framing (%s)', (mode) => {
  it('takes 65535 bytes and refuses 65536 as too large', () => {
    expect(inviteOfSize(MAX_DATAGRAM_BYTES)).toHaveLength(65535);
    expect(parseSip(buf(inviteOfSize(MAX_DATAGRAM_BYTES)), mode).method).toBe('INVITE');
    expect(outcome(inviteOfSize(MAX_DATAGRAM_BYTES + 1), mode)).toEqual(['datagram too large', 400, false]);
  });

  it('refuses 11 bytes as too short; 12 bytes are read (and here lack a Via)', () => {
    expect(outcome('INVITE x\r\n\r', mode)).toEqual(['datagram too short', 400, false]);
    expect(outcome('INVITE x\r\n\r\n', mode)).toEqual(['no Via', 400, false]);
    expect(fail('INVITE x\r\n\r\n', mode).partial!.vias).toEqual([]);
  });

  it('skips leading CRLFs before the start line and records where it starts and ends', () => {
    const m = parseSip(buf('\r\n\n\r\n' + invite()), mode);
    expect([m.startLineStart, m.startLineEnd]).toEqual([5, 5 + 'INVITE sip:g4@127.0.0.1:5060 SIP/2.0\r\n'.length]);
    expect(m.method).toBe('INVITE');
  });

  it('refuses a datagram with no line end, also one of CRLFs only', () => {
    expect(outcome('INVITE sip:a@b SIP/2.0', mode)).toEqual(['no line end', 400, false]);
    expect(outcome('\r\n'.repeat(8), mode)).toEqual(['no line end', 400, false]);
  });

  it('refuses headers that never end (no empty line), with or without a last LF', () => {
    expect(outcome(invite().split('\r\n\r\n')[0]!, mode)[0]).toBe('no end of headers');
    expect(outcome(invite().split('\r\n\r\n')[0]! + '\r\n', mode)[0]).toBe('no end of headers');
  });

  it('reads LF-only line ends and finds the body after the empty line', () => {
    const text = invite().replace(/\r\n/g, '\n');
    const m = parseSip(buf(text), mode);
    expect(m.headersEnd).toBe(text.indexOf('\n\n') + 1);
    expect(m.bodyStart).toBe(text.indexOf('\n\n') + 2);
    expect(m.callId).toBe('call-1@test');
    expect(m.buf.toString('latin1', m.bodyStart)).toBe('v=0\n');
  });

  it('records headersEnd and bodyStart with CRLF line ends', () => {
    const text = invite();
    const m = parseSip(buf(text), mode);
    expect([m.headersEnd, m.bodyStart]).toEqual([text.indexOf('\r\n\r\n') + 2, text.indexOf('\r\n\r\n') + 4]);
  });

  it('a line starting with CR but not CRLF is not the end of headers', () => {
    expect(outcome(invite().replace('Max-Forwards: 70\r\n', '\rMax: 1\r\n'), mode)).toEqual(['Empty header name', 400, true]);
  });
});

describe.each(modes)('start line (%s)', (mode) => {
  it.each([
    ['SIP/2.0 100 Trying', 100, 'Trying'],
    ['SIP/2.0 699 Whatever Else', 699, 'Whatever Else'],
    ['SIP/2.0 200', 200, ''],
    ['SIP/2.0 200 ', 200, ''],
  ])('reads the status line %j', (line, status, reason) => {
    const m = parseSip(buf(RESPONSE.replace('SIP/2.0 200 OK', line)), mode);
    expect([m.isRequest, m.status, m.reason, m.method]).toEqual([false, status, reason, 'INVITE']);
  });

  it.each([
    ['a code below 100', 'SIP/2.0 099 Low'],
    ['a code above 699', 'SIP/2.0 700 High'],
    ['a non-digit in the code', 'SIP/2.0 2x0 OK'],
    ['no space after the code', 'SIP/2.0 200OK'],
    ['a two-digit code', 'SIP/2.0 20'],
    ['another version', 'SIP/2.1 200 OK'],
    ['no space after the version', 'SIP/2.0\t200 OK'],
  ])('drops a status line with %s', (_n, line) => {
    expect(outcome(RESPONSE.replace('SIP/2.0 200 OK', line), mode)).toEqual(['bad status line', 400, false]);
  });

  it('reads an 8-byte "SIP/2.0 " line as a status line, a shorter one as a request line', () => {
    expect(outcome(RESPONSE.replace('SIP/2.0 200 OK', 'SIP/2.0 '), mode)[0]).toBe('bad status line');
    expect(outcome(RESPONSE.replace('SIP/2.0 200 OK', 'SIP/2.0'), mode)[0]).toBe('bad request line');
  });

  it.each([
    ['a method alone', 'INVITE'],
    ['a leading space', ' INVITE sip:g4@127.0.0.1:5060 SIP/2.0'],
    ['a non-token byte in the method', 'INV@TE sip:g4@127.0.0.1:5060 SIP/2.0'],
  ])('drops a request line with %s', (_n, line) => {
    expect(outcome(invite().replace('INVITE sip:g4@127.0.0.1:5060 SIP/2.0', line), mode)).toEqual(['bad request line', 400, false]);
  });

  it.each([
    ['no version (the next space is on a later line)', 'INVITE sip:g4@127.0.0.1:5060'],
    ['an empty version', 'INVITE sip:g4@127.0.0.1:5060 '],
    ['a tab in the version', 'INVITE sip:g4@127.0.0.1:5060 SIP/2.0\t'],
    ['HTTP', 'INVITE sip:g4@127.0.0.1:5060 HTTP/1.1'],
    ['a version without a dot', 'INVITE sip:g4@127.0.0.1:5060 SIP/20'],
    ['a version starting with a dot', 'INVITE sip:g4@127.0.0.1:5060 SIP/.20'],
    ['a version ending with a dot', 'INVITE sip:g4@127.0.0.1:5060 SIP/20.'],
    ['a letter in the version', 'INVITE sip:g4@127.0.0.1:5060 SIP/2.x'],
    ['two dots in the version', 'INVITE sip:g4@127.0.0.1:5060 SIP/2.0.1'],
    ['a short version', 'INVITE sip:g4@127.0.0.1:5060 SIP/2'],
  ])('answers 400 Bad Request-Line for %s', (_n, line) => {
    expect(outcome(invite().replace('INVITE sip:g4@127.0.0.1:5060 SIP/2.0', line), mode)).toEqual(['Bad Request-Line', 400, true]);
  });

  it.each(['SIP/3.0', 'SIP/10.25', 'SIP/2.00', 'sip/3.0', 'SIP/9.9'])('answers 505 for %s', (version) => {
    expect(outcome(invite().replace('SIP/2.0\r\nVia', `${version}\r\nVia`), mode)).toEqual(['Version Not Supported', 505, true]);
  });

  it('accepts the version and status-line name in any case (RFC 3261 7.1: SIP-Version is case-insensitive)', () => {
    expect(parseSip(buf(invite().replace('SIP/2.0\r\nVia', 'sip/2.0\r\nVia')), mode).method).toBe('INVITE');
    expect(parseSip(buf(RESPONSE.replace('SIP/2.0 200 OK', 'Sip/2.0 200 OK')), mode).status).toBe(200);
  });

  it('answers 416 for another scheme and 400 for a broken sip: URI', () => {
    expect(outcome(invite().replace('INVITE sip:g4@127.0.0.1:5060', 'INVITE tel:+15551234'), mode)).toEqual(['Unsupported URI Scheme', 416, true]);
    expect(outcome(invite().replace('INVITE sip:g4@127.0.0.1:5060', 'INVITE sip:'), mode)).toEqual(['Bad Request-URI', 400, true]);
  });

  it('keeps the parsed Request-URI of a request', () => {
    const m = parseSip(buf(invite()), mode);
    expect(m.requestUri).toBe('sip:g4@127.0.0.1:5060');
    expect((m as SipMessage & { uri?: { user: string; port: number } }).uri).toMatchObject({ user: 'g4', port: 5060 });
  });

  it('a start-line error wins over a header error, and keeps its status', () => {
    const text = invite().replace('SIP/2.0\r\nVia', 'SIP/3.0\r\nVia').replace('CSeq: 1 INVITE', 'CSeq: x INVITE');
    expect(outcome(text, mode)).toEqual(['Version Not Supported', 505, true]);
  });
});

describe.each(modes)('header lines (%s)', (mode) => {
  it.each([
    ['a space before the colon', 'Max-Forwards : 70', 70],
    ['a tab before the colon', 'Max-Forwards\t:70', 70],
    ['no space after the colon', 'Max-Forwards:7', 7],
  ])('accepts %s', (_n, line, mf) => {
    expect(parseSip(buf(invite().replace('Max-Forwards: 70', line)), mode).maxForwards).toBe(mf);
  });

  it.each([
    ['Header without colon', 'Max-Forwards 70'],
    ['Header without colon', 'Max-Forwards'],
    ['Header without colon', 'Max Forwards: 70'],
    ['Empty header name', ': 70'],
    ['Empty header name', '@Max: 70'],
  ])('refuses with %s: %j', (reason, line) => {
    expect(outcome(invite().replace('Max-Forwards: 70', line), mode)).toEqual([reason, 400, true]);
  });

  it('a continuation line after a broken first header is not "before any header"', () => {
    const text = invite().replace('\r\nVia:', '\r\nBroken line\r\n folded\r\nVia:');
    expect(outcome(text, mode)).toEqual(['Header without colon', 400, true]);
  });

  it('drops a continuation line that comes before any header', () => {
    expect(outcome(invite().replace('\r\nVia:', '\r\n\tfolded\r\nVia:'), mode)).toEqual(['continuation line before any header', 400, false]);
  });

  it(`takes ${MAX_HEADERS} headers and drops ${MAX_HEADERS + 1}`, () => {
    const base = invite().split('\r\n').length - 3; // header lines of the fixture
    const pad = (n: number) => invite({ extra: 'X-A: 1\r\n'.repeat(n) });
    expect(parseSip(buf(pad(MAX_HEADERS - base)), mode).headerCount).toBe(MAX_HEADERS);
    expect(outcome(pad(MAX_HEADERS - base + 1), mode)).toEqual(['too many headers', 400, false]);
  });

  it(`takes ${MAX_HEADER_LINES} physical lines (the empty one included) and drops one more`, () => {
    const base = invite().split('\r\n').length - 2; // header lines + the empty line
    const fold = (n: number) => invite({ extra: 'X-A: 1\r\n' + ' 2\r\n'.repeat(n) });
    expect(parseSip(buf(fold(MAX_HEADER_LINES - base - 1)), mode).method).toBe('INVITE');
    expect(outcome(fold(MAX_HEADER_LINES - base), mode)).toEqual(['too many header lines', 400, false]);
  });
});

describe.each(modes)('headers that may appear once, and required ones (%s)', (mode) => {
  it.each([
    ['CSeq', 'CSeq: 1 INVITE', 'CSeq: 1 INVITE\r\nCSEQ: 2 INVITE'],
    ['From', 'From: <sip:caller@127.0.0.1:7000>;tag=ft1', 'From: <sip:caller@127.0.0.1:7000>;tag=ft1\r\nf: <sip:x@y>;tag=2'],
    ['To', 'To: <sip:g4@127.0.0.1:5060>', 'To: <sip:g4@127.0.0.1:5060>\r\nt: <sip:x@y>'],
    ['Max-Forwards', 'Max-Forwards: 70', 'Max-Forwards: 70\r\nmax-forwards: 69'],
  ])('refuses a second %s; the first one stays', (name, one, two) => {
    const e = fail(invite().replace(one, two), mode);
    expect([e.message, e.status, e.answerable]).toEqual([`Multiple ${name} headers`, 400, true]);
    if (name === 'Max-Forwards') expect(e.partial!.maxForwards).toBe(70);
    if (name === 'CSeq') expect(e.partial!.cseq).toBe(1);
  });

  it('takes Via and Route on several lines', () => {
    const m = parseSip(buf(invite({ extra: 'Route: <sip:a;lr>\r\nRoute: <sip:b;lr>\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\r\n' })), mode);
    expect(m.routeLines.map((l) => l.values)).toEqual([['<sip:a;lr>'], ['<sip:b;lr>']]);
    expect(m.viaCount).toBe(2);
  });

  it.each([
    ['Missing CSeq', /CSeq: .*\r\n/, false],
    ['Missing From', /From: .*\r\n/, true],
    ['Missing To', /To: .*\r\n/, true],
    ['Missing Call-ID', /Call-ID: .*\r\n/, true],
  ])('a request: %s', (reason, header, answerable) => {
    expect(outcome(invite().replace(header, ''), mode)).toEqual([reason, 400, answerable]);
  });

  it('reports the first missing header first (Call-ID, CSeq, From, To)', () => {
    expect(fail(invite().replace(/From: .*\r\n/, '').replace(/To: .*\r\n/, ''), mode).message).toBe('Missing From');
    expect(fail(invite().replace(/CSeq: .*\r\n/, '').replace(/To: .*\r\n/, ''), mode).message).toBe('Missing CSeq');
  });

  it('a CSeq method mismatch is told only when nothing else is wrong', () => {
    expect(fail(invite().replace('CSeq: 1 INVITE', 'CSeq: 1 BYE').replace(/To: .*\r\n/, ''), mode).message).toBe('Missing To');
  });

  it('a response needs neither Call-ID, From nor To, but a CSeq', () => {
    const bare = 'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK1\r\nCSeq: 3 BYE\r\n\r\n';
    const m = parseSip(buf(bare), mode);
    expect([m.method, m.cseq, m.callId, m.fromTag, m.toTag]).toEqual(['BYE', 3, '', '', '']);
    expect(outcome(bare.replace('CSeq: 3 BYE\r\n', ''), mode)).toEqual(['Missing CSeq', 400, false]);
    expect(outcome(bare.replace('CSeq: 3 BYE', 'CSeq: x BYE'), mode)).toEqual(['Bad CSeq', 400, false]);
    expect(outcome(bare.replace('CSeq: 3 BYE', 'CSeq: 3 BYE\r\nMax-Forwards: x'), mode)).toEqual(['Bad Max-Forwards', 400, false]);
  });

  it('an ACK is never answered', () => {
    const ack = invite().replace('INVITE sip:', 'ACK sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK').replace('Max-Forwards: 70', 'Max-Forwards: x');
    expect(outcome(ack, mode)).toEqual(['Bad Max-Forwards', 400, false]);
    expect(outcome(ack.replace('ACK sip:', 'BYE sip:').replace('CSeq: 1 ACK', 'CSeq: 1 BYE'), mode)).toEqual(['Bad Max-Forwards', 400, true]);
  });
});

describe.each(modes)('CSeq, Max-Forwards, Content-Length, Call-ID values (%s)', (mode) => {
  it.each([
    ['CSeq:   7   INVITE  ', 7],
    ['CSeq:7 INVITE', 7],
    ['CSeq: 0 INVITE', 0],
  ])('reads %j', (line, n) => {
    const m = parseSip(buf(invite().replace('CSeq: 1 INVITE', line)), mode);
    expect([m.cseq, m.cseqMethod]).toEqual([n, 'INVITE']);
  });

  it.each(['CSeq: 1INVITE', 'CSeq: 1 ', 'CSeq: INVITE', 'CSeq: 1 INVITE x', 'CSeq: 1 INV@TE', 'CSeq:', 'CSeq: -1 INVITE'])('refuses %j', (line) => {
    const e = fail(invite().replace('CSeq: 1 INVITE', line), mode);
    expect([e.message, e.answerable]).toEqual(['Bad CSeq', true]);
    expect(e.partial!.cseq).toBe(-1);
  });

  it.each([
    ['Max-Forwards:  0 ', 0],
    ['Max-Forwards:\t12\t', 12],
  ])('reads %j', (line, n) => {
    expect(parseSip(buf(invite().replace('Max-Forwards: 70', line)), mode).maxForwards).toBe(n);
  });

  it.each(['Max-Forwards:', 'Max-Forwards:   ', 'Max-Forwards: 1 2', 'Max-Forwards: 7a', 'Max-Forwards: /'])('refuses %j', (line) => {
    expect(outcome(invite().replace('Max-Forwards: 70', line), mode)).toEqual(['Bad Max-Forwards', 400, true]);
  });

  it('has no Max-Forwards when the header is absent', () => {
    expect(parseSip(buf(invite().replace('Max-Forwards: 70\r\n', '')), mode).maxForwards).toBeUndefined();
  });

  it('takes the rest of the datagram as the body when Content-Length is absent', () => {
    const m = parseSip(buf(invite().replace('Content-Length: 4\r\n', '')), mode);
    expect(m.contentLength).toBe(4);
  });

  it('takes a Content-Length equal to the body, refuses one byte more, and 65536', () => {
    expect(parseSip(buf(invite().replace('Content-Length: 4', 'l: 4')), mode).contentLength).toBe(4);
    expect(parseSip(buf(invite().replace('Content-Length: 4', 'Content-Length: 2')), mode).contentLength).toBe(2);
    expect(outcome(invite().replace('Content-Length: 4', 'Content-Length: 5'), mode)).toEqual(['Content-Length larger than the datagram', 400, true]);
    expect(outcome(invite().replace('Content-Length: 4', 'Content-Length: 65536'), mode)).toEqual(['Bad Content-Length', 400, true]);
    expect(outcome(invite().replace('Content-Length: 4', 'Content-Length: 65535'), mode)).toEqual(['Content-Length larger than the datagram', 400, true]);
  });

  it('an empty Call-ID is refused in full mode only', () => {
    const text = invite().replace('Call-ID: call-1@test', 'Call-ID:  ');
    if (mode === 'full') expect(outcome(text, mode)).toEqual(['Bad Call-ID', 400, true]);
    else expect(parseSip(buf(text), mode).callId).toBe('');
  });

  it('records the spans a response copies', () => {
    const text = invite();
    const m = parseSip(buf(text), mode);
    const line = (s: { start: number; end: number } | undefined) => (s ? text.slice(s.start, s.end) : undefined);
    expect(line(m.spans.from)).toBe('From: <sip:caller@127.0.0.1:7000>;tag=ft1\r\n');
    expect(line(m.spans.to)).toBe('To: <sip:g4@127.0.0.1:5060>\r\n');
    expect(line(m.spans.callId)).toBe('Call-ID: call-1@test\r\n');
    expect(line(m.spans.cseq)).toBe('CSeq: 1 INVITE\r\n');
    expect(line(m.spans.maxForwards)).toBe('Max-Forwards: 70\r\n');
    expect(line(m.spans.contentLength)).toBe('Content-Length: 4\r\n');
    expect(line(m.viaLines[0]!.span)).toBe('Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-c1\r\n');
  });
});

describe.each(modes)('Via, Route, From and To errors (%s)', (mode) => {
  const viaLine = 'Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-c1';

  it('a top Via with broken parameters is still answerable (RFC 4475 badinv01) and read up to the ";"', () => {
    const e = fail(invite().replace(viaLine, 'Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9;;x'), mode);
    expect([e.message, e.status, e.answerable]).toEqual(['Bad Via', 400, true]);
    expect(e.partial!.vias[0]).toMatchObject({ host: '127.0.0.1', port: 7000, branch: '' });
  });

  it('a top Via with a broken sent-by is dropped', () => {
    expect(outcome(invite().replace(viaLine, 'Via: SIP/2.0/UDP ;branch=z9'), mode)).toEqual(['bad top Via', 400, false]);
    expect(outcome(invite().replace(viaLine, 'Via: SIP/2.0/UDP @'), mode)).toEqual(['bad top Via', 400, false]);
  });

  it('a broken second Via line is refused in full mode, not read in lazy mode', () => {
    const text = invite().replace(viaLine, `${viaLine}\r\nVia: garbage`);
    if (mode === 'full') expect(outcome(text, mode)).toEqual(['Bad Via', 400, true]);
    else expect(parseSip(buf(text), mode).viaCount).toBe(2);
  });

  it('full mode keeps the top Via first when its line also holds a broken value (lazy reads only the top one)', () => {
    const text = invite().replace(viaLine, 'Via: SIP/2.0/UDP a.example;branch=z9hG4bKa, junk\r\nVia: SIP/2.0/UDP b.example;branch=z9hG4bKb');
    if (mode === 'lazy') {
      expect(parseSip(buf(text), mode).vias.map((v) => v.host)).toEqual(['a.example']);
      return;
    }
    const e = fail(text, mode);
    expect(e.message).toBe('Bad Via');
    expect(e.partial!.vias.map((v) => v.host)).toEqual(['a.example', 'b.example']);
  });

  const many = (n: number) => Array.from({ length: n }, (_v, i) => `SIP/2.0/UDP h${i};branch=z9hG4bK${i}`).join(',');
  it('takes 128 Via values on a line and drops 129 on the top line; refuses 129 on a later line', () => {
    expect(parseSip(buf(invite().replace(viaLine, `Via: ${many(128)}`)), mode).viaCount).toBe(128);
    expect(outcome(invite().replace(viaLine, `Via: ${many(129)}`), mode)).toEqual(['too many Via values', 400, false]);
    expect(outcome(invite().replace(viaLine, `${viaLine}\r\nVia: ${many(129)}`), mode)).toEqual(['Too many Via values', 400, true]);
  });

  it('counts commas on a short line (under 1024 bytes) too', () => {
    const short = invite().replace(viaLine, `${viaLine}\r\nVia: ${','.repeat(128)}`);
    expect(short.split('\r\n')[2]!.length).toBeLessThan(1024);
    expect(outcome(short, mode)).toEqual(['Too many Via values', 400, true]);
    expect(outcome(invite().replace(viaLine, `Via: ${','.repeat(128)}`), mode)).toEqual(['too many Via values', 400, false]);
  });

  it('takes 128 Route values and refuses 129; commas of later lines do not count', () => {
    const routes = (n: number) => Array.from({ length: n }, (_v, i) => `<sip:r${i}.example.com;lr>`).join(',');
    const m = parseSip(buf(invite({ extra: `Route: ${routes(128)}\r\nX-Commas: ${','.repeat(300)}\r\n` })), mode);
    expect(m.routeLines[0]!.values).toHaveLength(128);
    expect(outcome(invite({ extra: `Route: ${routes(129)}\r\n` }), mode)).toEqual(['Too many Route values', 400, true]);
    expect(outcome(invite({ extra: `Route: ${','.repeat(128)}\r\n` }), mode)).toEqual(['Too many Route values', 400, true]);
  });

  it('a broken Route value is refused in full mode only', () => {
    const text = invite({ extra: 'Route: <sip:a;lr>, "unclosed <sip:b>\r\n' });
    if (mode === 'full') expect(outcome(text, mode)).toEqual(['Bad Route', 400, true]);
    else expect(parseSip(buf(text), mode).routeLines[0]!.values).toHaveLength(2);
  });

  it('a broken To of a request is refused in both modes; of a response only in full mode', () => {
    expect(outcome(invite().replace('To: <sip:g4@127.0.0.1:5060>', 'To: <sip:g4@127.0.0.1:5060'), mode)).toEqual(['Bad To', 400, true]);
    expect(outcome(invite().replace('From: <sip:caller@127.0.0.1:7000>', 'From: <sip:caller@127.0.0.1:7000'), mode)).toEqual(['Bad From', 400, true]);
    const res = RESPONSE.replace('From: <sip:caller@127.0.0.1:7000>', 'From: <sip:caller@127.0.0.1:7000');
    if (mode === 'full') expect(outcome(res, mode)).toEqual(['Bad From', 400, false]);
    else expect(parseSip(buf(res), mode).fromTag).toBe('');
  });

  it('reads the From and To tags of a request while scanning', () => {
    const m = parseSip(buf(invite().replace('To: <sip:g4@127.0.0.1:5060>', 'To: <sip:g4@127.0.0.1:5060>;tag=tt9')), mode);
    expect([m.fromTag, m.toTag]).toEqual(['ft1', 'tt9']);
  });
});

describe('full mode checks Contact, Record-Route and Reply-To', () => {
  const contacts = (n: number) => Array.from({ length: n }, (_v, i) => `<sip:c${i}@h>`).join(',');
  it.each([
    ['Contact: *', undefined],
    [`Contact: ${contacts(128)}`, undefined],
    [`Contact: ${contacts(129)}`, 'Too many Contact values'],
    ['Contact: <sip:a@b', 'Bad Contact'],
    ['Record-Route: <sip:p1;lr>, <sip:p2;lr>', undefined],
    [`Record-Route: ${contacts(129)}`, 'Too many Record-Route values'],
    ['Record-Route: <sip:p1;lr>, <bad', 'Bad Record-Route'],
    [`Reply-To: ${contacts(129)}`, 'Too many Reply-To values'],
    ['Reply-To: "x <sip:a@b>', 'Bad Reply-To'],
    ['Reply-To: <sip:a@b>', undefined],
    ['X-Other: <bad', undefined],
  ])('%s', (line, reason) => {
    const text = invite().replace('Contact: <sip:caller@127.0.0.1:7000>', line);
    if (reason) expect(outcome(text, 'full')).toEqual([reason, 400, true]);
    else expect(parseSip(buf(text), 'full').headers!.length).toBeGreaterThan(5);
    expect(parseSip(buf(text), 'lazy').method).toBe('INVITE');
  });
});
