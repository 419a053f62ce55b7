// The Record-Route token (proxy/route-token.ts) in detail: its exact value and text, and how
// verify() reads it from a Route URI's parameters, as text or parsed.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RouteTokens, TOKEN_PARAM } from '../route-token.js';
import { parseSipUri } from '../sip-uri.js';

const KEY = 'route-token-test-key-0123';
const tokens = new RouteTokens(KEY);

/** The token computed independently: HMAC-SHA256 over "callId NUL fromTag", base64url, 22 chars. */
const expected = (callId: string, tag: string, key = KEY): string =>
  createHmac('sha256', Buffer.from(key, 'utf8')).update(`${callId}\0${tag}`).digest('base64url').slice(0, 22);

describe('RouteTokens.token and recordRoute', () => {
  it('is the keyed HMAC of Call-ID and tag, 128 bits in 22 base64url characters', () => {
    expect(TOKEN_PARAM).toBe('ftok');
    expect(tokens.token('call-1', 'tagA')).toBe(expected('call-1', 'tagA'));
    expect(tokens.token('call-1', 'tagA')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // The separator keeps "a"+"bc" apart from "ab"+"c".
    expect(tokens.token('a', 'bc')).not.toBe(tokens.token('ab', 'c'));
    // A non-ASCII key is taken as UTF-8.
    expect(new RouteTokens('clé-partagée-0123456789').token('c', 't')).toBe(expected('c', 't', 'clé-partagée-0123456789'));
  });

  it('without a key (or an empty one) each instance draws its own random key', () => {
    const a = new RouteTokens();
    const b = new RouteTokens();
    expect(a.token('c', 't')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.token('c', 't')).toBe(a.token('c', 't'));
    expect(a.token('c', 't')).not.toBe(b.token('c', 't'));
    expect(new RouteTokens('').token('c', 't')).not.toBe(new RouteTokens('').token('c', 't'));
  });

  it('writes the Record-Route value as a loose-routing URI with the token', () => {
    expect(tokens.recordRoute('10.0.0.1', 5070, 'call-1', 'tagA')).toBe(`<sip:10.0.0.1:5070;lr;ftok=${expected('call-1', 'tagA')}>`);
  });
});

describe('RouteTokens.verify', () => {
  const tok = expected('call-1', 'tagA');

  it('reads the token from parameter text, at any position and in any case', () => {
    expect(tokens.verify(`;lr;ftok=${tok}`, 'call-1', 'tagA', '')).toBe(true);
    expect(tokens.verify(`;ftok=${tok}`, 'call-1', 'tagA', '')).toBe(true);
    expect(tokens.verify(`;ftok=${tok};lr`, 'call-1', 'tagA', '')).toBe(true);
    expect(tokens.verify(`;lr;FTok=${tok};transport=udp`, 'call-1', 'tagA', '')).toBe(true);
    // The name must be a whole parameter name.
    expect(tokens.verify(`;xftok=${tok}`, 'call-1', 'tagA', '')).toBe(false);
    expect(tokens.verify(`;lr;ftok${tok}`, 'call-1', 'tagA', '')).toBe(false);
    // A valid token under no ftok parameter at all counts for nothing, wherever it sits.
    expect(tokens.verify(`;lr;x${tok}`, 'call-1', 'tagA', '')).toBe(false);
    expect(tokens.verify(`;lr;x=${tok}`, 'call-1', 'tagA', '')).toBe(false);
  });

  it('reads the token from parsed parameters, the name in any case', () => {
    expect(tokens.verify([{ name: 'lr', value: undefined }, { name: 'ftok', value: tok }], 'call-1', 'tagA', '')).toBe(true);
    expect(tokens.verify([{ name: 'FTOK', value: tok }], 'call-1', 'tagA', '')).toBe(true);
    expect(tokens.verify([{ name: 'lr', value: tok }], 'call-1', 'tagA', '')).toBe(false);
    expect(tokens.verify([{ name: 'ftok', value: undefined }], 'call-1', 'tagA', '')).toBe(false);
    expect(tokens.verify([], 'call-1', 'tagA', '')).toBe(false);
    const uri = parseSipUri(tokens.recordRoute('127.0.0.1', 5060, 'call-1', 'tagA').slice(1, -1))!;
    expect(tokens.verify(uri.paramList, 'call-1', 'tagA', 'tagB')).toBe(true);
    expect(tokens.verify(uri.params, 'call-1', 'tagB', 'tagA')).toBe(true);
  });

  it('refuses a token of the wrong length or with bytes that are not base64url, without throwing', () => {
    expect(tokens.verify(';lr;ftok=', 'call-1', 'tagA', '')).toBe(false);
    expect(tokens.verify(`;ftok=${tok.slice(0, 21)}`, 'call-1', 'tagA', '')).toBe(false);
    expect(tokens.verify(`;ftok=${tok}x`, 'call-1', 'tagA', '')).toBe(false);
    expect(tokens.verify([{ name: 'ftok', value: `${tok}x` }], 'call-1', 'tagA', '')).toBe(false);
    // 22 characters but more than 22 bytes in UTF-8: compared as latin1, never a length mismatch.
    expect(tokens.verify([{ name: 'ftok', value: 'é'.repeat(22) }], 'call-1', 'tagA', '')).toBe(false);
    expect(tokens.verify([{ name: 'ftok', value: `${tok.slice(0, 21)}é` }], 'call-1', 'tagA', '')).toBe(false);
  });

  it('the text form stops the token at the first character outside base64url', () => {
    expect(tokens.verify(`;ftok=${tok}>`, 'call-1', 'tagA', '')).toBe(true);
    expect(tokens.verify(`;ftok=${tok}?x=y`, 'call-1', 'tagA', '')).toBe(true);
    expect(tokens.verify(`;ftok=${tok.slice(0, 11)};${tok.slice(11)}`, 'call-1', 'tagA', '')).toBe(false);
  });

  it('matches the From tag, or the To tag when there is one', () => {
    expect(tokens.verify(`;ftok=${tok}`, 'call-1', 'tagA', 'tagB')).toBe(true);
    expect(tokens.verify(`;ftok=${tok}`, 'call-1', 'tagB', 'tagA')).toBe(true);
    expect(tokens.verify(`;ftok=${tok}`, 'call-1', 'tagB', 'tagC')).toBe(false);
    expect(tokens.verify(`;ftok=${tok}`, 'call-2', 'tagA', 'tagA')).toBe(false);
    // An empty To tag is not a tag: a token issued for an empty tag does not match through it.
    const emptyTag = `;ftok=${expected('call-1', '')}`;
    expect(tokens.verify(emptyTag, 'call-1', 'tagB', '')).toBe(false);
    expect(tokens.verify(emptyTag, 'call-1', '', 'tagB')).toBe(true);
  });
});
