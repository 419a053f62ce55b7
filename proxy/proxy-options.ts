// Turning command-line values into a ProxyConfig, with one-line errors that name the fix.
import { DEFAULT_MAX_TABLE_ENTRIES, DEFAULT_TIMERS, defaultParseFor, type HostPort, type ProxyConfig, type ProxyRole } from './config.js';
import { loadGroups } from './groups.js';
import type { ParseMode } from './sip-message.js';

export class OptionError extends Error {}

export function parseHostPort(value: string, what: string): HostPort {
  const m = /^([A-Za-z0-9.\-]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new OptionError(`${what} "${value}" is not host:port: use e.g. 127.0.0.1:5060`);
  return { host: m[1]!, port };
}

export interface ProxyCliOptions {
  listen: string;
  groups: string;
  parse?: string;
  metrics?: string;
  relay180?: string;
  recordRoute: boolean;
  domain?: string;
  t1?: string;
  t4?: string;
  timerC?: string;
  timerD?: string;
  maxTransactions?: string;
  maxTable?: string;
  retryAfter?: string;
  routeKey?: string;
}

function positive(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new OptionError(`${flag} "${value}" must be a positive number`);
  return n;
}

/** --route-key, or FORKBENCH_ROUTE_KEY so a harness can share it without putting it on a command line. */
function routeKeyOf(flag: string | undefined): string | undefined {
  const key = flag ?? process.env.FORKBENCH_ROUTE_KEY;
  if (key === undefined || key === '') return undefined;
  if (key.length < 16) throw new OptionError(`--route-key must be at least 16 characters (got ${key.length}): use e.g. --route-key $(openssl rand -hex 16)`);
  return key;
}

export function buildProxyConfig(
  role: ProxyRole,
  o: ProxyCliOptions & { mode?: string; forkNodes?: string; shard?: string },
): { config: ProxyConfig; metrics?: HostPort; parseDefaulted: boolean } {
  if (o.parse !== undefined && o.parse !== 'full' && o.parse !== 'lazy') throw new OptionError(`unknown parse mode "${o.parse}": use --parse full or --parse lazy`);
  if (o.relay180 !== undefined && o.relay180 !== 'all' && o.relay180 !== 'first') throw new OptionError(`unknown --relay-180 "${o.relay180}": use all or first`);
  const forkNodes = o.forkNodes ? o.forkNodes.split(',').filter(Boolean).map((s) => parseHostPort(s, 'fork node')) : [];
  if (role === 'head' && forkNodes.length === 0) throw new OptionError('distributed mode needs its fork nodes: add --fork-nodes 127.0.0.1:5071,127.0.0.1:5072');
  let shard: ProxyConfig['shard'];
  if (role === 'fork-node') {
    const m = /^(\d+)\/(\d+)$/.exec(o.shard ?? '');
    const index = m ? Number(m[1]) : 0;
    const count = m ? Number(m[2]) : 0;
    if (!m || index < 1 || count < 1 || index > count) throw new OptionError(`--shard "${o.shard ?? ''}" must be i/K with 1 <= i <= K, e.g. --shard 1/2`);
    shard = { index, count };
  }
  const parse: ParseMode = (o.parse as ParseMode | undefined) ?? defaultParseFor(role);
  const t1 = positive(o.t1, DEFAULT_TIMERS.t1, '--t1');
  const config: ProxyConfig = {
    role,
    listen: parseHostPort(o.listen, '--listen'),
    parse,
    groups: loadGroups(o.groups),
    forkNodes,
    shard,
    relay180: (o.relay180 as 'all' | 'first' | undefined) ?? (role === 'fork-node' ? 'first' : 'all'),
    // Fork nodes record-route too: SIPp (like many UAs) answers in-dialog requests to the address
    // the INVITE came from, so ACK/BYE must reach the member through the same fork node.
    recordRoute: o.recordRoute,
    domains: o.domain ? o.domain.split(',').filter(Boolean) : [],
    timers: {
      t1,
      t2: DEFAULT_TIMERS.t2,
      t4: positive(o.t4, DEFAULT_TIMERS.t4, '--t4'),
      timerC: positive(o.timerC, DEFAULT_TIMERS.timerC, '--timer-c'),
      timerD: positive(o.timerD, DEFAULT_TIMERS.timerD, '--timer-d'),
    },
    maxActiveTransactions: positive(o.maxTransactions, 20_000, '--max-transactions'),
    maxTableEntries: positive(o.maxTable, DEFAULT_MAX_TABLE_ENTRIES, '--max-table'),
    retryAfterS: positive(o.retryAfter, 5, '--retry-after'),
    routeKey: routeKeyOf(o.routeKey),
  };
  return { config, metrics: o.metrics ? parseHostPort(o.metrics, '--metrics') : undefined, parseDefaulted: o.parse === undefined };
}
