// SIP-like datagrams for the capture and delay tests (only what sip-delays.ts reads matters).
export function sipRequest(method: string, callId: string, cseq: number, opts: { compact?: boolean } = {}): Buffer {
  const cid = opts.compact ? `i: ${callId}` : `Call-ID: ${callId}`;
  return Buffer.from(
    `${method} sip:g8@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK${cseq}\r\n${cid}\r\nCSeq: ${cseq} ${method}\r\nContent-Length: 0\r\n\r\n`,
  );
}

export function sipResponse(status: number, reason: string, callId: string, cseq: number, method = 'INVITE', opts: { compact?: boolean } = {}): Buffer {
  const cid = opts.compact ? `i: ${callId}` : `call-id:${callId}`;
  return Buffer.from(`SIP/2.0 ${status} ${reason}\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n${cid}\r\nCSeq:  ${cseq} ${method}\r\nContent-Length: 0\r\n\r\n`);
}
