// A receiving peer of the bare UDP relay of `forkbench perf` (issue 9): one process per peer the
// proxy sends to (N members + the caller), so the relay's sends wake as many sleeping processes as
// the proxy's do. On loopback the sender's sendmsg() runs the receive path and the wake-up in its own
// CPU time, so one busy sink in the harness would make the floor too cheap.
//
//   node udp-sink.js --listen PORT [--max-s S]
//
// Counts the datagrams it receives and does nothing else. On SIGTERM/SIGINT, and by itself after
// --max-s seconds (a bound if the harness dies), it prints {"received":n} and exits.
import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { listen: { type: 'string' }, 'max-s': { type: 'string', default: '120' } } });
const listen = Number(values.listen);
const maxS = Number(values['max-s']);
if (!Number.isInteger(listen) || listen < 1 || listen > 65535 || !(maxS > 0)) {
  console.error(`udp-sink: --listen "${values.listen ?? ''}" must be a UDP port and --max-s above 0`);
  process.exit(2);
}

const HOST = '127.0.0.1';
let received = 0;
const sock = createSocket('udp4');
sock.on('message', () => {
  received++;
});

// stdout is a pipe to the harness, written synchronously on Linux: the count is out before exit.
const stop = (): void => {
  console.log(JSON.stringify({ received }));
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, maxS * 1000);

sock.bind(listen, HOST, () => console.log(`udp-sink listening on ${HOST}:${listen}`));
