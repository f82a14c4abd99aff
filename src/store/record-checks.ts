// Checks on what callers hand a store, shared by every implementation so that bad input fails the
// same way (AGENTDB_ERR_STORE_BAD_RECORD) before anything is written, instead of deep in a driver.
import { StoreError, StoreErrorCode } from './errors.js';
import type { AccessRequestRecord, AuditRecord, LockRecord, LoginSessionRecord, RecordingRecord } from './records.js';

/** Date.prototype.toISOString's form; stored times must have it so text order is time order. */
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function badRecord(message: string, cause?: unknown): StoreError {
  return new StoreError(StoreErrorCode.BAD_RECORD, message, cause === undefined ? undefined : { cause });
}

function requireString(v: unknown, what: string): asserts v is string {
  if (typeof v !== 'string' || v === '') throw badRecord(`${what} must be a non-empty string`);
}

function optionalString(v: unknown, what: string): void {
  if (v !== undefined && v !== null && typeof v !== 'string') throw badRecord(`${what} must be a string when given`);
}

export function requireIsoTime(v: unknown, what: string): void {
  if (typeof v !== 'string' || !ISO_UTC_MS.test(v)) {
    throw badRecord(`${what} must be an ISO 8601 UTC time with milliseconds, like 2025-06-15T14:22:00.000Z`);
  }
}

export function requireArray<T>(v: T[], what: string): void {
  if (!Array.isArray(v)) throw badRecord(`${what} must be an array`);
}

export function checkAuditRecord(r: AuditRecord): void {
  if (typeof r !== 'object' || r === null) throw badRecord('an audit record must be an object');
  requireString(r.id, 'audit record id');
  requireIsoTime(r.time, `audit record ${r.id} time`);
  requireString(r.type, `audit record ${r.id} type`);
  requireString(r.code, `audit record ${r.id} code`);
  requireString(r.prevHash, `audit record ${r.id} prevHash`);
  requireString(r.hash, `audit record ${r.id} hash`);
  requireString(r.json, `audit record ${r.id} json`);
  optionalString(r.sid, `audit record ${r.id} sid`);
  optionalString(r.identityName, `audit record ${r.id} identityName`);
  optionalString(r.dbService, `audit record ${r.id} dbService`);
  optionalString(r.taskId, `audit record ${r.id} taskId`);
  optionalString(r.taskReason, `audit record ${r.id} taskReason`);
  optionalString(r.sql, `audit record ${r.id} sql`);
}

export function checkLoginSession(s: LoginSessionRecord): void {
  if (typeof s !== 'object' || s === null) throw badRecord('a login session must be an object');
  requireString(s.id, 'login session id');
  requireString(s.secretHash, `login session ${s.id} secretHash`);
  requireString(s.createdAt, `login session ${s.id} createdAt`);
  requireString(s.expiresAt, `login session ${s.id} expiresAt`);
  optionalString(s.revokedAt, `login session ${s.id} revokedAt`);
}

export function checkRecordingRecord(r: RecordingRecord): void {
  if (typeof r !== 'object' || r === null) throw badRecord('a recording record must be an object');
  requireString(r.sid, 'recording record sid');
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 0) {
    throw badRecord(`recording record ${r.sid} seq must be a whole number >= 0`);
  }
  requireString(r.time, `recording record ${r.sid}/${r.seq} time`);
  requireString(r.kind, `recording record ${r.sid}/${r.seq} kind`);
}

export function requireKey(v: unknown, what: string): asserts v is string {
  requireString(v, what);
}

/** JSON text of a value the store keeps as JSON; undefined, bigint, cycles and the like are refused clearly. */
export function toJsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw badRecord(`${what} cannot be stored as JSON: ${(err as Error).message}`, err);
  }
  if (text === undefined) throw badRecord(`${what} cannot be stored as JSON (it is ${typeof value})`);
  return text;
}

/** Parses JSON the store wrote; failure means the data was changed behind the store's back. */
export function fromJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new StoreError(StoreErrorCode.CORRUPT, `${what} in the store is not valid JSON`, { cause: err });
  }
}

const REQUEST_STATES = new Set(['pending', 'approved', 'denied', 'expired']);

export function checkRequestState(v: unknown, what: string): void {
  if (typeof v !== 'string' || !REQUEST_STATES.has(v)) throw badRecord(`${what} must be one of pending, approved, denied, expired`);
}

export function checkAccessRequest(r: AccessRequestRecord): void {
  if (typeof r !== 'object' || r === null) throw badRecord('an access request must be an object');
  requireString(r.id, 'access request id');
  if (r.kind !== 'statement' && r.kind !== 'role') throw badRecord(`access request ${r.id} kind must be statement or role`);
  checkRequestState(r.state, `access request ${r.id} state`);
  requireString(r.requester, `access request ${r.id} requester`);
  requireIsoTime(r.createdAt, `access request ${r.id} createdAt`);
  requireIsoTime(r.expiresAt, `access request ${r.id} expiresAt`);
  optionalString(r.decidedBy, `access request ${r.id} decidedBy`);
  optionalString(r.reason, `access request ${r.id} reason`);
}

export function checkLock(l: LockRecord): void {
  if (typeof l !== 'object' || l === null) throw badRecord('a lock must be an object');
  requireString(l.id, 'lock id');
  if (typeof l.target !== 'object' || l.target === null || (!l.target.user && !l.target.task)) {
    throw badRecord(`lock ${l.id} must target a user or a task`);
  }
  requireString(l.reason, `lock ${l.id} reason`);
  requireString(l.createdBy, `lock ${l.id} createdBy`);
  requireIsoTime(l.createdAt, `lock ${l.id} createdAt`);
  if (l.expiresAt !== undefined) requireIsoTime(l.expiresAt, `lock ${l.id} expiresAt`);
}
