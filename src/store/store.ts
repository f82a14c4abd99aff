import type {
  AccessRequestQuery, AccessRequestRecord, AccessRequestState, AuditQuery, AuditRecord, LockRecord, LoginSessionRecord, RecordingRecord,
} from './records.js';

/**
 * Persistence for the control plane and the gateway. Async so that a PostgreSQL implementation
 * (several gateways sharing state) fits the same interface; the embedded sqlite one resolves at once.
 * Every implementation passes the shared suite in test/helpers/store-contract.ts.
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

  /** Inserts a new request; a repeated id is AGENTDB_ERR_STORE_DUPLICATE. */
  putRequest(r: AccessRequestRecord): Promise<void>;
  getRequest(id: string): Promise<AccessRequestRecord | undefined>;
  /** Newest first. */
  listRequests(q: AccessRequestQuery): Promise<AccessRequestRecord[]>;
  /** Compare-and-set: moves a request from `from` to a new state; false when it was no longer in `from`
   *  (someone else decided first, or it expired), so two reviewers can never both decide one request.
   *  `expiresAt`, when given, replaces the request's (an approved role request's grant ends then). */
  decideRequest(id: string, from: AccessRequestState, to: { state: AccessRequestState; decidedBy?: string; decidedAt: string; reason?: string; expiresAt?: string }): Promise<boolean>;

  putLock(l: LockRecord): Promise<void>;
  /** Locks not removed and not expired at `at` (ISO time). */
  activeLocks(at: string): Promise<LockRecord[]>;
  /** True when this call removed it. */
  removeLock(id: string, by: string, at: string): Promise<boolean>;

  /** Idempotent; any other call after it fails with AGENTDB_ERR_STORE_CLOSED. */
  close(): Promise<void>;
}
