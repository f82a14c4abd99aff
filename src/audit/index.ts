// Public face of the audit log: the event model, its hash chain, the group-committing writer,
// search and verification.
export { AuditError, AuditErrorCode } from './errors.js';
export { AUDIT_EVENT_TYPES, type AuditEvent, type AuditEventInput, type AuditEventType } from './event.js';
export { canonicalJson } from './canonical-json.js';
export { eventHash, GENESIS_HASH } from './chain.js';
export { AUDIT_CODES, auditCode } from './codes.js';
export { AuditLog, CHECKPOINT_KV_KEY, DEFAULT_CHECKPOINT_EVERY, type CheckpointStatus, type ExportItem } from './audit-log.js';
export { loadOrCreateCheckpointKey, checkpointKeyId, CHECKPOINT_KEY_FILE, type Checkpoint, type CheckpointSigner } from './checkpoint.js';
export { exportLine, EXPORT_FORMATS, type ExportFormat } from './export.js';
export { verifyExport, type ExportVerifyResult } from './verify-export.js';
export type { DurableCallback } from './group-commit.js';
export type { VerifyResult } from './verify.js';
export type { AuditQuery } from '../store/index.js';
