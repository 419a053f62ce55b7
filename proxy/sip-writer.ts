// Building outgoing SIP messages. The lazy path splices the received bytes: it writes only the
// lines it changes (start line, our Via, Record-Route, Max-Forwards, the Route it consumes) and
// copies every other byte untouched. The full path serialises the message again from its parsed
// header list, as a general-purpose stack does. Locally generated responses (100, 4xx...) copy the
// raw From/To/Call-ID lines of the request they answer (CANCEL and ACK: branch-requests.ts).
import type { SipMessage, Span } from './sip-message.js';

export interface RequestEdits {
  /** New Request-URI; the received one when absent. */
  requestUri?: string;
  /** Our Via value, pushed on top. */
  via: string;
  /** A Record-Route value to add (initial INVITE), e.g. "<sip:127.0.0.1:5060;lr>". */
  recordRoute?: string;
  /** Drop the top Route value (it named us: loose routing, RFC 3261 16.4). */
  removeTopRoute: boolean;
}

// Constant parts (our Via prefix up to the branch, the Record-Route line) become Buffers once and
// are copied, not re-encoded, per message. Small and bounded: a proxy has one listen address.
const constants = new Map<string, Buffer>();
function constant(text: string): Buffer {
  let b = constants.get(text);
  // Stryker disable next-line ConditionalExpression: a cache miss builds the same bytes again
  if (!b) {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: only bounds the cache's memory; output is the same
    if (constants.size > 64) constants.clear();
    b = Buffer.from(text, 'latin1');
    constants.set(text, b);
  }
  return b;
}

/** The body a forwarded message carries: Content-Length bytes, never the datagram's trailing octets (RFC 3261 18.3). */
function bodyEnd(msg: SipMessage): number {
  return msg.bodyStart + Math.max(0, msg.contentLength);
}

function bodyOf(msg: SipMessage): Buffer {
  return msg.buf.subarray(msg.bodyStart, bodyEnd(msg));
}

/** Concatenate into one Buffer allocated once. */
function join(parts: (Buffer | string)[]): Buffer {
  let len = 0;
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: both arms are p.length
  for (const p of parts) len += typeof p === 'string' ? p.length : p.length;
  const out = Buffer.allocUnsafe(len);
  let at = 0;
  for (const p of parts) {
    if (typeof p === 'string') at += out.write(p, at, 'latin1');
    else at += p.copy(out, at);
  }
  return out;
}

/**
 * What every branch of a forwarded request shares: all headers after our Via (Record-Route added,
 * Max-Forwards decremented, the top Route consumed) and the body. Built once per message and edit
 * set, so a fork of N branches builds it once, not N times (cached on the message).
 */
function sharedPart(msg: SipMessage, edits: RequestEdits): Buffer {
  // Full mode is the general-purpose baseline: it serialises every branch again from its parsed headers.
  // Stryker disable next-line ConditionalExpression,LogicalOperator: the parser sets headers exactly in full mode
  if (msg.mode === 'full' && msg.headers) return serialisedHeaders(msg, edits);
  const rr = edits.recordRoute ?? '';
  const cached = msg.forwardCache;
  if (cached && cached.rr === rr && cached.removeTopRoute === edits.removeTopRoute) return cached.head;
  const head = splicedHeaders(msg, edits);
  msg.forwardCache = { rr, removeTopRoute: edits.removeTopRoute, head };
  return head;
}

function maxForwardsLine(msg: SipMessage): string {
  return `Max-Forwards: ${(msg.maxForwards ?? 71) - 1}\r\n`;
}

/** Full mode: every header serialised again from the parsed list, as a general-purpose stack does. */
function serialisedHeaders(msg: SipMessage, edits: RequestEdits): Buffer {
  // Record-Route goes right after the Via block, above any Record-Route already there (RFC 3261
  // 16.6 step 4). Keeping the Vias contiguous also lets simple UAs (SIPp) copy them in one piece.
  const rr = edits.recordRoute ? `Record-Route: ${edits.recordRoute}\r\n` : '';
  let head = '';
  let routeDropped = !edits.removeTopRoute;
  let mfSeen = false;
  // Stryker disable next-line ConditionalExpression,StringLiteral: without a Record-Route, rr is '' and appending it adds nothing
  let rrDone = rr === '';
  for (const h of msg.headers!) {
    if (!rrDone && h.name !== 'Via') {
      head += rr;
      rrDone = true;
    }
    if (h.name === 'Max-Forwards') {
      head += maxForwardsLine(msg);
      mfSeen = true;
    } else if (h.name === 'Route' && !routeDropped) {
      routeDropped = true;
      // Leading empty list elements (", <sip:us;lr>") are no value: skip them as splitCommas does, so
      // the value dropped is the one the router read (and the lazy path drops).
      // Stryker disable next-line StringLiteral: the text put in place of the empty elements is in the first value, which is dropped
      const value = h.value.replace(/^[\s,]+/, '');
      const comma = firstCommaOutside(value);
      // Stryker disable next-line EqualityOperator: value no longer starts with a comma
      const rest = comma >= 0 ? value.slice(comma + 1).trim() : '';
      if (rest) head += `Route: ${rest}\r\n`;
    } else head += `${h.name}: ${h.value}\r\n`;
  }
  // Stryker disable next-line all: unreachable for a parsed request, which has From, To, Call-ID and CSeq after its Vias
  if (!rrDone) head += rr;
  if (!mfSeen) head += maxForwardsLine(msg);
  head += '\r\n';
  return join([head, bodyOf(msg)]);
}

