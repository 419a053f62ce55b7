// SIP message parser, written by hand because it is the research object ("simplified analysis").
//
// One scan over the header lines serves both modes. The lazy mode (like Kamailio's lw_parser.c)
// recognises only the header names routing needs by their length and first bytes, reads values
// for those alone, and never builds a string for a header it skips. The full mode additionally
// unfolds and stores every header under its canonical name and checks the name-addr headers, as a
// general-purpose SIP stack would. Both modes fill the same routing fields.
import { SipParseError, type Header, type MultiValueLine, type ParseMode, type SipMessage, type Span, type Via } from './sip-message.js';

export const MAX_DATAGRAM_BYTES = 65535;
export const MAX_HEADERS = 128;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** Header identities the routing path needs; everything else is OTHER. */
const enum H {
  OTHER,
  VIA,
  ROUTE,
  CALL_ID,
  CSEQ,
  FROM,
  TO,
  MAX_FORWARDS,
  CONTENT_LENGTH,
}

const COMPACT: Record<string, string> = {
  v: 'Via',
  i: 'Call-ID',
  f: 'From',
  t: 'To',
  l: 'Content-Length',
  m: 'Contact',
  c: 'Content-Type',
  e: 'Content-Encoding',
  k: 'Supported',
  s: 'Subject',
  o: 'Event',
  r: 'Refer-To',
  b: 'Referred-By',
  u: 'Allow-Events',
  x: 'Session-Expires',
  a: 'Accept-Contact',
  j: 'Reject-Contact',
  d: 'Request-Disposition',
  y: 'Identity',
};

const CANONICAL: Record<string, string> = {
  via: 'Via',
  route: 'Route',
  'record-route': 'Record-Route',
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  from: 'From',
  to: 'To',
  'max-forwards': 'Max-Forwards',
  'content-length': 'Content-Length',
  'content-type': 'Content-Type',
  contact: 'Contact',
  'www-authenticate': 'WWW-Authenticate',
};

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Compares buf[start, start+word.length) to a lowercase ASCII word, case-insensitively. */
function eqWord(buf: Buffer, start: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if (lower(buf[start + i]!) !== word.charCodeAt(i)) return false;
  return true;
}

/** Identify a header name in buf[start, end) (already trimmed) by length first: no string is built. */
function identify(buf: Buffer, start: number, end: number): H {
  const len = end - start;
  const c = lower(buf[start]!);
  switch (len) {
    case 1:
      if (c === 0x76) return H.VIA; // v
      if (c === 0x69) return H.CALL_ID; // i
      if (c === 0x66) return H.FROM; // f
      if (c === 0x74) return H.TO; // t
      if (c === 0x6c) return H.CONTENT_LENGTH; // l
      return H.OTHER;
    case 2:
      return c === 0x74 && eqWord(buf, start, 'to') ? H.TO : H.OTHER;
    case 3:
      return c === 0x76 && eqWord(buf, start, 'via') ? H.VIA : H.OTHER;
    case 4:
      if (c === 0x66 && eqWord(buf, start, 'from')) return H.FROM;
      if (c === 0x63 && eqWord(buf, start, 'cseq')) return H.CSEQ;
      return H.OTHER;
    case 5:
      return c === 0x72 && eqWord(buf, start, 'route') ? H.ROUTE : H.OTHER;
    case 7:
      return c === 0x63 && eqWord(buf, start, 'call-id') ? H.CALL_ID : H.OTHER;
    case 12:
      return c === 0x6d && eqWord(buf, start, 'max-forwards') ? H.MAX_FORWARDS : H.OTHER;
    case 14:
      return c === 0x63 && eqWord(buf, start, 'content-length') ? H.CONTENT_LENGTH : H.OTHER;
    default:
      return H.OTHER;
  }
}

export function canonicalName(raw: string): string {
  if (raw.length === 1) return COMPACT[raw.toLowerCase()] ?? raw;
  const known = CANONICAL[raw.toLowerCase()];
  if (known) return known;
  return raw.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
}

