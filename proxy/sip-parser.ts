// SIP message parser, written by hand because it is the research object ("simplified analysis").
//
// One scan over the header lines serves both modes, and every step of it is linear in the bytes it
// reads (no backtracking regular expression: the only ones unfold lines and case header names): a
// hostile 60 KB datagram costs what an honest one of the same size costs. Header names are recognised from their bytes (length and
// lowercased first letters, compact forms included, like Kamailio's parse_hname2), never as strings.
//
// Lazy mode keeps values as offsets into the received Buffer. It reads, while scanning, only what
// a proxy must check or route on: the start line, the top Via, CSeq, Max-Forwards, Content-Length,
// the presence and count of Call-ID/From/To, and for requests the From/To tags. Everything else
// (Call-ID text, the other Vias, Route values, Proxy-Require) is read on first use.
// Full mode additionally unfolds and stores every header under its canonical name, parses every
// Via and checks every name-addr header (From, To, Contact, Route, Record-Route), as a
// general-purpose SIP stack would.
import { SipParseError, type Header, type MultiValueLine, type ParseMode, type SipMessage, type Span, type Via } from './sip-message.js';
import { classifyUri, parseSipUri as parseUri, schemeLength, type SipUri } from './sip-uri.js';

export const MAX_DATAGRAM_BYTES = 65535;
export const MAX_HEADERS = 128;
/** Physical header lines, continuation lines included: bounds the per-line work of a datagram. */
export const MAX_HEADER_LINES = 512;
/** Parameters of one Via or name-addr value, and comma-separated values of one header line. */
export const MAX_PARAMS = 64;
export const MAX_VALUES = 128;
/** RFC 3261 8.1.1.5: the CSeq sequence number is less than 2**31. */
export const MAX_CSEQ = 0x7fffffff;

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

/** token characters (RFC 3261 25.1): alphanum and - . ! % * _ + ` ' ~ */
const TOKEN = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

function isToken(c: number): boolean {
  return c < 256 && TOKEN[c] === 1;
}
function isWs(c: number): boolean {
  return c === SP || c === HT || c === CR || c === LF;
}

/** Header identities the proxy reads; everything else is OTHER. */
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
  PROXY_REQUIRE,
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
  'proxy-require': 'Proxy-Require',
  'reply-to': 'Reply-To',
};

// Buffer#latin1Slice skips toString's argument checks; it is not in @types/node.
type Latin1 = { latin1Slice(start: number, end: number): string };
function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Latin1).latin1Slice(start, end);
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Compares buf[start, start+word.length) to a lowercase ASCII word, case-insensitively. */
function eqWord(buf: Buffer, start: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) if (lower(buf[start + i]!) !== word.charCodeAt(i)) return false;
  return true;
}

/** Identify a header name in buf[start, end) by length and first byte: no string is built. */
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
    case 13:
      return c === 0x70 && eqWord(buf, start, 'proxy-require') ? H.PROXY_REQUIRE : H.OTHER;
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

/** Split a header value on commas outside quotes and angle brackets (one linear pass). */
export function splitCommas(value: string): string[] {
  if (value.indexOf(',') < 0) {
    const v = value.trim();
    return v ? [v] : [];
  }
  const out: string[] = [];
  let angle = false;
  let quoted = false;
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    if (quoted) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) quoted = false;
    } else if (ch === 0x22) quoted = true;
    else if (ch === 0x3c) angle = true;
    else if (ch === 0x3e) angle = false;
    else if (!angle && ch === 0x2c) {
      out.push(value.slice(from, i).trim());
      from = i + 1;
    }
  }
  out.push(value.slice(from).trim());
  return out.filter((v) => v.length > 0);
}

/** splitCommas, refusing (undefined) more than MAX_VALUES values. */
function splitLimited(value: string): string[] | undefined {
  const out = splitCommas(value);
  return out.length > MAX_VALUES ? undefined : out;
}

/** Commas in buf[start, end): a cheap bound on the values of a lazily read line. */
function commas(buf: Buffer, start: number, end: number): number {
  let n = 0;
  // Short lines: a byte loop. Long ones: native search (memchr), at most MAX_VALUES calls. Either
  // way a datagram's cost stays within a small multiple of its length.
  if (end - start < 1024) {
    for (let i = start; i < end; i++) if (buf[i] === 0x2c) n++;
    return n;
  }
  for (let i = buf.indexOf(0x2c, start); i >= 0 && i < end && n < MAX_VALUES; i = buf.indexOf(0x2c, i + 1)) n++;
  return n;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}
function tokenEnd(s: string, i: number): number {
  while (i < s.length && isToken(s.charCodeAt(i))) i++;
  return i;
}
/** End of a quoted-string starting at s[i] === '"' (index after the closing quote), or -1. */
function quotedEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return -1;
}