type Latin1Writer = { latin1Write(text: string, offset: number): number };
/** Write a latin1 string into out at `at` (Buffer#latin1Write skips write()'s argument checks). */
function put(out: Buffer, text: string, at: number): number {
  return (out as unknown as Latin1Writer).latin1Write(text, at);
}

// Stryker disable next-line StringLiteral: initial cache key; recordRouteLine is only called with a non-empty rr
let lastRr = '';
let lastRrLine: Buffer = Buffer.alloc(0);
function recordRouteLine(rr: string): Buffer {
  // Stryker disable next-line ConditionalExpression: a cache miss builds the same line again
  if (rr !== lastRr) {
    lastRr = rr;
    lastRrLine = constant(`Record-Route: ${rr}\r\n`);
  }
  return lastRrLine;
}

interface Edit {
  at: number;
  end: number;
  insert: Buffer | string;
}

/** Lazy mode: the received bytes with the few lines we change spliced in; nothing else is read. */
function splicedHeaders(msg: SipMessage, edits: RequestEdits): Buffer {
  const buf = msg.buf;
  const stop = bodyEnd(msg);
  // Splice points in message order: Record-Route after the leading Via block, Max-Forwards, top Route.
  const list: Edit[] = [];
  if (edits.recordRoute) {
    let at = msg.startLineEnd;
    for (const line of msg.viaLines) {
      if (line.span.start !== at) break;
      at = line.span.end;
    }
    list.push({ at, end: at, insert: recordRouteLine(edits.recordRoute) });
  }
  const mf = msg.spans.maxForwards;
  if (mf) list.push({ at: mf.start, end: mf.end, insert: maxForwardsLine(msg) });
  else list.push({ at: msg.startLineEnd, end: msg.startLineEnd, insert: maxForwardsLine(msg) });
  const route = msg.routeLines[0];
  if (edits.removeTopRoute && route) {
    const rest = route.values.slice(1);
    list.push({ at: route.span.start, end: route.span.end, insert: rest.length ? `Route: ${rest.join(', ')}\r\n` : '' });
  }
  // Equal offsets only occur for the Record-Route insert (pushed first) and a later edit, so a stable
  // sort by offset alone already orders them; edits never overlap, so ends sort as starts do.
  // Stryker disable next-line ConditionalExpression,EqualityOperator,LogicalOperator,ArithmeticOperator: see above
  if (list.length > 1) list.sort((a, b) => a.at - b.at || a.end - b.end); // inserts before replacements at one offset
  // One allocation, then copies: the received bytes between the edits, and the edits.
  let len = stop - msg.startLineEnd;
  for (const e of list) len += e.insert.length - (e.end - e.at);
  const out = Buffer.allocUnsafe(len);
  let at = 0;
  let pos = msg.startLineEnd;
  for (const e of list) {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: copying an empty range writes nothing
    if (e.at > pos) at += buf.copy(out, at, pos, e.at);
    at += typeof e.insert === 'string' ? put(out, e.insert, at) : e.insert.copy(out, at);
    pos = e.end;
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: copying an empty range writes nothing
  if (stop > pos) buf.copy(out, at, pos, stop);
  return out;
}

export function forwardRequest(msg: SipMessage, edits: RequestEdits): Buffer {
  const uri = edits.requestUri ?? msg.requestUri;
  const shared = sharedPart(msg, edits);
  // Start line, then our Via: a constant prefix up to the branch value, then the branch.
  // Where the Via is cut only decides what is cached; prefix and rest are written back to back.
  // Stryker disable next-line StringLiteral: see above
  const b = edits.via.indexOf(';branch=');
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: see above
  const cutAt = b >= 0 ? b + 8 : edits.via.length;
  const prefix = viaPrefix(edits.via, cutAt);
  const startLine = `${msg.method} ${uri} SIP/2.0\r\n`;
  const branch = `${edits.via.slice(cutAt)}\r\n`;
  const out = Buffer.allocUnsafe(startLine.length + VIA_NAME.length + prefix.length + branch.length + shared.length);
  let at = put(out, startLine, 0);
  at += VIA_NAME.copy(out, at);
  at += prefix.copy(out, at);
  at += put(out, branch, at);
  shared.copy(out, at);
  return out;
}

// Stryker disable next-line StringLiteral: ASCII text encodes alike in every encoding
const VIA_NAME = Buffer.from('Via: ', 'latin1');
// Stryker disable next-line StringLiteral: initial cache key, replaced on first use (a hit on it returns the matching prefix)
let lastVia = '';
let lastViaBuf: Buffer = Buffer.alloc(0);
/** The Via text up to the branch value as a Buffer; a proxy has one, so one entry suffices. */
function viaPrefix(via: string, cutAt: number): Buffer {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: cutAt <= via.length always; a miss rebuilds the same prefix
  if (via.length >= cutAt && lastVia.length === cutAt && via.startsWith(lastVia)) return lastViaBuf;
  lastVia = via.slice(0, cutAt);
  lastViaBuf = constant(lastVia);
  return lastViaBuf;
}

function firstCommaOutside(value: string): number {
  let depth = 0;
  let quoted = false;
  // Stryker disable next-line EqualityOperator: value[value.length] is undefined and matches nothing
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') depth++;
    else if (ch === '>') depth--;
    else if (depth === 0 && ch === ',') return i;
  }
  return -1;
}

