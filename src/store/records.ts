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
