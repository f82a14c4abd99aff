import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { normalizeAuditQuery } from '../audit-query.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import {
  checkAccessRequest,
  checkAuditRecord,
  checkLock,
  checkRequestState,
  requireIsoTime,
  checkLoginSession,
  checkRecordingRecord,
  fromJsonText,
  requireArray,
  requireKey,
  toJsonText,
} from '../record-checks.js';
import type {
  AccessRequestQuery, AccessRequestRecord, AccessRequestState, AuditQuery, AuditRecord, LockRecord, LoginSessionRecord, RecordingRecord,
} from '../records.js';
import { DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT } from '../audit-query.js';
import type { Store } from '../store.js';
import { AUDIT_COLUMNS, auditSearchSql } from './audit-search-sql.js';
import { rowToAudit, rowToLock, rowToRequest, text, type Row } from '../row-records.js';



/** Rows read per page by scanAudit: enough to amortise the query, small enough to stay in memory. */
const SCAN_PAGE = 500;

/** SQLite's extended result codes for a repeated key, and the primary code for "locked too long". */
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_BUSY = 5;


function optionalText(row: Row, col: string): string | undefined {
  const v = row[col];
  return typeof v === 'string' ? v : undefined;
}


/** Maps a driver error to a StoreError; the SQL text is not included (it may quote stored data). */
function storeFailure(err: unknown, doing: string): StoreError {
  if (err instanceof StoreError) return err;
  const errcode = (err as { errcode?: unknown }).errcode;
  const primary = typeof errcode === 'number' ? errcode & 0xff : undefined;
  const detail = (err as Error).message;
  if (errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY) {
    return new StoreError(StoreErrorCode.DUPLICATE, `${doing} failed: a record with the same key is already stored (${detail})`, { cause: err });
  }
  if (primary === SQLITE_BUSY) {
    return new StoreError(StoreErrorCode.BUSY, `${doing} failed: the store file is locked by another process for too long`, { cause: err });
  }
  return new StoreError(StoreErrorCode.FAILED, `${doing} failed: ${detail}`, { cause: err });
}

const REQUEST_COLUMNS = 'id, kind, state, requester, data, created_at, expires_at, decided_by, decided_at, reason';



