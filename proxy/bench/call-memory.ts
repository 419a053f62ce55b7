// Memory of the centralized proxy over many group calls, in process: a ProxyCore on a hand-driven
// clock, a synthetic caller and N synthetic members (answerer + ringers, as the SIPp scenarios do),
// calls offered at a simulated rate. Prints RSS and heap (after a forced GC) once the tables have
// reached their steady state (warm-up), after the measured calls, and after the tables drain.
// Not a test: run with  node --expose-gc dist/proxy/bench/call-memory.js [calls] [N] [rate] [warmup]
import { localProxyConfig, type HostPort } from '../config.js';
import { parseGroups } from '../groups.js';
import { ProxyCore } from '../proxy-core.js';
import { parseSip } from '../sip-parser.js';
import { TimerWheel } from '../timer-wheel.js';
import { invite, responseTo } from '../test/sip-fixtures.js';

const calls = Number(process.argv[2] ?? 10_000);
const n = Number(process.argv[3] ?? 32);
const rate = Number(process.argv[4] ?? 100);
const warmup = Number(process.argv[5] ?? 4_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('call-memory: run node with --expose-gc');
  process.exit(2);
}

const CALLER: HostPort = { host: '127.0.0.1', port: 7000 };
const memberPort = (j: number): number => 20_000 + j;
const members = Array.from({ length: n }, (_v, j) => `sip:m${j + 1}@127.0.0.1:${memberPort(j)}`);
let t = 1_000_000;
const wheel = new TimerWheel(() => t, 10);
const config = localProxyConfig({ groups: parseGroups(JSON.stringify({ groups: { [`g${n}`]: members } })), maxActiveTransactions: 1_000_000 });

// Messages the proxy sends are queued and answered after it returns (no re-entrance).
const queue: { buf: Buffer; to: HostPort }[] = [];
const core = new ProxyCore(config, wheel, (buf, to) => queue.push({ buf, to }));
let answered = 0;
let lastRoute = '';

/** Like a datagram from the socket: a buffer of its own, not a slice of Node's shared pool. */
function deliver(text: string, from: HostPort): void {
  const buf = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'latin1'));
  buf.write(text, 'latin1');
  core.onDatagram(buf, from);
}

/** A member (port) or the caller reacts to what the proxy sent it. */
function react(buf: Buffer, to: HostPort): void {
  const text = buf.toString('latin1');
  const msg = parseSip(buf, 'lazy');
  const from = { host: '127.0.0.1', port: to.port };
  if (to.port === CALLER.port) {
    if (!msg.isRequest && msg.status === 200 && msg.cseqMethod === 'INVITE') {
      answered++;
      lastRoute = /Record-Route: (<[^>]+>)/.exec(text)?.[1] ?? '';
    }
    return;
  }
  const j = to.port - 20_000;
  const tag = `m${j + 1}`;
  if (!msg.isRequest) return;
  if (msg.method === 'INVITE') {
    deliver(responseTo(text, 180, 'Ringing', tag), from);
    if (j === 0) deliver(responseTo(text, 200, 'OK', tag), from);
  } else if (msg.method === 'CANCEL') {
    deliver(responseTo(text, 200, 'OK', tag), from);
    deliver(responseTo(text.replace('CANCEL ', 'INVITE ').replace(' CANCEL\r\n', ' INVITE\r\n'), 487, 'Request Terminated', tag), from);
  } else if (msg.method === 'BYE') {
    deliver(responseTo(text, 200, 'OK', tag), from);
  }
}

function pump(): void {
  for (let i = 0; i < queue.length; i++) react(queue[i]!.buf, queue[i]!.to);
  queue.length = 0;
}

function oneCall(i: number): void {
  const callId = `mem-${i}@bench`;
  deliver(invite({ user: `g${n}`, callId, branch: `z9hG4bK-m${i}` }), CALLER);
  // pump until quiet: INVITEs -> 180/200 -> CANCELs -> 200/487 -> ACKs
  for (let k = 0; k < 6 && queue.length; k++) pump();
  const dialog = (method: string, cseq: number): string =>
    `${method} sip:m1@127.0.0.1:${memberPort(0)} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-${method}${i}\r\n` +
    `Route: ${lastRoute}\r\nFrom: <sip:caller@127.0.0.1:7000>;tag=ft1\r\nTo: <sip:g${n}@127.0.0.1:5060>;tag=m1\r\nCall-ID: ${callId}\r\n` +
    `CSeq: ${cseq} ${method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
  deliver(dialog('ACK', 1), CALLER);
  deliver(dialog('BYE', 2), CALLER);
  for (let k = 0; k < 3 && queue.length; k++) pump();
}

function advance(ms: number): void {
  const end = t + ms;
  while (t < end) {
    t = Math.min(end, t + 10);
    wheel.advance();
    pump();
  }
}

function sample(label: string): { rss: number; heap: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  const row = { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
  const mb = (x: number): string => (x / 2 ** 20).toFixed(1);
  console.log(
    `${label.padEnd(34)} RSS ${row.rss.toFixed(1)} MB, heap ${row.heap.toFixed(1)} MB (of ${mb(m.heapTotal)}), buffers ${mb(m.arrayBuffers)} MB, table ${core.table.size()}, ` +
      `timers ${wheel.pending()} (linked ${wheel.linkedSlots()}, buckets ${wheel.bucketCount()})`,
  );
  return row;
}

const gap = 1000 / rate;
let done = 0;
const run = (count: number): void => {
  for (let i = 0; i < count; i++) {
    oneCall(done++);
    advance(gap);
  }
};
sample('start');
run(warmup);
const w = sample(`after ${warmup} warm-up calls`);
const step = Math.max(1, Math.ceil(calls / 5));
let m = w;
for (let k = step; k <= calls; k += step) {
  run(Math.min(step, calls - (k - step)));
  m = sample(`after ${Math.min(k, calls)} more calls`);
}
advance(config.timers.timerD + 64 * config.timers.t1 + 1000);
sample('after the tables drain');
console.log(`N=${n}, ${rate} calls/s simulated, answered ${answered} of ${done}; RSS growth over the measured calls: ${(m.rss - w.rss).toFixed(1)} MB, heap ${(m.heap - w.heap).toFixed(1)} MB`);
if (answered !== done) process.exitCode = 1;