function parsePort(s: string, i: number): { port: number; end: number } | undefined {
  let v = 0;
  let j = i;
  while (j < s.length && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x39) {
    v = v * 10 + s.charCodeAt(j) - 0x30;
    if (v > 65535) return undefined;
    j++;
  }
  return j === i || v === 0 ? undefined : { port: v, end: j };
}

// Byte-level scanning helpers over buf[.., end): the top Via is read from the received bytes.
function at(b: Buffer, i: number, end: number): number {
  return i < end ? b[i]! : -1;
}
function bSkipWs(b: Buffer, end: number, i: number): number {
  while (i < end && isWs(b[i]!)) i++;
  return i;
}
function bTokenEnd(b: Buffer, end: number, i: number): number {
  while (i < end && TOKEN[b[i]!] === 1) i++;
  return i;
}
function bQuotedEnd(b: Buffer, end: number, i: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = b[j]!;
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  return -1;
}
function bIndexOf(b: Buffer, c: number, i: number, end: number): number {
  for (let j = i; j < end; j++) if (b[j] === c) return j;
  return -1;
}
function bParsePort(b: Buffer, i: number, end: number): { port: number; end: number } | undefined {
  let v = 0;
  let j = i;
  while (j < end && b[j]! >= 0x30 && b[j]! <= 0x39) {
    v = v * 10 + b[j]! - 0x30;
    if (v > 65535) return undefined;
    j++;
  }
  return j === i || v === 0 ? undefined : { port: v, end: j };
}

/**
 * Parse one via-parm of buf[from, end) (RFC 3261 20.42; LWS, folding included, allowed around '/',
 * ':', ';' and '='). Returns the Via and the offset after the ',' that ends it (or end), or undefined.
 */
function viaAt(b: Buffer, from: number, end: number): { via: Via; next: number } | undefined {
  let i = bSkipWs(b, end, from);
  const start = i;
  // sent-protocol: "SIP" SLASH version SLASH transport (SLASH may have LWS around it).
  if ((at(b, i, end) | 0x20) !== 0x73 || (at(b, i + 1, end) | 0x20) !== 0x69 || (at(b, i + 2, end) | 0x20) !== 0x70) return undefined;
  i = bSkipWs(b, end, i + 3);
  if (at(b, i, end) !== 0x2f) return undefined;
  i = bSkipWs(b, end, i + 1);
  const vEnd0 = bTokenEnd(b, end, i);
  if (vEnd0 === i) return undefined;
  const version = latin1(b, i, vEnd0);
  i = bSkipWs(b, end, vEnd0);
  if (at(b, i, end) !== 0x2f) return undefined;
  i = bSkipWs(b, end, i + 1);
  const tEnd = bTokenEnd(b, end, i);
  if (tEnd === i) return undefined;
  let transport = latin1(b, i, tEnd);
  for (let k = i; k < tEnd; k++) {
    const c = at(b, k, end);
    if (c >= 0x61 && c <= 0x7a) {
      transport = transport.toUpperCase();
      break;
    }
  }
  i = tEnd;
  const afterProto = i;
  i = bSkipWs(b, end, i);
  if (i === afterProto) return undefined; // LWS before sent-by
  let hostEnd: number;
  if (at(b, i, end) === 0x5b) {
    hostEnd = bIndexOf(b, 0x5d, i, end);
    if (hostEnd < 0) return undefined;
    hostEnd++;
  } else {
    hostEnd = i;
    while (hostEnd < end) {
      const c = at(b, hostEnd, end);
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f)) break;
      hostEnd++;
    }
  }
  if (hostEnd === i) return undefined;
  const via: Via = { value: '', version, transport, host: latin1(b, i, hostEnd), port: 5060, portGiven: false, branch: '' };
  i = bSkipWs(b, end, hostEnd);
  if (at(b, i, end) === COLON) {
    const p = bParsePort(b, bSkipWs(b, end, i + 1), end);
    if (!p) return undefined;
    via.port = p.port;
    via.portGiven = true;
    i = bSkipWs(b, end, p.end);
  }
  let nParams = 0;
  while (at(b, i, end) === 0x3b) {
    if (++nParams > MAX_PARAMS) return undefined;
    i = bSkipWs(b, end, i + 1);
    const nameEnd = bTokenEnd(b, end, i);
    if (nameEnd === i) return undefined; // ";;" or a trailing ';'
    // Only branch, received and rport matter: compare by length first, build no string otherwise.
    const len = nameEnd - i;
    const name = len === 6 || len === 8 || len === 5 ? latin1(b, i, nameEnd).toLowerCase() : '';
    i = bSkipWs(b, end, nameEnd);
    let value: string | undefined;
    if (at(b, i, end) === 0x3d) {
      i = bSkipWs(b, end, i + 1);
      let vEnd: number;
      if (at(b, i, end) === 0x22) vEnd = bQuotedEnd(b, end, i);
      else if (at(b, i, end) === 0x5b) vEnd = bIndexOf(b, 0x5d, i, end) + 1;
      else {
        vEnd = i;
        while (vEnd < end && (isToken(at(b, vEnd, end)) || at(b, vEnd, end) === COLON)) vEnd++;
      }
      if (vEnd <= i) return undefined;
      value = latin1(b, i, vEnd);
      i = bSkipWs(b, end, vEnd);
    }
    if (name === 'branch') {
      if (value === undefined) return undefined;
      via.branch = value;
    } else if (name === 'received') via.received = value ?? '';
    else if (name === 'rport') {
      if (value === undefined) via.rport = true;
      else {
        const p = parsePort(value, 0);
        if (!p || p.end !== value.length) return undefined;
        via.rport = p.port;
      }
    }
  }
  let last = i;
  while (last > start && isWs(b[last - 1]!)) last--;
  if (i < end) {
    if (at(b, i, end) !== 0x2c) return undefined;
    i++;
    if (bSkipWs(b, end, i) >= end) return undefined; // a trailing comma
  }
  via.value = latin1(b, start, last);
  return { via, next: i };
}


