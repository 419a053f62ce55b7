// Proxy counters and their Prometheus text exposition (/metrics). Counters are plain numbers in
// Maps keyed by label values: cheap enough to bump on every message of the hot path.
import { createServer, type Server } from 'node:http';

export interface MetricsSnapshot {
  received: Record<string, number>;
  sent: Record<string, number>;
  parseErrors: Record<string, number>;
  dropped: Record<string, number>;
  callsForked: number;
  branchesCreated: number;
  activeTransactions: number;
  transactionTable: number;
  forksActive: number;
  timersPending: number;
}

export class ProxyMetrics {
  /** Keys: "INVITE" for requests, "180" for responses. */
  readonly received = new Map<string, number>();
  readonly sent = new Map<string, number>();
  readonly parseErrors = new Map<string, number>();
  readonly dropped = new Map<string, number>();
  callsForked = 0;
  branchesCreated = 0;
  overloadRejected = 0;

  /** Filled in by the proxy core: live table sizes. */
  gauges: () => { activeTransactions: number; transactionTable: number; forksActive: number; timersPending: number } = () => ({
    activeTransactions: 0,
    transactionTable: 0,
    forksActive: 0,
    timersPending: 0,
  });

  static bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  snapshot(): MetricsSnapshot {
    const g = this.gauges();
    return {
      received: Object.fromEntries(this.received),
      sent: Object.fromEntries(this.sent),
      parseErrors: Object.fromEntries(this.parseErrors),
      dropped: Object.fromEntries(this.dropped),
      callsForked: this.callsForked,
      branchesCreated: this.branchesCreated,
      ...g,
    };
  }

  prometheus(): string {
    const lines: string[] = [];
    const g = this.gauges();
    const family = (name: string, help: string, type: 'counter' | 'gauge'): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    const labelled = (name: string, map: Map<string, number>, label: (k: string) => string): void => {
      for (const [k, v] of map) lines.push(`${name}{${label(k)}} ${v}`);
    };
    const byKind = (k: string): string => (/^\d{3}$/.test(k) ? `kind="response",status="${k}"` : `kind="request",method="${k}"`);
    family('sip_messages_received_total', 'SIP messages received, by request method or response status.', 'counter');
    labelled('sip_messages_received_total', this.received, byKind);
    family('sip_messages_sent_total', 'SIP messages sent (retransmissions included), by request method or response status.', 'counter');
    labelled('sip_messages_sent_total', this.sent, byKind);
    family('sip_parse_errors_total', 'Datagrams that failed to parse, by reason.', 'counter');
    labelled('sip_parse_errors_total', this.parseErrors, (k) => `reason="${k}"`);
    family('sip_dropped_total', 'Messages dropped without an answer, by reason.', 'counter');
    labelled('sip_dropped_total', this.dropped, (k) => `reason="${k}"`);
    family('sip_calls_forked_total', 'INVITEs forked to one or more branches.', 'counter');
    lines.push(`sip_calls_forked_total ${this.callsForked}`);
    family('sip_branches_created_total', 'Client INVITE transactions created (one per branch).', 'counter');
    lines.push(`sip_branches_created_total ${this.branchesCreated}`);
    family('sip_overload_rejected_total', 'INVITEs answered 503 because of overload.', 'counter');
    lines.push(`sip_overload_rejected_total ${this.overloadRejected}`);
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
