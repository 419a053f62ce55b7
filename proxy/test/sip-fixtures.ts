// Hand-written SIP messages for unit tests, shaped like what SIPp sends.
export const CALLER = { host: '127.0.0.1', port: 7000 };
export const PROXY = { host: '127.0.0.1', port: 5060 };

export function invite(opts: { user?: string; branch?: string; callId?: string; maxForwards?: number; extra?: string; uriHost?: string } = {}): string {
  const { user = 'g4', branch = 'z9hG4bK-c1', callId = 'call-1@test', maxForwards = 70, extra = '', uriHost = '127.0.0.1:5060' } = opts;
  return (
    `INVITE sip:${user}@${uriHost} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:7000;branch=${branch}\r\n` +
    `From: <sip:caller@127.0.0.1:7000>;tag=ft1\r\n` +
    `To: <sip:${user}@${uriHost}>\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 INVITE\r\n` +
    `Contact: <sip:caller@127.0.0.1:7000>\r\n` +
    `Max-Forwards: ${maxForwards}\r\n` +
    extra +
    `Content-Type: application/sdp\r\n` +
    `Content-Length: 4\r\n\r\nv=0\n`
  );
}

/** A response to `request` (a received request's text), as a UAS would send it. */
export function responseTo(request: string, status: number, reason: string, toTag?: string): string {
  const lines = request.split('\r\n');
  const vias = lines.filter((l) => /^(Via|v):/i.test(l));
  const pick = (name: RegExp): string => lines.find((l) => name.test(l)) ?? '';
  let to = pick(/^(To|t):/i);
  if (toTag && !/;tag=/.test(to)) to += `;tag=${toTag}`;
  const rr = lines.filter((l) => /^Record-Route:/i.test(l));
  return [`SIP/2.0 ${status} ${reason}`, ...vias, ...rr, pick(/^(From|f):/i), to, pick(/^(Call-ID|i):/i), pick(/^CSeq:/i), 'Content-Length: 0', '', ''].join('\r\n');
}
