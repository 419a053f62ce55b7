// Hostile burst over UDP (issue 8 item 4): 100 hostile 60 KB datagrams, then an OPTIONS to the
// proxy; prints how long the OPTIONS waited (median of 5) against the same OPTIONS alone, per parse
// mode. A benchmark, not a test. After `npm run build`, under the integration lock:
//   flock /tmp/forkbench-it.lock node dist/proxy/bench/hostile-burst.js   (ports 17620-17622)
import { createSocket } from 'node:dgram';
import { localProxyConfig } from '../config.js';
import { HOSTILE_KINDS, hostileDatagram } from '../fuzz.js';
import { parseGroups } from '../groups.js';
import type { ParseMode } from '../sip-message.js';
import { startUdpProxy } from '../udp-proxy.js';

const PORT = 17620;

for (const mode of ['lazy', 'full'] as ParseMode[]) {
  const proxy = await startUdpProxy(
    localProxyConfig({ listen: { host: '127.0.0.1', port: PORT }, parse: mode, groups: parseGroups('{"groups":{"g":["sip:m1@127.0.0.1:17621"]}}') }),
  );
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(17622, '127.0.0.1', resolve));
  let answeredAt = 0n;
  sock.on('message', (m) => {
    if (m.includes('probe-')) answeredAt = process.hrtime.bigint();
  });
  const probe = (id: string): Buffer =>
    Buffer.from(
      `OPTIONS sip:127.0.0.1:${PORT} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:17622;branch=z9hG4bK${id};rport\r\nFrom: <sip:t@x>;tag=1\r\n` +
        `To: <sip:127.0.0.1:${PORT}>\r\nCall-ID: probe-${id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
      'latin1',
    );
  const once = async (hostile: number, id: string): Promise<number> => {
    answeredAt = 0n;
    for (let i = 0; i < hostile; i++) sock.send(hostileDatagram(HOSTILE_KINDS[i % HOSTILE_KINDS.length]!, 60_000), PORT, '127.0.0.1');
    const sent = process.hrtime.bigint();
    sock.send(probe(id), PORT, '127.0.0.1');
    const deadline = Date.now() + 5000;
    while (answeredAt === 0n && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    return answeredAt === 0n ? Infinity : Number(answeredAt - sent) / 1e6;
  };
  const alone: number[] = [];
  const burst: number[] = [];
  for (let k = 0; k < 5; k++) {
    alone.push(await once(0, `a${k}`));
    burst.push(await once(100, `h${k}`));
  }
  const median = (a: number[]): string => [...a].sort((x, y) => x - y)[2]!.toFixed(2);
  console.log(`${mode}: OPTIONS answered in ${median(alone)} ms alone, ${median(burst)} ms behind 100 hostile 60 KB datagrams (median of 5)`);
  sock.close();
  await proxy.close();
}
