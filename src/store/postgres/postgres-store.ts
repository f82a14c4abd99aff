// The Store on PostgreSQL, for several gateways sharing one control-plane state. Same semantics and
// error codes as the sqlite store (both pass test/helpers/store-contract.ts); every table lives in one schema.
import pg from 'pg';
import { normalizeAuditQuery, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT } from '../audit-query.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import {
  checkAccessRequest,
  checkAuditRecord,
  checkLock,
  checkLoginSession,
  checkRecordingRecord,
  checkRequestState,
  fromJsonText,
  requireArray,
  requireIsoTime,
  requireKey,
  toJsonText,
} from '../record-checks.js';
import type {
  AccessRequestQuery, AccessRequestRecord, AccessRequestState, AuditQuery, AuditRecord, LockRecord, LoginSessionRecord, RecordingRecord,
} from '../records.js';
import type { Store } from '../store.js';
import { PG_AUDIT_COLUMNS, pgAuditSearchSql } from './audit-search-sql.js';
import { copyOptional, rowToAudit, rowToLock, rowToRequest, text, type Row } from '../row-records.js';
import { checkSchemaName, migratePg } from './migrations.js';


export const DEFAULT_PG_SCHEMA = 'agentdb';
/** Rows read per page by scanAudit, as in the sqlite store. */
const SCAN_PAGE = 500;
const POOL_MAX = 4;
/** Opening (and any later query waiting for a connection) fails instead of hanging on an unreachable server. */
const CONNECT_TIMEOUT_MS = 10_000;
const PG_UNIQUE_VIOLATION = '23505';

/** Maps a driver error to a StoreError; the SQL text is not included (it may quote stored data). */
function storeFailure(err: unknown, doing: string): StoreError {
  if (err instanceof StoreError) return err;
  const detail = (err as Error).message;
  if ((err as { code?: unknown }).code === PG_UNIQUE_VIOLATION) {
    return new StoreError(StoreErrorCode.DUPLICATE, `${doing} failed: a record with the same key is already stored (${detail})`, { cause: err });
  }
  return new StoreError(StoreErrorCode.FAILED, `${doing} failed: ${detail}`, { cause: err });
}

const REQUEST_COLUMNS = 'id, kind, state, requester, data, created_at, expires_at, decided_by, decided_at, reason';
const LOCK_COLUMNS = 'id, target, reason, created_by, created_at, expires_at, removed_at, removed_by';