/** parseViaAt on a string value: one via-parm from `from`, and where the next one starts. */
export function parseViaAt(s: string, from: number): { via: Via; next: number } | undefined {
  const b = Buffer.from(s, 'latin1');
  return viaAt(b, from, b.length);
}

/** Every via-parm of buf[from, end); undefined when any is malformed. */
function viasIn(b: Buffer, from: number, end: number): Via[] | undefined {
  const out: Via[] = [];
  let i = from;
  while (bSkipWs(b, end, i) < end) {
    const r = viaAt(b, i, end);
    if (!r) return undefined;
    out.push(r.via);
    i = r.next;
  }
  return out.length ? out : undefined;
}

/** Parse a whole Via value (one or more via-parms); undefined when any is malformed. */
export function parseVias(value: string): Via[] | undefined {
  const b = Buffer.from(value, 'latin1');
  return viasIn(b, 0, b.length);
}

/** Back-compat: the first via-parm of a value. */
export function parseVia(value: string): Via | undefined {
  const r = parseViaAt(value, 0);
  return r && r.next >= value.length ? r.via : undefined;
}

export interface NameAddrInfo {
  tag: string;
  uri: string;
}

/**
 * Walk a From/To/Contact/Route value (name-addr or addr-spec, then ;params) in one linear pass.
 * Lenient (lazy mode): checks the structure a proxy relies on (quotes closed, <...> closed, no
 * stray comma or character outside them) and reads the tag. Strict (full mode) also checks the
 * display name, that <...> holds a URI with no spaces, and that an addr-spec has no '?' or ','.
 */
export function scanNameAddr(s: string, strict: boolean): NameAddrInfo | undefined {
  const n = s.length;
  let i = skipWs(s, 0);
  let uri: string;
  if (s.charCodeAt(i) === 0x22) {
    const q = quotedEnd(s, i);
    if (q < 0) return undefined;
    i = skipWs(s, q);
    if (s.charCodeAt(i) !== 0x3c) return undefined;
  } else {
    let j = i;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === 0x3c || !(isToken(c) || isWs(c))) break;
      j++;
    }
    const c = j < n ? s.charCodeAt(j) : -1;
    if (c === COLON || (!strict && (c === -1 || c === 0x3b))) {
      // addr-spec: the URI runs to the first ';' (it may not contain one, RFC 3261 20.10).
      if (strict && schemeLength(s.slice(i)) === 0) return undefined;
      let e = s.indexOf(';', j);
      if (e < 0) e = n;
      uri = s.slice(i, e).trim();
      if (strict && !validAddrSpec(uri)) return undefined;
      if (!strict && uri.indexOf(',') >= 0) return undefined;
      return params(s, e, uri);
    }
    if (j >= n || s.charCodeAt(j) !== 0x3c) return undefined;
    i = j;
  }
  const close = s.indexOf('>', i + 1);
  if (close < 0) return undefined;
  uri = s.slice(i + 1, close);
  if (strict && !validUriText(uri)) return undefined;
  return params(s, close + 1, uri);
}

function validUriText(uri: string): boolean {
  if (uri.length === 0 || isWs(uri.charCodeAt(0)) || isWs(uri.charCodeAt(uri.length - 1))) return false;
  return classifyUri(uri) !== 'invalid';
}

function validAddrSpec(uri: string): boolean {
  if (!validUriText(uri) || uri.indexOf(',') >= 0 || uri.indexOf('?') >= 0) return false;
  return true;
}

