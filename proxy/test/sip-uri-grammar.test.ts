// The SIP URI grammar of proxy/sip-uri.ts character by character (RFC 3261 section 25.1): each
// character class, each boundary (ports, IPv6, escapes, separators) and the helpers.
import { describe, expect, it } from 'vitest';
import { classifyUri, parseSipUri, schemeLength, unescapeUri, uriParam } from '../sip-uri.js';

const ok = (text: string): boolean => parseSipUri(text) !== undefined;

describe('character classes', () => {
  it('user: alphanumerics at both ends of each range, marks, user-unreserved and escapes', () => {
    expect(parseSipUri('sip:09AZaz@h')?.user).toBe('09AZaz');
    for (const ch of "-_.!~*'()&=+$,;?/") expect(parseSipUri(`sip:a${ch}b@h`)?.user).toBe(`a${ch}b`);
    for (const ch of '"<>[]{}|\\^` #:') expect(ok(`sip:a${ch}b@h`)).toBe(ch === ':'); // ':' starts the password
    expect(ok('sip:a\u00e9@h')).toBe(false);
    expect(ok('sip:a\u0100@h')).toBe(false);
    expect(ok('sip:@h')).toBe(false);
  });

  it('escapes: two hex digits of either case, nothing shorter', () => {
    for (const e of ['%09', '%af', '%AF', '%fF', '%b0', '%C9', '%de', '%E0']) expect(parseSipUri(`sip:a${e}@h`)?.user).toBe(`a${e}`);
    for (const e of ['%g0', '%0g', '%G0', '%0G', '%4', '%', '%/0', '%:0']) expect(ok(`sip:a${e}@h`)).toBe(false);
    expect(ok('sip:h;a=%4')).toBe(false);
    expect(ok('sip:h;a=%41')).toBe(true);
  });

  it('password: unreserved and & = + $ , but not ; ? /', () => {
    for (const ch of "&=+$,-_.!~*'()") expect(parseSipUri(`sip:u:p${ch}w@h`)?.password).toBe(`p${ch}w`);
    for (const ch of ';?/[]') expect(ok(`sip:u:p${ch}w@h`)).toBe(false);
    expect(parseSipUri('sip:u:@h')).toMatchObject({ user: 'u', password: '' });
    expect(parseSipUri('sip:u:p%41@h')?.password).toBe('p%41');
    expect(ok('sip::p@h')).toBe(false);
  });

  it('parameters: unreserved and [ ] / : & + $, not , " < > space, one = at most', () => {
    for (const ch of "[]/:&+$-_.!~*'()") {
      expect(parseSipUri(`sip:h;a${ch}b=c${ch}d`)?.paramList).toEqual([{ name: `a${ch}b`, value: `c${ch}d` }]);
    }
    for (const ch of ',"<> ') expect(ok(`sip:h;a${ch}b`)).toBe(false);
    for (const ch of ',"<> ') expect(ok(`sip:h;a=b${ch}c`)).toBe(false);
    // An '@' after ';' ends a user part instead (user-unreserved allows ';').
    expect(parseSipUri('sip:h;a@b')).toMatchObject({ user: 'h;a', host: 'b', paramList: [] });
    expect(ok('sip:h;a=b=c')).toBe(false);
  });

  it('headers: unreserved and [ ] / ? : + $, not & ; , inside a name or value', () => {
    for (const ch of "[]/?:+$-_.!~*'()") {
      expect(parseSipUri(`sip:h?a${ch}b=c${ch}d`)?.headers).toEqual([{ name: `a${ch}b`, value: `c${ch}d` }]);
    }
    for (const ch of ';,"<> ') expect(ok(`sip:h?a=b${ch}c`)).toBe(false);
    expect(ok('sip:h?a=')).toBe(true);
    expect(parseSipUri('sip:h?a=')?.headers).toEqual([{ name: 'a', value: '' }]);
  });
});