export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  /** The quoted schema, checked by checkSchemaName before it gets here. */
  readonly #s: string;
  readonly #schema: string;
  #closed = false;

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#schema = schema;
    this.#s = `"${schema}"`;
  }

  #open(): void {
    if (this.#closed) throw new StoreError(StoreErrorCode.CLOSED, 'the store is closed');
  }

  async #query(doing: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult<Row>> {
    this.#open();
    try {
      return await this.#pool.query<Row>(sql, params);
    } catch (err) {
      throw storeFailure(err, doing);
    }
  }

  async #transaction(doing: string, body: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    this.#open();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw storeFailure(err, doing);
    }
    try {
      await client.query('BEGIN');
      await body(client);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw storeFailure(err, doing);
    } finally {
      client.release();
    }
  }

  async appendAudit(records: AuditRecord[]): Promise<void> {
    requireArray(records, 'audit records');
    for (const r of records) checkAuditRecord(r);
    this.#open();
    if (records.length === 0) return;
    const col = <K extends keyof AuditRecord>(k: K): (AuditRecord[K] | null)[] => records.map((r) => r[k] ?? null);
    await this.#transaction('appending audit events', async (client) => {
      // Writers from several gateways take turns, so seq order is commit order and the chain head read
      // by the next writer is really the last record.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`agentdb.store.audit:${this.#schema}`]);
      // One statement for the whole batch; ORDER BY ordinality hands seq out in the batch's order.
      await client.query(
        `INSERT INTO ${this.#s}.audit (id, time, type, code, sid, identity_name, db_service, task_id, task_reason, sql, prev_hash, hash, json) ` +
          'SELECT id, time, type, code, sid, identity_name, db_service, task_id, task_reason, sql, prev_hash, hash, json ' +
          'FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], ' +
          '$10::text[], $11::text[], $12::text[], $13::text[]) WITH ORDINALITY ' +
          'AS b(id, time, type, code, sid, identity_name, db_service, task_id, task_reason, sql, prev_hash, hash, json, n) ORDER BY n',
        [
          col('id'), col('time'), col('type'), col('code'), col('sid'), col('identityName'), col('dbService'),
          col('taskId'), col('taskReason'), col('sql'), col('prevHash'), col('hash'), col('json'),
        ],
      );
    });
  }

  async lastAuditHash(): Promise<string | undefined> {
    const res = await this.#query('reading the audit chain head', `SELECT hash FROM ${this.#s}.audit ORDER BY seq DESC LIMIT 1`);
    const row = res.rows[0];
    return row === undefined ? undefined : text(row, 'hash');
  }

  async searchAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const { sql, params } = pgAuditSearchSql(this.#schema, normalizeAuditQuery(q));
    return (await this.#query('searching the audit log', sql, params)).rows.map(rowToAudit);
  }

  async *scanAudit(): AsyncGenerator<AuditRecord> {
    // seq is a bigint, which pg hands over as text; it goes back as a parameter unchanged.
    let after = '0';
    for (;;) {
      const { rows } = await this.#query(
        'reading the audit log',
        `SELECT ${PG_AUDIT_COLUMNS} FROM ${this.#s}.audit WHERE seq > $1 ORDER BY seq LIMIT $2`,
        [after, SCAN_PAGE],
      );
      for (const row of rows) yield rowToAudit(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < SCAN_PAGE) return;
      after = String(last['seq']);
    }
  }

  async putLoginSession(s: LoginSessionRecord): Promise<void> {
    checkLoginSession(s);
    const identity = toJsonText(s.identity, `login session ${s.id} identity`);
    await this.#query(
      'storing a login session',
      `INSERT INTO ${this.#s}.login_sessions (id, secret_hash, identity, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6) ` +
        'ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, identity = excluded.identity, ' +
        'created_at = excluded.created_at, expires_at = excluded.expires_at, revoked_at = excluded.revoked_at',
      [s.id, s.secretHash, identity, s.createdAt, s.expiresAt, s.revokedAt ?? null],
    );
  }

  async getLoginSession(id: string): Promise<LoginSessionRecord | undefined> {
    requireKey(id, 'login session id');
    const res = await this.#query(
      'reading a login session',
      `SELECT id, secret_hash, identity, created_at, expires_at, revoked_at FROM ${this.#s}.login_sessions WHERE id = $1`,
      [id],
    );
    const row = res.rows[0];
    if (row === undefined) return undefined;
    const s: LoginSessionRecord = {
      id: text(row, 'id'),
      secretHash: text(row, 'secret_hash'),
      identity: fromJsonText(text(row, 'identity'), `login session ${id} identity`),
      createdAt: text(row, 'created_at'),
      expiresAt: text(row, 'expires_at'),
    };
    return copyOptional(s, row, [['revoked_at', 'revokedAt']]);
  }

  async revokeLoginSession(id: string, at: string): Promise<boolean> {
    requireKey(id, 'login session id');
    requireKey(at, 'revocation time');
    const res = await this.#query(
      'revoking a login session',
      `UPDATE ${this.#s}.login_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
      [at, id],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async appendRecording(records: RecordingRecord[]): Promise<void> {
    requireArray(records, 'recording records');
    const data: string[] = [];
    for (const r of records) {
      checkRecordingRecord(r);
      data.push(toJsonText(r.data, `recording record ${r.sid}/${r.seq} data`));
    }
    this.#open();
    if (records.length === 0) return;
    await this.#transaction('appending to a session recording', async (client) => {
      await client.query(
        `INSERT INTO ${this.#s}.recordings (sid, seq, time, kind, data) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])`,
        [records.map((r) => r.sid), records.map((r) => r.seq), records.map((r) => r.time), records.map((r) => r.kind), data],
      );
    });
  }

  async readRecording(sid: string): Promise<RecordingRecord[]> {
    requireKey(sid, 'session id');
    const res = await this.#query(
      'reading a session recording',
      `SELECT sid, seq, time, kind, data FROM ${this.#s}.recordings WHERE sid = $1 ORDER BY seq`,
      [sid],
    );
    return res.rows.map((row) => ({
      sid: text(row, 'sid'),
      seq: Number(row['seq']),
      time: text(row, 'time'),
      kind: text(row, 'kind'),
      data: fromJsonText(text(row, 'data'), `recording ${sid} entry ${String(row['seq'])}`),
    }));
  }

  async getKv(key: string): Promise<unknown> {
    requireKey(key, 'settings key');
    const row = (await this.#query('reading a setting', `SELECT value FROM ${this.#s}.kv WHERE key = $1`, [key])).rows[0];
    return row === undefined ? undefined : fromJsonText(text(row, 'value'), `setting ${key}`);
  }

  async putKv(key: string, value: unknown): Promise<void> {
    requireKey(key, 'settings key');
    if (value === undefined) {
      await this.#query('deleting a setting', `DELETE FROM ${this.#s}.kv WHERE key = $1`, [key]);
      return;
    }
    const json = toJsonText(value, `setting ${key}`);
    await this.#query(
      'storing a setting',
      `INSERT INTO ${this.#s}.kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [key, json],
    );
  }

  async putRequest(r: AccessRequestRecord): Promise<void> {
    checkAccessRequest(r);
    const data = toJsonText(r.data, `access request ${r.id} data`);
    await this.#query(
      'storing an access request',
      `INSERT INTO ${this.#s}.access_requests (${REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [r.id, r.kind, r.state, r.requester, data, r.createdAt, r.expiresAt, r.decidedBy ?? null, r.decidedAt ?? null, r.reason ?? null],
    );
  }

  async getRequest(id: string): Promise<AccessRequestRecord | undefined> {
    requireKey(id, 'access request id');
    const row = (await this.#query('reading an access request', `SELECT ${REQUEST_COLUMNS} FROM ${this.#s}.access_requests WHERE id = $1`, [id])).rows[0];
    return row === undefined ? undefined : rowToRequest(row);
  }

  async listRequests(q: AccessRequestQuery): Promise<AccessRequestRecord[]> {
    if (q.state !== undefined) checkRequestState(q.state, 'request state filter');
    const limit = Math.min(Math.max(1, Math.floor(q.limit ?? DEFAULT_AUDIT_LIMIT)), MAX_AUDIT_LIMIT);
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [col, v] of [['state', q.state], ['kind', q.kind], ['requester', q.requester]] as const) {
      if (v === undefined) continue;
      params.push(v);
      where.push(`${col} = $${params.length}`);
    }
    params.push(Number.isFinite(limit) ? limit : DEFAULT_AUDIT_LIMIT);
    const sql =
      `SELECT ${REQUEST_COLUMNS} FROM ${this.#s}.access_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY created_at DESC, id LIMIT $${params.length}`;
    return (await this.#query('listing access requests', sql, params)).rows.map(rowToRequest);
  }

  async decideRequest(
    id: string,
    from: AccessRequestState,
    to: { state: AccessRequestState; decidedBy?: string; decidedAt: string; reason?: string; expiresAt?: string },
  ): Promise<boolean> {
    requireKey(id, 'access request id');
    checkRequestState(from, 'current request state');
    checkRequestState(to.state, 'new request state');
    if (to.expiresAt !== undefined) requireIsoTime(to.expiresAt, 'request expiry');
    // One UPDATE guarded by the old state: PostgreSQL re-checks the WHERE after a concurrent writer
    // commits, so of two reviewers deciding at once exactly one sees a changed row.
    const res = await this.#query(
      'deciding an access request',
      `UPDATE ${this.#s}.access_requests SET state = $1, decided_by = $2, decided_at = $3, reason = $4, expires_at = coalesce($5, expires_at) ` +
        'WHERE id = $6 AND state = $7',
      [to.state, to.decidedBy ?? null, to.decidedAt, to.reason ?? null, to.expiresAt ?? null, id, from],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async putLock(l: LockRecord): Promise<void> {
    checkLock(l);
    const target = toJsonText(l.target, `lock ${l.id} target`);
    await this.#query(
      'storing a lock',
      `INSERT INTO ${this.#s}.locks (${LOCK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [l.id, target, l.reason, l.createdBy, l.createdAt, l.expiresAt ?? null, l.removedAt ?? null, l.removedBy ?? null],
    );
  }

  async activeLocks(at: string): Promise<LockRecord[]> {
    requireKey(at, 'time');
    const res = await this.#query(
      'reading locks',
      `SELECT ${LOCK_COLUMNS} FROM ${this.#s}.locks WHERE removed_at IS NULL AND (expires_at IS NULL OR expires_at > $1) ORDER BY created_at, id`,
      [at],
    );
    return res.rows.map(rowToLock);
  }

  async removeLock(id: string, by: string, at: string): Promise<boolean> {
    requireKey(id, 'lock id');
    const res = await this.#query(
      'removing a lock',
      `UPDATE ${this.#s}.locks SET removed_at = $1, removed_by = $2 WHERE id = $3 AND removed_at IS NULL`,
      [at, by, id],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

/** Where the server is, for messages: never the whole connection string, which may hold a password. */
function describeServer(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'the configured server';
  }
}

/**
 * Opens the store in `opts.schema` (default "agentdb") of the database at `connectionString`, creating
 * the schema and its tables when missing.
 */
export async function openPostgresStore(connectionString: string, opts: { schema?: string } = {}): Promise<Store> {
  if (typeof connectionString !== 'string' || connectionString === '') {
    throw new StoreError(StoreErrorCode.OPEN_FAILED, 'the PostgreSQL store needs a connection string');
  }
  const schema = opts.schema ?? DEFAULT_PG_SCHEMA;
  checkSchemaName(schema);
  const pool = new pg.Pool({ connectionString, max: POOL_MAX, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle connection dropped by the server is an 'error' event; without a listener it would end the
  // process. The pool already discards that client, and the next query opens a new one.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await migratePg(client, schema);
    } finally {
      client.release();
    }
    return new PostgresStore(pool, schema);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof StoreError) throw err;
    throw new StoreError(
      StoreErrorCode.OPEN_FAILED,
      `cannot open the PostgreSQL store at ${describeServer(connectionString)} (schema "${schema}"): ${(err as Error).message}`,
      { cause: err },
    );
  }
}
