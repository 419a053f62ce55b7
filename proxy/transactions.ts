// RFC 3261 section 17 transactions over UDP (with RFC 6026's Accepted state), and the table that
// holds them. Server transactions face upstream (the caller side), client transactions face a
// branch. Each transaction is "active" until it has a final response, then lingers on its wait
// timer (D, I, J, K, L, M) to absorb retransmissions, then leaves the table.
//
// Each transaction has ONE timer slot. At any moment it has at most a retransmit deadline (A, E,
// G) and an expiry deadline (B, D, F, H, I, J, K, L, M, and the give-up after our CANCEL); the slot
// is armed for the earlier one and onTimer() works out which has come. Once destroyed, nothing in
// the wheel or the table points at the transaction.
import type { HostPort, ProxyConfig } from './config.js';
import type { ProxyMetrics } from './metrics.js';
import type { SipMessage, Via } from './sip-message.js';
import { TimerSlot, type Scheduler, type TimerOwner } from './timer-wheel.js';
import { buildAckForFailure, buildCancel, type SentInvite } from './branch-requests.js';

export interface ProxyContext {
  config: ProxyConfig;
  sched: Scheduler;
  metrics: ProxyMetrics;
  table: TransactionTable;
  /** Send one datagram: `what` is the request method, or the response status, counted in the sent metrics. */
  send(buf: Buffer, to: HostPort, what: string | number): void;
}

const MAGIC_COOKIE = 'z9hG4bK';

/**
 * A datagram kept for seconds (a final to retransmit, an ACK) is kept as a one-byte string, not a
 * Buffer: a small Buffer is a slice of an 8 KB pool slab that would pin the whole slab (measured:
 * ~100 MB at 100 calls/s, N=32), and a Buffer of its own is a malloc'd backing store that V8 tracks
 * and sweeps one by one, tens of thousands of them at a time while transactions linger (Timer D).
 * A string is one flat object in V8's heap, with no pointers for the marker to follow; the rare
 * retransmission turns it back into bytes.
 */
export function keep(buf: Buffer): string {
  return buf.toString('latin1');
}

function bytes(kept: Buffer | string): Buffer {
  return typeof kept === 'string' ? Buffer.from(kept, 'latin1') : kept;
}

/**
 * RFC 3261 17.2.3: a branch with the magic cookie identifies the transaction with the sent-by.
 * Without it (an RFC 2543 UA) the transaction is the Request-URI, From tag, Call-ID, CSeq number
 * and top Via; the ACK for a non-2xx final and a CANCEL carry the same ones, so they find the
 * INVITE's transaction by the same key (the To tag of that ACK is checked by its state instead).
 */
