// SIP and SIPS URIs as RFC 3261 section 19.1 and the ABNF of section 25 write them: user (with the
// characters user-unreserved allows, ';' and '?' included), password, host (name, IPv4 or IPv6
// reference), port, URI parameters with or without values, and headers after '?'. One linear pass
// over the text with byte-class tables; no regular expressions, so hostile URIs cost their length.

export interface UriParam {
  name: string;
  /** undefined when the parameter has no value (";lr"). */
  value: string | undefined;
}

export interface SipUri {
  scheme: 'sip' | 'sips';
  /** The user part as written (escapes kept); '' when absent. */
  user: string;
  password: string | undefined;
  /** Lowercased; an IPv6 reference keeps its brackets. */
  host: string;
  port: number;
  /** Whether the URI named a port (5060 is the default otherwise). */
  portGiven: boolean;
  /** Everything from the first ';' or '?' after hostport, as written (the old field, kept). */
  params: string;
  /** The URI parameters, parsed. */
  paramList: UriParam[];
  /** The headers after '?', parsed. */
  headers: UriParam[];
}

export type UriKind = 'sip' | 'other' | 'invalid';

// Character classes (RFC 3261 section 25.1).
const ALNUM = 1;
const MARK = 2; // - _ . ! ~ * ' ( )
const USER_UNRES = 4; // & = + $ , ; ? /
const PASS_EXTRA = 8; // & = + $ ,
const PARAM_UNRES = 16; // [ ] / : & + $
const HNV_UNRES = 32; // [ ] / ? : + $
const SCHEME = 64; // ALPHA / DIGIT / + - .
const HEX = 128;

const CLASS = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) CLASS[c] |= ALNUM | SCHEME | HEX;
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] |= ALNUM | SCHEME;
for (let c = 0x61; c <= 0x7a; c++) CLASS[c] |= ALNUM | SCHEME;
for (const ch of 'abcdefABCDEF') CLASS[ch.charCodeAt(0)] |= HEX;
for (const ch of "-_.!~*'()") CLASS[ch.charCodeAt(0)] |= MARK;
for (const ch of '&=+$,;?/') CLASS[ch.charCodeAt(0)] |= USER_UNRES;
for (const ch of '&=+$,') CLASS[ch.charCodeAt(0)] |= PASS_EXTRA;
for (const ch of '[]/:&+$') CLASS[ch.charCodeAt(0)] |= PARAM_UNRES;
for (const ch of '[]/?:+$') CLASS[ch.charCodeAt(0)] |= HNV_UNRES;
for (const ch of '+-.') CLASS[ch.charCodeAt(0)] |= SCHEME;

const UNRESERVED = ALNUM | MARK;

/** True when text[from, to) is made of `allowed` characters and well-formed %HH escapes. */
function charsOk(text: string, from: number, to: number, allowed: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= to) return false;
      if (!(CLASS[text.charCodeAt(i + 1)]! & HEX) || !(CLASS[text.charCodeAt(i + 2)]! & HEX)) return false;
      i += 2;
    } else if (c > 0xff || !(CLASS[c]! & allowed)) return false;
  }
  return true;
}

/** Length of the URI scheme at the start of text (RFC 3986 scheme, then ':'), or 0 when there is none. */
export function schemeLength(text: string): number {
  const first = text.charCodeAt(0);
  if (!((first >= 0x41 && first <= 0x5a) || (first >= 0x61 && first <= 0x7a))) return 0;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) return i;
    if (c > 0xff || !(CLASS[c]! & SCHEME)) return 0;
  }
  return 0;
}

function validHostname(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || !(CLASS[c]! & ALNUM || c === 0x2d || c === 0x2e)) return false;
  }
  return true;
}

function validIpv6(text: string, from: number, to: number): boolean {
  // to points just past ']'; contents are hex digits, ':' and (for an embedded IPv4) '.'.
  if (to - from < 4) return false;
  let colons = 0;
  for (let i = from + 1; i < to - 1; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a) colons++;
    else if (!(c < 0x100 && CLASS[c]! & HEX) && c !== 0x2e) return false;
  }
  return colons >= 2;
}

function parseParams(text: string, from: number, to: number, sep: number, allowed: number, needValue: boolean, out: UriParam[]): boolean {
  let i = from;
  while (i < to) {
    let end = text.indexOf(String.fromCharCode(sep), i);
    if (end < 0 || end > to) end = to;
    const eq = text.indexOf('=', i);
    const hasEq = eq >= 0 && eq < end;
    const nameEnd = hasEq ? eq : end;
    if (nameEnd === i || !charsOk(text, i, nameEnd, allowed)) return false;
    if (hasEq && !charsOk(text, eq + 1, end, allowed)) return false;
    if (needValue && !hasEq) return false;
    out.push({ name: text.slice(i, nameEnd), value: hasEq ? text.slice(eq + 1, end) : undefined });
    i = end + 1;
    if (end < to && i >= to) return false; // a trailing separator with nothing after it
  }
  return true;
}

