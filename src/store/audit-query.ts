import { StoreError, StoreErrorCode } from './errors.js';
import type { AuditQuery } from './records.js';

export const DEFAULT_AUDIT_LIMIT = 100;
/** A search answer is held in memory; walking everything is what scanAudit is for. */
export const MAX_AUDIT_LIMIT = 10_000;

/**
 * An AuditQuery checked and reduced to what a store implementation filters on, so every store
 * reads a query the same way. Empty strings count as "not given".
 */
export interface AuditFilter {
  user?: string;
  db?: string;
  sid?: string;
  /** the task filter as given, compared exactly with the task id */
  taskId?: string;
  /** the task filter lower-cased, looked for inside the lower-cased task reason */
  taskText?: string;
  typeExact?: string;
  /** 'db.session.' for 'db.session.*'; '' for '*' means any type */
  typePrefix?: string;
  /** ISO 8601 UTC with ms, comparable as text with stored times */
  since?: string;
  until?: string;
  /** lower-cased */
  sqlText?: string;
  limit: number;
  order: 'asc' | 'desc';
}

function badQuery(message: string): StoreError {
  return new StoreError(StoreErrorCode.BAD_QUERY, message);
}

function optionalString(q: AuditQuery, key: 'user' | 'db' | 'task' | 'sid' | 'type' | 'query'): string | undefined {
  const v: unknown = q[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badQuery(`audit search filter "${key}" must be a string`);
  return v === '' ? undefined : v;
}

function optionalTime(q: AuditQuery, key: 'since' | 'until'): string | undefined {
  const v: unknown = q[key];
  if (v === undefined || v === null) return undefined;
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw badQuery(`audit search filter "${key}" must be a valid date`);
  return v.toISOString();
}

export function normalizeAuditQuery(q: AuditQuery): AuditFilter {
  if (typeof q !== 'object' || q === null) throw badQuery('audit search needs a query object');
  const limit: unknown = q.limit ?? DEFAULT_AUDIT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) {
    throw badQuery(`audit search limit must be a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
  }
  const order: unknown = q.order ?? 'asc';
  if (order !== 'asc' && order !== 'desc') throw badQuery('audit search order must be "asc" or "desc"');

  const f: AuditFilter = { limit, order };
  const user = optionalString(q, 'user');
  if (user !== undefined) f.user = user;
  const db = optionalString(q, 'db');
  if (db !== undefined) f.db = db;
  const sid = optionalString(q, 'sid');
  if (sid !== undefined) f.sid = sid;
  const task = optionalString(q, 'task');
  if (task !== undefined) {
    f.taskId = task;
    f.taskText = task.toLowerCase();
  }
  const type = optionalString(q, 'type');
  if (type !== undefined) {
    const star = type.indexOf('*');
    if (star === -1) f.typeExact = type;
    else if (star === type.length - 1) f.typePrefix = type.slice(0, -1);
    else throw badQuery(`audit search type "${type}" may have '*' only at its end, e.g. "db.session.*"`);
  }
  const sql = optionalString(q, 'query');
  if (sql !== undefined) f.sqlText = sql.toLowerCase();
  const since = optionalTime(q, 'since');
  if (since !== undefined) f.since = since;
  const until = optionalTime(q, 'until');
  if (until !== undefined) f.until = until;
  if (since !== undefined && until !== undefined && since > until) {
    throw badQuery('audit search "since" is after "until"');
  }
  return f;
}