export function serverKey(via: Via, msg: SipMessage): string {
  if (via.branch.startsWith(MAGIC_COOKIE)) return `${via.branch}|${via.host}:${via.port}`;
  return `2543|${msg.requestUri}|${msg.fromTag}|${msg.callId}|${msg.cseq}|${via.host}:${via.port}|${via.branch}`;
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

abstract class Transaction implements TimerOwner {
  private readonly slot = new TimerSlot(this);
  /** Next retransmission (A, E, G), 0 when none. */
  protected retransmitAt = 0;
  /** When this state ends on its own (B, D, F, H, I, J, K, L, M), 0 when never. */
  protected expireAt = 0;
  /** The current retransmit interval. */
  protected interval = 0;
  private settled = false;
  protected terminated = false;

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

  /** Set both deadlines (ms from now, 0 = none) and arm the slot for the earlier. */
  protected timers(retransmitInMs: number, expireInMs: number): void {
    const now = this.ctx.sched.now();
    this.retransmitAt = retransmitInMs > 0 ? now + retransmitInMs : 0;
    this.expireAt = expireInMs > 0 ? now + expireInMs : 0;
    this.rearm();
  }

  private rearm(): void {
    const next = this.retransmitAt && this.expireAt ? Math.min(this.retransmitAt, this.expireAt) : this.retransmitAt || this.expireAt;
    if (next === 0 || this.terminated) this.ctx.sched.disarm(this.slot);
    else this.ctx.sched.arm(this.slot, next - this.ctx.sched.now());
  }

  onTimer(): void {
    const now = this.ctx.sched.now();
    if (this.expireAt !== 0 && now >= this.expireAt) {
      this.expireAt = 0;
      this.retransmitAt = 0;
      this.onExpire();
    } else if (this.retransmitAt !== 0 && now >= this.retransmitAt) {
      this.retransmitAt = 0;
      this.onRetransmit(now);
    }
    this.rearm();
  }

  /** The retransmit deadline came: send again and set `retransmitAt` for the next one (or leave it 0). */
  protected onRetransmit(_now: number): void {}
  /** The expiry deadline came. */
  protected abstract onExpire(): void;
  protected abstract remove(): void;

  /** Leave the table and the wheel for good. */
  destroy(): void {
    if (this.terminated) return;
    this.terminated = true;
    this.settle();
    this.retransmitAt = this.expireAt = 0;
    this.ctx.sched.disarm(this.slot);
    this.remove();
  }

  /** For tests: is this transaction's slot still linked in the wheel? */
  get timerArmed(): boolean {
    return this.slot.armed;
  }
}

/** Upstream side of a proxied INVITE. */
export class InviteServerTx extends Transaction {
  state: 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated' = 'proceeding';
  private lastBuf?: Buffer | string;
  private lastStatus = 0;
  /** The To tag of the last response sent upstream (the 200 to a CANCEL reuses it). */
  toTag = '';
  /** Set by the fork: a caller's CANCEL is passed on to it. */
  onCancel?: () => void;

  constructor(
    ctx: ProxyContext,
    key: string,
    readonly replyTo: HostPort,
  ) {
    super(ctx, key);
    ctx.table.inviteServer.set(key, this);
  }

  protected remove(): void {
    this.state = 'terminated';
    this.onCancel = undefined;
    this.ctx.table.inviteServer.delete(this.key);
  }

  respond(buf: Buffer, status: number, toTag = ''): void {
    if (this.state !== 'proceeding') {
      // Late 2xx from another branch: still relayed (RFC 6026), nothing else after a final.
      if (status >= 200 && status < 300) this.ctx.send(buf, this.replyTo, status);
      return;
    }
    if (toTag) this.toTag = toTag;
    this.ctx.send(buf, this.replyTo, status);
    const { t1 } = this.ctx.config.timers;
    if (status < 200) {
      this.lastBuf = buf;
      this.lastStatus = status;
    } else if (status < 300) {
      this.settle();
      this.state = 'accepted';
      this.lastBuf = undefined;
      this.timers(0, 64 * t1); // Timer L
    } else {
      this.settle();
      this.state = 'completed';
      this.lastBuf = keep(buf);
      this.lastStatus = status;
      this.interval = t1;
      this.timers(t1, 64 * t1); // Timer G, Timer H (no ACK came)
    }
  }

  protected override onRetransmit(now: number): void {
    if (this.state !== 'completed' || !this.lastBuf) return;
    this.ctx.send(bytes(this.lastBuf), this.replyTo, this.lastStatus);
    this.interval = Math.min(2 * this.interval, this.ctx.config.timers.t2);
    this.retransmitAt = now + this.interval;
  }

  protected onExpire(): void {
    this.destroy();
  }

  /** INVITE retransmission: answer with the last provisional (or the final while completed). */
  onRetransmission(): void {
    if ((this.state === 'proceeding' || this.state === 'completed') && this.lastBuf) this.ctx.send(bytes(this.lastBuf), this.replyTo, this.lastStatus);
  }

  /** True when an ACK belongs to this transaction (it acknowledges our non-2xx final); a 2xx ACK does not. */
  get absorbsAck(): boolean {
    return this.state === 'completed' || this.state === 'confirmed';
  }

  onAck(): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.lastBuf = undefined;
    this.timers(0, this.ctx.config.timers.t4); // Timer I
  }
}

