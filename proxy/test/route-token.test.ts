// The Record-Route token that proves a Route names a dialog we record-routed (no open relay).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProxyConfig, OptionError } from '../proxy-options.js';
import { RouteTokens } from '../route-token.js';
import { route } from '../router.js';
import { parseSip } from '../sip-parser.js';
import { invite } from './sip-fixtures.js';
import { setup } from './proxy-rig.js';

const params = (rr: string): string => rr.slice(rr.indexOf(';'), rr.indexOf('>'));

describe('route tokens', () => {
  const tokens = new RouteTokens();
  const rr = tokens.recordRoute('127.0.0.1', 5060, 'call-1', 'tagA');

  it('accepts the dialog in both directions (caller or callee sending)', () => {
    expect(rr).toMatch(/^<sip:127\.0\.0\.1:5060;lr;ftok=[A-Za-z0-9_-]{22}>$/);
    expect(tokens.verify(params(rr), 'call-1', 'tagA', 'tagB')).toBe(true);
    expect(tokens.verify(params(rr), 'call-1', 'tagB', 'tagA')).toBe(true);
  });

  it('refuses another dialog, a missing, a truncated or a tampered token, and another key', () => {
    expect(tokens.verify(params(rr), 'call-2', 'tagA', 'tagB')).toBe(false);
    expect(tokens.verify(params(rr), 'call-1', 'tagC', 'tagB')).toBe(false);
    expect(tokens.verify(params(rr), 'call-1', 'tagC', '')).toBe(false);
    expect(tokens.verify(';lr', 'call-1', 'tagA', '')).toBe(false);
    expect(tokens.verify(params(rr).slice(0, -1), 'call-1', 'tagA', '')).toBe(false);
    const t = params(rr);
    const flipped = t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A');
    expect(tokens.verify(flipped, 'call-1', 'tagA', '')).toBe(false);
    expect(new RouteTokens().verify(params(rr), 'call-1', 'tagA', '')).toBe(false);
  });

  it('a shared key (--route-key) makes peers accept each other’s tokens', () => {
    const head = new RouteTokens('0123456789abcdef-shared');
    const node = new RouteTokens('0123456789abcdef-shared');
    expect(node.verify(params(head.recordRoute('h', 1, 'c', 'f')), 'c', 'f', 't')).toBe(true);
  });
});

describe('router: preloaded and foreign Routes', () => {
  const p = setup();
  const decide = (text: string) => route(p.config, parseSip(Buffer.from(text, 'latin1'), 'lazy'), p.core.tokens);

  it('a Route on a request without a To tag is a preloaded route: 403, counted as a relay attempt', () => {
    const own = p.core.tokens.recordRoute('127.0.0.1', 5060, 'call-1@test', 'ft1'); // even a valid one
    expect(decide(invite({ extra: `Route: ${own}\r\n` }))).toMatchObject({ kind: 'reject', status: 403, reason: 'Preload Route denied', relay: true });
  });

  it('in dialog: our Route with the right token goes to the next hop; without it 403', () => {
    const own = p.core.tokens.recordRoute('127.0.0.1', 5060, 'call-1@test', 'ft1');
    const inDialog = (r: string): string => invite({ extra: `Route: ${r}\r\n` }).replace('To: <sip:g4@127.0.0.1:5060>', 'To: <sip:g4@127.0.0.1:5060>;tag=x');
    expect(decide(inDialog(own))).toMatchObject({ kind: 'fork', targets: [{ target: { host: '127.0.0.1', port: 5060 } }], removeTopRoute: true });
    expect(decide(inDialog(`${own}, <sip:127.0.0.7:5999;lr>`))).toMatchObject({ kind: 'fork', targets: [{ target: { host: '127.0.0.7', port: 5999 } }] });
    expect(decide(inDialog('<sip:127.0.0.1:5060;lr>'))).toMatchObject({ kind: 'reject', status: 403, relay: true });
    expect(decide(inDialog(own.replace('5060', '5061')))).toMatchObject({ kind: 'reject', status: 403, relay: true });
  });
});

describe('--route-key', () => {
  const groups = join(mkdtempSync(join(tmpdir(), 'fb-rk-')), 'groups.json');
  writeFileSync(groups, JSON.stringify({ groups: { g1: ['sip:m1@127.0.0.1:6001'] } }));
  const build = (routeKey?: string) => buildProxyConfig('centralized', { listen: '127.0.0.1:5060', groups, recordRoute: true, routeKey });

  it('is passed to the config, and a short one names the fix', () => {
    expect(build('0123456789abcdef').config.routeKey).toBe('0123456789abcdef');
    expect(build().config.routeKey).toBeUndefined();
    expect(() => build('short')).toThrow(OptionError);
    expect(() => build('short')).toThrow(/at least 16 characters.*--route-key/);
  });
});
