// The proxy's message path, transport-free: a datagram comes in, is parsed, matched to a
// transaction (t_lookup in Kamailio's terms), and either absorbed, answered, relayed or forked.
// Every exception stops here: input never crashes the proxy.
import type { HostPort, ProxyConfig } from './config.js';
import { Fork, newBranch, newTag } from './fork.js';
import { ProxyMetrics } from './metrics.js';
import { route } from './router.js';
import { SipParseError, type SipMessage, type Via } from './sip-message.js';
import { parseSip } from './sip-parser.js';
import { buildResponse, forwardRequest, forwardResponse } from './sip-writer.js';
import type { Scheduler } from './timer-wheel.js';
import { InviteServerTx, NonInviteClientTx, NonInviteServerTx, TransactionTable, serverKey, type ProxyContext } from './transactions.js';

export type SendFn = (buf: Buffer, to: HostPort) => void;

export class ProxyCore {
  readonly table = new TransactionTable();
  readonly metrics = new ProxyMetrics();
  private readonly ctx: ProxyContext;
  private readonly recordRoute: string;

  constructor(
    readonly config: ProxyConfig,
    sched: Scheduler,
    send: SendFn,
  ) {
    const metrics = this.metrics;
    this.ctx = {
      config,
      sched,
      metrics,
      table: this.table,
      send: (buf, to, label) => {
        ProxyMetrics.bump(metrics.sent, label);
        send(buf, to);
      },
    };
    this.recordRoute = `<sip:${config.listen.host}:${config.listen.port};lr>`;
    metrics.gauges = () => ({
      activeTransactions: this.table.active,
      transactionTable: this.table.size(),
      forksActive: this.table.forksActive,
      timersPending: sched.pending(),
    });
  }

  onDatagram(buf: Buffer, from: HostPort): void {
    // RFC 5626 keep-alives (CRLF) are not messages.
    if (buf.length <= 4 && buf.every((b) => b === 0x0d || b === 0x0a)) return;
    let msg: SipMessage;
    try {
      msg = parseSip(buf, this.config.parse);
    } catch (e) {
      this.onParseError(e, from);
      return;
    }
    try {
      ProxyMetrics.bump(this.metrics.received, msg.isRequest ? msg.method : String(msg.status));
      if (msg.isRequest) this.onRequest(msg, from);
      else this.onResponse(msg);
    } catch (e) {
      // A bug must cost one message, not the process.
      ProxyMetrics.bump(this.metrics.dropped, 'internal-error');
      if (process.env.FORKBENCH_DEBUG) console.error(e);
    }
  }

  private onParseError(e: unknown, from: HostPort): void {
    // Only the parser's own verdict is a parse error; a TypeError or the like is a bug (internal error).
    if (!(e instanceof SipParseError)) {
      ProxyMetrics.bump(this.metrics.dropped, 'internal-error');
      if (process.env.FORKBENCH_DEBUG) console.error(e);
      return;
    }
    ProxyMetrics.bump(this.metrics.parseErrors, e.message);
    const partial = e.partial;
    if (!e.answerable || !partial) {
      ProxyMetrics.bump(this.metrics.dropped, 'unparseable');
      return;
    }
    // 505 (RFC 3261 8.2.2.1... version), 416 (16.3 step 1, unknown URI scheme), else 400.
    const reason = e.status === 505 ? 'Version Not Supported' : e.status === 416 ? 'Unsupported URI Scheme' : `Bad Request (${e.message})`;
    this.ctx.send(buildResponse(partial, e.status, reason, newTag()), this.replyTo(partial.vias[0]!, from), String(e.status));
  }

  /** RFC 3261 18.2.2 / RFC 3581: answer the source address, and its port when rport was asked for. */
  private replyTo(via: Via, from: HostPort): HostPort {
    return { host: from.host, port: via.rport !== undefined ? from.port : via.port };
  }

  /** A final answer of our own, sent through a server transaction so retransmissions and the ACK are absorbed. */
  private reject(req: SipMessage, from: HostPort, status: number, reason: string, headers: string[] = []): void {
    const via = req.vias[0]!;
    const key = serverKey(via, req);
    const tx =
      req.method === 'INVITE'
        ? new InviteServerTx(this.ctx, key, req, this.replyTo(via, from))
        : new NonInviteServerTx(this.ctx, `${key}|${req.method}`, this.replyTo(via, from));
    tx.respond(buildResponse(req, status, reason, newTag(), headers), status);
  }

