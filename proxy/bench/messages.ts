// SIPp-shaped messages of one group call as the proxy sees them, for the microbenchmarks.
const SDP = 'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const CALLER_VIA = 'Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-4711-1-0';
const OUR_VIA = 'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfbabc123.1';
const FROM = 'From: "sipp" <sip:sipp@127.0.0.1:7000>;tag=4711SIPpTag001';
const TO = 'To: <sip:g16@127.0.0.1:5060>';
const CALL_ID = 'Call-ID: 1-4711@127.0.0.1';

const msg = (lines: string[], body = ''): Buffer => Buffer.from(`${lines.join('\r\n')}\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');

/** Received by the proxy: the caller's INVITE, CANCEL and ACK; a member's 180, 200 and 487. */
export const MESSAGES: Record<'INVITE' | '180' | '200' | 'ACK' | 'CANCEL' | '487', Buffer> = {
  INVITE: msg(
    ['INVITE sip:g16@127.0.0.1:5060 SIP/2.0', CALLER_VIA, FROM, TO, CALL_ID, 'CSeq: 1 INVITE', 'Contact: sip:sipp@127.0.0.1:7000', 'Max-Forwards: 70', 'Subject: Performance Test', 'Content-Type: application/sdp'],
    SDP,
  ),
  '180': msg(['SIP/2.0 180 Ringing', OUR_VIA, CALLER_VIA, 'Record-Route: <sip:127.0.0.1:5060;lr>', FROM, `${TO};tag=m3-1`, CALL_ID, 'CSeq: 1 INVITE', 'Contact: <sip:m3@127.0.0.1:6003;transport=UDP>']),
  '200': msg(
    ['SIP/2.0 200 OK', OUR_VIA, CALLER_VIA, 'Record-Route: <sip:127.0.0.1:5060;lr>', FROM, `${TO};tag=m1-1`, CALL_ID, 'CSeq: 1 INVITE', 'Contact: <sip:m1@127.0.0.1:6001;transport=UDP>', 'Content-Type: application/sdp'],
    SDP,
  ),
  ACK: msg(['ACK sip:m1@127.0.0.1:6001 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-4711-1-5', 'Route: <sip:127.0.0.1:5060;lr>', FROM, `${TO};tag=m1-1`, CALL_ID, 'CSeq: 1 ACK', 'Contact: sip:sipp@127.0.0.1:7000', 'Max-Forwards: 70', 'Subject: Performance Test']),
  CANCEL: msg(['CANCEL sip:g16@127.0.0.1:5060 SIP/2.0', CALLER_VIA, FROM, TO, CALL_ID, 'CSeq: 1 CANCEL', 'Max-Forwards: 70']),
  '487': msg(['SIP/2.0 487 Request Terminated', OUR_VIA, CALLER_VIA, FROM, `${TO};tag=m2-1`, CALL_ID, 'CSeq: 1 INVITE']),
};
