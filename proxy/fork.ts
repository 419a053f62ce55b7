// Parallel forking (RFC 3261 16.6-16.10): one INVITE server transaction upstream, one client
// transaction per branch. Collects branch responses, relays 18x and every 2xx, CANCELs the other
// branches once one answers or one declines with a 6xx, and picks the best final response when
// nobody answers (16.7 step 6). Timer C is the fork's one timer slot, reset by every provisional.
import type { HostPort } from './config.js';
import type { SipMessage } from './sip-message.js';
import { buildResponse, forwardRequest, forwardResponse } from './sip-writer.js';
import { maxForwardsAsSent, routeLineAsSent } from './branch-requests.js';
import { InviteClientTx, type BranchOwner, type InviteServerTx, type ProxyContext } from './transactions.js';
import { TimerSlot, type TimerOwner } from './timer-wheel.js';

export interface BranchTarget {
  target: HostPort;
  requestUri: string;
}

let branchSeq = 0;
const branchPrefix = `z9hG4bKfb${Math.random().toString(36).slice(2, 8)}`;
/** Every branch this process creates starts with this: a request carrying it in a Via has looped. */
export const BRANCH_PREFIX = branchPrefix;

/** A fresh branch id, unique per process run (RFC 3261 8.1.1.7 magic cookie first). */
export function newBranch(): string {
  return `${branchPrefix}.${(++branchSeq).toString(36)}`;
}

interface Candidate {
  status: number;
  res?: SipMessage;
}

/** RFC 3261 16.7 step 6: 6xx first, else the lowest class; real responses beat our own 408s. */
function better(a: Candidate, b: Candidate): boolean {
  const a6 = a.status >= 600;
  const b6 = b.status >= 600;
  if (a6 !== b6) return a6;
  const ca = Math.floor(a.status / 100);
  const cb = Math.floor(b.status / 100);
  // Stryker disable next-line EqualityOperator: ca !== cb here, so <= is <
  if (ca !== cb) return ca < cb;
  return a.res !== undefined && b.res === undefined;
}

const LOCAL_REASON: Record<number, string> = { 408: 'Request Timeout', 487: 'Request Terminated' };