describe('host and port', () => {
  it('host names: alphanumerics, - and .; nothing else, never empty', () => {
    expect(parseSipUri('sip:A-b.c9.Z0')?.host).toBe('a-b.c9.z0');
    for (const ch of '_!~*&=+$,/%') expect(ok(`sip:a${ch}b`)).toBe(false);
    expect(ok('sip:a\u00e9b')).toBe(false);
    expect(ok('sip:;lr')).toBe(false);
    expect(ok('sip::5060')).toBe(false);
    expect(ok('sip:?a=b')).toBe(false);
    expect(ok('sip:u@')).toBe(false);
  });

  it('the host ends at : ; or ?', () => {
    expect(parseSipUri('sip:h?a=b')).toMatchObject({ host: 'h', port: 5060, portGiven: false, params: '?a=b', paramList: [], headers: [{ name: 'a', value: 'b' }] });
    expect(parseSipUri('sip:h;lr')).toMatchObject({ host: 'h', params: ';lr', paramList: [{ name: 'lr', value: undefined }], headers: [] });
    expect(parseSipUri('sip:h:5070;lr?a=b')).toMatchObject({ host: 'h', port: 5070, params: ';lr?a=b', paramList: [{ name: 'lr', value: undefined }], headers: [{ name: 'a', value: 'b' }] });
  });

  it('IPv6 references: at least two colons, hex digits and dots, four characters at least', () => {
    expect(parseSipUri('sip:[::]')).toMatchObject({ host: '[::]', port: 5060 });
    expect(parseSipUri('sip:[::1]:5070')).toMatchObject({ host: '[::1]', port: 5070 });
    expect(parseSipUri('sip:[::FFFF:192.0.2.1]')?.host).toBe('[::ffff:192.0.2.1]');
    expect(parseSipUri('sip:[a:b:c:d:e:f:0:9]')?.host).toBe('[a:b:c:d:e:f:0:9]');
    for (const h of ['[:]', '[]', '[1:2]', '[::g]', '[::1', '[::_]', '[::\u00e9]', '[::\u0101]']) expect(ok(`sip:${h}`)).toBe(false);
    expect(ok('sip:u@[1:2]')).toBe(false);
    expect(ok('sip:[::1]x')).toBe(false);
  });

  it('ports 1 to 65535, digits only, default 5060', () => {
    expect(parseSipUri('sip:h:1')).toMatchObject({ port: 1, portGiven: true });
    expect(parseSipUri('sip:h:9')?.port).toBe(9);
    expect(parseSipUri('sip:h:65535')?.port).toBe(65535);
    expect(parseSipUri('sip:h:05070')?.port).toBe(5070);
    expect(parseSipUri('sip:h:1234567890')).toBeUndefined();
    for (const p of ['', '0', '00', '65536', '99999', '/1', '1:', '5x', '-1']) expect(ok(`sip:h:${p}`)).toBe(false);
    // After the port (or an IPv6 reference) only ';' or '?' may follow.
    for (const t of ['sip:h:5060x;lr', 'sip:h:50ab', 'sip:[::1]xlr', 'sip:[::1]:5060lr=1']) expect(ok(t)).toBe(false);
    expect(parseSipUri('sip:u@h')).toMatchObject({ port: 5060, portGiven: false, password: undefined });
    expect(parseSipUri('sip:u@h:5070')).toMatchObject({ user: 'u', password: undefined, host: 'h', port: 5070 });
  });
});

describe('parameters and headers', () => {
  it('refuses empty parameters, empty names and trailing separators', () => {
    for (const t of ['sip:h;', 'sip:h;;lr', 'sip:h;lr;', 'sip:h;lr;;a', 'sip:h;=1', 'sip:h;lr;?a=b', 'sip:h;?a=b', 'sip:h?a=b&', 'sip:h?&a=b', 'sip:h?=b', 'sip:h?a=b&&c=d', 'sip:h?a', 'sip:h?a=1&b', 'sip:h;lr?a=1&b&c=2']) {
      expect(ok(t)).toBe(false);
    }
  });

  it('reads several parameters and headers in order, values where given', () => {
    expect(parseSipUri('sip:h;a;b=2;c=?x=1&y=2&z=')).toMatchObject({
      paramList: [
        { name: 'a', value: undefined },
        { name: 'b', value: '2' },
        { name: 'c', value: '' },
      ],
      headers: [
        { name: 'x', value: '1' },
        { name: 'y', value: '2' },
        { name: 'z', value: '' },
      ],
    });
    expect(parseSipUri('sip:h;lr;b=2')?.paramList).toEqual([
      { name: 'lr', value: undefined },
      { name: 'b', value: '2' },
    ]);
  });

  it('uriParam: case-insensitive names, "" for no value', () => {
    const u = parseSipUri('sip:h;LR;Transport=TCP;x=')!;
    expect(uriParam(u, 'lr')).toBe('');
    expect(uriParam(u, 'TRANSPORT')).toBe('TCP');
    expect(uriParam(u, 'x')).toBe('');
    expect(uriParam(u, 'maddr')).toBeUndefined();
  });
});

