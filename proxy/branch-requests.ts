// The requests a proxy builds itself on one of its branches: CANCEL (RFC 3261 9.1) and the ACK for
// a non-2xx final (17.1.1.3). Both copy the branch INVITE's Request-URI, Via (our branch), From,
// Call-ID, CSeq number, Route set and Max-Forwards, so they follow the INVITE hop by hop.
import type { SipMessage, Span } from './sip-message.js';

/** What a client transaction keeps of the INVITE it sent, to build its CANCEL and ACK. */
export interface SentInvite {
  requestUri: string;
  via: string;
  invite: SipMessage;
  /** The INVITE's Route header line as it was sent on this branch ("" when it had none). */
  routeLine: string;
  /** Max-Forwards as it was sent on this branch. */
  maxForwards: number;
}

function raw(msg: SipMessage, span: Span | undefined): string {
  return span ? msg.buf.toString('latin1', span.start, span.end) : '';
}

/** The Route line of `invite` as forwarded: without its top entry when we consumed it (loose routing). */
export function routeLineAsSent(invite: SipMessage, removeTopRoute: boolean): string {
  const values = invite.routeLines.flatMap((l) => l.values);
  const rest = removeTopRoute ? values.slice(1) : values;
  return rest.length ? `Route: ${rest.join(', ')}\r\n` : '';
}

/** Max-Forwards of the forwarded INVITE: one less than received, 70 when it had none (16.6 step 3). */
export function maxForwardsAsSent(invite: SipMessage): number {
  return (invite.maxForwards ?? 71) - 1;
}

function branchRequest(method: 'CANCEL' | 'ACK', sent: SentInvite, toLine: string): Buffer {
  const inv = sent.invite;
  const out =
    `${method} ${sent.requestUri} SIP/2.0\r\nVia: ${sent.via}\r\n` +
    sent.routeLine +
    raw(inv, inv.spans.from) +
    toLine +
    raw(inv, inv.spans.callId) +
    `CSeq: ${inv.cseq} ${method}\r\nMax-Forwards: ${sent.maxForwards}\r\nContent-Length: 0\r\n\r\n`;
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
