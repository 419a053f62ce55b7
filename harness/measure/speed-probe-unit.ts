// The speed probe's unit of work: a fixed, self-contained piece of JavaScript shaped like a SIP
// proxy's (split a message into lines, index its headers, rebuild one line). It imports nothing of
// the proxy, so a change to the parser does not move the reference it is measured against.

const MESSAGE = [
  'INVITE sip:group@198.18.0.1 SIP/2.0',
  'Via: SIP/2.0/UDP 198.18.0.2:5061;branch=z9hG4bK-probe-1;rport',
  'Max-Forwards: 70',
  'From: "Caller" <sip:caller@198.18.0.2>;tag=probe-1',
  'To: <sip:group@198.18.0.1>',
  'Call-ID: probe-1@198.18.0.2',
  'CSeq: 1 INVITE',
  'Contact: <sip:caller@198.18.0.2:5061>',
  'Content-Type: application/sdp',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

/** Messages handled per unit: about 0.1 ms of CPU on the 2026 test bed. */
export const PROBE_MESSAGES_PER_UNIT = 32;

/** One unit of work; the result depends on every step, so none of it can be optimised away. */
export function probeUnit(salt: number): number {
  let acc = salt;
  for (let i = 0; i < PROBE_MESSAGES_PER_UNIT; i++) {
    const text = i % 2 ? MESSAGE : MESSAGE.replace('probe-1', `probe-${(salt + i) & 1023}`);
    const headers = new Map<string, string>();
    const lines = text.split('\r\n');
    for (let l = 1; l < lines.length; l++) {
      const line = lines[l]!;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const via = headers.get('via') ?? '';
    const branch = via.slice(via.indexOf('branch=') + 7).split(';')[0] ?? '';
    const out = `Via: SIP/2.0/UDP 198.18.0.1:5060;branch=${branch}-f${i}\r\n${lines[0]}\r\n`;
    acc = (acc * 31 + out.length + headers.size + branch.charCodeAt(branch.length - 1)) | 0;
  }
  return acc;
}