/** Split a header value on commas that are outside quotes and angle brackets. */
export function splitCommas(value: string): string[] {
  if (value.indexOf(',') < 0) return [value.trim()];
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    if (ch === 0x22 && value.charCodeAt(i - 1) !== 0x5c) quoted = !quoted;
    else if (!quoted && ch === 0x3c) depth++;
    else if (!quoted && ch === 0x3e) depth--;
    else if (!quoted && depth === 0 && ch === 0x2c) {
      out.push(value.slice(from, i).trim());
      from = i + 1;
    }
  }
  out.push(value.slice(from).trim());
  return out.filter((v) => v.length > 0);
}

const VIA_RE = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+)(?:\s*:\s*(\d{1,5}))?\s*(;.*)?$/;

export function parseVia(value: string): Via | undefined {
  const m = VIA_RE.exec(value);
  if (!m) return undefined;
  const port = m[3] ? Number(m[3]) : 5060;
  if (port < 1 || port > 65535) return undefined;
  const via: Via = { value, transport: m[1]!.toUpperCase(), host: m[2]!, port, branch: '' };
  const params = m[4];
  if (params) {
    for (const p of params.split(';')) {
      const eq = p.indexOf('=');
      const key = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
      const val = eq < 0 ? '' : p.slice(eq + 1).trim();
      if (key === 'branch') via.branch = val;
      else if (key === 'received') via.received = val;
      else if (key === 'rport') via.rport = val === '' ? true : Number(val);
    }
  }
  return via;
}

const TAG_RE = /;\s*tag\s*=\s*([^;\s,>]+)/i;

/** The tag parameter of a From/To value: header params only, never a URI param inside <...>. */
export function tagOf(value: string): string {
  const close = value.lastIndexOf('>');
  const m = TAG_RE.exec(close >= 0 ? value.slice(close + 1) : value);
  return m ? m[1]! : '';
}

const METHOD_RE = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const URI_RE = /^(sips?|tel):[^\s]+$/i;
const NAME_ADDR_RE = /^\s*(?:(?:"(?:[^"\\]|\\.)*"|[^<"]*?)\s*<((?:sips?|tel):[^>\s]+)>|((?:sips?|tel):[^;\s]+))\s*(;.*)?$/i;

function headerValue(buf: Buffer, colon: number, end: number, folded: boolean): string {
  const raw = buf.toString('latin1', colon + 1, end);
  return (folded ? raw.replace(/\r?\n[ \t]+/g, ' ') : raw).trim();
}

function lineEnd(buf: Buffer, nl: number): number {
  return nl > 0 && buf[nl - 1] === CR ? nl - 1 : nl;
}

/**
 * Parse one datagram. Throws SipParseError; `answerable` tells whether a 400 can be sent
 * (a request whose top Via, Call-ID, CSeq, From and To were found).
 */
