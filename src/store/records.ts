// The shapes the store keeps. They are defined here, not in audit/ or recording/, because the store
// imports nothing of the project; those modules build on these records.

/** One audit event as stored: a few columns pulled out for search, plus the whole event as canonical JSON. */
export interface AuditRecord {
  id: string;
  /** ISO 8601 with milliseconds, UTC (`Date.prototype.toISOString`), so text order is time order. */
  time: string;
  type: string;
  code: string;
  sid?: string;
  identityName?: string;
  dbService?: string;
  taskId?: string;
  taskReason?: string;
  sql?: string;
  prevHash: string;
  hash: string;
  /** the whole event, canonical JSON */
  json: string;
}

export interface AuditQuery {
  user?: string;
  db?: string;
  /** matches the task id exactly OR a case-insensitive substring of the task reason */
  task?: string;
  sid?: string;
  /** exact, or a prefix ending in '*', e.g. 'db.session.*' */
  type?: string;
  /** inclusive */
  since?: Date;
  /** inclusive */
  until?: Date;
  /** case-insensitive substring of the statement SQL */
  query?: string;
  /** default 100 */
  limit?: number;
  /** by insertion order; default 'asc' */
  order?: 'asc' | 'desc';
}

export interface LoginSessionRecord {
  id: string;
  secretHash: string;
  identity: unknown;
  createdAt: string;
  expiresAt: string;
  revokedAt?: string;
}

export interface RecordingRecord {
  sid: string;
  seq: number;
  time: string;
  kind: string;
  data: unknown;
}

export type AccessRequestState = 'pending' | 'approved' | 'denied' | 'expired';

/** A held statement waiting for review, or a just-in-time role request. */
export interface AccessRequestRecord {
  id: string;
  kind: 'statement' | 'role';
  state: AccessRequestState;
  /** identity name of who asked */
  requester: string;
  /** kind-specific content (the statement and its context, or the role and reason), JSON */
  data: unknown;
  createdAt: string;
  /** a pending request expires then; an approved role request's grant ends then */
  expiresAt: string;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
}

export interface AccessRequestQuery {
  state?: AccessRequestState;
  kind?: 'statement' | 'role';
  requester?: string;
  /** default 100 */
  limit?: number;
}

/** A lock stops an identity or a task: no new certificates, no new sessions, open sessions ended. */
export interface LockRecord {
  id: string;
  target: { user?: string; task?: string };
  reason: string;
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  removedAt?: string;
  removedBy?: string;
}
