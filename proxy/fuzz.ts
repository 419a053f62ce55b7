// Seeded fuzzing of the proxy's input path: mutated real messages plus random bytes, fed to a
// ProxyCore on a fake clock (no sockets, so a million datagrams take seconds), and a corpus of
// hostile shapes (long runs of spaces, '<', quotes, backslashes, commas, semicolons, folds). The
// proxy must never throw and never hit its internal-error guard (a single one fails the run); every
// datagram is either handled, answered with an error status, or dropped and counted.
import { DEFAULT_TIMERS, type ProxyConfig, localProxyConfig } from './config.js';
import { parseGroups } from './groups.js';
import { ProxyCore } from './proxy-core.js';
import type { ParseMode } from './sip-message.js';
import { FakeClock } from './timer-wheel.js';

/** mulberry32: small, fast, and reproducible from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [
  'INVITE sip:g4@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-1;rport\r\nFrom: "A" <sip:a@127.0.0.1:7000>;tag=1\r\nTo: <sip:g4@127.0.0.1:5060>\r\nCall-ID: c1@x\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:7000>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n',
  'SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfb.1\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-1\r\nFrom: <sip:a@127.0.0.1:7000>;tag=1\r\nTo: <sip:g4@127.0.0.1:5060>;tag=m1\r\nCall-ID: c1@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
  'SIP/2.0 200 OK\r\nv: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKfb.2, SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-1\r\nRecord-Route: <sip:127.0.0.1:5060;lr>\r\nf: <sip:a@127.0.0.1:7000>;tag=1\r\nt: <sip:g4@127.0.0.1:5060>;tag=m2\r\ni: c1@x\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n',
  'BYE sip:m1@127.0.0.1:6001 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-2\r\nRoute: <sip:127.0.0.1:5060;lr>,\r\n <sip:127.0.0.1:5061;lr>\r\nFrom: <sip:a@127.0.0.1:7000>;tag=1\r\nTo: <sip:g4@127.0.0.1:5060>;tag=m1\r\nCall-ID: c1@x\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
  'CANCEL sip:g4@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-1\r\nFrom: <sip:a@127.0.0.1:7000>;tag=1\r\nTo: <sip:g4@127.0.0.1:5060>\r\nCall-ID: c1@x\r\nCSeq: 1 CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n',
  'OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-3\r\nFrom: <sip:a@127.0.0.1:7000>;tag=1\r\nTo: <sip:127.0.0.1:5060>\r\nCall-ID: o1@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
].map((s) => Buffer.from(s, 'latin1'));

const TOKENS = [':', ';', ',', '<', '>', '"', '\r\n', '\r\n ', ' ', '\t', '=', '@', 'tag=', 'branch=', 'SIP/2.0', '0', '65536', '-1', '99999999999', '\x00', '\xff', 'Via:', 'Route:', 'CSeq:', 'l:', 'v:', 'sip:', '[::1]'];

/**
 * Hostile shapes (issue 8 item 4): one header value made of a long run of one troublesome
 * character, the shapes that make backtracking parsers quadratic. `size` bytes of run.
 */
export const HOSTILE_KINDS = ['spaces-in-name-addr', 'colonless-line', 'angles', 'quotes', 'backslashes', 'commas', 'semicolons', 'folds', 'via-params'] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

export function hostileDatagram(kind: HostileKind, size: number, honest = false): Buffer {
  // honest: the same header and size with the troublesome run replaced by ordinary letters.
  const base = SEEDS[0]!.toString('latin1');
  const run = (ch: string): string => (honest ? 'a' : ch).repeat(size);
  let line: string;
  switch (kind) {
    case 'spaces-in-name-addr':
      line = `From: a${run(' ')}b <sip:a@127.0.0.1:7000>;tag=1\r\n`;
      break;
    case 'colonless-line':
      // honest: the same length of name characters before the colon.
      line = honest ? `X-Long${run(' ')}: value\r\n` : `X-Long${run(' ')}value\r\n`;
      break;
    case 'angles':
      line = `To: ${run('<')}sip:g4@127.0.0.1:5060>\r\n`;
      break;
    case 'quotes':
      line = `Contact: ${run('"')}<sip:a@127.0.0.1:7000>\r\n`;
      break;
    case 'backslashes':
      line = `From: "${run('\\')}" <sip:a@127.0.0.1:7000>;tag=1\r\n`;
      break;
    case 'commas':
      line = `Route: <sip:127.0.0.1:5060;lr>${run(',')}\r\n`;
      break;
    case 'semicolons':
      line = `Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-1${run(';')}\r\n`;
      break;
    case 'folds':
      line = honest ? `Subject: ${run(' ')}\r\n` : `Subject: a${'\r\n b'.repeat(Math.floor(size / 4))}\r\n`;
      break;
    case 'via-params':
      line = honest ? `v: SIP/2.0/UDP 127.0.0.1:7000;x=${run(' ')}\r\n` : `v: SIP/2.0/UDP 127.0.0.1:7000${';x=1'.repeat(Math.floor(size / 4))}\r\n`;
      break;
  }
  // The hostile line replaces the message's From (or goes in front of the other headers).
  const at = base.indexOf('\r\n') + 2;
  const text = kind === 'spaces-in-name-addr' || kind === 'backslashes' ? base.replace(/From: [^\r]*\r\n/, line) : base.slice(0, at) + line + base.slice(at);
  return Buffer.from(text, 'latin1');
}

