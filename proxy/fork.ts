// Parallel forking (RFC 3261 16.6-16.10): one INVITE server transaction upstream, one client
// transaction per branch. Collects branch responses, relays 18x and every 2xx, CANCELs the other
// branches once one answers, and picks the best final response when nobody does (16.7 step 6).
import type { HostPort } from './config.js';
import type { SipMessage } from './sip-message.js';
import { buildResponse, forwardRequest, forwardResponse } from './sip-writer.js';
import { InviteClientTx, type BranchOwner, type InviteServerTx, type ProxyContext } from './transactions.js';
import type { Timer } from './timer-wheel.js';

export interface BranchTarget {
  target: HostPort;
  requestUri: string;
}

let branchSeq = 0;
const branchPrefix = `z9hG4bKfb${Math.random().toString(36).slice(2, 8)}`;

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
  if (ca !== cb) return ca < cb;
  return a.res !== undefined && b.res === undefined;
}

export class Fork implements BranchOwner {
  private readonly branches: InviteClientTx[] = [];
  private readonly finished = new Set<InviteClientTx>();
  private answered = false;
  private finalSent = false;
  private relayedProvisional = false;
  private best?: Candidate;
  private timerC?: Timer;
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
    for (const t of targets) {
      const branch = newBranch();
      const via = `SIP/2.0/UDP ${listen.host}:${listen.port};branch=${branch}`;
      const buf = forwardRequest(this.invite, { requestUri: t.requestUri, via, recordRoute, removeTopRoute });
      const tx = new InviteClientTx(this.ctx, branch, { requestUri: t.requestUri, via, invite: this.invite }, t.target, buf, this);
      this.branches.push(tx);
      this.ctx.metrics.branchesCreated++;
    }
    // Timer C (16.6 step 11), one per fork: nobody answered in time, cancel everything, 408 upstream.
    this.timerC = this.ctx.sched.schedule(this.ctx.config.timers.timerC, () => {
      this.timerC = undefined;
      if (this.done) return;
      this.sendFinal(buildResponse(this.invite, 408, 'Request Timeout', newTag()), 408);
      this.cancelAll();
    });
    for (const b of this.branches) b.start();
  }

  onProvisional(_branch: InviteClientTx, res: SipMessage): void {
    if (this.finalSent) return;
    if (this.ctx.config.relay180 === 'first' && this.relayedProvisional) return;
    this.relayedProvisional = true;
    this.server.respond(forwardResponse(res), res.status);
  }

  onSuccess(branch: InviteClientTx, res: SipMessage): void {
    this.server.respond(forwardResponse(res), res.status);
    if (!this.answered) {
      this.answered = true;
      this.finalSent = true;
      for (const b of this.branches) if (b !== branch) b.cancel();
    }
    this.branchDone(branch);
  }

  onFailure(branch: InviteClientTx, status: number, res: SipMessage | undefined): void {
    const c: Candidate = { status, res };
    if (!this.best || better(c, this.best)) this.best = c;
    this.branchDone(branch);
  }

  /** A caller's CANCEL, or Timer C: CANCEL every branch still ringing. */
  cancelAll(): void {
    for (const b of this.branches) b.cancel();
  }

  private branchDone(branch: InviteClientTx): void {
    if (this.finished.has(branch)) return; // a retransmitted 2xx
    this.finished.add(branch);
    if (this.finished.size < this.branches.length) return;
    if (!this.finalSent && this.best) {
      const { status, res } = this.best;
      if (res) {
        // 16.7 step 6: a 503 from a branch must not make the caller think the proxy is overloaded.
        const buf = status === 503 ? buildResponse(this.invite, 500, 'Server Internal Error', newTag()) : forwardResponse(res);
        this.sendFinal(buf, status === 503 ? 500 : status);
      } else this.sendFinal(buildResponse(this.invite, 408, 'Request Timeout', newTag()), 408);
    }
    this.finish();
  }

  private sendFinal(buf: Buffer, status: number): void {
    if (this.finalSent) return;
    this.finalSent = true;
    this.server.respond(buf, status);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.ctx.sched.cancel(this.timerC);
    this.server.onCancel = undefined;
    this.ctx.table.forksActive--;
  }
}

let tagSeq = 0;
export function newTag(): string {
  return `fb${(++tagSeq).toString(36)}${branchPrefix.slice(-4)}`;
}
