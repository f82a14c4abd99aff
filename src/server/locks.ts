// Locks stop an identity or a task at once: no new certificates, no new sessions, open sessions ended.
// Active locks are cached in memory (checked on every certificate and session) and reloaded on change.
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/index.js';
import type { Identity } from '../identity/index.js';
import type { LockRecord, Store } from '../store/index.js';
import { parseDuration } from './duration.js';

export class LockError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
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

  /** The lock covering this identity or task, if any (expired locks are ignored). */
  find(identity: string, taskId?: string): LockRecord | undefined {
    const t = new Date().toISOString();
    return this.active.find((l) => (!l.expiresAt || l.expiresAt > t) && ((l.target.user && l.target.user === identity) || (l.target.task && l.target.task === taskId)));
  }

  list(): LockRecord[] {
    const t = new Date().toISOString();
    return this.active.filter((l) => !l.expiresAt || l.expiresAt > t);
  }

  /** A locked identity neither places nor lifts locks: it could otherwise free itself. */
  private refuseLocked(by: Identity): void {
    const lock = this.find(by.name);
    if (lock) throw new LockError('AGENTDB_ERR_LOCK_LOCKED', `${by.name} is locked by ${lock.createdBy}: ${lock.reason}; someone else must lift it`, 403);
  }

  async create(by: Identity, target: { user?: string; task?: string }, reason: string, ttl?: string): Promise<LockRecord> {
    this.refuseLocked(by);
    if (!target.user === !target.task) throw new LockError('AGENTDB_ERR_LOCK_TARGET', 'lock either --user or --task');
    if (!reason.trim()) throw new LockError('AGENTDB_ERR_LOCK_REASON', 'say why with --reason');
    const until = ttl === undefined ? undefined : new Date(Date.now() + parseDuration(ttl));
    // A duration past the calendar (a few hundred thousand years) is a typo, not a lock that never ends.
    if (until && Number.isNaN(until.getTime())) throw new LockError('AGENTDB_ERR_LOCK_TTL', `--ttl ${ttl} is too long; leave it out for a lock until unlock`);
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

  async remove(by: Identity, id: string): Promise<void> {
    this.refuseLocked(by);
    if (!(await this.store.removeLock(id, by.name, new Date().toISOString()))) throw new LockError('AGENTDB_ERR_LOCK_NOT_FOUND', `no active lock ${id}`, 404);
    await this.load();
    await this.audit.write([{ type: 'lock.removed', identity: { name: by.name, kind: by.kind, roles: by.roles }, details: { lock: id } }]);
  }
}
