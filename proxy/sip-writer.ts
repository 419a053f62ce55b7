// Building outgoing SIP messages. The lazy path splices the received bytes: it writes only the
// lines it changes (start line, our Via, Record-Route, Max-Forwards, the Route it consumes) and
// copies every other byte untouched. The full path serialises the message again from its parsed
// header list, as a general-purpose stack does. Locally generated messages (100, 4xx, CANCEL, ACK)
// copy the raw From/To/Call-ID lines of the request they answer.
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

interface Splice {
  span: Span;
  text: string;
}

function spliced(buf: Buffer, head: string, splices: Splice[], from: number): Buffer {
  splices.sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end); // inserts first
  const parts: Buffer[] = [Buffer.from(head, 'latin1')];
  let pos = from;
  for (const s of splices) {
    if (s.span.start > pos) parts.push(buf.subarray(pos, s.span.start));
    if (s.text) parts.push(Buffer.from(s.text, 'latin1'));
    pos = s.span.end;
  }
  if (pos < buf.length) parts.push(buf.subarray(pos));
  return Buffer.concat(parts);
}

function bodyOf(msg: SipMessage): Buffer {
  return msg.buf.subarray(msg.bodyStart, msg.bodyStart + Math.max(0, msg.contentLength));
}

export function forwardRequest(msg: SipMessage, edits: RequestEdits): Buffer {
  const uri = edits.requestUri ?? msg.requestUri;
  const maxForwards = (msg.maxForwards ?? 71) - 1;
  let head = `${msg.method} ${uri} SIP/2.0\r\nVia: ${edits.via}\r\n`;
  // Record-Route goes right after the Via block, above any Record-Route already there (RFC 3261
  // 16.6 step 4). Keeping the Vias contiguous also lets simple UAs (SIPp) copy them in one piece.
  const rr = edits.recordRoute ? `Record-Route: ${edits.recordRoute}\r\n` : '';

  if (msg.mode === 'full' && msg.headers) {
    let routeDropped = !edits.removeTopRoute;
    let mfSeen = false;
    let rrDone = rr === '';
    for (const h of msg.headers) {
      if (!rrDone && h.name !== 'Via') {
        head += rr;
        rrDone = true;
      }
      if (h.name === 'Max-Forwards') {
        head += `Max-Forwards: ${maxForwards}\r\n`;
        mfSeen = true;
      } else if (h.name === 'Route' && !routeDropped) {
        routeDropped = true;
        const rest = h.value.slice(firstCommaOutside(h.value) + 1).trim();
        if (firstCommaOutside(h.value) >= 0 && rest) head += `Route: ${rest}\r\n`;
      } else head += `${h.name}: ${h.value}\r\n`;
    }
    if (!rrDone) head += rr;
    if (!mfSeen) head += `Max-Forwards: ${maxForwards}\r\n`;
    head += '\r\n';
    return Buffer.concat([Buffer.from(head, 'latin1'), bodyOf(msg)]);
  }

  const splices: Splice[] = [];
  if (rr) {
    let at = msg.startLineEnd;
    for (const line of msg.viaLines) {
      if (line.span.start !== at) break;
      at = line.span.end;
    }
    splices.push({ span: { start: at, end: at }, text: rr });
  }
  if (msg.spans.maxForwards) splices.push({ span: msg.spans.maxForwards, text: `Max-Forwards: ${maxForwards}\r\n` });
  else head += `Max-Forwards: ${maxForwards}\r\n`;
  const route = msg.routeLines[0];
  if (edits.removeTopRoute && route) {
    const rest = route.values.slice(1);
    splices.push({ span: route.span, text: rest.length ? `Route: ${rest.join(', ')}\r\n` : '' });
  }
  return spliced(msg.buf, head, splices, msg.startLineEnd);
}

function firstCommaOutside(value: string): number {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') depth++;
    else if (!quoted && ch === '>') depth--;
    else if (!quoted && depth === 0 && ch === ',') return i;
  }
  return -1;
}

/** A response on its way upstream: our Via (the top one) comes off, nothing else changes. */
export function forwardResponse(msg: SipMessage): Buffer {
  const statusLine = `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  if (msg.mode === 'full' && msg.headers) {
    let head = statusLine;
    let viaDropped = false;
    for (const h of msg.headers) {
      if (h.name === 'Via' && !viaDropped) {
        viaDropped = true;
        const comma = firstCommaOutside(h.value);
        if (comma >= 0) head += `Via: ${h.value.slice(comma + 1).trim()}\r\n`;
      } else head += `${h.name}: ${h.value}\r\n`;
    }
    head += '\r\n';
    return Buffer.concat([Buffer.from(head, 'latin1'), bodyOf(msg)]);
  }
  const top = msg.viaLines[0]!;
  const rest = top.values.slice(1);
  return spliced(msg.buf, statusLine, [{ span: top.span, text: rest.length ? `Via: ${rest.join(', ')}\r\n` : '' }], msg.startLineEnd);
}

function raw(msg: SipMessage, span: Span | undefined): string {
  return span ? msg.buf.toString('latin1', span.start, span.end) : '';
}

/** The To line of `req` with a tag added when it has none (RFC 3261 8.2.6.2). */
function toWithTag(req: SipMessage, tag: string | undefined): string {
  const line = raw(req, req.spans.to);
  if (!tag || req.toTag) return line;
  const end = line.endsWith('\r\n') ? line.length - 2 : line.length;
  return `${line.slice(0, end).trimEnd()};tag=${tag}\r\n`;
}

/** A response the proxy itself sends to a request (100, 400, 404, 483, 487, 503, ...). */
export function buildResponse(req: SipMessage, status: number, reason: string, toTag?: string, extraHeaders: string[] = []): Buffer {
  let out = `SIP/2.0 ${status} ${reason}\r\n`;
  for (const line of req.viaLines) out += raw(req, line.span);
  out += raw(req, req.spans.from);
  out += status === 100 ? raw(req, req.spans.to) : toWithTag(req, toTag);
  out += raw(req, req.spans.callId);
  out += raw(req, req.spans.cseq);
  for (const h of extraHeaders) out += `${h}\r\n`;
  out += 'Server: forkbench\r\nContent-Length: 0\r\n\r\n';
  return Buffer.from(out, 'latin1');
}

/** What a client transaction keeps of the INVITE it sent, to build its CANCEL and ACK. */
export interface SentInvite {
  requestUri: string;
  via: string;
  invite: SipMessage;
}

/** A request on a branch's transaction: its Request-URI, Via (branch), From, Call-ID, CSeq number. */
function branchRequest(method: 'CANCEL' | 'ACK', sent: SentInvite, toLine: string): Buffer {
  const inv = sent.invite;
  const out =
    `${method} ${sent.requestUri} SIP/2.0\r\nVia: ${sent.via}\r\n` +
    raw(inv, inv.spans.from) +
    toLine +
    raw(inv, inv.spans.callId) +
    `CSeq: ${inv.cseq} ${method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
  return Buffer.from(out, 'latin1');
}

/** CANCEL for a branch (RFC 3261 9.1): the To of the INVITE. */
export function buildCancel(sent: SentInvite): Buffer {
  return branchRequest('CANCEL', sent, raw(sent.invite, sent.invite.spans.to));
}

/** ACK for a non-2xx final response on a branch (RFC 3261 17.1.1.3): the To of the response. */
export function buildAckForFailure(sent: SentInvite, response: SipMessage): Buffer {
  return branchRequest('ACK', sent, raw(response, response.spans.to));
}
