// A peer of the bare UDP relay of `forkbench perf` (issue 9): one process per peer the proxy talks
// to (N members + the caller). It receives what the relay sends it, as the proxy's members and
// caller do, and with --send-to it also sends its share of the relay's input, as they do: the
// relay's datagrams then come from K independent processes, each on its own timer, not from one
// generator in bursts. On loopback the sender's sendmsg() runs the receive path and the wake-up
// in its own CPU time, so one busy sink in the harness would make the floor too cheap; and one
// generator sending every 2 ms lets the relay read a dozen datagrams per wake-up where the
// proxy, fed by K processes, is woken far more often.
//
//   node udp-sink.js --listen PORT [--send-to PORT --rate DPS] [--max-s S]
//
// Counts the datagrams it receives. With --send-to it sends the SIP messages of a call in turn, DPS
// per second from its listening socket, between SIGUSR1 (start) and SIGUSR2 (stop), at most
// --max-s seconds. On SIGTERM/SIGINT, and by itself after --max-s seconds (a bound if the harness
// dies), it prints {"received":n,"sent":m} and exits.
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import { MESSAGES } from '../../../proxy/bench/messages.js';

const { values } = parseArgs({
  options: { listen: { type: 'string' }, 'send-to': { type: 'string' }, rate: { type: 'string' }, 'max-s': { type: 'string', default: '120' } },
});
const listen = Number(values.listen);
const maxS = Number(values['max-s']);
if (!Number.isInteger(listen) || listen < 1 || listen > 65535 || !(maxS > 0)) {
  console.error(`udp-sink: --listen "${values.listen ?? ''}" must be a UDP port and --max-s above 0`);
  process.exit(2);
}
const sendTo = values['send-to'] === undefined ? undefined : Number(values['send-to']);
const rate = Number(values.rate ?? 0);
if (sendTo !== undefined && (!Number.isInteger(sendTo) || sendTo < 1 || sendTo > 65535 || !(rate > 0 && rate <= 100_000))) {
  console.error(`udp-sink: --send-to "${values['send-to']}" must be a UDP port and --rate "${values.rate ?? ''}" in (0, 100000] datagrams/s`);
  process.exit(2);
}

const HOST = '127.0.0.1';
const messages = Object.values(MESSAGES);
let received = 0;
let sent = 0;
const sock = createSocket('udp4');
sock.on('message', () => {
  received++;
});
sock.on('error', () => undefined); // a send the kernel refuses is one the relay never counts

let sending: NodeJS.Timeout | undefined;
// One tick per datagram's worth of time (1 ms at least): each tick sends what is due since the
// start, so the rate holds on average without waking this process more often than it sends.
const tickMs = Math.max(1, Math.floor(1000 / rate));
const startSending = (): void => {
  if (sendTo === undefined || sending) return;
  const t0 = performance.now();
  const tick = (): void => {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) sock.send(messages[sent % messages.length]!, sendTo, HOST);
    sending = setTimeout(tick, tickMs);
  };
  sending = setTimeout(tick, tickMs);
};
const stopSending = (): void => {
  clearTimeout(sending);
  sending = undefined;
};
process.on('SIGUSR1', startSending);
process.on('SIGUSR2', stopSending);

// stdout is a pipe to the harness, written synchronously on Linux: the count is out before exit.
const stop = (): void => {
  stopSending();
  console.log(JSON.stringify({ received, sent }));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, maxS * 1000);

sock.bind(listen, HOST, () => console.log(`udp-sink listening on ${HOST}:${listen}`));
