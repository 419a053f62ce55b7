// The routing decision of each role (proxy/router.ts): every branch, with the exact decision
// (status, reason phrase, relay flag, extra headers, targets) it returns.
import { describe, expect, it } from 'vitest';
import { localProxyConfig, type ProxyConfig, type ProxyRole } from '../config.js';
import { parseGroups } from '../groups.js';
import { RouteTokens } from '../route-token.js';
import { isOurAddress, route, type RouteDecision } from '../router.js';
import { parseSip } from '../sip-parser.js';
import type { SipMessage } from '../sip-message.js';

const GROUPS = parseGroups(
  JSON.stringify({
    groups: {
      g4: ['sip:m1@127.0.0.1:6001', 'sip:m2@127.0.0.1:6002', 'sip:m3@127.0.0.1:6003', 'sip:m4@127.0.0.1:6004'],
      g2: ['sip:p1@127.0.0.1:6101', 'sip:p2@127.0.0.1:6102'],
    },
  }),
);

function config(role: ProxyRole, over: Partial<ProxyConfig> = {}): ProxyConfig {
  return localProxyConfig({
    role,
    groups: GROUPS,
    timers: { t1: 500, t2: 4000, t4: 5000, timerC: 60_000, timerD: 32_000 },
    ...over,
  });
}

const CALL_ID = 'call-r@test';
const FROM_TAG = 'ft1';

/** A request as a UA sends it; `toTag` makes it in-dialog, `routes` are whole Route header lines. */
function request(opts: { method?: string; ruri?: string; toTag?: string; routes?: string[] } = {}): SipMessage {
  const { method = 'INVITE', ruri = 'sip:g4@127.0.0.1:5060', toTag, routes = [] } = opts;
  const text =
    `${method} ${ruri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:7000;branch=z9hG4bK-r1\r\n` +
    routes.map((r) => `Route: ${r}\r\n`).join('') +
    `From: <sip:caller@127.0.0.1:7000>;tag=${FROM_TAG}\r\n` +
    `To: <sip:g4@127.0.0.1:5060>${toTag ? `;tag=${toTag}` : ''}\r\n` +
    `Call-ID: ${CALL_ID}\r\n` +
    `CSeq: 1 ${method}\r\n` +
    `Max-Forwards: 70\r\n` +
    `Content-Length: 0\r\n\r\n`;
  return parseSip(Buffer.from(text, 'latin1'), 'full');
}

/**
 * `msg` with another Request-URI: the parser already answers a non-SIP one with 416, but the router
 * still has to decide safely when handed one.
 */
function altered(msg: SipMessage, over: Partial<Pick<SipMessage, 'requestUri'>>): SipMessage {
  const out = Object.create(msg) as SipMessage;
  for (const [k, v] of Object.entries(over)) Object.defineProperty(out, k, { value: v });
  return out;
}

const tokens = new RouteTokens('router-test-key-0123456789');
const ours = (host = '127.0.0.1', port = 5060): string => tokens.recordRoute(host, port, CALL_ID, FROM_TAG);

const ROUTE_NOT_OURS: RouteDecision = { kind: 'reject', status: 403, reason: 'Forbidden (Route not recorded by this proxy)', relay: true };

describe('isOurAddress', () => {
  const c = config('centralized', { domains: ['example.com', 'alias.test:5080'] });

  it('is the listen address exactly, or a served domain with or without its port', () => {
    expect(isOurAddress(c, '127.0.0.1', 5060)).toBe(true);
    expect(isOurAddress(c, '127.0.0.1', 5061)).toBe(false);
    expect(isOurAddress(c, '127.0.0.2', 5060)).toBe(false);
    expect(isOurAddress(c, 'example.com', 5060)).toBe(true);
    expect(isOurAddress(c, 'example.com', 1234)).toBe(true);
    expect(isOurAddress(c, 'alias.test', 5080)).toBe(true);
    expect(isOurAddress(c, 'alias.test', 5060)).toBe(false);
    expect(isOurAddress(c, 'other.test', 5060)).toBe(false);
  });
});

