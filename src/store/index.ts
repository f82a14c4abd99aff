// Public face of the store: persistence for the audit log, login sessions, session recordings and
// the control plane's settings, and the data directory's secret files. It imports only pgwire's error base.
export { StoreError, StoreErrorCode } from './errors.js';
export { readOrCreateSecretFile, type SecretFile } from './secret-file.js';
export type {
  AccessRequestQuery, AccessRequestRecord, AccessRequestState, AuditQuery, AuditRecord, LockRecord, LoginSessionRecord, RecordingRecord,
} from './records.js';
export type { Store } from './store.js';
export { auditRecordOf, type IndexedEvent } from './audit-record-of.js';
export { DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT } from './audit-query.js';
export { openSqliteStore, SQLITE_FILE_NAME } from './sqlite/open.js';
export { startSqliteWriter } from './sqlite/writer-worker.js';
export type { BulkWriter } from './sqlite/writer-worker.js';
export { openPostgresStore } from './postgres/postgres-store.js';
