// The proxy's message path, transport-free: a datagram comes in, is parsed, matched to a
// transaction (t_lookup in Kamailio's terms), and either absorbed, answered, relayed or forked.
// Every exception stops here: input never crashes the proxy.
//
// What is answered outside any transaction (404, 403, 400, 405, 481, 482, 483, 503, the 200 to an
// OPTIONS for us) is answered once, statelessly (Kamailio's sl_send_reply): a spoofed source gets
// one datagram per datagram sent, never a 32 s train of retransmissions, and nothing is held.
import { DEFAULT_MAX_TABLE_ENTRIES, type HostPort, type ProxyConfig } from './config.js';
import { BRANCH_PREFIX, Fork, STATELESS_TAG, newBranch, newTag } from './fork.js';
import { ProxyMetrics } from './metrics.js';
import { route } from './router.js';
import { RouteTokens } from './route-token.js';
import { SipParseError, type SipMessage, type Via } from './sip-message.js';
import { parseSip } from './sip-parser.js';
import { buildResponse, forwardRequest, forwardResponse } from './sip-writer.js';
import type { Scheduler } from './timer-wheel.js';
import { InviteServerTx, NonInviteClientTx, NonInviteServerTx, TransactionTable, serverKey, type ProxyContext } from './transactions.js';
import { needsReceived, withReceived } from './via-received.js';

export type SendFn = (buf: Buffer, to: HostPort) => void;

