// Stored rows back into records: the same columns in every Store implementation, so one mapping serves them all.
import { StoreError, StoreErrorCode } from './errors.js';
import { fromJsonText } from './record-checks.js';
import type { AccessRequestRecord, AccessRequestState, AuditRecord, LockRecord } from './records.js';

export type Row = Readonly<Record<string, unknown>>;

export function text(row: Row, col: string): string {
  const v = row[col];
  if (typeof v !== 'string') throw new StoreError(StoreErrorCode.CORRUPT, `the store holds a row whose ${col} is not text`);
  return v;
}

/** Copies the non-null text columns onto `out` under their record names. */
export function copyOptional<T extends object>(out: T, row: Row, pairs: ReadonlyArray<readonly [string, keyof T & string]>): T {
  for (const [col, key] of pairs) {
    const v = row[col];
    if (typeof v === 'string') (out as Record<string, unknown>)[key] = v;
  }
  return out;
}

export function rowToAudit(row: Row): AuditRecord {
  const r: AuditRecord = {
    id: text(row, 'id'), time: text(row, 'time'), type: text(row, 'type'), code: text(row, 'code'),
    prevHash: text(row, 'prev_hash'), hash: text(row, 'hash'), json: text(row, 'json'),
  };
  return copyOptional(r, row, [
    ['sid', 'sid'], ['identity_name', 'identityName'], ['db_service', 'dbService'],
    ['task_id', 'taskId'], ['task_reason', 'taskReason'], ['sql', 'sql'],
  ]);
}

export function rowToRequest(row: Row): AccessRequestRecord {
  const id = text(row, 'id');
  const r: AccessRequestRecord = {
    id,
    kind: text(row, 'kind') as AccessRequestRecord['kind'],
    state: text(row, 'state') as AccessRequestState,
    requester: text(row, 'requester'),
    data: fromJsonText(text(row, 'data'), `access request ${id} data`),
    createdAt: text(row, 'created_at'),
    expiresAt: text(row, 'expires_at'),
  };
  return copyOptional(r, row, [['decided_by', 'decidedBy'], ['decided_at', 'decidedAt'], ['reason', 'reason']]);
}

export function rowToLock(row: Row): LockRecord {
  const id = text(row, 'id');
  const l: LockRecord = {
    id,
    target: fromJsonText(text(row, 'target'), `lock ${id} target`) as LockRecord['target'],
    reason: text(row, 'reason'),
    createdBy: text(row, 'created_by'),
    createdAt: text(row, 'created_at'),
  };
  return copyOptional(l, row, [['expires_at', 'expiresAt'], ['removed_at', 'removedAt'], ['removed_by', 'removedBy']]);
}
