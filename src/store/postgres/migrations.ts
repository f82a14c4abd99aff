// The PostgreSQL schema as an ordered list of migrations, the same tables as the sqlite store's. To add
// tables append a migration with the next version; never edit one that has shipped.
import type pg from 'pg';
import { StoreError, StoreErrorCode } from '../errors.js';

export interface PgMigration {
  version: number;
  description: string;
  /** Runs with search_path set to the store's schema, so table names are unqualified. */
  sql: string;
}

// Times and sort keys are COLLATE "C": stored times are ISO text whose byte order is time order, and a
// type prefix search must compare bytes, not a locale's idea of punctuation.
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: 'audit log, login sessions, session recordings, key/value settings',
    sql: `
      CREATE TABLE IF NOT EXISTS audit (
        seq           bigserial PRIMARY KEY,
        id            text NOT NULL UNIQUE,
        time          text COLLATE "C" NOT NULL,
        type          text COLLATE "C" NOT NULL,
        code          text NOT NULL,
        sid           text,
        identity_name text,
        db_service    text,
        task_id       text,
        task_reason   text,
        sql           text,
        prev_hash     text NOT NULL,
        hash          text NOT NULL,
        json          text NOT NULL
      );
      CREATE INDEX IF NOT EXISTS audit_time ON audit (time);
      CREATE INDEX IF NOT EXISTS audit_type ON audit (type);
      CREATE INDEX IF NOT EXISTS audit_sid ON audit (sid);
      CREATE INDEX IF NOT EXISTS audit_identity_name ON audit (identity_name);
      CREATE INDEX IF NOT EXISTS audit_db_service ON audit (db_service);
      CREATE INDEX IF NOT EXISTS audit_task_id ON audit (task_id);

      CREATE TABLE IF NOT EXISTS login_sessions (
        id          text PRIMARY KEY,
        secret_hash text NOT NULL,
        identity    text NOT NULL,
        created_at  text NOT NULL,
        expires_at  text NOT NULL,
        revoked_at  text
      );

      CREATE TABLE IF NOT EXISTS recordings (
        sid  text NOT NULL,
        seq  bigint NOT NULL,
        time text NOT NULL,
        kind text NOT NULL,
        data text NOT NULL,
        PRIMARY KEY (sid, seq)
      );

      CREATE TABLE IF NOT EXISTS kv (
        key   text PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'access requests (held statements, just-in-time roles) and locks',
    sql: `
      CREATE TABLE IF NOT EXISTS access_requests (
        id          text COLLATE "C" PRIMARY KEY,
        kind        text NOT NULL,
        state       text NOT NULL,
        requester   text NOT NULL,
        data        text NOT NULL,
        created_at  text COLLATE "C" NOT NULL,
        expires_at  text COLLATE "C" NOT NULL,
        decided_by  text,
        decided_at  text,
        reason      text
      );
      CREATE INDEX IF NOT EXISTS access_requests_state ON access_requests (state, created_at);

      CREATE TABLE IF NOT EXISTS locks (
        id          text COLLATE "C" PRIMARY KEY,
        target      text NOT NULL,
        reason      text NOT NULL,
        created_by  text NOT NULL,
        created_at  text COLLATE "C" NOT NULL,
        expires_at  text COLLATE "C",
        removed_at  text,
        removed_by  text
      );
    `,
  },
  {
    version: 3,
    description: "an index for one requester's access requests: every certificate issued reads its approved role grants",
    // As the sqlite store's migration 4: without it "approved" picked every approval ever made, a cost per
    // certificate that grew with the store.
    sql: `
      CREATE INDEX IF NOT EXISTS access_requests_requester ON access_requests (requester, kind, state, created_at);
    `,
  },
];

export const PG_LATEST_SCHEMA_VERSION = PG_MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** A schema name is spliced into SQL as an identifier, so only plain lower-case names are taken. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: unknown): asserts schema is string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new StoreError(
      StoreErrorCode.OPEN_FAILED,
      `the PostgreSQL store schema must be a lower-case name of letters, digits and _ (at most 63), not ${JSON.stringify(schema)}`,
    );
  }
}

/**
 * Creates the schema and brings it to PG_LATEST_SCHEMA_VERSION in one transaction. An advisory lock
 * keyed on the schema makes gateways that start together migrate one after the other; the version is
 * read under it, so each migration runs once.
 */
export async function migratePg(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`agentdb.store.migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`SET LOCAL search_path TO "${schema}"`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at text NOT NULL)');
    const res = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
    const from = res.rows[0]?.v ?? 0;
    if (from > PG_LATEST_SCHEMA_VERSION) {
      throw new StoreError(
        StoreErrorCode.SCHEMA_TOO_NEW,
        `the PostgreSQL store schema "${schema}" has version ${from}, newer than this agentdb knows (${PG_LATEST_SCHEMA_VERSION}); upgrade agentdb`,
      );
    }
    for (const m of [...PG_MIGRATIONS].sort((a, b) => a.version - b.version)) {
      if (m.version <= from) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)', [m.version, new Date().toISOString()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