  private onRequest(req: SipMessage, from: HostPort): void {
    const via = req.vias[0]!;
    const key = serverKey(via, req);
    const { method } = req;

    if (method === 'ACK') {
      const tx = this.table.inviteServer.get(key);
      if (tx) return tx.onAck(); // ACK for our non-2xx final
      return this.forwardStateless(req); // ACK for a 2xx: end to end
    }
    if (method === 'INVITE') {
      const tx = this.table.inviteServer.get(key);
      if (tx) return tx.onRetransmission();
    } else {
      const tx = this.table.nonInviteServer.get(`${key}|${method}`);
      if (tx) return tx.onRetransmission();
    }
    if (method === 'CANCEL') return this.onCancel(req, key, from);

    if (req.maxForwards === 0) return this.reject(req, from, 483, 'Too Many Hops');
    // RFC 3261 16.3 step 5: we support no extension, so any Proxy-Require option is refused.
    const unsupported = req.proxyRequire;
    if (unsupported.length > 0) return this.reject(req, from, 420, 'Bad Extension', [`Unsupported: ${unsupported.join(', ')}`]);
    const decision = route(this.config, req);
    if (decision.kind === 'reject') return this.reject(req, from, decision.status, decision.reason, decision.headers);
    if (decision.kind === 'local') return this.reject(req, from, 200, 'OK', ['Allow: INVITE, ACK, CANCEL, BYE, OPTIONS']);

    if (method === 'INVITE') {
      if (decision.kind !== 'fork') return this.reject(req, from, 500, 'Server Internal Error');
      if (this.table.active >= this.config.maxActiveTransactions) {
        this.metrics.overloadRejected++;
        return this.ctx.send(
          buildResponse(req, 503, 'Service Unavailable', newTag(), [`Retry-After: ${this.config.retryAfterS}`]),
          this.replyTo(via, from),
          '503',
        );
      }
      const server = new InviteServerTx(this.ctx, key, req, this.replyTo(via, from));
      server.respond(buildResponse(req, 100, 'Trying'), 100); // at once, stops the caller's retransmissions
      new Fork(this.ctx, server, req).start(decision.targets, decision.recordRoute ? this.recordRoute : undefined, decision.removeTopRoute);
      return;
    }

    // Other non-INVITE requests (BYE, OPTIONS to a member...): one stateful branch, responses relayed.
    if (decision.kind !== 'forward') return this.reject(req, from, 500, 'Server Internal Error');
    const server = new NonInviteServerTx(this.ctx, `${key}|${method}`, this.replyTo(via, from));
    const branch = newBranch();
    const ourVia = `SIP/2.0/UDP ${this.config.listen.host}:${this.config.listen.port};branch=${branch}`;
    const buf = forwardRequest(req, { via: ourVia, removeTopRoute: decision.removeTopRoute, requestUri: decision.requestUri });
    new NonInviteClientTx(
      this.ctx,
      branch,
      method,
      decision.target,
      buf,
      (res) => server.respond(res ? forwardResponse(res) : buildResponse(req, 408, 'Request Timeout', newTag()), res ? res.status : 408),
      (res) => server.respond(forwardResponse(res), res.status),
    ).start();
  }

  private onCancel(req: SipMessage, key: string, from: HostPort): void {
    const invite = this.table.inviteServer.get(key);
    if (!invite) return this.reject(req, from, 481, 'Call/Transaction Does Not Exist');
    this.reject(req, from, 200, 'OK'); // the 200 for the CANCEL itself (RFC 3261 16.10)
    invite.onCancel?.();
  }

  /** ACK for a 2xx: forwarded statelessly along the Route set. */
  private forwardStateless(req: SipMessage): void {
    if (req.maxForwards === 0) return void ProxyMetrics.bump(this.metrics.dropped, 'ack-max-forwards');
    const decision = route(this.config, req);
    if (decision.kind !== 'fork' && decision.kind !== 'forward') return void ProxyMetrics.bump(this.metrics.dropped, 'ack-unroutable');
    const target = decision.kind === 'fork' ? decision.targets[0]!.target : decision.target;
    // Stateless proxies derive the branch from the request so a retransmission gets the same one.
    const via = `SIP/2.0/UDP ${this.config.listen.host}:${this.config.listen.port};branch=z9hG4bKsl${req.vias[0]!.branch.slice(7)}`;
    this.ctx.send(forwardRequest(req, { via, removeTopRoute: decision.removeTopRoute }), target, 'ACK');
  }

  private onResponse(res: SipMessage): void {
    const top = res.vias[0]!;
    const { listen } = this.config;
    if (top.host !== listen.host || top.port !== listen.port) return void ProxyMetrics.bump(this.metrics.dropped, 'via-not-ours');
    const tx = this.table.client.get(res.method === 'INVITE' ? top.branch : `${top.branch}|${res.method}`);
    if (tx) return tx.onResponse(res);
    // 2xx retransmission after the transaction ended: relay statelessly to the next Via.
    const next = res.vias[1];
    if (res.method === 'INVITE' && res.status >= 200 && res.status < 300 && next) {
      this.ctx.send(forwardResponse(res), { host: next.received ?? next.host, port: typeof next.rport === 'number' ? next.rport : next.port }, String(res.status));
      return;
    }
    ProxyMetrics.bump(this.metrics.dropped, 'no-transaction');
  }
}
