// RFC 3261 18.2.1 and RFC 3581: when a request's top Via names another address than the one it came
// from (or asks for rport), the proxy records the source in `received` (and `rport`) before
// forwarding, so the responses that come back through it, and any element downstream, go to the
// address the request really came from. Honest UAs on loopback never need this, so the message is
// only rebuilt (and parsed again) on the rare request that does.
import type { HostPort } from './config.js';
import type { SipMessage } from './sip-message.js';
import { parseSip } from './sip-parser.js';

export function needsReceived(msg: SipMessage, from: HostPort): boolean {
  const via = msg.vias[0]!;
  return via.rport === true || (via.host !== from.host && via.received !== from.host);
}

/** The top Via value with received (and rport) filled in from the source address. */
export function viaWithReceived(value: string, from: HostPort, rportAsked: boolean): string {
  let v = value.replace(/;\s*received\s*=\s*[^;]*/i, '');
  if (rportAsked) v = v.replace(/;\s*rport\s*(?=;|$)/i, `;rport=${from.port}`);
  return `${v};received=${from.host}`;
}

/** `msg` with its top Via carrying received/rport: a new buffer, parsed again in the same mode. */
export function withReceived(msg: SipMessage, from: HostPort): SipMessage {
  const line = msg.viaLines[0]!;
  const top = msg.vias[0]!;
  const text = msg.buf.toString('latin1', line.span.start, line.span.end);
  const at = text.indexOf(top.value);
  // The parser takes a Via value verbatim from the line, so it is always found; kept as a guard.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: unreachable, see above
  if (at < 0) return msg; // never taken today: were it, the Via stays as it is (responses still go to the source address)
  // Stryker disable next-line ConditionalExpression: asking for rport only fills in a bare rport, which is exactly rport === true
  const edited = text.slice(0, at) + viaWithReceived(top.value, from, top.rport === true) + text.slice(at + top.value.length);
  const buf = Buffer.concat([msg.buf.subarray(0, line.span.start), Buffer.from(edited, 'latin1'), msg.buf.subarray(line.span.end)]);
  return parseSip(buf, msg.mode);
}