describe('route: requests with a Route set (in dialog)', () => {
  const c = config('centralized');

  it('an empty Route header is a 400 (not a relay attempt)', () => {
    expect(route(c, request({ method: 'BYE', toTag: 'tt1', routes: [''] }), tokens)).toEqual({ kind: 'reject', status: 400, reason: 'Bad Request (empty Route)' });
  });

  it('a Route outside a dialog is a preloaded route, refused even when it carries our token', () => {
    expect(route(c, request({ routes: [ours()] }), tokens)).toEqual({ kind: 'reject', status: 403, reason: 'Preload Route denied', relay: true });
    expect(route(c, request({ method: 'BYE', routes: ['<sip:127.0.0.9:5999;lr>'] }), tokens)).toEqual({ kind: 'reject', status: 403, reason: 'Preload Route denied', relay: true });
  });

  it('a top Route that is not a SIP URI, not our address, or lacks the dialog token: 403 relay', () => {
    expect(route(c, request({ method: 'BYE', toTag: 'tt1', routes: ['<tel:+123>'] }), tokens)).toEqual(ROUTE_NOT_OURS);
    expect(route(c, request({ method: 'BYE', toTag: 'tt1', routes: [ours('127.0.0.2')] }), tokens)).toEqual(ROUTE_NOT_OURS);
    expect(route(c, request({ method: 'BYE', toTag: 'tt1', routes: ['<sip:127.0.0.1:5060;lr>'] }), tokens)).toEqual(ROUTE_NOT_OURS);
    // A token issued for another Call-ID, or by another key.
    const other = tokens.recordRoute('127.0.0.1', 5060, 'another-call', FROM_TAG);
    expect(route(c, request({ method: 'BYE', toTag: 'tt1', routes: [other] }), tokens)).toEqual(ROUTE_NOT_OURS);
    expect(route(c, request({ method: 'BYE', toTag: 'tt1', routes: [ours()] }), new RouteTokens('another-key-0123456789'))).toEqual(ROUTE_NOT_OURS);
  });

  it('accepts the token from the callee too (tags swapped)', () => {
    const callee = tokens.recordRoute('127.0.0.1', 5060, CALL_ID, 'tt1');
    expect(route(c, request({ method: 'BYE', ruri: 'sip:m1@127.0.0.1:6001', toTag: 'tt1', routes: [callee] }), tokens)).toEqual({
      kind: 'forward',
      target: { host: '127.0.0.1', port: 6001 },
      removeTopRoute: true,
    });
  });

  it('a served domain in the top Route counts as our address', () => {
    const d = config('centralized', { domains: ['proxy.test'] });
    expect(route(d, request({ method: 'BYE', ruri: 'sip:m1@127.0.0.1:6001', toTag: 'tt1', routes: [ours('proxy.test', 5090)] }), tokens)).toEqual({
      kind: 'forward',
      target: { host: '127.0.0.1', port: 6001 },
      removeTopRoute: true,
    });
  });

  it('without a second Route the next hop is the Request-URI; INVITE forks once, others forward', () => {
    const ruri = 'sip:m2@127.0.0.1:6002';
    expect(route(c, request({ method: 'INVITE', ruri, toTag: 'tt1', routes: [ours()] }), tokens)).toEqual({
      kind: 'fork',
      targets: [{ target: { host: '127.0.0.1', port: 6002 }, requestUri: ruri }],
      recordRoute: false,
      removeTopRoute: true,
    });
    expect(route(c, request({ method: 'ACK', ruri, toTag: 'tt1', routes: [ours()] }), tokens)).toEqual({
      kind: 'forward',
      target: { host: '127.0.0.1', port: 6002 },
      removeTopRoute: true,
    });
  });

  it('the next hop is the second Route value, on the same line or on the next Route line', () => {
    const ruri = 'sip:m2@127.0.0.1:6002';
    const hop = { host: '127.0.0.7', port: 5999 };
    expect(route(c, request({ method: 'BYE', ruri, toTag: 'tt1', routes: [`${ours()}, <sip:127.0.0.7:5999;lr>`] }), tokens)).toEqual({
      kind: 'forward',
      target: hop,
      removeTopRoute: true,
    });
    expect(route(c, request({ method: 'BYE', ruri, toTag: 'tt1', routes: [ours(), '<sip:127.0.0.7:5999;lr>'] }), tokens)).toEqual({
      kind: 'forward',
      target: hop,
      removeTopRoute: true,
    });
    // The same line's second value wins over the next line.
    expect(route(c, request({ method: 'BYE', ruri, toTag: 'tt1', routes: [`${ours()}, <sip:127.0.0.7:5999;lr>`, '<sip:127.0.0.8:5998;lr>'] }), tokens)).toMatchObject({
      target: hop,
    });
    // The Request-URI of a forked in-dialog INVITE stays the remote target, not the Route's URI.
    expect(route(c, request({ method: 'INVITE', ruri, toTag: 'tt1', routes: [ours(), '<sip:127.0.0.7:5999;lr>'] }), tokens)).toEqual({
      kind: 'fork',
      targets: [{ target: hop, requestUri: ruri }],
      recordRoute: false,
      removeTopRoute: true,
    });
  });

  it('an IPv6 next hop loses its brackets', () => {
    expect(route(c, request({ method: 'BYE', ruri: 'sip:m1@[::1]:6001', toTag: 'tt1', routes: [ours()] }), tokens)).toEqual({
      kind: 'forward',
      target: { host: '::1', port: 6001 },
      removeTopRoute: true,
    });
    expect(route(c, request({ method: 'BYE', toTag: 'tt1', routes: [`${ours()}, <sip:[2001:db8::7]:5999;lr>`] }), tokens)).toMatchObject({
      target: { host: '2001:db8::7', port: 5999 },
    });
  });

  it('a next hop that is not a SIP URI is a 400', () => {
    expect(route(c, request({ method: 'BYE', toTag: 'tt1', routes: [`${ours()}, <tel:+123>`] }), tokens)).toEqual({
      kind: 'reject',
      status: 400,
      reason: 'Bad Route or Request-URI',
    });
    expect(route(c, altered(request({ method: 'BYE', toTag: 'tt1', routes: [ours()] }), { requestUri: 'tel:+123' }), tokens)).toEqual({
      kind: 'reject',
      status: 400,
      reason: 'Bad Route or Request-URI',
    });
  });
});