export class ProxyCore {
  readonly table = new TransactionTable();
  readonly metrics = new ProxyMetrics();
  private readonly ctx: ProxyContext;
  readonly tokens: RouteTokens;
  private readonly loopMark: Buffer;

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
      send: (buf, to, what) => {
        if (typeof what === 'number') metrics.sent.response(what);
        else metrics.sent.request(what);
        send(buf, to);
      },
    };
    this.tokens = new RouteTokens(config.routeKey);
    this.loopMark = Buffer.from(`branch=${BRANCH_PREFIX}.`, 'latin1');
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
      if (msg.isRequest) {
        this.metrics.received.request(msg.method);
        this.onRequest(msg, from);
      } else {
        this.metrics.received.response(msg.status);
        this.onResponse(msg);
      }
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
    this.ctx.send(buildResponse(partial, e.status, reason, STATELESS_TAG), this.replyTo(partial.vias[0]!, from), e.status);
  }

  /** RFC 3261 18.2.2 / RFC 3581: answer the source address, and its port when rport was asked for. */
  private replyTo(via: Via, from: HostPort): HostPort {
    return { host: from.host, port: via.rport !== undefined ? from.port : via.port };
  }

  /** A final answer of our own outside any transaction: sent once, nothing kept. */
  private reject(req: SipMessage, from: HostPort, status: number, reason: string, headers?: string[]): void {
    this.ctx.send(buildResponse(req, status, reason, STATELESS_TAG, headers), this.replyTo(req.vias[0]!, from), status);
  }

  /** Past --max-transactions in progress, or past --max-table entries (lingering transactions included). */
  private overloaded(): boolean {
    const max = this.config.maxActiveTransactions;
    return this.table.active >= max || this.table.size() >= (this.config.maxTableEntries ?? DEFAULT_MAX_TABLE_ENTRIES);
  }

  /** RFC 3261 16.3 item 4: one of our own branches in a Via means the request came back to us. */
  private looped(req: SipMessage): boolean {
    const first = req.viaLines[0];
    if (!first) return false;
    for (let at = req.buf.indexOf(this.loopMark, first.span.start); at >= 0 && at < req.headersEnd; at = req.buf.indexOf(this.loopMark, at + 1)) {
      if (req.viaLines.some((l) => at >= l.span.start && at < l.span.end)) return true;
    }
    return false;
  }

  private onRequest(req: SipMessage, from: HostPort): void {
    const via = req.vias[0]!;
    const key = serverKey(via, req);
    const { method } = req;

    if (method === 'ACK') {
      const tx = this.table.inviteServer.get(key);
      if (tx?.absorbsAck) return tx.onAck(); // ACK for our non-2xx final
      // The ACK for a final we sent statelessly: nothing to do (Kamailio's sl absorbs these too).
      if (req.toTag === STATELESS_TAG) return;
      if (this.looped(req)) return void ProxyMetrics.bump(this.metrics.dropped, 'loop');
      return this.forwardStateless(needsReceived(req, from) ? withReceived(req, from) : req); // ACK for a 2xx: end to end
    }
    if (method === 'INVITE') {
      const tx = this.table.inviteServer.get(key);
      if (tx) return tx.onRetransmission();
    } else {
      const tx = this.table.nonInviteServer.get(`${key}|${method}`);
      if (tx) return tx.onRetransmission();
    }
    if (method === 'CANCEL') return this.onCancel(req, key, from);

    // New work: refused cheaply, before routing, when the tables are full.
    if (this.overloaded()) {
      this.metrics.overloadRejected++;
      return this.reject(req, from, 503, 'Service Unavailable', [`Retry-After: ${this.config.retryAfterS}`]);
    }
    if (req.maxForwards === 0) return this.reject(req, from, 483, 'Too Many Hops');
    if (this.looped(req)) return this.reject(req, from, 482, 'Loop Detected');
    // RFC 3261 16.3 step 5: we support no extension, so any Proxy-Require option is refused.
    const unsupported = req.proxyRequire;
    if (unsupported.length > 0) return this.reject(req, from, 420, 'Bad Extension', [`Unsupported: ${unsupported.join(', ')}`]);
    const decision = route(this.config, req, this.tokens);
    if (decision.kind === 'reject') {
      if (decision.relay) this.metrics.relayRejected++;
      return this.reject(req, from, decision.status, decision.reason, decision.headers);
    }
    if (decision.kind === 'local') return this.reject(req, from, 200, 'OK', ['Allow: INVITE, ACK, CANCEL, BYE, OPTIONS']);
    if (needsReceived(req, from)) req = withReceived(req, from);

    if (method === 'INVITE') {
      if (decision.kind !== 'fork') return this.reject(req, from, 500, 'Server Internal Error');
      const server = new InviteServerTx(this.ctx, key, this.replyTo(via, from));
      server.respond(buildResponse(req, 100, 'Trying'), 100); // at once, stops the caller's retransmissions
      const { listen } = this.config;
      const rr = decision.recordRoute ? this.tokens.recordRoute(listen.host, listen.port, req.callId, req.fromTag) : undefined;
      new Fork(this.ctx, server, req).start(decision.targets, rr, decision.removeTopRoute);
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
      (res) => {
        if (res) return server.respond(forwardResponse(res), res.status);
        // RFC 4320: no 408 upstream for a non-INVITE that timed out; the caller's own Timer F ends it.
        ProxyMetrics.bump(this.metrics.dropped, 'non-invite-timeout');
        server.destroy();
      },
      (res) => server.respond(forwardResponse(res), res.status),
    ).start();
  }

  private onCancel(req: SipMessage, key: string, from: HostPort): void {
    const invite = this.table.inviteServer.get(key);
    if (!invite) return this.reject(req, from, 481, 'Call/Transaction Does Not Exist');
    // The 200 for the CANCEL itself (RFC 3261 16.10), through its own server transaction so a
    // retransmitted CANCEL gets it again; its To tag is the one the caller has already seen, if any.
    const tx = new NonInviteServerTx(this.ctx, `${key}|CANCEL`, this.replyTo(req.vias[0]!, from));
    tx.respond(buildResponse(req, 200, 'OK', invite.toTag || newTag()), 200);
    invite.onCancel?.();
  }

  /** ACK for a 2xx: forwarded statelessly along the Route set. */
  private forwardStateless(req: SipMessage): void {
    if (req.maxForwards === 0) return void ProxyMetrics.bump(this.metrics.dropped, 'ack-max-forwards');
    const decision = route(this.config, req, this.tokens);
    if (decision.kind !== 'fork' && decision.kind !== 'forward') {
      if (decision.kind === 'reject' && decision.relay) this.metrics.relayRejected++;
      return void ProxyMetrics.bump(this.metrics.dropped, 'ack-unroutable');
    }
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
    // RFC 6026: no transaction, no forwarding. A real call's 2xx retransmissions find their client
    // transaction in the Accepted state (Timer M); anything else would let anyone reflect a
    // datagram off us to the host its second Via names.
    ProxyMetrics.bump(this.metrics.dropped, res.status >= 200 && res.status < 300 ? 'stray-2xx' : 'no-transaction');
  }
}
