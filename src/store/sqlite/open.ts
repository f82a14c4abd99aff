import { chmodSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StoreError, StoreErrorCode } from '../errors.js';
import type { Store } from '../store.js';
import { LOWER_FUNCTION } from './audit-search-sql.js';
import { migrate } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';

/** The file name inside a data directory. */
export const SQLITE_FILE_NAME = 'agentdb.db';

/** How long a writer waits for another process's lock before failing with AGENTDB_ERR_STORE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The file holds login-session secret hashes and the audit log: create it readable by its owner only
 * before SQLite opens it (SQLite gives its -wal and -shm files the same mode), and tighten an
 * existing file that was left wider.
 */
function createPrivateFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, constants.O_CREAT | constants.O_RDWR, 0o600));
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
}

/**
 * Opens (creating if needed) the embedded store. `path` is the database file, or a data directory,
 * in which case the file is `<dir>/agentdb.db`.
 */
export async function openSqliteStore(path: string): Promise<Store> {
  if (typeof path !== 'string' || path === '') {
    throw new StoreError(StoreErrorCode.OPEN_FAILED, 'the store needs a file or data directory path');
  }
  const file = isDirectory(path) ? join(path, SQLITE_FILE_NAME) : path;
  let db: DatabaseSync | undefined;
  try {
    createPrivateFile(file);
    db = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
    const mode = db.prepare('PRAGMA journal_mode = WAL').get()?.['journal_mode'];
    if (mode !== 'wal') throw new Error(`journal mode is ${String(mode)}, not wal`);
    // NORMAL with WAL: a power loss may drop the last commits but never corrupts the file.
    db.exec('PRAGMA synchronous = NORMAL');
    // 32 MB of page cache (the default is 2 MB): the audit table's indexes stay in memory while it grows, so
    // appends do not read pages back from the file.
    db.exec('PRAGMA cache_size = -32768');
    db.function(LOWER_FUNCTION, { deterministic: true }, (v) => (typeof v === 'string' ? v.toLowerCase() : null));
    migrate(db, file);
    return new SqliteStore(db);
  } catch (err) {
    db?.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(StoreErrorCode.OPEN_FAILED, `cannot open the store ${file}: ${(err as Error).message}`, { cause: err });
  }
}
