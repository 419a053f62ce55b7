// Only the parser's own SipParseError is a parse error (answered 400/416/505 or dropped as
// unparseable); any other exception while parsing is a bug, counted as an internal error.
import { describe, expect, it, vi } from 'vitest';
import { localProxyConfig, type ProxyConfig } from '../config.js';
import { parseGroups } from '../groups.js';
import { FakeClock } from '../timer-wheel.js';
import { invite } from './sip-fixtures.js';

const boom = vi.hoisted(() => ({ on: false }));
vi.mock('../sip-parser.js', async (orig) => {
  const real = await orig<typeof import('../sip-parser.js')>();
  return {
    ...real,
    parseSip: (buf: Buffer, mode: 'lazy' | 'full') => {
      if (boom.on) throw new TypeError("Cannot read properties of undefined (reading 'x')");
      return real.parseSip(buf, mode);
    },
  };
});

const { ProxyCore } = await import('../proxy-core.js');

function core() {
  const config: ProxyConfig = localProxyConfig({
    parse: 'lazy',
    groups: parseGroups('{"groups":{"g4":["sip:m1@127.0.0.1:6001"]}}'),
    maxActiveTransactions: 100,
  });
  const sent: string[] = [];
  const c = new ProxyCore(config, new FakeClock().wheel, (buf) => void sent.push(buf.toString('latin1')));
  return { c, sent };
}

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

describe('parse errors and internal errors are told apart', () => {
  it('a TypeError inside the parser is an internal error, not a parse error, and sends nothing', () => {
    const { c, sent } = core();
    boom.on = true;
    try {
      c.onDatagram(Buffer.from(invite(), 'latin1'), { host: '127.0.0.1', port: 7000 });
    } finally {
      boom.on = false;
    }
    expect(c.metrics.dropped.get('internal-error')).toBe(1);
    expect(sum(c.metrics.parseErrors)).toBe(0);
    expect(sent).toEqual([]);
  });

  it.each([
    ['Bad CSeq', invite().replace('CSeq: 1 INVITE', 'CSeq: 2147483648 INVITE'), 400],
    ['Version Not Supported', invite().replace('SIP/2.0\r\nVia', 'SIP/3.0\r\nVia'), 505],
    ['Unsupported URI Scheme', invite().replace('INVITE sip:g4@127.0.0.1:5060', 'INVITE im:g4@example.com'), 416],
  ])('a SipParseError (%s) is a parse error answered %i', (reason, text, status) => {
    const { c, sent } = core();
    c.onDatagram(Buffer.from(text, 'latin1'), { host: '127.0.0.1', port: 7000 });
    expect(c.metrics.parseErrors.get(reason)).toBe(1);
    expect(c.metrics.dropped.get('internal-error')).toBeUndefined();
    expect(sent.map((s) => s.slice(0, 11))).toEqual([`SIP/2.0 ${status}`]);
  });

  it('answers 420 with Unsupported for Proxy-Require', () => {
    const { c, sent } = core();
    c.onDatagram(Buffer.from(invite({ extra: 'Proxy-Require: foo, bar\r\n' }), 'latin1'), { host: '127.0.0.1', port: 7000 });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^SIP\/2\.0 420 Bad Extension\r\n[\s\S]*\r\nUnsupported: foo, bar\r\n/);
  });
});
