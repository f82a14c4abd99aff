import type { AuditQuery, AuditRecord, LoginSessionRecord, RecordingRecord } from './records.js';

/**
 * Persistence for the control plane and the gateway. Async so that a PostgreSQL implementation
 * (several gateways sharing state) fits the same interface; the embedded sqlite one resolves at once.
 * Every implementation passes the shared suite in test/unit/store-contract.ts.
 */
export interface Store {
  /** One transaction; records keep their insertion order (chain order). */
  appendAudit(records: AuditRecord[]): Promise<void>;
  /** The hash of the last stored audit record, or undefined when there is none. */
  lastAuditHash(): Promise<string | undefined>;
  searchAudit(q: AuditQuery): Promise<AuditRecord[]>;
  /** Every audit record in chain order, read page by page. */
  scanAudit(): AsyncIterable<AuditRecord>;

  /** Inserts or replaces. */
  putLoginSession(s: LoginSessionRecord): Promise<void>;
  getLoginSession(id: string): Promise<LoginSessionRecord | undefined>;
  /** True when this call revoked the session; false when it is unknown or was already revoked. */
  revokeLoginSession(id: string, at: string): Promise<boolean>;

  /** One transaction; (sid, seq) is unique. */
  appendRecording(records: RecordingRecord[]): Promise<void>;
  /** Ordered by seq; empty when the session has no recording. */
  readRecording(sid: string): Promise<RecordingRecord[]>;

  /** A small key/value table for the control plane's own state; values are JSON. Missing keys read as undefined. */
  getKv(key: string): Promise<unknown>;
  /** Writing undefined deletes the key. */
  putKv(key: string, value: unknown): Promise<void>;

  /** Idempotent; any other call after it fails with AGENTDB_ERR_STORE_CLOSED. */
  close(): Promise<void>;
}