/** Upstream side of a non-INVITE request (BYE, CANCEL, OPTIONS...). */
export class NonInviteServerTx extends Transaction {
  state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';
  private lastBuf?: Buffer | string;
  private lastStatus = 0;

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
    this.lastBuf = status >= 200 ? keep(buf) : buf;
    this.lastStatus = status;
    this.ctx.send(buf, this.replyTo, status);
    if (status >= 200) {
      this.settle();
      this.state = 'completed';
      this.timers(0, 64 * this.ctx.config.timers.t1); // Timer J
    } else this.state = 'proceeding';
  }

  protected onExpire(): void {
    this.destroy();
  }

  onRetransmission(): void {
    if (this.lastBuf) this.ctx.send(bytes(this.lastBuf), this.replyTo, this.lastStatus);
  }
}

/** What a branch reports to the fork that owns it. */
export interface BranchOwner {
  onProvisional(branch: InviteClientTx, res: SipMessage): void;
  onSuccess(branch: InviteClientTx, res: SipMessage): void;
  /** A non-2xx final, a timeout (status 408) or our own 487 for a cancelled silent branch (res undefined). */
  onFailure(branch: InviteClientTx, status: number, res: SipMessage | undefined): void;
}

/** One branch of a fork: an INVITE client transaction (RFC 3261 17.1.1 + RFC 6026). */
export class InviteClientTx extends Transaction {
  state: 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated' = 'calling';
  private cancelWanted = false;
  private cancelSent = false;
  /** The fork has been given this branch's final outcome (a response, a timeout, or our 487). */
  private reported = false;
  private ack?: string;
  /** What the INVITE was and who owns the branch: let go once Completed, for the seconds it lingers. */
  private sent: SentInvite | undefined;
  private owner: BranchOwner | undefined;

  constructor(
    ctx: ProxyContext,
    readonly branch: string,
    sent: SentInvite,
    readonly target: HostPort,
    private buf: Buffer | undefined,
    owner: BranchOwner,
  ) {
    super(ctx, branch);
    this.sent = sent;
    this.owner = owner;
    ctx.table.client.set(branch, this);
  }

  protected remove(): void {
    this.state = 'terminated';
    this.buf = undefined;
    this.ctx.table.client.delete(this.key);
  }

  start(): void {
    const { t1 } = this.ctx.config.timers;
    if (this.buf) this.ctx.send(this.buf, this.target, 'INVITE');
    this.interval = t1;
    this.timers(t1, 64 * t1); // Timer A, Timer B
  }

  protected override onRetransmit(now: number): void {
    if (this.state !== 'calling' || !this.buf || this.cancelWanted) return;
    this.ctx.send(this.buf, this.target, 'INVITE');
    this.interval = Math.min(2 * this.interval, this.ctx.config.timers.t2 * 16); // Timer A doubles without the T2 cap (17.1.1.2)
    this.retransmitAt = now + this.interval;
  }

  protected onExpire(): void {
    // Timer B (no response at all), or no final within 64*T1 of our CANCEL (RFC 3261 9.1): the
    // branch counts as a 408 for the fork (16.7) unless the fork already has our 487 for it.
    if (this.state !== 'calling' && this.state !== 'proceeding') return this.destroy();
    this.destroy();
    this.report(408, undefined);
  }

  private report(status: number, res: SipMessage | undefined): void {
    if (this.reported) return;
    this.reported = true;
    this.owner?.onFailure(this, status, res);
  }

  get finished(): boolean {
    return this.state === 'accepted' || this.state === 'completed' || this.state === 'terminated';
  }

  /**
   * CANCEL this branch (RFC 3261 9.1, 16.10): at once if it has had a provisional. A branch that
   * has sent nothing may not be CANCELled yet; it stops retransmitting and is closed for the fork
   * with a 487 of our own (Kamailio's default), and gets its CANCEL if a provisional still comes.
   */
  cancel(): void {
    if (this.finished || this.cancelSent) return;
    if (this.state === 'calling') {
      if (this.cancelWanted) return;
      this.cancelWanted = true;
      this.retransmitAt = 0;
      this.buf = undefined;
      this.timers(0, this.expireAt ? this.expireAt - this.ctx.sched.now() : 64 * this.ctx.config.timers.t1);
      this.report(487, undefined);
      return;
    }
    this.cancelSent = true;
    new NonInviteClientTx(this.ctx, this.branch, 'CANCEL', this.target, buildCancel(this.sent!)).start();
    // If the UAS never sends a final after our CANCEL, give up after 64*T1 (RFC 3261 9.1).
    this.timers(0, 64 * this.ctx.config.timers.t1);
  }

