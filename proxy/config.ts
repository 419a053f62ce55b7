// Proxy configuration: the switches under study (role, parse mode, 180 relay policy) and the RFC
// 3261 timers. Timer values are configurable so tests can shorten the long "wait" timers
// (D, I, J, K) and see the transaction tables drain in seconds instead of half a minute.
import type { ParseMode } from './sip-message.js';
import type { GroupDirectory } from './groups.js';

export type ProxyRole = 'centralized' | 'head' | 'fork-node';

export interface HostPort {
  host: string;
  port: number;
}

export interface SipTimers {
  /** RTT estimate (RFC 3261 T1), 500 ms. A, B, E, F, G, H, J derive from it. */
  t1: number;
  /** Cap of the retransmit interval for non-INVITE requests and INVITE responses, 4 s. */
  t2: number;
  /** Maximum time a message stays in the network, 5 s (Timers I and K for UDP). */
  t4: number;
  /** Timer C: how long a forked INVITE may ring before the proxy cancels it (> 3 min in RFC 3261). */
  timerC: number;
  /** Timer D: how long a completed INVITE client transaction absorbs response retransmissions (>= 32 s). */
  timerD: number;
}

export const DEFAULT_TIMERS: SipTimers = { t1: 500, t2: 4000, t4: 5000, timerC: 180_000, timerD: 32_000 };

export interface ProxyConfig {
  role: ProxyRole;
  listen: HostPort;
  parse: ParseMode;
  groups: GroupDirectory;
  /** Head only: the fork nodes, in shard order (node i serves shard i/K). */
  forkNodes: HostPort[];
  /** Fork node only: which shard of every group this node rings. */
  shard?: { index: number; count: number };
  /** Relay every 18x upstream, or only the first of each call (fork nodes default to first). */
  relay180: 'all' | 'first';
  /** Add Record-Route to initial INVITEs so ACK/BYE come back through this proxy. */
  recordRoute: boolean;
  /** Extra host[:port] names this proxy serves as its own domain besides its listen address. */
  domains: string[];
  timers: SipTimers;
  /** Past this many transactions in progress, new INVITEs get 503 with Retry-After. */
  maxActiveTransactions: number;
  /**
   * Past this many entries in the transaction table, lingering ones included (Timers D, J, K, L, M
   * keep finished transactions for up to 32 s), new requests get 503 too: a bound on memory, not on
   * work. Lingering entries grow with N x rate (about 66,000 at N=16 and 100 calls/s), so the bound
   * sits well above what honest load needs. Default DEFAULT_MAX_TABLE_ENTRIES.
   */
  maxTableEntries?: number;
  retryAfterS: number;
  /**
   * Key of the token in our Record-Route URIs (proxy/route-token.ts). Random per process when
   * absent; give the head and its fork nodes the same one so each accepts the other's Route.
   */
  routeKey?: string;
}

/**
 * A centralized proxy on 127.0.0.1:5060 with RFC 3261 timers, for tests, the fuzz and the benches:
 * the fields that matter to each caller come as overrides, groups always (the CLI builds its own
 * config from flags, proxy-options.ts).
 */
export function localProxyConfig(over: Partial<ProxyConfig> & Pick<ProxyConfig, 'groups'>): ProxyConfig {
  return {
    role: 'centralized',
    listen: { host: '127.0.0.1', port: 5060 },
    parse: 'full',
    forkNodes: [],
    relay180: 'all',
    recordRoute: true,
    domains: [],
    timers: DEFAULT_TIMERS,
    maxActiveTransactions: 1000,
    retryAfterS: 5,
    ...over,
  };
}

export function defaultParseFor(role: ProxyRole): ParseMode {
  return role === 'head' ? 'lazy' : 'full';
}

/** Default of `--max-table`: room for N=64 at 200 calls/s of lingering transactions. */
export const DEFAULT_MAX_TABLE_ENTRIES = 1_000_000;