export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #closed = false;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Prepared once per SQL text and reused; search shapes are few, so the cache stays small. */
  #stmt(sql: string): StatementSync {
    if (this.#closed) throw new StoreError(StoreErrorCode.CLOSED, 'the store is closed');
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #transaction(doing: string, body: () => void): void {
    this.#stmt('BEGIN IMMEDIATE').run();
    try {
      body();
      this.#stmt('COMMIT').run();
    } catch (err) {
      if (this.#db.isTransaction) this.#stmt('ROLLBACK').run();
      throw storeFailure(err, doing);
    }
  }

  #run<T>(doing: string, body: () => T): T {
    try {
      return body();
    } catch (err) {
      throw storeFailure(err, doing);
    }
  }

  async appendAudit(records: AuditRecord[]): Promise<void> {
    requireArray(records, 'audit records');
    for (const r of records) checkAuditRecord(r);
    if (records.length === 0) return;
    this.#run('appending audit events', () => {
      const insert = this.#stmt(
        'INSERT INTO audit (id, time, type, code, sid, identity_name, db_service, task_id, task_reason, sql, prev_hash, hash, json) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      this.#transaction('appending audit events', () => {
        for (const r of records) {
          insert.run(
            r.id, r.time, r.type, r.code, r.sid ?? null, r.identityName ?? null, r.dbService ?? null,
            r.taskId ?? null, r.taskReason ?? null, r.sql ?? null, r.prevHash, r.hash, r.json,
          );
        }
      });
    });
  }

  async lastAuditHash(): Promise<string | undefined> {
    return this.#run('reading the audit chain head', () => {
      const row = this.#stmt('SELECT hash FROM audit ORDER BY seq DESC LIMIT 1').get();
      return row === undefined ? undefined : text(row, 'hash');
    });
  }

  async searchAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const { sql, params } = auditSearchSql(normalizeAuditQuery(q));
    return this.#run('searching the audit log', () => this.#stmt(sql).all(...params).map(rowToAudit));
  }

  async *scanAudit(): AsyncGenerator<AuditRecord> {
    let after = 0;
    for (;;) {
      const rows = this.#run('reading the audit log', () =>
        this.#stmt(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`).all(after, SCAN_PAGE),
      );
      for (const row of rows) yield rowToAudit(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < SCAN_PAGE) return;
      after = last['seq'] as number;
    }
  }

  async putLoginSession(s: LoginSessionRecord): Promise<void> {
    checkLoginSession(s);
    const identity = toJsonText(s.identity, `login session ${s.id} identity`);
    this.#run('storing a login session', () => {
      this.#stmt(
        'INSERT OR REPLACE INTO login_sessions (id, secret_hash, identity, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(s.id, s.secretHash, identity, s.createdAt, s.expiresAt, s.revokedAt ?? null);
    });
  }

  async getLoginSession(id: string): Promise<LoginSessionRecord | undefined> {
    requireKey(id, 'login session id');
    const row = this.#run('reading a login session', () =>
      this.#stmt('SELECT id, secret_hash, identity, created_at, expires_at, revoked_at FROM login_sessions WHERE id = ?').get(id),
    );
    if (row === undefined) return undefined;
    const s: LoginSessionRecord = {
      id: text(row, 'id'),
      secretHash: text(row, 'secret_hash'),
      identity: fromJsonText(text(row, 'identity'), `login session ${id} identity`),
      createdAt: text(row, 'created_at'),
      expiresAt: text(row, 'expires_at'),
    };
    const revokedAt = optionalText(row, 'revoked_at');
    if (revokedAt !== undefined) s.revokedAt = revokedAt;
    return s;
  }

  async revokeLoginSession(id: string, at: string): Promise<boolean> {
    requireKey(id, 'login session id');
    requireKey(at, 'revocation time');
    return this.#run('revoking a login session', () => {
      const res = this.#stmt('UPDATE login_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
      return Number(res.changes) > 0;
    });
  }

  async appendRecording(records: RecordingRecord[]): Promise<void> {
    requireArray(records, 'recording records');
    const data: string[] = [];
    for (const r of records) {
      checkRecordingRecord(r);
      data.push(toJsonText(r.data, `recording record ${r.sid}/${r.seq} data`));
    }
    if (records.length === 0) return;
    this.#run('appending to a session recording', () => {
      const insert = this.#stmt('INSERT INTO recordings (sid, seq, time, kind, data) VALUES (?, ?, ?, ?, ?)');
      this.#transaction('appending to a session recording', () => {
        records.forEach((r, i) => insert.run(r.sid, r.seq, r.time, r.kind, data[i] as string));
      });
    });
  }

  async readRecording(sid: string): Promise<RecordingRecord[]> {
    requireKey(sid, 'session id');
    const rows = this.#run('reading a session recording', () =>
      this.#stmt('SELECT sid, seq, time, kind, data FROM recordings WHERE sid = ? ORDER BY seq').all(sid),
    );
    return rows.map((row) => ({
      sid: text(row, 'sid'),
      seq: row['seq'] as number,
      time: text(row, 'time'),
      kind: text(row, 'kind'),
      data: fromJsonText(text(row, 'data'), `recording ${sid} entry ${String(row['seq'])}`),
    }));
  }

  async getKv(key: string): Promise<unknown> {
    requireKey(key, 'settings key');
    const row = this.#run('reading a setting', () => this.#stmt('SELECT value FROM kv WHERE key = ?').get(key));
    return row === undefined ? undefined : fromJsonText(text(row, 'value'), `setting ${key}`);
  }

  async putKv(key: string, value: unknown): Promise<void> {
    requireKey(key, 'settings key');
    if (value === undefined) {
      this.#run('deleting a setting', () => this.#stmt('DELETE FROM kv WHERE key = ?').run(key));
      return;
    }
    const json: SQLInputValue = toJsonText(value, `setting ${key}`);
    this.#run('storing a setting', () =>
      this.#stmt('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, json),
    );
  }

  async putRequest(r: AccessRequestRecord): Promise<void> {
    checkAccessRequest(r);
    const data = toJsonText(r.data, `access request ${r.id} data`);
    this.#run('storing an access request', () =>
      this.#stmt(`INSERT INTO access_requests (${REQUEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        r.id, r.kind, r.state, r.requester, data, r.createdAt, r.expiresAt, r.decidedBy ?? null, r.decidedAt ?? null, r.reason ?? null,
      ),
    );
  }

  async getRequest(id: string): Promise<AccessRequestRecord | undefined> {
    requireKey(id, 'access request id');
    const row = this.#run('reading an access request', () => this.#stmt(`SELECT ${REQUEST_COLUMNS} FROM access_requests WHERE id = ?`).get(id));
    return row === undefined ? undefined : rowToRequest(row);
  }

  async listRequests(q: AccessRequestQuery): Promise<AccessRequestRecord[]> {
    if (q.state !== undefined) checkRequestState(q.state, 'request state filter');
    const limit = Math.min(Math.max(1, Math.floor(q.limit ?? DEFAULT_AUDIT_LIMIT)), MAX_AUDIT_LIMIT);
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (q.state !== undefined) { where.push('state = ?'); params.push(q.state); }
    if (q.kind !== undefined) { where.push('kind = ?'); params.push(q.kind); }
    if (q.requester !== undefined) { where.push('requester = ?'); params.push(q.requester); }
    // The default limit is written into the SQL, not bound: SQLite re-prepared the statement on every run with a
    // bound LIMIT, and this one runs for every certificate issued (grantedRoles). Any other limit (a user's `request
    // list --limit`) stays bound, so that no caller can fill the statement cache with one statement per number.
    const inline = limit === DEFAULT_AUDIT_LIMIT || !Number.isFinite(limit);
    const sql =
      `SELECT ${REQUEST_COLUMNS} FROM access_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY created_at DESC, id LIMIT ${inline ? DEFAULT_AUDIT_LIMIT : '?'}`;
    if (!inline) params.push(limit);
    return this.#run('listing access requests', () => this.#stmt(sql).all(...params).map(rowToRequest));
  }

  async decideRequest(id: string, from: AccessRequestState, to: { state: AccessRequestState; decidedBy?: string; decidedAt: string; reason?: string; expiresAt?: string }): Promise<boolean> {
    requireKey(id, 'access request id');
    checkRequestState(from, 'current request state');
    checkRequestState(to.state, 'new request state');
    if (to.expiresAt !== undefined) requireIsoTime(to.expiresAt, 'request expiry');
    return this.#run('deciding an access request', () => {
      const res = this.#stmt('UPDATE access_requests SET state = ?, decided_by = ?, decided_at = ?, reason = ?, expires_at = coalesce(?, expires_at) WHERE id = ? AND state = ?').run(
        to.state, to.decidedBy ?? null, to.decidedAt, to.reason ?? null, to.expiresAt ?? null, id, from,
      );
      return Number(res.changes) > 0;
    });
  }

  async putLock(l: LockRecord): Promise<void> {
    checkLock(l);
    const target = toJsonText(l.target, `lock ${l.id} target`);
    this.#run('storing a lock', () =>
      this.#stmt('INSERT INTO locks (id, target, reason, created_by, created_at, expires_at, removed_at, removed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        l.id, target, l.reason, l.createdBy, l.createdAt, l.expiresAt ?? null, l.removedAt ?? null, l.removedBy ?? null,
      ),
    );
  }

  async activeLocks(at: string): Promise<LockRecord[]> {
    requireKey(at, 'time');
    return this.#run('reading locks', () =>
      this.#stmt('SELECT * FROM locks WHERE removed_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at').all(at).map(rowToLock),
    );
  }

  async removeLock(id: string, by: string, at: string): Promise<boolean> {
    requireKey(id, 'lock id');
    return this.#run('removing a lock', () => {
      const res = this.#stmt('UPDATE locks SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL').run(at, by, id);
      return Number(res.changes) > 0;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }
}