function params(s: string, from: number, uri: string): NameAddrInfo | undefined {
  let tag = '';
  let i = skipWs(s, from);
  let n = 0;
  while (i < s.length) {
    if (s.charCodeAt(i) !== 0x3b || ++n > MAX_PARAMS) return undefined;
    i = skipWs(s, i + 1);
    const nameEnd = tokenEnd(s, i);
    if (nameEnd === i) return undefined;
    const isTag = nameEnd - i === 3 && s.slice(i, nameEnd).toLowerCase() === 'tag';
    i = skipWs(s, nameEnd);
    if (s.charCodeAt(i) === 0x3d) {
      i = skipWs(s, i + 1);
      let vEnd: number;
      if (s.charCodeAt(i) === 0x22) vEnd = quotedEnd(s, i);
      else if (s.charCodeAt(i) === 0x5b) vEnd = s.indexOf(']', i) + 1;
      else vEnd = tokenEnd(s, i);
      if (vEnd <= i) return undefined;
      if (isTag) tag = s.slice(i, vEnd);
      i = skipWs(s, vEnd);
    }
  }
  return { tag, uri };
}

/**
 * scanNameAddr(value, false) read from the received bytes of a From/To value: the tag ('' when
 * none), or undefined when the structure is broken. Lazy mode reads tags this way, building no
 * string but the tag itself.
 */
function tagIn(b: Buffer, start: number, end: number): string | undefined {
  let i = bSkipWs(b, end, start);
  if (at(b, i, end) === 0x22) {
    const q = bQuotedEnd(b, end, i);
    if (q < 0) return undefined;
    i = bSkipWs(b, end, q);
    if (at(b, i, end) !== 0x3c) return undefined;
  } else {
    let j = i;
    while (j < end) {
      const c = b[j]!;
      if (c === 0x3c || !(TOKEN[c] === 1 || isWs(c))) break;
      j++;
    }
    const c = at(b, j, end);
    if (c === COLON || c === -1 || c === 0x3b) {
      // addr-spec: the URI runs to the first ';'; a comma in it means a list or a broken value.
      let e = bIndexOf(b, 0x3b, j, end);
      if (e < 0) e = end;
      if (bIndexOf(b, 0x2c, i, e) >= 0) return undefined;
      return tagParams(b, e, end);
    }
    if (c !== 0x3c) return undefined;
    i = j;
  }
  const close = bIndexOf(b, 0x3e, i + 1, end);
  if (close < 0) return undefined;
  return tagParams(b, close + 1, end);
}

function tagParams(b: Buffer, from: number, end: number): string | undefined {
  let tag = '';
  let i = bSkipWs(b, end, from);
  let n = 0;
  while (i < end) {
    if (b[i] !== 0x3b || ++n > MAX_PARAMS) return undefined;
    i = bSkipWs(b, end, i + 1);
    const nameEnd = bTokenEnd(b, end, i);
    if (nameEnd === i) return undefined;
    const isTag = nameEnd - i === 3 && (b[i]! | 0x20) === 0x74 && (b[i + 1]! | 0x20) === 0x61 && (b[i + 2]! | 0x20) === 0x67;
    i = bSkipWs(b, end, nameEnd);
    if (at(b, i, end) === 0x3d) {
      i = bSkipWs(b, end, i + 1);
      let vEnd: number;
      const c = at(b, i, end);
      if (c === 0x22) vEnd = bQuotedEnd(b, end, i);
      else if (c === 0x5b) vEnd = bIndexOf(b, 0x5d, i, end) + 1;
      else vEnd = bTokenEnd(b, end, i);
      if (vEnd <= i) return undefined;
      if (isTag) tag = latin1(b, i, vEnd);
      i = bSkipWs(b, end, vEnd);
    }
  }
  return tag;
}

/** The tag parameter of a From/To value: header params only, never a URI param inside <...>. */
export function tagOf(value: string): string {
  return scanNameAddr(value, false)?.tag ?? '';
}

/** Unfolded, trimmed text of buf[start, end) (folding is CRLF followed by SP/HT, RFC 3261 7.3.1). */
function text(buf: Buffer, start: number, end: number): string {
  const raw = latin1(buf, start, end);
  const folded = raw.indexOf('\n') >= 0 ? raw.replace(/\r?\n[ \t]+/g, ' ') : raw;
  return folded.trim();
}

/** A decimal number from bytes, LWS around it allowed; -1 when not a number or above max. */
function uintFrom(buf: Buffer, start: number, end: number, max: number): number {
  let i = start;
  while (i < end && isWs(buf[i]!)) i++;
  let e = end;
  while (e > i && isWs(buf[e - 1]!)) e--;
  if (i === e) return -1;
  let v = 0;
  for (; i < e; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
    if (v > max) return -1;
  }
  return v;
}

function lineEnd(buf: Buffer, nl: number): number {
  return nl > 0 && buf[nl - 1] === CR ? nl - 1 : nl;
}

