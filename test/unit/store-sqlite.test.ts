import { LATEST_SCHEMA_VERSION } from '../../src/store/sqlite/migrations.js';
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, test } from 'vitest';
import { openSqliteStore, SQLITE_FILE_NAME, StoreError } from '../../src/store/index.js';
import { auditRecord, storeContract } from '../helpers/store-contract.js';
import { rejected } from '../helpers/expect-coded.js';

const root = mkdtempSync(join(tmpdir(), 'agentdb-store-'));
let n = 0;
const freshDir = (): string => join(root, `d${n++}`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

storeContract('sqlite', () => openSqliteStore(freshDir()));

const openError = (path: string): Promise<StoreError> => rejected(StoreError, openSqliteStore(path));

describe('sqlite store file', () => {
  test('a new data directory gets agentdb.db, readable by its owner only, in WAL mode', async () => {
    const dir = freshDir();
    const store = await openSqliteStore(dir); // does not exist yet: treated as the file path
    await store.close();
    // A path that does not exist is the file itself; an existing directory gets agentdb.db inside.
    expect(statSync(dir).isFile()).toBe(true);
    const dataDir = freshDir();
    const first = await openSqliteStore(join(dataDir, SQLITE_FILE_NAME));
    await first.putKv('k', 1);
    await first.close();
    const again = await openSqliteStore(dataDir);
    expect(await again.getKv('k')).toBe(1);
    await again.close();

    const file = join(dataDir, SQLITE_FILE_NAME);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const db = new DatabaseSync(file);
    expect(db.prepare('PRAGMA journal_mode').get()?.['journal_mode']).toBe('wal');
    expect(db.prepare('SELECT max(version) AS v FROM schema_version').get()?.['v']).toBe(LATEST_SCHEMA_VERSION);
    db.close();
  });

  test('an existing file left group/world readable is tightened to 0600', async () => {
    const file = join(freshDir() + '-loose.db');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const store = await openSqliteStore(file);
    await store.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  test('data survives reopening, and migrations run once', async () => {
    const file = join(freshDir() + '.db');
    const a = await openSqliteStore(file);
    await a.appendAudit([auditRecord(0), auditRecord(1)]);
    await a.close();
    const b = await openSqliteStore(file);
    expect(await b.lastAuditHash()).toBe(auditRecord(1).hash);
    await b.close();
    const db = new DatabaseSync(file);
    expect(db.prepare('SELECT count(*) AS c FROM schema_version').get()?.['c']).toBe(LATEST_SCHEMA_VERSION);
    db.close();
  });

  test('the audit table keeps only the indexes search uses (each one is written for every statement)', async () => {
    const file = join(freshDir() + '-indexes.db');
    await (await openSqliteStore(file)).close();
    const db = new DatabaseSync(file);
    const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit' AND sql IS NOT NULL ORDER BY name").all().map((r) => r['name']);
    expect(names).toEqual(['audit_identity_name', 'audit_sid', 'audit_time', 'audit_type']);
    // A search by user and database walks the user's index, not the few-valued database column.
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT seq FROM audit WHERE identity_name = ? AND db_service = ? ORDER BY seq DESC LIMIT 10').all('a', 'b');
    expect(plan.map((r) => r['detail']).join(' ')).toMatch(/audit_identity_name/);
    db.close();
  });

  test('a schema newer than this agentdb is refused with a clear error', async () => {
    const file = join(freshDir() + '.db');
    await (await openSqliteStore(file)).close();
    const db = new DatabaseSync(file);
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (99, ?)').run(new Date().toISOString());
    db.close();
    const err = await openError(file);
    expect(err.code).toBe('AGENTDB_ERR_STORE_SCHEMA_TOO_NEW');
    expect(err.message).toMatch(/upgrade agentdb/);
  });

  test('a file that is not a database fails to open with AGENTDB_ERR_STORE_OPEN_FAILED', async () => {
    const file = join(freshDir() + '.db');
    writeFileSync(file, 'this is not sqlite, just text long enough to have a header '.repeat(20));
    const err = await openError(file);
    expect(err.code).toBe('AGENTDB_ERR_STORE_OPEN_FAILED');
    expect(err.message).toContain(file);
    expect((await openError('')).code).toBe('AGENTDB_ERR_STORE_OPEN_FAILED');
  });

  test('JSON edited behind the store reads as AGENTDB_ERR_STORE_CORRUPT, not a crash', async () => {
    const file = join(freshDir() + '.db');
    const s = await openSqliteStore(file);
    await s.putKv('k', { a: 1 });
    await s.appendRecording([{ sid: 's', seq: 0, time: '2025-06-15T14:00:00.000Z', kind: 'start', data: {} }]);
    const db = new DatabaseSync(file);
    db.exec("UPDATE kv SET value = '{broken'; UPDATE recordings SET data = 'nope'");
    db.close();
    for (const p of [s.getKv('k'), s.readRecording('s')]) {
      await rejected(StoreError, p, 'AGENTDB_ERR_STORE_CORRUPT');
    }
    await s.close();
  });
});
