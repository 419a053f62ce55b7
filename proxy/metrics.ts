// Proxy counters and their Prometheus text exposition (/metrics) and JSON (/metrics.json).
// Message counters are plain numbers in typed arrays indexed by method number or status code: no
// string is built and no map grows per message, and a method an attacker invents counts under one
// `other` label instead of adding a key. Drop and parse-error reasons are a bounded set.
import { createServer, type Server } from 'node:http';

/** Methods counted under their own label; anything else is `other`. */
export const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'UPDATE', 'INFO', 'MESSAGE', 'NOTIFY', 'SUBSCRIBE', 'REFER', 'PUBLISH', 'other'] as const;
const METHOD_INDEX = new Map<string, number>(METHODS.map((m, i) => [m, i]));
const OTHER = METHODS.length - 1;

export function methodIndex(method: string): number {
  return METHOD_INDEX.get(method) ?? OTHER;
}

/** Distinct reasons kept per reason map; past this, new reasons count under "other". */
const MAX_REASONS = 64;

export interface MetricsSnapshot {
  received: Record<string, number>;
  sent: Record<string, number>;
  parseErrors: Record<string, number>;
  dropped: Record<string, number>;
  callsForked: number;
  branchesCreated: number;
  overloadRejected: number;
  relayRejected: number;
  activeTransactions: number;
  transactionTable: number;
  forksActive: number;
  timersPending: number;
  cpuSeconds: number;
  rssBytes: number;
}

/** Requests by method and responses by status code, as numbers. */
export class MessageCounters {
  readonly byMethod = new Float64Array(METHODS.length);
  /** Index = status code (100-699); anything out of range is clamped into 0. */
  readonly byStatus = new Float64Array(700);

  request(method: string): void {
    this.byMethod[methodIndex(method)]!++;
  }
  response(status: number): void {
    this.byStatus[status >= 100 && status < 700 ? status : 0]!++;
  }
  /** Keys as before: "INVITE" for requests, "180" for responses; zero counts left out. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    this.byMethod.forEach((v, i) => {
      if (v) out[METHODS[i]!] = v;
    });
    this.byStatus.forEach((v, s) => {
      if (v) out[String(s)] = v;
    });
    return out;
  }
  total(): number {
    let n = 0;
    for (const v of this.byMethod) n += v;
    for (const v of this.byStatus) n += v;
    return n;
  }
}

export class ProxyMetrics {
  readonly received = new MessageCounters();
  readonly sent = new MessageCounters();
  /** Parse errors by the parser's reason (a fixed set of messages, bounded anyway). */
  readonly parseErrors = new Map<string, number>();
  /** Messages dropped without an answer, by reason (fixed strings in the proxy's code). */
  readonly dropped = new Map<string, number>();
  callsForked = 0;
  branchesCreated = 0;
  overloadRejected = 0;
  /** Requests refused with 403 because they would make the proxy relay for someone it does not serve. */
  relayRejected = 0;

  /** Filled in by the proxy core: live table sizes. */
  gauges: () => { activeTransactions: number; transactionTable: number; forksActive: number; timersPending: number } = () => ({
    activeTransactions: 0,
    transactionTable: 0,
    forksActive: 0,
    timersPending: 0,
  });

  static bump(map: Map<string, number>, key: string): void {
    const v = map.get(key);
    if (v !== undefined) map.set(key, v + 1);
    else if (map.size < MAX_REASONS) map.set(key, 1);
    else map.set('other', (map.get('other') ?? 0) + 1);
  }

  snapshot(): MetricsSnapshot {
    const g = this.gauges();
    const cpu = process.cpuUsage();
    return {
      received: this.received.toRecord(),
      sent: this.sent.toRecord(),
      parseErrors: Object.fromEntries(this.parseErrors),
      dropped: Object.fromEntries(this.dropped),
      callsForked: this.callsForked,
      branchesCreated: this.branchesCreated,
      overloadRejected: this.overloadRejected,
      relayRejected: this.relayRejected,
      ...g,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBytes: process.memoryUsage.rss(),
    };
  }

  prometheus(): string {
    const lines: string[] = [];
    const g = this.gauges();
    const family = (name: string, help: string, type: 'counter' | 'gauge'): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    const messages = (name: string, c: MessageCounters): void => {
      c.byMethod.forEach((v, i) => {
        if (v) lines.push(`${name}{kind="request",method="${METHODS[i]}"} ${v}`);
      });
      c.byStatus.forEach((v, s) => {
        if (v) lines.push(`${name}{kind="response",status="${s}"} ${v}`);
      });
    };
    const reasons = (name: string, map: Map<string, number>): void => {
      // Reasons are our own strings, but escape them as the exposition format asks anyway.
      for (const [k, v] of map) lines.push(`${name}{reason="${k.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"} ${v}`);
    };
    family('sip_messages_received_total', 'SIP messages received, by request method (unknown methods as "other") or response status.', 'counter');
    messages('sip_messages_received_total', this.received);
    family('sip_messages_sent_total', 'SIP messages sent (retransmissions included), by request method or response status.', 'counter');
    messages('sip_messages_sent_total', this.sent);
    family('sip_parse_errors_total', 'Datagrams that failed to parse, by reason.', 'counter');
    reasons('sip_parse_errors_total', this.parseErrors);
    family('sip_dropped_total', 'Messages dropped without an answer, by reason.', 'counter');
    reasons('sip_dropped_total', this.dropped);
    family('sip_calls_forked_total', 'INVITEs forked to one or more branches.', 'counter');
    lines.push(`sip_calls_forked_total ${this.callsForked}`);
    family('sip_branches_created_total', 'Client INVITE transactions created (one per branch).', 'counter');
    lines.push(`sip_branches_created_total ${this.branchesCreated}`);
    family('sip_overload_rejected_total', 'Requests answered 503 because of overload.', 'counter');
    lines.push(`sip_overload_rejected_total ${this.overloadRejected}`);
    family('sip_relay_rejected_total', 'Requests refused with 403 because relaying them would make this an open relay.', 'counter');
    lines.push(`sip_relay_rejected_total ${this.relayRejected}`);
    family('sip_transactions_active', 'Transactions in progress (not yet completed).', 'gauge');
    lines.push(`sip_transactions_active ${g.activeTransactions}`);
    family('sip_transactions_table', 'Transactions held in the tables, completed ones waiting on timers included.', 'gauge');
    lines.push(`sip_transactions_table ${g.transactionTable}`);
    family('sip_forks_active', 'Forked calls whose branches are not all finished.', 'gauge');
    lines.push(`sip_forks_active ${g.forksActive}`);
    family('sip_timers_pending', 'Transaction timers scheduled and not yet fired.', 'gauge');
    lines.push(`sip_timers_pending ${g.timersPending}`);
    const cpu = process.cpuUsage();
    family('process_cpu_seconds_total', 'User and system CPU time of this process.', 'counter');
    lines.push(`process_cpu_seconds_total ${((cpu.user + cpu.system) / 1e6).toFixed(6)}`);
    family('process_resident_memory_bytes', 'Resident set size.', 'gauge');
    lines.push(`process_resident_memory_bytes ${process.memoryUsage.rss()}`);
    return lines.join('\n') + '\n';
  }
}

export function serveMetrics(metrics: ProxyMetrics, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.prometheus());
    } else if (req.url === '/metrics.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      // heapUsedBytes: V8's live heap, for forkbench soak (RSS alone hides whether the heap grows).
      res.end(JSON.stringify({ ...metrics.snapshot(), heapUsedBytes: process.memoryUsage().heapUsed }));
    } else {
      res.writeHead(404).end('try /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