/** A Via or Route header line; its values are split on first use. */
class ValueLine implements MultiValueLine {
  private cached?: string[];
  constructor(
    readonly span: Span,
    private readonly buf: Buffer,
    readonly valueStart: number,
    readonly valueEnd: number,
  ) {}
  get values(): string[] {
    return (this.cached ??= splitCommas(text(this.buf, this.valueStart, this.valueEnd)));
  }
}

interface ValueRange {
  start: number;
  end: number;
}

class Message implements SipMessage {
  isRequest = true;
  method = '';
  requestUri = '';
  status = 0;
  reason = '';
  startLineStart = 0;
  startLineEnd = 0;
  headersEnd = -1;
  bodyStart = -1;
  viaLines: ValueLine[] = [];
  routeLines: ValueLine[] = [];
  cseq = -1;
  cseqMethod = '';
  maxForwards: number | undefined = undefined;
  contentLength = -1;
  spans: SipMessage['spans'] = {};
  headerCount = 0;
  headers?: Header[];
  /** Request-URI as parsed (requests with a SIP URI). */
  uri?: SipUri;
  topVia?: Via;
  /** Lazy mode: where the top Via line's second value starts, and where the line's value ends. */
  topViaNext = 0;
  topViaEnd = 0;
  /** Value ranges (after the colon) of headers read on demand. */
  /** Value offsets (after the colon, to the line end) of Call-ID, From and To; -1 when absent. */
  callIdStart = -1;
  callIdEnd = -1;
  fromStart = -1;
  fromEnd = -1;
  toStart = -1;
  toEnd = -1;
  proxyRequireRanges?: ValueRange[];
  private cachedVias?: Via[];
  /** Full mode: every Via value, parsed while scanning. */
  cachedViasFull?: Via[];
  private cachedViaCount = -1;
  private cachedCallId?: string;
  private cachedFromTag?: string;
  private cachedToTag?: string;
  /** Writer cache: the shared middle of a forwarded request (one fork builds it once). */
  forwardCache?: { rr: string; removeTopRoute: boolean; head: Buffer };

  constructor(
    readonly buf: Buffer,
    readonly mode: ParseMode,
  ) {
    if (mode === 'full') this.headers = [];
  }

  get vias(): Via[] {
    if (this.cachedVias) return this.cachedVias;
    const out: Via[] = this.topVia ? [this.topVia] : [];
    // The second value: after the top one on the same line, or first on the next Via line.
    const first = this.viaLines[0];
    if (first && this.topVia) {
      if (this.topViaNext < this.topViaEnd) {
        const second = viaAt(this.buf, this.topViaNext, this.topViaEnd);
        if (second) out.push(second.via);
      } else if (this.viaLines[1]) {
        const line = this.viaLines[1];
        const second = viaAt(this.buf, line.valueStart, line.valueEnd);
        if (second) out.push(second.via);
      }
    }
    return (this.cachedVias = out);
  }
  set vias(v: Via[]) {
    this.cachedVias = v;
  }

  get viaCount(): number {
    if (this.cachedViaCount < 0) {
      let n = 0;
      for (const l of this.viaLines) n += l.values.length;
      this.cachedViaCount = n;
    }
    return this.cachedViaCount;
  }
  set viaCount(n: number) {
    this.cachedViaCount = n;
  }

  get callId(): string {
    if (this.cachedCallId === undefined) this.cachedCallId = this.callIdStart >= 0 ? text(this.buf, this.callIdStart, this.callIdEnd) : '';
    return this.cachedCallId;
  }
  get fromTag(): string {
    if (this.cachedFromTag === undefined) this.cachedFromTag = this.fromStart >= 0 ? (tagIn(this.buf, this.fromStart, this.fromEnd) ?? '') : '';
    return this.cachedFromTag;
  }
  set fromTag(t: string) {
    this.cachedFromTag = t;
  }
  get toTag(): string {
    if (this.cachedToTag === undefined) this.cachedToTag = this.toStart >= 0 ? (tagIn(this.buf, this.toStart, this.toEnd) ?? '') : '';
    return this.cachedToTag;
  }
  set toTag(t: string) {
    this.cachedToTag = t;
  }
  get proxyRequire(): string[] {
    if (!this.proxyRequireRanges) return [];
    const out: string[] = [];
    for (const r of this.proxyRequireRanges) out.push(...splitCommas(text(this.buf, r.start, r.end)));
    return out;
  }
}

const VERSION = 'SIP/2.0';