export class Fork implements BranchOwner, TimerOwner {
  private readonly branches: InviteClientTx[] = [];
  private readonly finished = new Set<InviteClientTx>();
  private answered = false;
  private finalSent = false;
  private relayedProvisional = false;
  private best?: Candidate;
  private readonly timerC = new TimerSlot(this);
  private done = false;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly server: InviteServerTx,
    private readonly invite: SipMessage,
  ) {
    ctx.table.forksActive++;
    server.onCancel = () => this.cancelAll();
  }

  /** Send the INVITE to every target. `recordRoute` is our Record-Route value when we stay on the path. */
  start(targets: BranchTarget[], recordRoute: string | undefined, removeTopRoute: boolean): void {
    const { listen } = this.ctx.config;
    this.ctx.metrics.callsForked++;
    const routeLine = routeLineAsSent(this.invite, removeTopRoute);
    const maxForwards = maxForwardsAsSent(this.invite);
    for (const t of targets) {
      const branch = newBranch();
      const via = `SIP/2.0/UDP ${listen.host}:${listen.port};branch=${branch}`;
      const buf = forwardRequest(this.invite, { requestUri: t.requestUri, via, recordRoute, removeTopRoute });
      const sent = { requestUri: t.requestUri, via, invite: this.invite, routeLine, maxForwards };
      const tx = new InviteClientTx(this.ctx, branch, sent, t.target, buf, this);
      this.branches.push(tx);
      this.ctx.metrics.branchesCreated++;
    }
    // Timer C (16.6 step 11): nobody answered in time, cancel everything, 408 upstream.
    this.ctx.sched.arm(this.timerC, this.ctx.config.timers.timerC);
    for (const b of this.branches) b.start();
  }

  /** Timer C fired. */
  onTimer(): void {
    // Stryker disable next-line ConditionalExpression: finish() disarms Timer C, so it never fires once done
    if (this.done) return;
    this.sendFinal(buildResponse(this.invite, 408, 'Request Timeout', newTag()), 408);
    this.cancelAll();
  }

  onProvisional(_branch: InviteClientTx, res: SipMessage): void {
    // After a final the server transaction drops every provisional, and Timer C firing then sends nothing new.
    // Stryker disable next-line ConditionalExpression: see above
    if (this.finalSent) return;
    // 16.7 step 2: every provisional (but 100) resets Timer C.
    this.ctx.sched.arm(this.timerC, this.ctx.config.timers.timerC);
    // `--relay-180 first` deviates from 16.7 step 5 (relay every provisional) for plain ringing
    // only: a 183 or any 18x with a body (early media) is always relayed.
    const plainRinging = res.status !== 183 && res.contentLength <= 0;
    if (this.ctx.config.relay180 === 'first' && this.relayedProvisional && plainRinging) return;
    this.relayedProvisional = true;
    this.server.respond(forwardResponse(res), res.status, res.toTag);
  }

  onSuccess(branch: InviteClientTx, res: SipMessage): void {
    this.server.respond(forwardResponse(res), res.status, res.toTag);
    // Cancelling again is a no-op (cancelSent, cancelWanted, finished), the answering branch is
    // finished, and after a 2xx the server transaction sends only further 2xx: these guards and
    // flags save work but change nothing on the wire.
    // Stryker disable next-line ConditionalExpression: see above
    if (!this.answered) {
      // Stryker disable next-line BooleanLiteral: see above
      this.answered = true;
      // Stryker disable next-line BooleanLiteral: see above
      this.finalSent = true;
      // Stryker disable next-line ConditionalExpression: see above
      for (const b of this.branches) if (b !== branch) b.cancel();
    }
    this.branchDone(branch);
  }

  onFailure(branch: InviteClientTx, status: number, res: SipMessage | undefined): void {
    const c: Candidate = { status, res };
    if (!this.best || better(c, this.best)) this.best = c;
    // 16.7 step 5 / 16.10: a 6xx ends the search: CANCEL every other pending branch.
    // Stryker disable next-line ConditionalExpression: after an answer every other branch is already cancelled
    if (status >= 600 && !this.answered) for (const b of this.branches) if (b !== branch) b.cancel();
    this.branchDone(branch);
  }

  /** A caller's CANCEL, or Timer C: CANCEL every branch still ringing. */
  cancelAll(): void {
    for (const b of this.branches) b.cancel();
  }

  private branchDone(branch: InviteClientTx): void {
    // Stryker disable next-line ConditionalExpression: adding again leaves the Set as it is, and finish() guards itself
    if (this.finished.has(branch)) return; // a retransmitted 2xx
    this.finished.add(branch);
    if (this.finished.size < this.branches.length) return;
    // Stryker disable next-line LogicalOperator,ConditionalExpression: with a final sent, sendFinal does nothing; without one there is a best
    if (!this.finalSent && this.best) {
      const { status, res } = this.best;
      if (res) {
        // 16.7 step 6: a 503 from a branch must not make the caller think the proxy is overloaded.
        const buf = status === 503 ? buildResponse(this.invite, 500, 'Server Internal Error', newTag()) : forwardResponse(res);
        this.sendFinal(buf, status === 503 ? 500 : status);
      } else {
        // Stryker disable next-line StringLiteral: only 408 and 487 are ever our own, both in LOCAL_REASON
        this.sendFinal(buildResponse(this.invite, status, LOCAL_REASON[status] ?? 'Request Timeout', newTag()), status);
      }
    }
    this.finish();
  }

  private sendFinal(buf: Buffer, status: number): void {
    // A second final is dropped by the server transaction too (completed or accepted).
    // Stryker disable next-line ConditionalExpression: see above
    if (this.finalSent) return;
    // Stryker disable next-line BooleanLiteral: see above
    this.finalSent = true;
    this.server.respond(buf, status);
  }

  private finish(): void {
    // branchDone reaches finish() once (its finished Set); this is the second guard of two.
    // Stryker disable next-line ConditionalExpression: see above
    if (this.done) return;
    // Stryker disable next-line BooleanLiteral: see above
    this.done = true;
    this.ctx.sched.disarm(this.timerC);
    this.server.onCancel = undefined;
    this.ctx.table.forksActive--;
  }
}

let tagSeq = 0;
export function newTag(): string {
  return `fb${(++tagSeq).toString(36)}${branchPrefix.slice(-4)}`;
}

/** The To tag of every response sent statelessly: the ACK a caller sends for one is recognised by it and absorbed. */
export const STATELESS_TAG = `sl${branchPrefix.slice(9)}`;
