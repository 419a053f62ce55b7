// SIP URIs as RFC 3261 sections 19.1 and 25 write them.
import { describe, expect, it } from 'vitest';
import { classifyUri, parseSipUri, unescapeUri, uriParam } from '../sip-uri.js';

describe('parseSipUri', () => {
  it('reads user, host, port and the defaults', () => {
    expect(parseSipUri('sip:alice@atlanta.com')).toMatchObject({ scheme: 'sip', user: 'alice', host: 'atlanta.com', port: 5060, portGiven: false, password: undefined });
    expect(parseSipUri('SIPS:Bob@Biloxi.COM:5061')).toMatchObject({ scheme: 'sips', user: 'Bob', host: 'biloxi.com', port: 5061, portGiven: true });
    expect(parseSipUri('sip:127.0.0.1:5060')).toMatchObject({ user: '', host: '127.0.0.1', port: 5060 });
  });

  it('keeps ; and ? that belong to the user part (user-unreserved), splitting at the first @', () => {
    // RFC 4475 semiuri and intmeth: the host is what follows '@', not what follows ';'.
    expect(parseSipUri('sip:user;par=u%40example.net@example.com')).toMatchObject({ user: 'user;par=u%40example.net', host: 'example.com', params: '', paramList: [] });
    const u = parseSipUri("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
    expect(u).toMatchObject({ user: "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", password: "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", host: 'example.com' });
  });

  it('reads a password', () => {
    expect(parseSipUri('sip:alice:secretword@atlanta.com;transport=tcp')).toMatchObject({ user: 'alice', password: 'secretword', host: 'atlanta.com' });
  });

  it('accepts escapes and refuses broken ones', () => {
    expect(parseSipUri('sip:sips%3Auser%40example.com@example.net')?.user).toBe('sips%3Auser%40example.com');
    expect(unescapeUri('sips%3Auser%40example.com')).toBe('sips:user@example.com');
    expect(unescapeUri('%75se%72')).toBe('user');
    expect(parseSipUri('sip:null-%00-null@example.com')?.user).toBe('null-%00-null');
    expect(parseSipUri('sip:a%4@example.com')).toBeUndefined();
    expect(parseSipUri('sip:a%zz@example.com')).toBeUndefined();
  });

  it('reads IPv6 references', () => {
    expect(parseSipUri('sip:[2001:db8::10]:5070')).toMatchObject({ host: '[2001:db8::10]', port: 5070 });
    expect(parseSipUri('sip:user@[::1];transport=udp')).toMatchObject({ user: 'user', host: '[::1]', port: 5060 });
    expect(parseSipUri('sip:[2001:db8::10')).toBeUndefined();
    expect(parseSipUri('sip:[zz::1]')).toBeUndefined();
  });

  it('reads parameters with and without values', () => {
    const u = parseSipUri('sip:example.com;lr;transport=tcp;%6C%72;n%61me=v%61lue%25%34%31')!;
    expect(u.params).toBe(';lr;transport=tcp;%6C%72;n%61me=v%61lue%25%34%31');
    expect(u.paramList).toEqual([
      { name: 'lr', value: undefined },
      { name: 'transport', value: 'tcp' },
      { name: '%6C%72', value: undefined },
      { name: 'n%61me', value: 'v%61lue%25%34%31' },
    ]);
    expect(uriParam(u, 'LR')).toBe('');
    expect(uriParam(u, 'transport')).toBe('tcp');
    expect(uriParam(u, 'maddr')).toBeUndefined();
    expect(parseSipUri('sip:example.com;')).toBeUndefined();
    expect(parseSipUri('sip:example.com;=x')).toBeUndefined();
  });

  it('reads headers after ?', () => {
    expect(parseSipUri('sip:user@example.com?Route=%3Csip:sip.example.com%3E')?.headers).toEqual([{ name: 'Route', value: '%3Csip:sip.example.com%3E' }]);
    expect(parseSipUri('sip:b@biloxi.com?subject=project%20x&priority=urgent')?.headers).toEqual([
      { name: 'subject', value: 'project%20x' },
      { name: 'priority', value: 'urgent' },
    ]);
    expect(parseSipUri('sip:b@biloxi.com?subject')).toBeUndefined();
    expect(parseSipUri('sip:b@biloxi.com?')).toBeUndefined();
  });

  it('refuses bad ports, spaces and non-SIP schemes', () => {
    expect(parseSipUri('sip:a@b:0')).toBeUndefined();
    expect(parseSipUri('sip:a@b:65536')).toBeUndefined();
    expect(parseSipUri('sip:a@b:x')).toBeUndefined();
    expect(parseSipUri('sip:user@example.com; lr')).toBeUndefined();
    expect(parseSipUri('tel:+1234')).toBeUndefined();
    expect(parseSipUri('<sip:user@example.com>')).toBeUndefined();
    expect(parseSipUri('sip:')).toBeUndefined();
  });
});

describe('classifyUri', () => {
  it('tells SIP, other schemes (416) and non-URIs (400) apart', () => {
    expect(classifyUri('sip:user@example.com')).toBe('sip');
    expect(classifyUri('nobodyKnowsThisScheme:totallyopaquecontent')).toBe('other');
    expect(classifyUri('soap.beep://192.0.2.103:3002')).toBe('other');
    expect(classifyUri('tel:+16505550123')).toBe('other');
    expect(classifyUri('<sip:user@example.com>')).toBe('invalid');
    expect(classifyUri('sip:user@exa mple.com')).toBe('invalid');
    expect(classifyUri('nonsense')).toBe('invalid');
  });
});