/** Parse the start line in buf[pos, end): fills the message, returns '' or the error text (and status). */
function startLine(buf: Buffer, pos: number, end: number, msg: Message): { error: string; status: number; fatal: boolean } {
  if (end - pos >= 8 && eqWord(buf, pos, 'sip/')) {
    msg.isRequest = false;
    // SIP/2.0 SP 3DIGIT SP Reason-Phrase; a liberal receiver accepts a missing SP after the code.
    // RFC 3261 7.1: the SIP-Version string is case-insensitive ("sip/2.0" is version 2.0).
    if (!eqWord(buf, pos, 'sip/2.0 ')) return { error: 'bad status line', status: 0, fatal: true };
    let code = 0;
    let i = pos + 8;
    for (let k = 0; k < 3; k++, i++) {
      const c = buf[i];
      if (c === undefined || i >= end || c < 0x30 || c > 0x39) return { error: 'bad status line', status: 0, fatal: true };
      code = code * 10 + c - 0x30;
    }
    if (code < 100 || code > 699 || (i < end && buf[i] !== SP)) return { error: 'bad status line', status: 0, fatal: true };
    msg.status = code;
    // latin1 keeps the bytes (a UTF-8 reason phrase, RFC 4475 unreason) for re-serialisation.
    msg.reason = i < end ? latin1(buf, i + 1, end) : '';
    return { error: '', status: 0, fatal: false };
  }
  // Method SP Request-URI SP SIP-Version, single spaces (RFC 4475 lwsstart, trws, lwsruri: 400).
  let i = pos;
  while (i < end && isToken(buf[i]!)) i++;
  if (i === pos || i >= end || buf[i] !== SP) return { error: 'bad request line', status: 0, fatal: true };
  msg.method = latin1(buf, pos, i);
  const uriStart = i + 1;
  const sp2 = buf.indexOf(SP, uriStart);
  if (sp2 < 0 || sp2 >= end || sp2 === uriStart) return { error: 'Bad Request-Line', status: 400, fatal: false };
  msg.requestUri = latin1(buf, uriStart, sp2);
  const version = latin1(buf, sp2 + 1, end);
  if (version.length === 0 || version.indexOf(' ') >= 0 || version.indexOf('\t') >= 0) return { error: 'Bad Request-Line', status: 400, fatal: false };
  if (version.toUpperCase() !== VERSION) {
    if (isVersion(version)) return { error: 'Version Not Supported', status: 505, fatal: false };
    return { error: 'Bad Request-Line', status: 400, fatal: false };
  }
  const uri = parseUri(msg.requestUri);
  if (uri) {
    if (uri.headers.length > 0) return { error: 'Bad Request-URI (headers are not allowed in a Request-URI)', status: 400, fatal: false };
    msg.uri = uri;
    return { error: '', status: 0, fatal: false };
  }
  if (classifyUri(msg.requestUri) === 'other') return { error: 'Unsupported URI Scheme', status: 416, fatal: false };
  return { error: 'Bad Request-URI', status: 400, fatal: false };
}

/** "SIP/" 1*DIGIT "." 1*DIGIT, case-insensitive name. */
function isVersion(v: string): boolean {
  if (v.length < 7 || v.slice(0, 4).toUpperCase() !== 'SIP/') return false;
  const dot = v.indexOf('.', 4);
  if (dot <= 4 || dot === v.length - 1) return false;
  for (let i = 4; i < v.length; i++) if (i !== dot && (v.charCodeAt(i) < 0x30 || v.charCodeAt(i) > 0x39)) return false;
  return true;
}

/** Counts of the headers that may appear once (RFC 3261 7.3.1 / RFC 4475 multi01, mcl01). */
const ONCE_NAMES: Partial<Record<H, string>> = {
  [H.CALL_ID]: 'Call-ID',
  [H.CSEQ]: 'CSeq',
  [H.FROM]: 'From',
  [H.TO]: 'To',
  [H.MAX_FORWARDS]: 'Max-Forwards',
  [H.CONTENT_LENGTH]: 'Content-Length',
};

/**
 * Parse one datagram. Throws SipParseError; `answerable` tells whether an error response can be
 * sent (a request other than ACK whose top Via parsed and that has a CSeq line), `status` which.
 */
