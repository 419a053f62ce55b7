// Group calls driven in process, for the benches in this folder: a ProxyCore on a hand-driven clock,
// a synthetic caller and N synthetic members (answerer + ringers, as the SIPp scenarios do), calls
// offered at a simulated rate. The driver's own work (building and reading the members' messages)
// is kept apart from the core's: `coreMs` sums only the time inside the core (onDatagram and the
// timer wheel), so a bench can report the proxy's cost per call without the driver's.
import { localProxyConfig, type HostPort } from '../config.js';
import type { ParseMode } from '../sip-message.js';
import { parseGroups } from '../groups.js';
import { ProxyCore } from '../proxy-core.js';
import { TimerWheel } from '../timer-wheel.js';
import { invite, responseTo } from '../test/sip-fixtures.js';

export const CALLER: HostPort = { host: '127.0.0.1', port: 7000 };
const memberPort = (j: number): number => 20_000 + j;

export class SyntheticCalls {
  readonly core: ProxyCore;
  readonly wheel: TimerWheel;
  answered = 0;
  done = 0;
  /** Milliseconds spent inside the core (parsing, matching, forking, writing, timers). */
  coreMs = 0;
  private t = 1_000_000;
  private lastRoute = '';
  // Messages the proxy sends are queued and answered after it returns (no re-entrance).
  private readonly queue: { buf: Buffer; to: HostPort }[] = [];
  private readonly gap: number;

  constructor(
    readonly n: number,
    rate: number,
    parse: ParseMode = 'full',
  ) {
    const members = Array.from({ length: n }, (_v, j) => `sip:m${j + 1}@127.0.0.1:${memberPort(j)}`);
    this.wheel = new TimerWheel(() => this.t, 10);
    const config = localProxyConfig({ parse, groups: parseGroups(JSON.stringify({ groups: { [`g${n}`]: members } })), maxActiveTransactions: 1_000_000 });
    this.core = new ProxyCore(config, this.wheel, (buf, to) => this.queue.push({ buf, to }));
    this.gap = 1000 / rate;
  }

  /** Offer `count` calls at the simulated rate. */
  run(count: number): void {
    for (let i = 0; i < count; i++) {
      this.oneCall(this.done++);
      this.advance(this.gap);
    }
  }

  /** Let simulated time pass (timers fire, retransmissions and lingering transactions end). */
  advance(ms: number): void {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + 10);
      const t0 = performance.now();
      this.wheel.advance();
      this.coreMs += performance.now() - t0;
      this.pump();
    }
  }

  /** Like a datagram from the socket: a buffer of its own, not a slice of Node's shared pool. */
  private deliver(text: string, from: HostPort): void {
    const buf = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'latin1'));
    buf.write(text, 'latin1');
    const t0 = performance.now();
    this.core.onDatagram(buf, from);
    this.coreMs += performance.now() - t0;
  }

  /** A member (port) or the caller reacts to what the proxy sent it (read from the text, not with the proxy's parser). */
  private react(buf: Buffer, to: HostPort): void {
    const text = buf.toString('latin1');
    const from = { host: '127.0.0.1', port: to.port };
    const isResponse = text.startsWith('SIP/2.0 ');
    if (to.port === CALLER.port) {
      if (isResponse && text.startsWith('SIP/2.0 200 ') && / INVITE\r\n/.test(text)) {
        this.answered++;
        this.lastRoute = /Record-Route: (<[^>]+>)/.exec(text)?.[1] ?? '';
      }
      return;
    }
    const j = to.port - 20_000;
    const tag = `m${j + 1}`;
    if (isResponse) return;
    const method = text.slice(0, text.indexOf(' '));
    if (method === 'INVITE') {
      this.deliver(responseTo(text, 180, 'Ringing', tag), from);
      if (j === 0) this.deliver(responseTo(text, 200, 'OK', tag), from);
    } else if (method === 'CANCEL') {
      this.deliver(responseTo(text, 200, 'OK', tag), from);
      this.deliver(responseTo(text.replace('CANCEL ', 'INVITE ').replace(' CANCEL\r\n', ' INVITE\r\n'), 487, 'Request Terminated', tag), from);
    } else if (method === 'BYE') {
      this.deliver(responseTo(text, 200, 'OK', tag), from);
    }
  }

  private pump(): void {
    const q = this.queue;
    for (let i = 0; i < q.length; i++) this.react(q[i]!.buf, q[i]!.to);
    q.length = 0;
  }

  private oneCall(i: number): void {
    const callId = `mem-${i}@bench`;
    const n = this.n;
    this.deliver(invite({ user: `g${n}`, callId, branch: `z9hG4bK-m${i}` }), CALLER);
    // pump until quiet: INVITEs -> 180/200 -> CANCELs -> 200/487 -> ACKs
    for (let k = 0; k < 6 && this.queue.length; k++) this.pump();
    const dialog = (method: string, cseq: number): string =>
      `${method} sip:m1@127.0.0.1:${memberPort(0)} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-${method}${i}\r\n` +
      `Route: ${this.lastRoute}\r\nFrom: <sip:caller@127.0.0.1:7000>;tag=ft1\r\nTo: <sip:g${n}@127.0.0.1:5060>;tag=m1\r\nCall-ID: ${callId}\r\n` +
      `CSeq: ${cseq} ${method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
    this.deliver(dialog('ACK', 1), CALLER);
    this.deliver(dialog('BYE', 2), CALLER);
    for (let k = 0; k < 3 && this.queue.length; k++) this.pump();
  }
}
