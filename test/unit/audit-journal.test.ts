import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { AuditLog } from '../../src/audit/index.js';
import { openSqliteStore } from '../../src/store/index.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function fresh() {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentdb-journal-'));
  dirs.push(dir);
  return { db: path.join(dir, 'agentdb.db'), journal: path.join(dir, 'audit.journal') };
}

const event = (n: number) => ({ type: 'login' as const, identity: { name: `user-${n}`, kind: 'human' as const, roles: [] }, message: `event ${n}` });

describe('audit write-ahead journal', () => {
  test('events are durable in the journal before the store has them, and reach the store afterwards', async () => {
    const f = fresh();
    const store = await openSqliteStore(f.db);
    const log = await AuditLog.open(store, { journal: f.journal });
    await log.write([event(1), event(2)]);
    expect(readFileSync(f.journal, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(statSync(f.journal).mode & 0o777).toBe(0o600);
    expect((await log.search({})).map((e) => e.message)).toEqual(['event 1', 'event 2']);
    // Once the store holds everything the journal is emptied.
    expect(readFileSync(f.journal, 'utf8')).toBe('');
    expect((await log.verify()).ok).toBe(true);
    await log.close();
    await store.close();
  });

  test('after a crash, what only the journal held is taken into the store and the chain goes on', async () => {
    const f = fresh();
    const store = await openSqliteStore(f.db);
    const log = await AuditLog.open(store, { journal: f.journal });
    await log.write([event(1)]);
    await log.flush();
    await log.write([event(2), event(3)]);
    // "Crash": the store never ingests events 2 and 3; a new process opens the same files.
    const journalled = readFileSync(f.journal, 'utf8');
    await store.close();
    const store2 = await openSqliteStore(f.db);
    writeFileSync(f.journal, journalled + '{"torn":');
    const log2 = await AuditLog.open(store2, { journal: f.journal });
    await log2.write([event(4)]);
    expect((await log2.search({})).map((e) => e.message)).toEqual(['event 1', 'event 2', 'event 3', 'event 4']);
    expect(await log2.verify()).toMatchObject({ ok: true, count: 4 });
    await log2.close();
    await store2.close();
  });

  test('background ingestion leaves a small journal in place; reopening skips what the store already holds', async () => {
    const f = fresh();
    const store = await openSqliteStore(f.db);
    const log = await AuditLog.open(store, { journal: f.journal });
    await log.write([event(1), event(2)]);
    // The background ingest (50 ms) stores them; the journal is not truncated for two events.
    const deadline = Date.now() + 5_000;
    while ((await store.searchAudit({})).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(f.journal, 'utf8').trim().split('\n')).toHaveLength(2);
    await log.write([event(3)]);
    // "Crash" with events 1 and 2 stored and journalled, 3 maybe only journalled.
    const journalled = readFileSync(f.journal, 'utf8');
    await store.close();
    const store2 = await openSqliteStore(f.db);
    writeFileSync(f.journal, journalled);
    const log2 = await AuditLog.open(store2, { journal: f.journal });
    expect(readFileSync(f.journal, 'utf8')).toBe('');
    await log2.write([event(4)]);
    expect((await log2.search({})).map((e) => e.message)).toEqual(['event 1', 'event 2', 'event 3', 'event 4']);
    expect(await log2.verify()).toMatchObject({ ok: true, count: 4 });
    await log2.close();
    await store2.close();
  });

  test('a journal that does not continue the stored chain is refused, not silently merged', async () => {
    const f = fresh();
    const other = fresh();
    const s1 = await openSqliteStore(other.db);
    const l1 = await AuditLog.open(s1, { journal: other.journal });
    l1.submit([event(9)], () => undefined);
    await new Promise((r) => setImmediate(r));
    const foreign = readFileSync(other.journal, 'utf8');
    await l1.close();
    await s1.close();
    const store = await openSqliteStore(f.db);
    const log = await AuditLog.open(store, { journal: f.journal });
    await log.write([event(1)]);
    await log.close();
    writeFileSync(f.journal, foreign);
    await expect(AuditLog.open(store, { journal: f.journal })).rejects.toMatchObject({ code: 'AGENTDB_ERR_AUDIT_CORRUPT' });
    await store.close();
  });
});
