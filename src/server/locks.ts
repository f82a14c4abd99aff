// Locks stop an identity or a task at once: no new certificates, no new sessions, open sessions ended.
// Active locks are cached in memory (checked on every certificate and session) and reloaded on change.
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/index.js';
import type { Identity } from '../identity/index.js';
import type { LockRecord, Store } from '../store/index.js';
import { parseDuration } from './duration.js';
import { ServerError, ServerErrorCode } from './errors.js';

/**
 * Whether `lock` covers this identity or task. A task lock names a task id, or words of its text: it matches the
 * id exactly or, case-insensitively, inside the task's text, as `audit search --task` does.
 */
export function lockCovers(lock: LockRecord, identity: string, task?: { id: string; reason?: string }): boolean {
  if (lock.target.user !== undefined) return lock.target.user === identity;
  const t = lock.target.task;
  if (t === undefined || !task) return false;
  return task.id === t || (task.reason !== undefined && task.reason.toLowerCase().includes(t.toLowerCase()));
}

export class Locks {
  private active: LockRecord[] = [];

  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    /** called for a new lock, so the gateway can end the sessions it covers */
    private readonly onLock: (lock: LockRecord) => void,
  ) {}

  async load(): Promise<void> {
    this.active = await this.store.activeLocks(new Date().toISOString());
  }

  /**
   * Reloads the active locks: another control plane sharing the store may have placed one. Locks not seen before
   * go to onLock, so that their sessions end here too.
   */
  async refresh(): Promise<void> {
    const known = new Set(this.active.map((l) => l.id));
    await this.load();
    for (const l of this.active) if (!known.has(l.id)) this.onLock(l);
  }

  /** The lock covering this identity or task (by id, or by its text when given), if any; expired locks are ignored. */
  find(identity: string, taskId?: string, taskReason?: string): LockRecord | undefined {
    const t = new Date().toISOString();
    const task = taskId !== undefined ? { id: taskId, ...(taskReason !== undefined ? { reason: taskReason } : {}) } : undefined;
    return this.active.find((l) => (!l.expiresAt || l.expiresAt > t) && lockCovers(l, identity, task));
  }

  list(): LockRecord[] {
    const t = new Date().toISOString();
    return this.active.filter((l) => !l.expiresAt || l.expiresAt > t);
  }

  /** A locked identity neither places nor lifts locks: it could otherwise free itself. */
  private refuseLocked(by: Identity): void {
    const lock = this.find(by.name);
    if (lock) throw new ServerError(ServerErrorCode.LOCK_LOCKED, `${by.name} is locked by ${lock.createdBy}: ${lock.reason}; someone else must lift it`, 403);
  }

  /**
   * Places a lock. One that matches no identity or task the audit log has seen is refused (a typo would otherwise
   * lock nothing and say it did), unless `future` says it is meant for ones not seen yet.
   */
  async create(by: Identity, target: { user?: string; task?: string }, reason: string, ttl?: string, future = false): Promise<LockRecord> {
    this.refuseLocked(by);
    if (!target.user === !target.task) throw new ServerError(ServerErrorCode.LOCK_TARGET, 'lock either --user or --task');
    if (!reason.trim()) throw new ServerError(ServerErrorCode.LOCK_REASON, 'say why with --reason');
    if (!future) await this.refuseUnseen(target);
    const until = ttl === undefined ? undefined : new Date(Date.now() + parseDuration(ttl));
    // A duration past the calendar (a few hundred thousand years) is a typo, not a lock that never ends.
    if (until && Number.isNaN(until.getTime())) throw new ServerError(ServerErrorCode.LOCK_TTL, `--ttl ${ttl} is too long; leave it out for a lock until unlock`);
    const lock: LockRecord = {
      id: `lck_${randomBytes(9).toString('base64url')}`,
      target: target.user ? { user: target.user } : { task: target.task! },
      reason,
      createdBy: by.name,
      createdAt: new Date().toISOString(),
      ...(until ? { expiresAt: until.toISOString() } : {}),
    };
    await this.store.putLock(lock);
    await this.load();
    await this.audit.write([{ type: 'lock.created', identity: { name: by.name, kind: by.kind, roles: by.roles }, message: reason, details: { lock: lock.id, target: lock.target, ...(lock.expiresAt ? { expiresAt: lock.expiresAt } : {}) } }]);
    this.onLock(lock);
    return lock;
  }

  private async refuseUnseen(target: { user?: string; task?: string }): Promise<void> {
    const seen = await this.audit.search({ ...(target.user !== undefined ? { user: target.user } : { task: target.task! }), limit: 1 });
    if (seen.length > 0) return;
    const what = target.user !== undefined ? `no identity named "${target.user}"` : `no task with id or text "${target.task}"`;
    throw new ServerError(ServerErrorCode.LOCK_NO_MATCH, `${what} appears in the audit log, so the lock would stop nothing now; add --future to lock only ones to come`, 404);
  }

  async remove(by: Identity, id: string): Promise<void> {
    this.refuseLocked(by);
    if (!(await this.store.removeLock(id, by.name, new Date().toISOString()))) throw new ServerError(ServerErrorCode.LOCK_NOT_FOUND, `no active lock ${id}`, 404);
    await this.load();
    await this.audit.write([{ type: 'lock.removed', identity: { name: by.name, kind: by.kind, roles: by.roles }, details: { lock: id } }]);
  }
}
