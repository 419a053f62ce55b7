// RFC 3261 section 17 transactions over UDP (with RFC 6026's Accepted state), and the table that
// holds them. Server transactions face upstream (the caller side), client transactions face a
// branch. Each transaction is "active" until it has a final response, then lingers on its wait
// timer (D, I, J, K, L, M) to absorb retransmissions, then leaves the table.
import type { HostPort, ProxyConfig } from './config.js';
import type { ProxyMetrics } from './metrics.js';
import type { SipMessage, Via } from './sip-message.js';
import type { Scheduler, Timer } from './timer-wheel.js';
import { buildAckForFailure, buildCancel, type SentInvite } from './sip-writer.js';

export interface ProxyContext {
  config: ProxyConfig;
  sched: Scheduler;
  metrics: ProxyMetrics;
  table: TransactionTable;
  /** Send one datagram; `label` is the method or status counted in the sent metrics. */
  send(buf: Buffer, to: HostPort, label: string): void;
}

export function serverKey(via: Via, msg: SipMessage): string {
  // RFC 3261 17.2.3: branch + sent-by (+ method, ACK and CANCEL matching the INVITE's table).
  const branch = via.branch || `${msg.callId}|${msg.cseq}|${msg.fromTag}`;
  return `${branch}|${via.host}:${via.port}`;
}

export class TransactionTable {
  readonly inviteServer = new Map<string, InviteServerTx>();
  readonly nonInviteServer = new Map<string, NonInviteServerTx>();
  /** INVITE client transactions by branch; non-INVITE ones by branch + "|" + method. */
  readonly client = new Map<string, InviteClientTx | NonInviteClientTx>();
  forksActive = 0;
  /** Transactions not yet completed (the overload measure). */
  active = 0;

  size(): number {
    return this.inviteServer.size + this.nonInviteServer.size + this.client.size;
  }
}

abstract class Transaction {
  protected timers: (Timer | undefined)[] = [];
  private settled = false;
  constructor(
    protected readonly ctx: ProxyContext,
    readonly key: string,
  ) {
    ctx.table.active++;
  }
  /** Leave the active count once: a final response was sent or received. */
  protected settle(): void {
    if (!this.settled) {
      this.settled = true;
      this.ctx.table.active--;
    }
  }
  protected clearTimers(): void {
    for (const t of this.timers) this.ctx.sched.cancel(t);
    this.timers = [];
  }
  protected after(ms: number, fn: () => void): Timer {
    const t = this.ctx.sched.schedule(ms, fn);
    this.timers.push(t);
    return t;
  }
  protected abstract remove(): void;
  destroy(): void {
    this.settle();
    this.clearTimers();
    this.remove();
  }
}

/** Upstream side of a proxied INVITE. */
export class InviteServerTx extends Transaction {
  state: 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated' = 'proceeding';
  private last?: { buf: Buffer; label: string };
  /** Set by the fork: a caller's CANCEL is passed on to it. */
  onCancel?: () => void;

  constructor(
    ctx: ProxyContext,
    key: string,
    readonly request: SipMessage,
    readonly replyTo: HostPort,
  ) {
    super(ctx, key);
    ctx.table.inviteServer.set(key, this);
  }

  protected remove(): void {
    this.state = 'terminated';
    this.ctx.table.inviteServer.delete(this.key);
  }