export function parseSip(buf: Buffer, mode: ParseMode): SipMessage {
  if (buf.length > MAX_DATAGRAM_BYTES) throw new SipParseError('datagram too large', false);
  if (buf.length < 12) throw new SipParseError('datagram too short', false);

  // RFC 3261 7.5: tolerate leading CRLFs (keep-alives are handled by the transport).
  let pos = 0;
  while (pos < buf.length && (buf[pos] === CR || buf[pos] === LF)) pos++;
  const firstNl = buf.indexOf(LF, pos);
  if (firstNl < 0) throw new SipParseError('no line end', false);
  const msg = new Message(buf, mode);
  msg.startLineStart = pos;
  msg.startLineEnd = firstNl + 1;
  const sl = startLine(buf, pos, lineEnd(buf, firstNl), msg);
  if (sl.fatal) throw new SipParseError(sl.error, false);
  let errors = '';
  const full = mode === 'full';
  let seen = 0; // bit per H: single-valued header already seen

  // Header lines. A header ends where the next line does not start with SP/HT (folding).
  let lineStart = firstNl + 1;
  let hStart = -1;
  let hValue = -1; // index after the colon
  let hId = H.OTHER;
  let hNameEnd = -1;
  const finish = (end: number): void => {
    // [hStart, end) is the whole header incl. its CRLF(s); the value runs to the last line end.
    if (++msg.headerCount > MAX_HEADERS) throw new SipParseError('too many headers', false);
    const valueEnd = lineEnd(buf, end - 1);
    let value: string | undefined;
    if (full) {
      const name = canonicalName(latin1(buf, hStart, hNameEnd));
      value = text(buf, hValue, valueEnd);
      msg.headers!.push({ name, value });
      if (hId === H.OTHER) {
        if (name === 'Contact' && value !== '*') {
          const list = splitLimited(value);
          if (!list) errors ||= 'Too many Contact values';
          else for (const c of list) if (!scanNameAddr(c, true)) errors ||= 'Bad Contact';
        } else if (name === 'Record-Route' || name === 'Reply-To') {
          const list = splitLimited(value);
          if (!list) errors ||= `Too many ${name} values`;
          else for (const c of list) if (!scanNameAddr(c, true)) errors ||= `Bad ${name}`;
        }
      }
    }
    if (hId === H.OTHER) return;
    const span: Span = { start: hStart, end };
    const once = ONCE_NAMES[hId];
    if (once) {
      // A second one is an error (400); the first one stays what a response copies.
      if (seen & (1 << hId)) {
        errors ||= `Multiple ${once} headers`;
        return;
      }
      seen |= 1 << hId;
    }
    switch (hId) {
      case H.VIA: {
        const line = new ValueLine(span, buf, hValue, valueEnd);
        msg.viaLines.push(line);
        if (commas(buf, hValue, valueEnd) >= MAX_VALUES) {
          if (!msg.topVia) throw new SipParseError('too many Via values', false, msg);
          errors ||= 'Too many Via values';
          return;
        }
        if (full) {
          const vias = viasIn(buf, hValue, valueEnd);
          if (vias) {
            if (!msg.topVia) msg.topVia = vias[0];
            (msg.cachedViasFull ??= []).push(...vias);
            return;
          }
          errors ||= 'Bad Via';
          if (msg.topVia) return;
        } else if (msg.topVia) return;
        const r = viaAt(buf, hValue, valueEnd);
        if (r) {
          msg.topVia = r.via;
          msg.topViaNext = r.next;
          msg.topViaEnd = valueEnd;
          return;
        }
        // Broken parameters (RFC 4475 badinv01): still answerable when sent-by itself parses.
        const semi = bIndexOf(buf, 0x3b, hValue, valueEnd);
        const bare = semi > 0 ? viaAt(buf, hValue, semi) : undefined;
        if (!bare) throw new SipParseError('bad top Via', false, msg);
        msg.topVia = bare.via;
        (msg.cachedViasFull ??= []).push(bare.via);
        errors ||= 'Bad Via';
        return;
      }
      case H.ROUTE: {
        const line = new ValueLine(span, buf, hValue, valueEnd);
        msg.routeLines.push(line);
        if (commas(buf, hValue, valueEnd) >= MAX_VALUES) {
          errors ||= 'Too many Route values';
          return;
        }
        if (full) for (const r of line.values) if (!scanNameAddr(r, true)) errors ||= 'Bad Route';
        return;
      }
      case H.CALL_ID:
        msg.callIdStart = hValue;
        msg.callIdEnd = valueEnd;
        msg.spans.callId = span;
        if (full && value!.length === 0) errors ||= 'Bad Call-ID';
        return;
      case H.CSEQ: {
        msg.spans.cseq = span;
        // 1*DIGIT LWS Method; the number is below 2**31 (RFC 3261 8.1.1.5, RFC 4475 scalar02).
        let i = hValue;
        while (i < valueEnd && isWs(buf[i]!)) i++;
        const numStart = i;
        while (i < valueEnd && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
        const num = i > numStart ? uintFrom(buf, numStart, i, MAX_CSEQ) : -1;
        const lws = i;
        while (i < valueEnd && isWs(buf[i]!)) i++;
        const mStart = i;
        while (i < valueEnd && isToken(buf[i]!)) i++;
        const mEnd = i;
        while (i < valueEnd && isWs(buf[i]!)) i++;
        if (num < 0 || lws === mStart || mStart === mEnd || i !== valueEnd) errors ||= 'Bad CSeq';
        else {
          msg.cseq = num;
          msg.cseqMethod = latin1(buf, mStart, mEnd);
        }
        return;
      }
      case H.FROM:
      case H.TO: {
        if (hId === H.FROM) {
          msg.fromStart = hValue;
          msg.fromEnd = valueEnd;
          msg.spans.from = span;
        } else {
          msg.toStart = hValue;
          msg.toEnd = valueEnd;
          msg.spans.to = span;
        }
        // Requests: read the tags now (routing needs the To tag) and refuse broken structure.
        // Responses: only full mode looks (matching needs neither).
        if (!msg.isRequest && !full) return;
        const tag = full ? scanNameAddr(value!, true)?.tag : tagIn(buf, hValue, valueEnd);
        if (tag === undefined) errors ||= hId === H.FROM ? 'Bad From' : 'Bad To';
        else if (hId === H.FROM) msg.fromTag = tag;
        else msg.toTag = tag;
        return;
      }
      case H.MAX_FORWARDS: {
        msg.spans.maxForwards = span;
        const v = uintFrom(buf, hValue, valueEnd, 255);
        if (v < 0) errors ||= 'Bad Max-Forwards';
        else msg.maxForwards = v;
        return;
      }
      case H.CONTENT_LENGTH: {
        msg.spans.contentLength = span;
        const v = uintFrom(buf, hValue, valueEnd, MAX_DATAGRAM_BYTES);
        if (v < 0) errors ||= 'Bad Content-Length';
        else msg.contentLength = v;
        return;
      }
      case H.PROXY_REQUIRE:
        (msg.proxyRequireRanges ??= []).push({ start: hValue, end: valueEnd });
        return;
    }
  };

  let lines = 0;
  for (;;) {
    if (lineStart >= buf.length) throw new SipParseError('no end of headers', false, msg);
    if (++lines > MAX_HEADER_LINES) throw new SipParseError('too many header lines', false, msg);
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
      if (hStart < 0 && msg.headerCount === 0 && !errors) throw new SipParseError('continuation line before any header', false);
      lineStart = nl + 1;
      continue;
    }
    if (hStart >= 0) finish(lineStart);
    hStart = -1;
    // field-name: token, then optional SP/HT, then ':' (RFC 3261 7.3.1). Linear: stops at the first non-token byte.
    let i = lineStart;
    while (i < nl && isToken(buf[i]!)) i++;
    const nameEnd = i;
    while (i < nl && (buf[i] === SP || buf[i] === HT)) i++;
    if (nameEnd === lineStart || i >= nl || buf[i] !== COLON) {
      errors ||= nameEnd === lineStart ? 'Empty header name' : 'Header without colon';
      lineStart = nl + 1;
      continue;
    }
    hStart = lineStart;
    hNameEnd = nameEnd;
    hValue = i + 1;
    hId = identify(buf, lineStart, nameEnd);
    lineStart = nl + 1;
  }

  if (full) {
    // vias[0] is always the top Via, also when a broken Via value was read leniently.
    const all = msg.cachedViasFull ?? [];
    if (msg.topVia && all[0] !== msg.topVia) all.unshift(msg.topVia);
    msg.vias = all;
  }
  if (!msg.topVia) throw new SipParseError('no Via', false, msg);
  if (!msg.isRequest) {
    msg.method = msg.cseqMethod;
    if (!msg.spans.cseq || msg.cseq < 0) throw new SipParseError(errors || 'Missing CSeq', false, msg);
  } else {
    if (!msg.spans.callId) errors ||= 'Missing Call-ID';
    if (!msg.spans.cseq) errors ||= 'Missing CSeq';
    if (!msg.spans.from) errors ||= 'Missing From';
    if (!msg.spans.to) errors ||= 'Missing To';
    if (!errors && msg.cseqMethod !== msg.method) errors = 'CSeq method does not match';
  }
  const rest = buf.length - msg.bodyStart;
  if (msg.contentLength > rest) errors ||= 'Content-Length larger than the datagram';
  if (msg.contentLength < 0 && !errors) msg.contentLength = rest; // UDP: the datagram ends the body
  const status = sl.error ? sl.status : 400;
  errors = sl.error || errors;
  if (errors) throw new SipParseError(errors, answerable(msg), msg, status);
  return msg;
}

function answerable(msg: Message): boolean {
  return msg.isRequest && msg.method !== 'ACK' && msg.topVia !== undefined && msg.spans.cseq !== undefined;
}

/** The URI inside a name-addr (<...>) or the addr-spec itself. */
export function uriOf(nameAddr: string): string {
  const lt = nameAddr.indexOf('<');
  if (lt >= 0) {
    const gt = nameAddr.indexOf('>', lt);
    return nameAddr.slice(lt + 1, gt < 0 ? undefined : gt).trim();
  }
  const semi = nameAddr.indexOf(';');
  return (semi < 0 ? nameAddr : nameAddr.slice(0, semi)).trim();
}

export { parseSipUri, classifyUri, unescapeUri, type SipUri } from './sip-uri.js';
