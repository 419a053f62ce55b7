// Where a request goes: the routing decision of each role, from the Request-URI and Route headers.
// Initial requests are only served for our own domain and only to the users and groups we serve
// (no open relay, no preloaded Route); in-dialog requests follow their Route set only when its top
// entry is a Record-Route we inserted for that very dialog (loose routing, RFC 3261 16.4, 16.12).
import type { HostPort, ProxyConfig } from './config.js';
import { shardOf } from './groups.js';
import type { BranchTarget } from './fork.js';
import type { SipMessage } from './sip-message.js';
import { parseSipUri, uriOf } from './sip-parser.js';
import type { RouteTokens } from './route-token.js';

export type RouteDecision =
  | { kind: 'reject'; status: number; reason: string; headers?: string[]; relay?: boolean }
  | { kind: 'fork'; targets: BranchTarget[]; recordRoute: boolean; removeTopRoute: boolean }
  | { kind: 'forward'; target: HostPort; removeTopRoute: boolean; requestUri?: string }
  | { kind: 'local' };

const ALLOW = 'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS';

export function isOurAddress(config: ProxyConfig, host: string, port: number): boolean {
  const { listen, domains } = config;
  if (host === listen.host && port === listen.port) return true;
  return domains.includes(host) || domains.includes(`${host}:${port}`);
}

function targetOf(uri: string): HostPort | undefined {
  const u = parseSipUri(uri);
  return u ? { host: u.host.replace(/^\[|\]$/g, ''), port: u.port } : undefined;
}

const PRELOAD_DENIED: RouteDecision = { kind: 'reject', status: 403, reason: 'Preload Route denied', relay: true };
const ROUTE_NOT_OURS: RouteDecision = { kind: 'reject', status: 403, reason: 'Forbidden (Route not recorded by this proxy)', relay: true };

/**
 * Where `msg` goes. `tokens` proves that a Route is one we record-routed for this dialog: without
 * that, a Route would let anyone relay anything anywhere through us (RFC 3261 26.1.x, "open relay").
 */
export function route(config: ProxyConfig, msg: SipMessage, tokens: RouteTokens): RouteDecision {
  const routeLine = msg.routeLines[0];
  if (routeLine) {
    if (routeLine.values.length === 0) return { kind: 'reject', status: 400, reason: 'Bad Request (empty Route)' };
    // A Route on a request outside a dialog is a preloaded route: refused (as Kamailio's default
    // config does), or anyone could send a call for any host through us.
    if (!msg.toTag) return PRELOAD_DENIED;
    const top = parseSipUri(uriOf(routeLine.values[0]!));
    if (!top || !isOurAddress(config, top.host, top.port) || !tokens.verify(top.params, msg.callId, msg.fromTag, msg.toTag)) return ROUTE_NOT_OURS;
    // Next hop: the next Route entry if any, else the Request-URI (the remote target of the dialog).
    const second = routeLine.values[1] ?? msg.routeLines[1]?.values[0];
    const next = targetOf(second !== undefined ? uriOf(second) : msg.requestUri);
    if (!next) return { kind: 'reject', status: 400, reason: 'Bad Route or Request-URI' };
    if (msg.method === 'INVITE') return { kind: 'fork', targets: [{ target: next, requestUri: msg.requestUri }], recordRoute: false, removeTopRoute: true };
    return { kind: 'forward', target: next, removeTopRoute: true };
  }

  const ruri = parseSipUri(msg.requestUri);
  if (!ruri) return { kind: 'reject', status: 416, reason: 'Unsupported URI Scheme' };
  if (!isOurAddress(config, ruri.host, ruri.port)) return { kind: 'reject', status: 403, reason: 'Forbidden (domain not served, no relaying)', relay: true };
  if (msg.toTag) return { kind: 'reject', status: 481, reason: 'Call/Transaction Does Not Exist' };
  if (!ruri.user) {
    if (msg.method === 'OPTIONS') return { kind: 'local' };
    return { kind: 'reject', status: 404, reason: 'Not Found (no user)' };
  }

  const members = config.groups.groups.get(ruri.user);
  if (members) {
    if (msg.method !== 'INVITE') return { kind: 'reject', status: 405, reason: 'Method Not Allowed (groups ring INVITEs only)', headers: [ALLOW] };
    if (config.role === 'head') {
      // One branch per fork node whose shard of this group is not empty.
      const count = config.forkNodes.length;
      const targets = config.forkNodes
        .map((node, i) => ({ node, size: shardOf(members, i + 1, count).length }))
        .filter((x) => x.size > 0)
        .map(({ node }) => ({ target: node, requestUri: `sip:${ruri.user}@${node.host}:${node.port}` }));
      return { kind: 'fork', targets, recordRoute: config.recordRoute, removeTopRoute: false };
    }
    const mine = config.role === 'fork-node' && config.shard ? shardOf(members, config.shard.index, config.shard.count) : members;
    if (mine.length === 0) return { kind: 'reject', status: 480, reason: 'Temporarily Unavailable (empty shard)' };
    return { kind: 'fork', targets: mine.map((m) => ({ target: m.target, requestUri: m.uri })), recordRoute: config.recordRoute, removeTopRoute: false };
  }

  const member = config.groups.users.get(ruri.user);
  if (!member) return { kind: 'reject', status: 404, reason: 'Not Found' };
  if (msg.method === 'INVITE') return { kind: 'fork', targets: [{ target: member.target, requestUri: member.uri }], recordRoute: config.recordRoute, removeTopRoute: false };
  return { kind: 'forward', target: member.target, removeTopRoute: false, requestUri: member.uri };
}