function mutate(rand: () => number, seed: Buffer): Buffer {
  const b = Buffer.from(seed);
  let out: Buffer = b;
  const ops = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < ops; i++) {
    const pos = Math.floor(rand() * out.length);
    switch (Math.floor(rand() * 5)) {
      case 0: // flip a byte
        out[pos] = Math.floor(rand() * 256);
        break;
      case 1: // delete a run
        out = Buffer.concat([out.subarray(0, pos), out.subarray(Math.min(out.length, pos + 1 + Math.floor(rand() * 40)))]);
        break;
      case 2: // insert a token
        out = Buffer.concat([out.subarray(0, pos), Buffer.from(TOKENS[Math.floor(rand() * TOKENS.length)]!, 'latin1'), out.subarray(pos)]);
        break;
      case 3: // duplicate a run (repeated headers, long values)
        {
          const len = Math.floor(rand() * 200);
          out = Buffer.concat([out.subarray(0, pos), out.subarray(pos, pos + len), out.subarray(pos)]);
        }
        break;
      default: // truncate
        out = out.subarray(0, pos);
    }
  }
  return out;
}

export interface FuzzResult {
  datagrams: number;
  sent: number;
  dropped: number;
  parseErrors: number;
  internalErrors: number;
  thrown: number;
  ms: number;
}

export function runFuzz(seed: number, count: number, parse: ParseMode): FuzzResult {
  const rand = prng(seed);
  const clock = new FakeClock();
  const config: ProxyConfig = localProxyConfig({
    parse,
    groups: parseGroups('{"groups":{"g4":["sip:m1@127.0.0.1:6001","sip:m2@127.0.0.1:6002","sip:m3@127.0.0.1:6003","sip:m4@127.0.0.1:6004"]}}'),
    timers: { ...DEFAULT_TIMERS, t1: 50, timerD: 500, t4: 500, timerC: 2000 },
    maxActiveTransactions: 5000,
  });
  let sent = 0;
  const core = new ProxyCore(config, clock.wheel, () => void sent++);
  let thrown = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const r = rand();
    let dgram: Buffer;
    if (r < 0.1) {
      dgram = Buffer.alloc(Math.floor(rand() * 1500));
      for (let j = 0; j < dgram.length; j++) dgram[j] = Math.floor(rand() * 256);
    } else if (r < 0.15) dgram = SEEDS[Math.floor(rand() * SEEDS.length)]!; // valid traffic keeps the tables busy
    else if (r < 0.16) {
      // Hostile shapes, 1-16 KB runs (up to the datagram limit now and then), sometimes mutated too.
      const size = rand() < 0.05 ? 60_000 : 1 + Math.floor(rand() * 16_000);
      dgram = hostileDatagram(HOSTILE_KINDS[Math.floor(rand() * HOSTILE_KINDS.length)]!, size);
      if (rand() < 0.3) dgram = mutate(rand, dgram);
    } else dgram = mutate(rand, SEEDS[Math.floor(rand() * SEEDS.length)]!);
    try {
      core.onDatagram(dgram, { host: '127.0.0.1', port: 7000 + Math.floor(rand() * 4) });
    } catch {
      thrown++;
    }
    if (i % 64 === 0) clock.advance(7); // let timers fire as they would
  }
  clock.advance(120_000);
  const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    datagrams: count,
    sent,
    dropped: sum(core.metrics.dropped),
    parseErrors: sum(core.metrics.parseErrors),
    internalErrors: core.metrics.dropped.get('internal-error') ?? 0,
    thrown,
    ms: Math.round(performance.now() - start),
  };
}

// `node dist/proxy/fuzz.js [count] [seed]`: the long run reported in the notes.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const count = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? 1);
  let bad = 0;
  for (const mode of ['lazy', 'full'] as const) {
    const r = runFuzz(seed, count, mode);
    console.log(JSON.stringify({ mode, seed, ...r }));
    bad += r.thrown + r.internalErrors;
  }
  // A single exception or internal error fails the run (issue 13).
  if (bad > 0) {
    console.error(`fuzz: ${bad} exceptions or internal errors; rerun with FORKBENCH_DEBUG=1 to see them`);
    process.exitCode = 1;
  }
}
