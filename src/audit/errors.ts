import { CodedError } from '../pgwire/index.js';

/** SQLSTATEs of a failed audit write, as PostgreSQL names them: the client sees why its statement did not run. */
export const AUDIT_WRITE_SQLSTATE = { diskFull: '53100', ioError: '58030' } as const;
export type AuditWriteSqlState = (typeof AUDIT_WRITE_SQLSTATE)[keyof typeof AUDIT_WRITE_SQLSTATE];

/** errno codes of a file system or quota that is full (the journal's write, sqlite's file). */
const FULL_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);
/** SQLite's "database or disk is full" (node:sqlite puts the primary result code in `errcode`). */
const SQLITE_FULL = 13;

/**
 * What a write failure means to a PostgreSQL client: 53100 disk_full when the cause (or a cause of it) is a full
 * disk or quota, a full SQLite file, or a PostgreSQL store that itself said 53100; 58030 io_error otherwise.
 */
export function writeFailureSqlState(cause: unknown): AuditWriteSqlState {
  for (let e = cause, depth = 0; e !== null && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, errcode } = e as { code?: unknown; errcode?: unknown };
    if ((typeof code === 'string' && (FULL_ERRNOS.has(code) || code === AUDIT_WRITE_SQLSTATE.diskFull)) || errcode === SQLITE_FULL) return AUDIT_WRITE_SQLSTATE.diskFull;
  }
  return AUDIT_WRITE_SQLSTATE.ioError;
}

/** Stable codes of every AuditError. */
export const AuditErrorCode = {
  /** An event to submit is malformed, or submit() was called wrongly. */
  BAD_EVENT: 'AGENTDB_ERR_AUDIT_BAD_EVENT',
  /** An event holds something that is not plain JSON (a function, a cycle, a non-finite number). */
  NOT_JSON: 'AGENTDB_ERR_AUDIT_NOT_JSON',
  /** Writing events failed; `sqlState` says whether the disk is full. The gateway refuses the statement. */
  WRITE_FAILED: 'AGENTDB_ERR_AUDIT_WRITE_FAILED',
  /** Reading the audit log (search, verify, export) failed. */
  READ_FAILED: 'AGENTDB_ERR_AUDIT_READ_FAILED',
  /** A search with a bad limit, time or filter. */
  BAD_QUERY: 'AGENTDB_ERR_AUDIT_BAD_QUERY',
  /** The write-ahead journal file cannot be opened. */
  JOURNAL: 'AGENTDB_ERR_AUDIT_JOURNAL',
  /** A stored event or the journal is damaged, or the journal does not continue the stored chain. */
  CORRUPT: 'AGENTDB_ERR_AUDIT_CORRUPT',
  /** The store no longer holds the head of a signed checkpoint: events were cut from its tail. */
  CUT: 'AGENTDB_ERR_AUDIT_CUT',
  /** A signed checkpoint could not be stored. */
  CHECKPOINT_FAILED: 'AGENTDB_ERR_AUDIT_CHECKPOINT_FAILED',
  /** The signing key file cannot be read or created, or is not an Ed25519 private key. */
  KEY_FILE: 'AGENTDB_ERR_AUDIT_KEY_FILE',
  /** There is no signing key, so an export cannot be signed or checked. */
  NO_KEY: 'AGENTDB_ERR_AUDIT_NO_KEY',
} as const;
export type AuditErrorCode = (typeof AuditErrorCode)[keyof typeof AuditErrorCode];

/** The one error type of the audit log; `code` is stable, the message is for people. */
export class AuditError extends CodedError<AuditErrorCode> {
  /** Set on AGENTDB_ERR_AUDIT_WRITE_FAILED: the SQLSTATE the gateway answers a statement it could not audit with. */
  declare readonly sqlState: AuditWriteSqlState | undefined;

  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    // Derived from the cause's errno, so every write path (journal, store, worker) reports it alike.
    const sqlState = code === AuditErrorCode.WRITE_FAILED ? writeFailureSqlState(options?.cause) : undefined;
    super(code, message, { ...options, ...(sqlState ? { sqlState } : {}) });
  }
}