  respond(buf: Buffer, status: number): void {
    if (this.state !== 'proceeding') {
      // Late 2xx from another branch: still relayed (RFC 6026), nothing else after a final.
      if (status >= 200 && status < 300) this.ctx.send(buf, this.replyTo, String(status));
      return;
    }
    const label = String(status);
    this.ctx.send(buf, this.replyTo, label);
    const { t1, t2 } = this.ctx.config.timers;
    if (status < 200) {
      this.last = { buf, label };
    } else if (status < 300) {
      this.settle();
      this.state = 'accepted';
      this.after(64 * t1, () => this.destroy()); // Timer L
    } else {
      this.settle();
      this.state = 'completed';
      this.last = { buf, label };
      let interval = t1;
      const g = (): void => {
        if (this.state !== 'completed' || !this.last) return;
        this.ctx.send(this.last.buf, this.replyTo, this.last.label);
        interval = Math.min(2 * interval, t2);
        this.after(interval, g);
      };
      this.after(interval, g); // Timer G
      this.after(64 * t1, () => this.destroy()); // Timer H: no ACK came
    }
  }

  /** INVITE retransmission: answer with the last provisional (or the final while completed). */
  onRetransmission(): void {
    if ((this.state === 'proceeding' || this.state === 'completed') && this.last) this.ctx.send(this.last.buf, this.replyTo, this.last.label);
  }

  onAck(): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.clearTimers();
    this.after(this.ctx.config.timers.t4, () => this.destroy()); // Timer I
  }
}

/** Upstream side of a non-INVITE request (BYE, CANCEL, OPTIONS...). */
export class NonInviteServerTx extends Transaction {
  state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';
  private last?: { buf: Buffer; label: string };

  constructor(
    ctx: ProxyContext,
    key: string,
    readonly replyTo: HostPort,
  ) {
    super(ctx, key);
    ctx.table.nonInviteServer.set(key, this);
  }

  protected remove(): void {
    this.state = 'terminated';
    this.ctx.table.nonInviteServer.delete(this.key);
  }

  respond(buf: Buffer, status: number): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    const label = String(status);
    this.last = { buf, label };
    this.ctx.send(buf, this.replyTo, label);
    if (status >= 200) {
      this.settle();
      this.state = 'completed';
      this.after(64 * this.ctx.config.timers.t1, () => this.destroy()); // Timer J
    } else this.state = 'proceeding';
  }

  onRetransmission(): void {
    if (this.last) this.ctx.send(this.last.buf, this.replyTo, this.last.label);
  }
}

/** What a branch reports to the fork that owns it. */
export interface BranchOwner {
  onProvisional(branch: InviteClientTx, res: SipMessage): void;
  onSuccess(branch: InviteClientTx, res: SipMessage): void;
  /** A non-2xx final, or a timeout (res undefined, status 408). */
  onFailure(branch: InviteClientTx, status: number, res: SipMessage | undefined): void;
}

/** One branch of a fork: an INVITE client transaction (RFC 3261 17.1.1 + RFC 6026). */
export class InviteClientTx extends Transaction {
  state: 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated' = 'calling';
  private cancelWanted = false;
  private cancelSent = false;
  private ack?: Buffer;

  constructor(
    ctx: ProxyContext,
    readonly branch: string,
    readonly sent: SentInvite,
    readonly target: HostPort,
    private readonly buf: Buffer,
    private readonly owner: BranchOwner,
  ) {
    super(ctx, branch);
    ctx.table.client.set(branch, this);
  }

  protected remove(): void {
    this.state = 'terminated';
    this.ctx.table.client.delete(this.key);
  }

  start(): void {
    const { t1, t2 } = this.ctx.config.timers;
    this.ctx.send(this.buf, this.target, 'INVITE');
    let interval = t1;
    const a = (): void => {
      if (this.state !== 'calling') return;
      this.ctx.send(this.buf, this.target, 'INVITE');
      interval = Math.min(2 * interval, t2 * 16); // Timer A doubles without the T2 cap (17.1.1.2)
      this.after(interval, a);
    };
    this.after(interval, a); // Timer A
    this.after(64 * t1, () => {
      // Timer B: no response at all. The branch counts as a 408 for the fork (RFC 3261 16.7).
      if (this.state !== 'calling') return;
      this.destroy();
      this.owner.onFailure(this, 408, undefined);
    });
  }