// The parser reads the Request-URI and the router asks again for the same string: remember the last.
let lastText: string | undefined;
let lastUri: SipUri | undefined;

/** Parse a sip: or sips: URI; undefined when it is not one or is malformed. Treat the result as read-only. */
export function parseSipUri(text: string): SipUri | undefined {
  if (text === lastText) return lastUri;
  lastUri = parseSipUriOnce(text);
  lastText = text;
  return lastUri;
}

function parseSipUriOnce(text: string): SipUri | undefined {
  const sl = schemeLength(text);
  if (sl !== 3 && sl !== 4) return undefined;
  const scheme = text.slice(0, sl).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  const n = text.length;
  let i = sl + 1;
  // '@' appears nowhere after the userinfo (it is not allowed unescaped in host, params or headers).
  const at = text.indexOf('@', i);
  let user = '';
  let password: string | undefined;
  if (at >= 0) {
    const colon = text.indexOf(':', i);
    const userEnd = colon >= 0 && colon < at ? colon : at;
    if (userEnd === i || !charsOk(text, i, userEnd, UNRESERVED | USER_UNRES)) return undefined;
    user = text.slice(i, userEnd);
    if (userEnd < at) {
      if (!charsOk(text, userEnd + 1, at, UNRESERVED | PASS_EXTRA)) return undefined;
      password = text.slice(userEnd + 1, at);
    }
    i = at + 1;
  }
  // host
  let hostEnd: number;
  if (text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf(']', i);
    if (close < 0) return undefined;
    hostEnd = close + 1;
    if (!validIpv6(text, i, hostEnd)) return undefined;
  } else {
    hostEnd = i;
    while (hostEnd < n) {
      const c = text.charCodeAt(hostEnd);
      if (c === 0x3a || c === 0x3b || c === 0x3f) break;
      hostEnd++;
    }
    if (!validHostname(text, i, hostEnd)) return undefined;
  }
  const host = text.slice(i, hostEnd).toLowerCase();
  i = hostEnd;
  let port = 5060;
  let portGiven = false;
  if (i < n && text.charCodeAt(i) === 0x3a) {
    let j = i + 1;
    let v = 0;
    while (j < n && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) {
      v = v * 10 + (text.charCodeAt(j) - 0x30);
      if (v > 65535) return undefined;
      j++;
    }
    if (j === i + 1 || v === 0) return undefined;
    port = v;
    portGiven = true;
    i = j;
  }
  const q = text.indexOf('?', i);
  const paramsEnd = q >= 0 ? q : n;
  const paramList: UriParam[] = [];
  const params = text.slice(i);
  if (i < paramsEnd) {
    if (text.charCodeAt(i) !== 0x3b || i + 1 >= paramsEnd) return undefined;
    if (!parseParams(text, i + 1, paramsEnd, 0x3b, UNRESERVED | PARAM_UNRES, false, paramList)) return undefined;
  }
  const headers: UriParam[] = [];
  if (q >= 0 && !parseParams(text, q + 1, n, 0x26, UNRESERVED | HNV_UNRES, true, headers)) return undefined;
  if (q >= 0 && headers.length === 0) return undefined;
  return { scheme, user, password, host, port, portGiven, params, paramList, headers };
}

/** What a Request-URI is: a SIP(S) URI, some other absolute URI (answered 416), or not a URI (400). */
export function classifyUri(text: string): UriKind {
  if (parseSipUri(text)) return 'sip';
  const sl = schemeLength(text);
  if (sl === 0 || sl + 1 >= text.length) return 'invalid';
  const scheme = text.slice(0, sl).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return 'invalid';
  // The opaque rest of an absoluteURI: printable, no spaces, no angle brackets or quotes.
  for (let i = sl + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x22) return 'invalid';
  }
  return 'other';
}

/** %HH decoded (RFC 3261 19.1.4 compares URIs after unescaping); other bytes kept. */
export function unescapeUri(text: string): string {
  if (text.indexOf('%') < 0) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && i + 2 < text.length && CLASS[text.charCodeAt(i + 1)]! & HEX && CLASS[text.charCodeAt(i + 2)]! & HEX) {
      out += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += text[i];
  }
  return out;
}

/** The value of a URI parameter (case-insensitive name): '' for a parameter without value, undefined if absent. */
export function uriParam(uri: SipUri, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const p of uri.paramList) if (p.name.toLowerCase() === lower) return p.value ?? '';
  return undefined;
}
