// The bare UDP relay of `forkbench perf` (issue 9): the floor under the proxy's CPU per message.
// It receives datagrams and sends them on, on the same runtime (this Node binary) and the same
// socket API as the proxy (dgram 'message' in, socket.send(buf, port, host) out), and does nothing
// else: no parsing, no state, no timers on the data path. Whatever CPU it uses per datagram is what
// the runtime and the kernel cost to receive and send one, which no proxy written on them can beat;
// the proxy's CPU per message divided by this is its own overhead as a ratio.
//
//   node bare-relay.js --listen PORT --control PORT --to PORT[,PORT...] [--copies R] [--max-s S]
//
// Each received datagram credits R sends (R = the proxy's sent/received, e.g. 1.03), so sent/received
// matches the proxy's. The sends go round-robin to the --to ports, one receiving process each (the
// proxy's N members and its caller): waking K processes costs the sender more than feeding one. --control answers any datagram with {"received":n,"sent":m}, off the data
// path. The process exits by itself after --max-s seconds (a bound if the harness dies), and on SIGTERM.
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { listen: { type: 'string' }, control: { type: 'string' }, to: { type: 'string' }, copies: { type: 'string', default: '1' }, 'max-s': { type: 'string', default: '120' } },
});
const port = (v: string | undefined, flag: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    console.error(`bare-relay: ${flag} "${v ?? ''}" is not a UDP port`);
    process.exit(2);
  }
  return n;
};
const listen = port(values.listen, '--listen');
const control = port(values.control, '--control');
const to = (values.to ?? '').split(',').map((p) => port(p.trim(), '--to'));
const copies = Number(values.copies);
const maxS = Number(values['max-s']);
if (!(copies > 0 && copies <= 100) || !(maxS > 0)) {
  console.error('bare-relay: --copies must be in (0, 100] and --max-s above 0');
  process.exit(2);
}

const HOST = '127.0.0.1';
let received = 0;
let sent = 0;
let credit = 0;
let next = 0; // index into `to`, round-robin
const data = createSocket('udp4');
data.on('message', (buf: Buffer) => {
  received++;
  credit += copies;
  while (credit >= 1) {
    data.send(buf, to[next]!, HOST);
    next = next + 1 === to.length ? 0 : next + 1;
    sent++;
    credit -= 1;
  }
});
const ctl = createSocket('udp4');
ctl.on('message', (_buf, from) => ctl.send(JSON.stringify({ received, sent }), from.port, from.address));

const stop = (): void => {
  console.log(JSON.stringify({ received, sent }));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, maxS * 1000);

let bound = 0;
const up = (): void => {
  if (++bound === 2) console.log(`bare-relay listening on ${HOST}:${listen} (control ${control}), to ${to.length} ports on ${HOST} (${to.join(',')}), ${copies} sends per datagram`);
};
data.bind(listen, HOST, up);
ctl.bind(control, HOST, up);
