// Access requests: statements held at the gateway for a person's decision, and just-in-time role requests.
// The store is the record (compare-and-set, so two reviewers never both decide); the gateway waiting on a
// held statement is woken in-process.
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/index.js';
import type { Identity } from '../identity/index.js';
import { mayReview, roleNamed, type Role } from '../policy/index.js';
import type { AccessRequestRecord, AccessRequestState, Store } from '../store/index.js';
import type { Webhook } from './webhook.js';
import type { Locks } from './locks.js';
import { parseDuration } from './duration.js';
import { ServerError, ServerErrorCode } from './errors.js';

export interface HeldStatement {
  sid: string;
  identity: { name: string; kind: string; roles: string[] };
  task: { id: string; reason: string; requester: string };
  db: { service: string; name: string; user: string };
  statement: { sql: string; params?: (string | null)[]; rule: string; message?: string };
}

export type ReviewOutcome =
  | { approved: true; id: string; by: string }
  | { approved: false; id: string; by?: string; reason: string; timedOut: boolean };

const newId = (prefix: string) => `${prefix}_${randomBytes(9).toString('base64url')}`;
const now = () => new Date().toISOString();

export class AccessRequests {
  private readonly waiting = new Map<string, (o: ReviewOutcome) => void>();

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly roles: Record<string, Role>,
    private readonly locks: Locks,
    private readonly webhook?: Webhook,
  ) {}

  /** A locked identity neither asks for more access nor decides for others until the lock is lifted. */
  private refuseLocked(identity: Identity): void {
    const lock = this.locks.find(identity.name);
    if (lock) throw new ServerError(ServerErrorCode.REQUEST_LOCKED, `${identity.name} is locked by ${lock.createdBy}: ${lock.reason}`, 403);
  }

  /**
   * Holds a statement until someone who may review for its database decides, or until `timeoutMs` passes.
   * `onHeld` learns the request's id once it is recorded (the gateway tells the waiting client).
   */
  async hold(held: HeldStatement, timeoutMs: number, onHeld?: (requestId: string) => void): Promise<ReviewOutcome> {
    const rec: AccessRequestRecord = {
      id: newId('req'),
      kind: 'statement',
      state: 'pending',
      requester: held.identity.name,
      data: held,
      createdAt: now(),
      expiresAt: new Date(Date.now() + timeoutMs).toISOString(),
    };
    await this.store.putRequest(rec);
    const outcome = new Promise<ReviewOutcome>((resolve) => this.waiting.set(rec.id, resolve));
    await this.audit.write([{
      type: 'request.created',
      sid: held.sid,
      identity: held.identity as AuditIdentity,
      task: held.task,
      db: held.db,
      statement: { sql: held.statement.sql, ...(held.statement.params ? { params: held.statement.params } : {}), decision: 'review', rule: held.statement.rule },
      details: { request: rec.id, kind: 'statement', expiresAt: rec.expiresAt },
      // Why it is held (for review by effect: the rows it would change), as the reviewer is shown it.
      ...(held.statement.message ? { message: held.statement.message } : {}),
    }]);
    void this.webhook?.send({ type: 'request.created', request: publicView(rec) });
    onHeld?.(rec.id);
    const timer = setTimeout(() => void this.expire(rec), timeoutMs);
    timer.unref();
    const result = await outcome;
    clearTimeout(timer);
    return result;
  }

  private async expire(rec: AccessRequestRecord): Promise<void> {
    if (!(await this.store.decideRequest(rec.id, 'pending', { state: 'expired', decidedAt: now(), reason: 'no reviewer decided in time' }))) return;
    const held = rec.data as HeldStatement;
    await this.audit.write([{ type: 'request.expired', identity: held.identity as AuditIdentity, task: held.task, db: held.db, sid: held.sid, details: { request: rec.id } }]).catch(() => undefined);
    this.wake(rec.id, { approved: false, id: rec.id, reason: `review request ${rec.id} timed out: nobody approved it in time`, timedOut: true });
  }

  private wake(id: string, outcome: ReviewOutcome): void {
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    resolve?.(outcome);
  }

  async createRoleRequest(identity: Identity, role: string, reason: string): Promise<AccessRequestRecord> {
    this.refuseLocked(identity);
    if (!roleNamed(this.roles, role)) throw new ServerError(ServerErrorCode.REQUEST_UNKNOWN_ROLE, `there is no role "${role}"`);
    if (identity.roles.includes(role)) throw new ServerError(ServerErrorCode.REQUEST_HAS_ROLE, `you already hold role "${role}"`);
    if (!reason.trim()) throw new ServerError(ServerErrorCode.REQUEST_REASON, 'say why you need the role with --reason');
    // One open request per role and identity: asking again adds nothing for a reviewer, and would let one
    // identity fill the store with copies.
    const t = now();
    const open = await this.store.listRequests({ state: 'pending', kind: 'role', requester: identity.name });
    const same = open.find((r) => (r.data as { role?: unknown }).role === role && r.expiresAt > t);
    if (same) throw new ServerError(ServerErrorCode.REQUEST_PENDING, `you already asked for role "${role}": request ${same.id} is waiting for a reviewer`, 409);
    const rec: AccessRequestRecord = {
      id: newId('req'),
      kind: 'role',
      state: 'pending',
      requester: identity.name,
      data: { role, reason, identity: { name: identity.name, kind: identity.kind, roles: identity.roles } },
      createdAt: now(),
      // An unanswered role request lapses after a day.
      expiresAt: new Date(Date.now() + 24 * 3600 * 1000).toISOString(),
    };
    await this.store.putRequest(rec);
    await this.audit.write([{ type: 'request.created', identity: { name: identity.name, kind: identity.kind, roles: identity.roles }, details: { request: rec.id, kind: 'role', role, reason } }]);
    void this.webhook?.send({ type: 'request.created', request: publicView(rec) });
    return rec;
  }

  /** Pending requests (expired ones are marked as such on the way). */
  async list(state?: AccessRequestState): Promise<AccessRequestRecord[]> {
    const recs = await this.store.listRequests(state ? { state } : {});
    const t = now();
    for (const r of recs) {
      if (r.state === 'pending' && r.expiresAt <= t && (await this.store.decideRequest(r.id, 'pending', { state: 'expired', decidedAt: t }))) r.state = 'expired';
    }
    return state ? recs.filter((r) => r.state === state) : recs;
  }

  /** What `identity` is shown (the CLI's `request ls`, the web console): its own requests, and those it may decide. */
  async visibleTo(identity: Identity, state?: AccessRequestState): Promise<AccessRequestRecord[]> {
    return (await this.list(state)).filter((r) => this.isVisibleTo(identity, r));
  }

  isVisibleTo(identity: Identity, rec: AccessRequestRecord): boolean {
    return rec.requester === identity.name || this.mayDecide(identity, rec);
  }

  /** Databases a request touches: the statement's, or every database the requested role grants. */
  private databasesOf(rec: AccessRequestRecord): string[] {
    if (rec.kind === 'statement') return [(rec.data as HeldStatement).db.service];
    const role = roleNamed(this.roles, (rec.data as { role: string }).role);
    return [...new Set((role?.databases ?? []).map((g) => g.service))];
  }

  /** Whether `identity` may decide this request (not its own; a role that may review for every database it touches). */
  mayDecide(identity: Identity, rec: AccessRequestRecord): boolean {
    const dbs = this.databasesOf(rec);
    return rec.requester !== identity.name && dbs.length > 0 && dbs.every((db) => mayReview(this.roles, identity.roles, db));
  }

  async decide(reviewer: Identity, id: string, approve: boolean, reason?: string): Promise<AccessRequestRecord> {
    this.refuseLocked(reviewer);
    const rec = await this.store.getRequest(id);
    if (!rec) throw new ServerError(ServerErrorCode.REQUEST_NOT_FOUND, `no request ${id}`, 404);
    if (rec.requester === reviewer.name) throw new ServerError(ServerErrorCode.REQUEST_SELF, 'you cannot decide your own request', 403);
    if (!this.mayDecide(reviewer, rec)) {
      throw new ServerError(ServerErrorCode.REQUEST_FORBIDDEN, `${reviewer.name} holds no role that may review for ${this.databasesOf(rec).join(', ') || 'this request'}`, 403);
    }
    if (rec.state !== 'pending') throw new ServerError(ServerErrorCode.REQUEST_DECIDED, `request ${id} is already ${rec.state}`, 409);
    const t = now();
    let expiresAt: string | undefined;
    if (approve && rec.kind === 'role') {
      // The grant lasts at most the role's maxTtl from approval.
      const name = (rec.data as { role: string }).role;
      const role = roleNamed(this.roles, name);
      if (!role) throw new ServerError(ServerErrorCode.REQUEST_UNKNOWN_ROLE, `role "${name}" is no longer defined`, 409);
      expiresAt = new Date(Date.now() + parseDuration(role.maxTtl)).toISOString();
    }
    const ok = await this.store.decideRequest(id, 'pending', {
      state: approve ? 'approved' : 'denied', decidedBy: reviewer.name, decidedAt: t, ...(reason ? { reason } : {}), ...(expiresAt ? { expiresAt } : {}),
    });
    if (!ok) throw new ServerError(ServerErrorCode.REQUEST_DECIDED, `request ${id} was decided or expired meanwhile`, 409);
    const held = rec.kind === 'statement' ? (rec.data as HeldStatement) : undefined;
    await this.audit.write([{
      type: approve ? 'request.approved' : 'request.denied',
      identity: { name: reviewer.name, kind: reviewer.kind, roles: reviewer.roles },
      ...(held ? { sid: held.sid, task: held.task, db: held.db } : {}),
      ...(reason ? { message: reason } : {}),
      details: { request: id, kind: rec.kind, requester: rec.requester, ...(expiresAt ? { grantUntil: expiresAt } : {}) },
    }]);
    this.wake(id, approve ? { approved: true, id, by: reviewer.name } : { approved: false, id, by: reviewer.name, reason: `denied by ${reviewer.name}${reason ? `: ${reason}` : ''}`, timedOut: false });
    return (await this.store.getRequest(id))!;
  }

  /** Roles granted just in time to `identity` and still valid: they may go into its next certificate. */
  async grantedRoles(identityName: string): Promise<{ role: string; request: string; until: Date }[]> {
    const approved = await this.store.listRequests({ state: 'approved', kind: 'role', requester: identityName });
    const out: { role: string; request: string; until: Date }[] = [];
    for (const r of approved) {
      const until = new Date(r.expiresAt);
      if (until > new Date()) out.push({ role: (r.data as { role: string }).role, request: r.id, until });
    }
    return out;
  }
}

type AuditIdentity = { name: string; kind: 'human' | 'agent' | 'bot'; roles: string[] };

/** What a reviewer sees of a request. */
export function publicView(r: AccessRequestRecord): Record<string, unknown> {
  return { id: r.id, kind: r.kind, state: r.state, requester: r.requester, createdAt: r.createdAt, expiresAt: r.expiresAt, decidedBy: r.decidedBy, reason: r.reason, ...(r.data as object) };
}