describe('schemes', () => {
  it('schemeLength: a letter first, then letters, digits, + - . up to the colon', () => {
    for (const s of ['a', 'z', 'A', 'Z', 'a1+-.', 'z09AZaz']) expect(schemeLength(`${s}:x`)).toBe(s.length);
    for (const t of ['0a:x', '@a:x', '[a:x', '`a:x', '{a:x', '+a:x', ':x', '', 'abc', 'a_b:x', 'a b:x', 'a\u00e9:x', 'a\u0101:x', 'a/:x']) {
      expect(schemeLength(t)).toBe(0);
    }
  });

  it('parseSipUri: sip and sips only, in any case', () => {
    expect(parseSipUri('SiP:h')?.scheme).toBe('sip');
    expect(parseSipUri('sIpS:h')?.scheme).toBe('sips');
    for (const t of ['sipx:h', 'sup:h', 'sipz:h', 'si:h', 'sipss:h', 'tel:h', 'x:h']) expect(ok(t)).toBe(false);
  });

  it('returns the same read-only object for the same text asked twice in a row', () => {
    const a = parseSipUri('sip:cached@h');
    expect(parseSipUri('sip:cached@h')).toBe(a);
    expect(parseSipUri('sip:other@h')?.user).toBe('other');
    expect(parseSipUri('sip:bad@')).toBeUndefined();
    expect(parseSipUri('sip:bad@')).toBeUndefined();
    expect(parseSipUri('sip:cached@h')?.user).toBe('cached');
  });
});

describe('classifyUri', () => {
  it('a scheme with an opaque rest of printable characters is another URI', () => {
    for (const t of ['x:y', 'tel:!', 'tel:~', 'mailto:a@b.c', 'urn:a:b?c=d#e', "h:[]{}|\\^`'"]) expect(classifyUri(t)).toBe('other');
  });

  it('a bad SIP URI, an empty rest, or a rest with spaces, controls, DEL, <, > or " is not a URI', () => {
    for (const t of ['sip:', 'sips:', 'SIP:a@', 'sips:a b', 'sips:a@', 'SIPS:[::1', 'sips:h:0', 'tel:', 'x:', ':x', '1x:y']) expect(classifyUri(t)).toBe('invalid');
    for (const ch of [' ', '\t', '\x00', '\x7f', '\x80', '<', '>', '"', '\u0100']) expect(classifyUri(`tel:1${ch}2`)).toBe('invalid');
    expect(classifyUri('sip:h')).toBe('sip');
    expect(classifyUri('SIPS:u@h:5061')).toBe('sip');
  });
});

describe('unescapeUri', () => {
  it('decodes %HH of either case and keeps everything else', () => {
    expect(unescapeUri('%41%4a%4A%7e')).toBe('AJJ~');
    expect(unescapeUri('a%20b')).toBe('a b');
    expect(unescapeUri('%41')).toBe('A');
    expect(unescapeUri('x%41')).toBe('xA');
    expect(unescapeUri('plain')).toBe('plain');
    expect(unescapeUri('%4')).toBe('%4');
    expect(unescapeUri('a%4')).toBe('a%4');
    expect(unescapeUri('%')).toBe('%');
    expect(unescapeUri('%zz%4g%g4')).toBe('%zz%4g%g4');
    expect(unescapeUri('%%41')).toBe('%A');
    expect(unescapeUri('100%')).toBe('100%');
  });
});