export function parseSip(buf: Buffer, mode: ParseMode): SipMessage {
  if (buf.length > MAX_DATAGRAM_BYTES) throw new SipParseError('datagram too large', false);
  if (buf.length < 12) throw new SipParseError('datagram too short', false);

  // Start line. RFC 3261 7.5: tolerate leading CRLFs (keep-alives are handled by the transport).
  let pos = 0;
  while (pos < buf.length && (buf[pos] === CR || buf[pos] === LF)) pos++;
  const firstNl = buf.indexOf(LF, pos);
  if (firstNl < 0) throw new SipParseError('no line end', false);
  const startLine = buf.toString('latin1', pos, lineEnd(buf, firstNl));
  const msg: SipMessage = {
    buf,
    mode,
    isRequest: true,
    method: '',
    requestUri: '',
    status: 0,
    reason: '',
    startLineEnd: firstNl + 1,
    headersEnd: -1,
    bodyStart: -1,
    viaLines: [],
    vias: [],
    viaCount: 0,
    routeLines: [],
    callId: '',
    cseq: -1,
    cseqMethod: '',
    fromTag: '',
    toTag: '',
    maxForwards: undefined,
    contentLength: -1,
    spans: {},
    headerCount: 0,
    headers: mode === 'full' ? [] : undefined,
  };
  let startLineError = '';
  if (startLine.startsWith('SIP/')) {
    msg.isRequest = false;
    const m = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/.exec(startLine);
    if (!m) throw new SipParseError('bad status line', false);
    msg.status = Number(m[1]);
    msg.reason = m[2]!;
  } else {
    const sp1 = startLine.indexOf(' ');
    const sp2 = startLine.lastIndexOf(' ');
    if (sp1 <= 0 || sp2 <= sp1) throw new SipParseError('bad request line', false);
    msg.method = startLine.slice(0, sp1);
    msg.requestUri = startLine.slice(sp1 + 1, sp2);
    const version = startLine.slice(sp2 + 1);
    if (!METHOD_RE.test(msg.method)) throw new SipParseError('bad method', false);
    if (version !== 'SIP/2.0') startLineError = version.startsWith('SIP/') ? 'Version Not Supported' : 'Bad Request-Line';
    else if (!URI_RE.test(msg.requestUri)) startLineError = 'Bad Request-URI';
  }

  // Header lines. A header is finished when the next line does not start with SP/HT (folding).
  let lineStart = firstNl + 1;
  let hStart = -1;
  let hColon = -1;
  let hId = H.OTHER;
  let hFolded = false;
  let errors = '';
  const finish = (end: number): void => {
    // [hStart, end) is the whole header incl. its CRLF(s); value runs to the last line end.
    msg.headerCount++;
    if (msg.headerCount > MAX_HEADERS) throw new SipParseError('too many headers', false);
    const valueEnd = lineEnd(buf, end - 1);
    const span: Span = { start: hStart, end };
    let value: string | undefined;
    if (msg.headers) {
      let nameEnd = hColon;
      while (nameEnd > hStart && (buf[nameEnd - 1] === SP || buf[nameEnd - 1] === HT)) nameEnd--;
      const name = canonicalName(buf.toString('latin1', hStart, nameEnd));
      value = headerValue(buf, hColon, valueEnd, hFolded);
      msg.headers.push({ name, value } satisfies Header);
      if (name === 'Contact' && value !== '*') {
        for (const c of splitCommas(value)) if (!NAME_ADDR_RE.test(c)) errors ||= 'Bad Contact';
      }
    }
    switch (hId) {
      case H.OTHER:
        return;
      case H.VIA: {
        value ??= headerValue(buf, hColon, valueEnd, hFolded);
        const values = splitCommas(value);
        msg.viaLines.push({ span, values } satisfies MultiValueLine);
        for (const v of values) {
          // Only the top two are needed: ours (on responses) and the one to send to next.
          if (msg.viaCount < 2) {
            const via = parseVia(v);
            if (!via) errors ||= 'Bad Via';
            else msg.vias.push(via);
          }
          msg.viaCount++;
        }
        return;
      }
      case H.ROUTE:
        value ??= headerValue(buf, hColon, valueEnd, hFolded);
        msg.routeLines.push({ span, values: splitCommas(value) });
        return;
      case H.CALL_ID:
        msg.callId = value ?? headerValue(buf, hColon, valueEnd, hFolded);
        msg.spans.callId = span;
        return;
      case H.CSEQ: {
        value ??= headerValue(buf, hColon, valueEnd, hFolded);
        msg.spans.cseq = span;
        const m = /^(\d{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)$/.exec(value);
        if (!m || Number(m[1]) > 0xffffffff) errors ||= 'Bad CSeq';
        else {
          msg.cseq = Number(m[1]);
          msg.cseqMethod = m[2]!;
        }
        return;
      }
      case H.FROM:
      case H.TO: {
        value ??= headerValue(buf, hColon, valueEnd, hFolded);
        if (hId === H.FROM) {
          msg.spans.from = span;
          msg.fromTag = tagOf(value);
        } else {
          msg.spans.to = span;
          msg.toTag = tagOf(value);
        }
        if (mode === 'full' && !NAME_ADDR_RE.test(value)) errors ||= hId === H.FROM ? 'Bad From' : 'Bad To';
        return;
      }
      case H.MAX_FORWARDS: {
        value ??= headerValue(buf, hColon, valueEnd, hFolded);
        msg.spans.maxForwards = span;
        if (!/^\d{1,3}$/.test(value) || Number(value) > 255) errors ||= 'Bad Max-Forwards';
        else msg.maxForwards = Number(value);
        return;
      }
      case H.CONTENT_LENGTH: {
        value ??= headerValue(buf, hColon, valueEnd, hFolded);
        msg.spans.contentLength = span;
        if (!/^\d{1,9}$/.test(value)) errors ||= 'Bad Content-Length';
        else msg.contentLength = Number(value);
        return;
      }
    }
  };

  for (;;) {
    if (lineStart >= buf.length) throw new SipParseError('no end of headers', false, msg);
    const nl = buf.indexOf(LF, lineStart);
    if (nl < 0) throw new SipParseError('no end of headers', false, msg);
    const first = buf[lineStart]!;
    if (first === LF || (first === CR && nl === lineStart + 1)) {
      if (hStart >= 0) finish(lineStart);
      msg.headersEnd = lineStart;
      msg.bodyStart = nl + 1;
      break;
    }
    if (first === SP || first === HT) {
      if (hStart < 0) throw new SipParseError('continuation line before any header', false);
      hFolded = true;
    } else {
      if (hStart >= 0) finish(lineStart);
      const colon = buf.indexOf(COLON, lineStart);
      if (colon < 0 || colon > nl) {
        errors ||= 'Header without colon';
        hStart = -1;
        lineStart = nl + 1;
        continue;
      }
      let nameEnd = colon;
      while (nameEnd > lineStart && (buf[nameEnd - 1] === SP || buf[nameEnd - 1] === HT)) nameEnd--;
      if (nameEnd === lineStart) errors ||= 'Empty header name';
      hStart = lineStart;
      hColon = colon;
      hId = nameEnd > lineStart ? identify(buf, lineStart, nameEnd) : H.OTHER;
      hFolded = false;
    }
    lineStart = nl + 1;
  }

  if (msg.vias.length === 0) throw new SipParseError('no Via', false, msg);
  if (!msg.callId) errors ||= 'Missing Call-ID';
  if (!msg.spans.cseq) errors ||= 'Missing CSeq';
  if (!msg.spans.from) errors ||= 'Missing From';
  if (!msg.spans.to) errors ||= 'Missing To';
  if (!msg.isRequest) msg.method = msg.cseqMethod;
  else if (!errors && msg.cseqMethod !== msg.method) errors = 'CSeq method does not match';
  const bodyLength = buf.length - msg.bodyStart;
  if (msg.contentLength > bodyLength) errors ||= 'Content-Length larger than the datagram';
  if (msg.contentLength < 0 && !errors) msg.contentLength = bodyLength; // UDP: the datagram ends the body
  errors = startLineError || errors;
  if (errors) throw new SipParseError(errors, answerableSoFar(msg), msg);
  return msg;
}

function answerableSoFar(msg: SipMessage): boolean {
  return (
    msg.isRequest &&
    msg.method !== 'ACK' &&
    msg.vias.length > 0 &&
    msg.callId !== '' &&
    msg.spans.cseq !== undefined &&
    msg.spans.from !== undefined &&
    msg.spans.to !== undefined
  );
}

/** The URI inside a name-addr (<...>) or the addr-spec itself. */
export function uriOf(nameAddr: string): string {
  const lt = nameAddr.indexOf('<');
  if (lt >= 0) {
    const gt = nameAddr.indexOf('>', lt);
    return nameAddr.slice(lt + 1, gt < 0 ? undefined : gt);
  }
  const semi = nameAddr.indexOf(';');
  return (semi < 0 ? nameAddr : nameAddr.slice(0, semi)).trim();
}

export interface SipUri {
  scheme: string;
  user: string;
  host: string;
  port: number;
  params: string;
}

const SIP_URI_RE = /^(sips?):(?:([^@;?]*)@)?(\[[0-9A-Fa-f:.]+\]|[^:;?>]+)(?::(\d{1,5}))?([;?].*)?$/i;

export function parseSipUri(uri: string): SipUri | undefined {
  const m = SIP_URI_RE.exec(uri);
  if (!m) return undefined;
  const port = m[4] ? Number(m[4]) : 5060;
  if (port < 1 || port > 65535) return undefined;
  const user = m[2] ?? '';
  const colon = user.indexOf(':'); // user:password
  return {
    scheme: m[1]!.toLowerCase(),
    user: colon >= 0 ? user.slice(0, colon) : user,
    host: m[3]!.toLowerCase(),
    port,
    params: m[5] ?? '',
  };
}
