// The sqlite schema as an ordered list of migrations. To add tables (access requests, locks, ...)
// append a migration with the next version; never edit one that has shipped.
import type { DatabaseSync } from 'node:sqlite';
import { StoreError, StoreErrorCode } from '../errors.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'audit log, login sessions, session recordings, key/value settings',
    sql: `
      -- AUTOINCREMENT so a deleted row's seq is never reused: chain order stays insertion order.
      CREATE TABLE audit (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        id            TEXT NOT NULL UNIQUE,
        time          TEXT NOT NULL,
        type          TEXT NOT NULL,
        code          TEXT NOT NULL,
        sid           TEXT,
        identity_name TEXT,
        db_service    TEXT,
        task_id       TEXT,
        task_reason   TEXT,
        sql           TEXT,
        prev_hash     TEXT NOT NULL,
        hash          TEXT NOT NULL,
        json          TEXT NOT NULL
      );
      -- Secondary indexes carry the rowid (seq), so "filter, then order by seq" walks one index.
      CREATE INDEX audit_time ON audit (time);
      CREATE INDEX audit_type ON audit (type);
      CREATE INDEX audit_sid ON audit (sid);
      CREATE INDEX audit_identity_name ON audit (identity_name);
      CREATE INDEX audit_db_service ON audit (db_service);
      CREATE INDEX audit_task_id ON audit (task_id);

      CREATE TABLE login_sessions (
        id          TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        identity    TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        revoked_at  TEXT
      ) WITHOUT ROWID;

      CREATE TABLE recordings (
        sid  TEXT NOT NULL,
        seq  INTEGER NOT NULL,
        time TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (sid, seq)
      ) WITHOUT ROWID;

      CREATE TABLE kv (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'access requests (held statements, just-in-time roles) and locks',
    sql: `
      CREATE TABLE access_requests (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        state       TEXT NOT NULL,
        requester   TEXT NOT NULL,
        data        TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        decided_by  TEXT,
        decided_at  TEXT,
        reason      TEXT
      ) WITHOUT ROWID;
      CREATE INDEX access_requests_state ON access_requests (state, created_at);

      CREATE TABLE locks (
        id          TEXT PRIMARY KEY,
        target      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        created_by  TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT,
        removed_at  TEXT,
        removed_by  TEXT
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: 'two audit indexes fewer: each was written for every statement and neither served search',
    // audit_task_id: the task filter is "task_id = ? OR the reason contains ?", which no index can serve.
    // audit_db_service: a handful of values (one per configured database), so it picked more rows than
    // identity_name or time did, and the query planner still preferred it when a search named both.
    sql: `
      DROP INDEX IF EXISTS audit_task_id;
      DROP INDEX IF EXISTS audit_db_service;
    `,
  },
  {
    version: 4,
    description: "an index for one requester's access requests: every certificate issued reads its approved role grants",
    // Through access_requests_state, "approved" alone picked every approval ever made (statement reviews included,
    // and no approval is ever deleted), each then checked for kind and requester: a cost per certificate that grew
    // with the store. This index finds the requester's few rows directly.
    sql: `
      CREATE INDEX access_requests_requester ON access_requests (requester, kind, state, created_at);
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

function currentVersion(db: DatabaseSync): number {
  const row = db.prepare('SELECT max(version) AS v FROM schema_version').get();
  const v = row?.['v'];
  return typeof v === 'number' ? v : 0;
}

/**
 * Brings the schema to LATEST_SCHEMA_VERSION. Runs under BEGIN IMMEDIATE and re-reads the version
 * inside it, so two processes opening the same file at once do not both migrate.
 */
export function migrate(db: DatabaseSync, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  db.exec('BEGIN IMMEDIATE');
  try {
    const from = currentVersion(db);
    if (from > LATEST_SCHEMA_VERSION) {
      throw new StoreError(
        StoreErrorCode.SCHEMA_TOO_NEW,
        `the store ${file} has schema version ${from}, newer than this agentdb knows (${LATEST_SCHEMA_VERSION}); upgrade agentdb`,
      );
    }
    const record = db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)');
    for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (m.version <= from) continue;
      db.exec(m.sql);
      record.run(m.version, new Date().toISOString());
    }
    db.exec('COMMIT');
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