// A shortcut only: a false "true" costs a values.slice(1) that is [] without a comma. buf[end] starts the next line, never ','.
function hasComma(buf: Buffer, start: number, end: number): boolean {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: see above
  for (let i = start; i < end; i++) if (buf[i] === 0x2c) return true;
  // Stryker disable next-line BooleanLiteral: see above
  return false;
}

/** A response on its way upstream: our Via (the top one) comes off, nothing else changes. */
export function forwardResponse(msg: SipMessage): Buffer {
  // Stryker disable next-line ConditionalExpression,LogicalOperator: the parser sets headers exactly in full mode
  if (msg.mode === 'full' && msg.headers) {
    let head = `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
    let viaDropped = false;
    for (const h of msg.headers) {
      if (h.name === 'Via' && !viaDropped) {
        viaDropped = true;
        const comma = firstCommaOutside(h.value);
        // Stryker disable next-line EqualityOperator: the parser refuses a Via value that starts with a comma
        if (comma >= 0) head += `Via: ${h.value.slice(comma + 1).trim()}\r\n`;
      } else head += `${h.name}: ${h.value}\r\n`;
    }
    head += '\r\n';
    return join([head, bodyOf(msg)]);
  }
  // Lazy: the status line and every other byte are copied as received.
  const top = msg.viaLines[0]!;
  const buf = msg.buf;
  const rest = hasComma(buf, top.span.start, top.span.end) ? top.values.slice(1) : [];
  return join([buf.subarray(msg.startLineStart ?? 0, top.span.start), rest.length ? `Via: ${rest.join(', ')}\r\n` : '', buf.subarray(top.span.end, bodyEnd(msg))]);
}

function raw(msg: SipMessage, span: Span | undefined): string {
  // Stryker disable next-line StringLiteral: toWithTag calls it only with a span
  return span ? msg.buf.toString('latin1', span.start, span.end) : '';
}

/** The To line of `req` with a tag added when it has none (RFC 3261 8.2.6.2). */
function toWithTag(req: SipMessage, tag: string | undefined): Buffer | string {
  const span = req.spans.to;
  if (!span) return '';
  if (!tag || req.toTag) return req.buf.subarray(span.start, span.end);
  const line = raw(req, span);
  // Stryker disable next-line MethodExpression,ArithmeticOperator,ConditionalExpression: trimEnd below drops the CRLF as well
  const end = line.endsWith('\r\n') ? line.length - 2 : line.length;
  // Stryker disable next-line MethodExpression: slicing off the CRLF first changes nothing trimEnd would not
  return `${line.slice(0, end).trimEnd()};tag=${tag}\r\n`;
}

// Stryker disable next-line StringLiteral: ASCII text encodes alike in every encoding
const RESPONSE_TRAILER = Buffer.from('Server: forkbench\r\nContent-Length: 0\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

/** A response the proxy itself sends to a request (100, 400, 404, 483, 487, 503, ...): copies of the request's lines. */
export function buildResponse(req: SipMessage, status: number, reason: string, toTag?: string, extraHeaders: string[] = []): Buffer {
  const b = req.buf;
  const copy = (span: Span | undefined): Buffer => (span ? b.subarray(span.start, span.end) : EMPTY);
  const parts: (Buffer | string)[] = [`SIP/2.0 ${status} ${reason}\r\n`];
  for (const line of req.viaLines) parts.push(copy(line.span));
  parts.push(copy(req.spans.from), status === 100 ? copy(req.spans.to) : toWithTag(req, toTag), copy(req.spans.callId), copy(req.spans.cseq));
  for (const h of extraHeaders) parts.push(`${h}\r\n`);
  parts.push(RESPONSE_TRAILER);
  return join(parts);
}
