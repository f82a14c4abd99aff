import type { AuditRecord } from '../store/index.js';
import { AuditError, AuditErrorCode } from './errors.js';
import type { AuditEvent } from './event.js';

/** The event a store record holds; a record whose JSON is unreadable was changed outside agentdb. */
export function parseStoredEvent(record: AuditRecord): AuditEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.json);
  } catch (err) {
    throw new AuditError(AuditErrorCode.CORRUPT, `audit event ${record.id} in the store is not valid JSON; run "agentdb audit verify"`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AuditError(AuditErrorCode.CORRUPT, `audit event ${record.id} in the store is not a JSON object; run "agentdb audit verify"`);
  }
  return parsed as AuditEvent;
}
