// The search columns of an audit record, taken from the event they index. One place for both sides: the audit
// log builds records from the events it seals, and the SQLite writer thread from the journal's lines (the
// events' canonical JSON), so that the records cross to it as the file's bytes instead of as cloned objects.
import { StoreError, StoreErrorCode } from './errors.js';
import type { AuditRecord } from './records.js';

/** The fields of an audit event the store indexes (the audit module's AuditEvent has them all). */
export interface IndexedEvent {
  id: string;
  time: string;
  type: string;
  code: string;
  sid?: string;
  identity?: { name: string };
  db?: { service: string };
  task?: { id: string; reason: string };
  statement?: { sql: string };
  prevHash: string;
  hash: string;
}

/** The store record of an event whose whole text is `json`. */
export function auditRecordOf(event: IndexedEvent, json: string): AuditRecord {
  const r: AuditRecord = { id: event.id, time: event.time, type: event.type, code: event.code, prevHash: event.prevHash, hash: event.hash, json };
  if (event.sid !== undefined) r.sid = event.sid;
  if (event.identity !== undefined) r.identityName = event.identity.name;
  if (event.db !== undefined) r.dbService = event.db.service;
  if (event.task !== undefined) {
    r.taskId = event.task.id;
    r.taskReason = event.task.reason;
  }
  if (event.statement !== undefined) r.sql = event.statement.sql;
  return r;
}

/** The records of whole journal lines (each an event's canonical JSON, newline-terminated). */
export function auditRecordsOfLines(text: string): AuditRecord[] {
  const out: AuditRecord[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line === '') continue;
    let event: IndexedEvent;
    try {
      event = JSON.parse(line) as IndexedEvent;
    } catch (err) {
      // The range was appended whole before it was handed over: a line that does not parse was changed since.
      throw new StoreError(StoreErrorCode.CORRUPT, `the audit journal holds a line that is not JSON where a written event was: ${(err as Error).message}`, { cause: err });
    }
    out.push(auditRecordOf(event, line));
  }
  return out;
}