describe('route: requests without Route', () => {
  const c = config('centralized');

  it('a non-SIP Request-URI is 416', () => {
    expect(route(c, altered(request(), { requestUri: 'tel:+16505550123' }), tokens)).toEqual({ kind: 'reject', status: 416, reason: 'Unsupported URI Scheme' });
  });

  it('another domain is refused as a relay attempt', () => {
    const r: RouteDecision = { kind: 'reject', status: 403, reason: 'Forbidden (domain not served, no relaying)', relay: true };
    expect(route(c, request({ ruri: 'sip:g4@127.0.0.2:5060' }), tokens)).toEqual(r);
    expect(route(c, request({ ruri: 'sip:g4@127.0.0.1:5061' }), tokens)).toEqual(r);
    expect(route(config('centralized', { domains: ['example.com'] }), request({ ruri: 'sip:g4@example.com' }), tokens)).toMatchObject({ kind: 'fork' });
  });

  it('an in-dialog request without Route names no dialog we keep: 481', () => {
    expect(route(c, request({ method: 'BYE', toTag: 'tt1' }), tokens)).toEqual({ kind: 'reject', status: 481, reason: 'Call/Transaction Does Not Exist' });
  });

  it('no user part: OPTIONS is answered locally, anything else is 404', () => {
    expect(route(c, request({ method: 'OPTIONS', ruri: 'sip:127.0.0.1:5060' }), tokens)).toEqual({ kind: 'local' });
    expect(route(c, request({ method: 'INVITE', ruri: 'sip:127.0.0.1:5060' }), tokens)).toEqual({ kind: 'reject', status: 404, reason: 'Not Found (no user)' });
  });

  it('a group rings INVITEs only: 405 with Allow', () => {
    for (const role of ['centralized', 'head', 'fork-node'] as const) {
      expect(route(config(role), request({ method: 'OPTIONS' }), tokens)).toEqual({
        kind: 'reject',
        status: 405,
        reason: 'Method Not Allowed (groups ring INVITEs only)',
        headers: ['Allow: INVITE, ACK, CANCEL, BYE, OPTIONS'],
      });
    }
  });

  it('centralized: a group INVITE forks to every member, Record-Route as configured', () => {
    const targets = [6001, 6002, 6003, 6004].map((port, i) => ({ target: { host: '127.0.0.1', port }, requestUri: `sip:m${i + 1}@127.0.0.1:${port}` }));
    expect(route(c, request(), tokens)).toEqual({ kind: 'fork', targets, recordRoute: true, removeTopRoute: false });
    expect(route(config('centralized', { recordRoute: false }), request(), tokens)).toEqual({ kind: 'fork', targets, recordRoute: false, removeTopRoute: false });
  });

  it('head: one branch per fork node with a non-empty shard, to the group on that node', () => {
    const nodes = [
      { host: '127.0.0.1', port: 5071 },
      { host: '127.0.0.1', port: 5072 },
      { host: '127.0.0.1', port: 5073 },
    ];
    const head = config('head', { forkNodes: nodes.slice(0, 2) });
    expect(route(head, request(), tokens)).toEqual({
      kind: 'fork',
      targets: [
        { target: nodes[0], requestUri: 'sip:g4@127.0.0.1:5071' },
        { target: nodes[1], requestUri: 'sip:g4@127.0.0.1:5072' },
      ],
      recordRoute: true,
      removeTopRoute: false,
    });
    // Two members over three nodes: the third node's shard is empty and gets no branch.
    expect(route(config('head', { forkNodes: nodes, recordRoute: false }), request({ ruri: 'sip:g2@127.0.0.1:5060' }), tokens)).toEqual({
      kind: 'fork',
      targets: [
        { target: nodes[0], requestUri: 'sip:g2@127.0.0.1:5071' },
        { target: nodes[1], requestUri: 'sip:g2@127.0.0.1:5072' },
      ],
      recordRoute: false,
      removeTopRoute: false,
    });
  });

  it('fork node: rings its shard only; an empty shard is 480', () => {
    const node = (index: number, count: number, over: Partial<ProxyConfig> = {}) => config('fork-node', { shard: { index, count }, ...over });
    expect(route(node(2, 2), request(), tokens)).toEqual({
      kind: 'fork',
      targets: [
        { target: { host: '127.0.0.1', port: 6002 }, requestUri: 'sip:m2@127.0.0.1:6002' },
        { target: { host: '127.0.0.1', port: 6004 }, requestUri: 'sip:m4@127.0.0.1:6004' },
      ],
      recordRoute: true,
      removeTopRoute: false,
    });
    expect(route(node(1, 3, { recordRoute: false }), request({ ruri: 'sip:g2@127.0.0.1:5060' }), tokens)).toEqual({
      kind: 'fork',
      targets: [{ target: { host: '127.0.0.1', port: 6101 }, requestUri: 'sip:p1@127.0.0.1:6101' }],
      recordRoute: false,
      removeTopRoute: false,
    });
    expect(route(node(3, 3), request({ ruri: 'sip:g2@127.0.0.1:5060' }), tokens)).toEqual({ kind: 'reject', status: 480, reason: 'Temporarily Unavailable (empty shard)' });
    // A fork node without a shard rings the whole group.
    expect(route(config('fork-node'), request({ ruri: 'sip:g2@127.0.0.1:5060' }), tokens)).toMatchObject({ kind: 'fork', targets: [{ requestUri: 'sip:p1@127.0.0.1:6101' }, { requestUri: 'sip:p2@127.0.0.1:6102' }] });
  });

  it('a shard on a non-fork-node role is ignored', () => {
    expect(route(config('centralized', { shard: { index: 3, count: 3 } }), request({ ruri: 'sip:g2@127.0.0.1:5060' }), tokens)).toMatchObject({ kind: 'fork', targets: [{}, {}] });
  });

  it('a single member: INVITE forks to it, other methods are forwarded with its URI', () => {
    expect(route(c, request({ ruri: 'sip:m3@127.0.0.1:5060' }), tokens)).toEqual({
      kind: 'fork',
      targets: [{ target: { host: '127.0.0.1', port: 6003 }, requestUri: 'sip:m3@127.0.0.1:6003' }],
      recordRoute: true,
      removeTopRoute: false,
    });
    expect(route(config('centralized', { recordRoute: false }), request({ ruri: 'sip:m3@127.0.0.1:5060' }), tokens)).toMatchObject({ recordRoute: false });
    expect(route(c, request({ method: 'MESSAGE', ruri: 'sip:m3@127.0.0.1:5060' }), tokens)).toEqual({
      kind: 'forward',
      target: { host: '127.0.0.1', port: 6003 },
      removeTopRoute: false,
      requestUri: 'sip:m3@127.0.0.1:6003',
    });
  });

  it('an unknown user is 404', () => {
    expect(route(c, request({ ruri: 'sip:nobody@127.0.0.1:5060' }), tokens)).toEqual({ kind: 'reject', status: 404, reason: 'Not Found' });
  });
});