  get finished(): boolean {
    return this.state === 'accepted' || this.state === 'completed' || this.state === 'terminated';
  }

  /** CANCEL this branch: now if it has had a provisional, else as soon as one comes (RFC 3261 16.10). */
  cancel(): void {
    if (this.finished || this.cancelSent) return;
    if (this.state === 'calling') {
      this.cancelWanted = true;
      return;
    }
    this.cancelSent = true;
    const cancelTx = new NonInviteClientTx(this.ctx, this.branch, 'CANCEL', this.target, buildCancel(this.sent));
    cancelTx.start();
    // If the UAS never sends a final after our CANCEL, give up after 64*T1 (RFC 3261 9.1).
    this.after(64 * this.ctx.config.timers.t1, () => {
      if (this.finished) return;
      this.destroy();
      this.owner.onFailure(this, 408, undefined);
    });
  }

  onResponse(res: SipMessage): void {
    const status = res.status;
    if (status < 200) {
      if (this.state !== 'calling' && this.state !== 'proceeding') return;
      this.state = 'proceeding';
      if (this.cancelWanted) {
        this.cancelWanted = false;
        this.cancel();
      }
      if (status > 100) this.owner.onProvisional(this, res);
      return;
    }
    if (status < 300) {
      if (this.state === 'calling' || this.state === 'proceeding') {
        this.settle();
        this.clearTimers();
        this.state = 'accepted';
        this.after(64 * this.ctx.config.timers.t1, () => this.destroy()); // Timer M
      } else if (this.state !== 'accepted') return;
      this.owner.onSuccess(this, res); // retransmitted 2xx are relayed too (RFC 6026)
      return;
    }
    if (this.state === 'completed') {
      if (this.ack) this.ctx.send(this.ack, this.target, 'ACK'); // final retransmitted: ACK again
      return;
    }
    if (this.state !== 'calling' && this.state !== 'proceeding') return;
    this.settle();
    this.clearTimers();
    this.state = 'completed';
    this.ack = buildAckForFailure(this.sent, res);
    this.ctx.send(this.ack, this.target, 'ACK');
    this.after(this.ctx.config.timers.timerD, () => this.destroy()); // Timer D
    this.owner.onFailure(this, status, res);
  }
}

/** A non-INVITE client transaction (RFC 3261 17.1.2): the CANCELs we send and relayed BYEs. */
export class NonInviteClientTx extends Transaction {
  state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';
  constructor(
    ctx: ProxyContext,
    branch: string,
    readonly method: string,
    readonly target: HostPort,
    private readonly buf: Buffer,
    private readonly onFinal?: (res: SipMessage | undefined) => void,
    private readonly onProvisional?: (res: SipMessage) => void,
  ) {
    super(ctx, `${branch}|${method}`);
    ctx.table.client.set(this.key, this);
  }

  protected remove(): void {
    this.state = 'terminated';
    this.ctx.table.client.delete(this.key);
  }

  start(): void {
    const { t1, t2 } = this.ctx.config.timers;
    this.ctx.send(this.buf, this.target, this.method);
    let interval = t1;
    const e = (): void => {
      if (this.state !== 'trying' && this.state !== 'proceeding') return;
      this.ctx.send(this.buf, this.target, this.method);
      interval = this.state === 'trying' ? Math.min(2 * interval, t2) : t2;
      this.after(interval, e);
    };
    this.after(interval, e); // Timer E
    this.after(64 * t1, () => {
      // Timer F: no final response.
      if (this.state === 'completed') return;
      this.destroy();
      this.onFinal?.(undefined);
    });
  }

  onResponse(res: SipMessage): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    if (res.status < 200) {
      this.state = 'proceeding';
      this.onProvisional?.(res);
      return;
    }
    this.settle();
    this.clearTimers();
    this.state = 'completed';
    this.after(this.ctx.config.timers.t4, () => this.destroy()); // Timer K
    this.onFinal?.(res);
  }
}