  onResponse(res: SipMessage): void {
    const status = res.status;
    if (status < 200) {
      if (this.state !== 'calling' && this.state !== 'proceeding') return;
      if (this.state === 'calling') {
        this.state = 'proceeding';
        this.buf = undefined; // no more INVITE retransmissions
        this.timers(0, 0); // Timer B stops in Proceeding
      }
      if (this.cancelWanted) {
        this.cancelWanted = false;
        this.cancel();
        return; // the fork already has this branch's outcome
      }
      if (status > 100) this.owner!.onProvisional(this, res);
      return;
    }
    if (status < 300) {
      if (this.state === 'calling' || this.state === 'proceeding') {
        this.settle();
        this.state = 'accepted';
        this.buf = undefined;
        this.timers(0, 64 * this.ctx.config.timers.t1); // Timer M
      } else if (this.state !== 'accepted') return;
      this.owner!.onSuccess(this, res); // retransmitted 2xx are relayed too (RFC 6026)
      return;
    }
    if (this.state === 'completed') {
      if (this.ack) this.ctx.send(bytes(this.ack), this.target, 'ACK'); // final retransmitted: ACK again
      return;
    }
    if (this.state !== 'calling' && this.state !== 'proceeding') return;
    this.settle();
    this.state = 'completed';
    this.buf = undefined;
    const ack = buildAckForFailure(this.sent!, res);
    this.ack = keep(ack);
    this.ctx.send(ack, this.target, 'ACK');
    this.timers(0, this.ctx.config.timers.timerD); // Timer D
    this.report(status, res);
    // Completed: only the ACK is resent from here on (cancel() and onResponse() stop before the rest).
    this.sent = this.owner = undefined;
  }
}

/** A non-INVITE client transaction (RFC 3261 17.1.2): the CANCELs we send and relayed BYEs. */
export class NonInviteClientTx extends Transaction {
  state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';
  private buf: Buffer | undefined;
  constructor(
    ctx: ProxyContext,
    branch: string,
    readonly method: string,
    readonly target: HostPort,
    buf: Buffer,
    private onFinal?: (res: SipMessage | undefined) => void,
    private onProvisional?: (res: SipMessage) => void,
  ) {
    super(ctx, `${branch}|${method}`);
    this.buf = buf;
    ctx.table.client.set(this.key, this);
  }

  protected remove(): void {
    this.state = 'terminated';
    this.buf = undefined;
    this.onFinal = this.onProvisional = undefined;
    this.ctx.table.client.delete(this.key);
  }

  start(): void {
    const { t1 } = this.ctx.config.timers;
    if (this.buf) this.ctx.send(this.buf, this.target, this.method);
    this.interval = t1;
    this.timers(t1, 64 * t1); // Timer E, Timer F
  }

  protected override onRetransmit(now: number): void {
    if ((this.state !== 'trying' && this.state !== 'proceeding') || !this.buf) return;
    this.ctx.send(this.buf, this.target, this.method);
    const { t2 } = this.ctx.config.timers;
    this.interval = this.state === 'trying' ? Math.min(2 * this.interval, t2) : t2;
    this.retransmitAt = now + this.interval;
  }

  protected onExpire(): void {
    // Timer F (no final), or Timer K (done absorbing retransmissions).
    const onFinal = this.state === 'completed' ? undefined : this.onFinal;
    this.destroy();
    onFinal?.(undefined);
  }

  onResponse(res: SipMessage): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    if (res.status < 200) {
      this.state = 'proceeding';
      this.onProvisional?.(res);
      return;
    }
    this.settle();
    this.state = 'completed';
    this.buf = undefined;
    this.timers(0, this.ctx.config.timers.t4); // Timer K
    const onFinal = this.onFinal;
    this.onFinal = this.onProvisional = undefined;
    onFinal?.(res);
  }
}
