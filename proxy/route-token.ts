// Proof that a Route names a dialog this proxy record-routed, without keeping a dialog table and
// without trusting the sender: the Record-Route URI we insert carries `ftok=<keyed hash>` of the
// dialog's Call-ID and the caller's From tag. An in-dialog request is relayed along its Route set
// only when its top Route carries the token for its own Call-ID and either of its tags (the callee
// sends with the tags swapped). Anyone can copy a token, but only for the dialog it was issued
// for: it cannot send a new call, or another dialog's request, through us.
//
// The key is random per process unless `--route-key` gives one; the head and its fork nodes share
// it that way, so each may accept a Route recorded by the other.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { UriParam } from './sip-uri.js';

export const TOKEN_PARAM = 'ftok';
const TOKEN_CHARS = 22; // base64url of 16 bytes: 128 bits

export class RouteTokens {
  private readonly key: Buffer;

  constructor(key?: string) {
    // Stryker disable next-line StringLiteral: Buffer.from(string, '') decodes as UTF-8 too (the default encoding).
    this.key = key ? Buffer.from(key, 'utf8') : randomBytes(32);
  }

  token(callId: string, fromTag: string): string {
    return createHmac('sha256', this.key).update(callId).update('\0').update(fromTag).digest('base64url').slice(0, TOKEN_CHARS);
  }

  /** The Record-Route value for an initial INVITE. */
  recordRoute(host: string, port: number, callId: string, fromTag: string): string {
    return `<sip:${host}:${port};lr;${TOKEN_PARAM}=${this.token(callId, fromTag)}>`;
  }

  /** Do the Route URI's parameters (parsed, or the ";lr;ftok=..." text) carry the token for this dialog? */
  verify(uriParams: string | readonly UriParam[], callId: string, fromTag: string, toTag: string): boolean {
    const given = typeof uriParams === 'string' ? tokenIn(uriParams) : uriParams.find((p) => p.name.toLowerCase() === TOKEN_PARAM)?.value;
    if (!given || given.length !== TOKEN_CHARS) return false;
    return same(given, this.token(callId, fromTag)) || (toTag !== '' && same(given, this.token(callId, toTag)));
  }
}

function same(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

function tokenIn(params: string): string | undefined {
  const at = params.toLowerCase().indexOf(`;${TOKEN_PARAM}=`);
  if (at < 0) return undefined;
  const start = at + TOKEN_PARAM.length + 2;
  let end = start;
  while (end < params.length && /[A-Za-z0-9_-]/.test(params[end]!)) end++;
  return params.slice(start, end);
}
