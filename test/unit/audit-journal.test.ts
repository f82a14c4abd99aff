import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { AuditLog, CHECKPOINT_KV_KEY } from '../../src/audit/index.js';
import { signerFromKey } from '../../src/audit/checkpoint.js';
import { openSqliteStore, startSqliteWriter, type BulkWriter } from '../../src/store/index.js';
import { JournalReader } from '../../src/store/sqlite/journal-reader.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function fresh() {
  const dir = mkdtempSync(path.join(tmpdir(), 'agentdb-journal-'));
  dirs.push(dir);
  return { db: path.join(dir, 'agentdb.db'), journal: path.join(dir, 'audit.journal') };
}

/** Event 1 stored, events 2 and 3 written to the journal only, then the store closed as a crash would leave it; the journal's text. */
async function crashWithTwoOnlyJournalled(f: { db: string; journal: string }): Promise<string> {
  const store = await openSqliteStore(f.db);
  const log = await AuditLog.open(store, { journal: f.journal });
  await log.write([event(1)]);
  await log.flush();
  await log.write([event(2), event(3)]);
  const journalled = readFileSync(f.journal, 'utf8');
  await store.close();
  return journalled;
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
    // "Crash": the store never ingests events 2 and 3; a new process opens the same files.
    const journalled = await crashWithTwoOnlyJournalled(f);
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

  test('with the store writer thread as the sink, it reads the events from the journal by byte range', async () => {
    const f = fresh();
    const store = await openSqliteStore(f.db);
    const writer = await startSqliteWriter(f.db);
    const ranges: [number, number][] = [];
    // The real writer, with each range it is handed noted (and no records handed over at all).
    const sink: BulkWriter = {
      ...writer,
      appendAudit: () => Promise.reject(new Error('records were cloned to the writer instead of read from the journal')),
      ingestJournal: (file, from, to) => {
        ranges.push([from, to]);
        return writer.ingestJournal!(file, from, to);
      },
    };
    const log = await AuditLog.open(store, { journal: f.journal, sink });
    for (let i = 0; i < 5; i++) await log.write([event(2 * i), event(2 * i + 1)]);
    await log.flush();
    expect((await log.search({})).map((e) => e.message)).toEqual([...Array(10).keys()].map((n) => `event ${n}`));
    // Consecutive ranges from the start of the (then emptied) journal, covering every line once.
    expect(ranges[0]![0]).toBe(0);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1]);
    expect(readFileSync(f.journal, 'utf8')).toBe('');
    await log.write([event(10)]);
    await log.flush();
    expect(ranges.at(-1)![0]).toBe(0);
    expect(await log.verify()).toMatchObject({ ok: true, count: 11 });
    // The columns the writer took from the lines are the ones verify checks against the hashed events.
    const byWriter = await store.searchAudit({ limit: 100 });
    expect(byWriter.map((r) => r.identityName)).toEqual([...Array(11).keys()].map((n) => `user-${n}`));
    await log.close();
    await writer.close();
    await store.close();
  });

  test('with the writer thread as the sink, signed checkpoints are stored by the writer, after the events they name', async () => {
    const f = fresh();
    const store = await openSqliteStore(f.db);
    const writer = await startSqliteWriter(f.db);
    // The relay thread's own connection must not write them: its synchronous write waits on the writer's lock.
    store.putKv = () => Promise.reject(new Error('a checkpoint was written on the relay thread connection'));
    const put: string[] = [];
    const sink: BulkWriter = { ...writer, putKv: (key, value) => (put.push(key), writer.putKv!(key, value)) };
    const signer = signerFromKey(generateKeyPairSync('ed25519').privateKey);
    const errors: Error[] = [];
    const log = await AuditLog.open(store, { journal: f.journal, sink, checkpoint: { signer, every: 2, onError: (e) => errors.push(e) } });
    for (let i = 0; i < 3; i++) {
      await log.write([event(2 * i), event(2 * i + 1)]);
      await log.flush();
    }
    await log.close();
    expect(errors).toEqual([]);
    expect(put.length).toBeGreaterThanOrEqual(3);
    expect(put.every((k) => k === CHECKPOINT_KV_KEY)).toBe(true);
    // What the writer stored is what verify reads: the newest event, signed.
    const newest = (await store.searchAudit({ order: 'desc', limit: 1 }))[0]!;
    expect(await store.getKv(CHECKPOINT_KV_KEY)).toMatchObject({ kind: 'log', headHash: newest.hash });
    await writer.close();
    await store.close();
  });

  test('with the writer thread as the sink, what a crash left in the journal is stored first, then ranges resume', async () => {
    const f = fresh();
    // "Crash": events 2 and 3 only in the journal, behind event 1 (stored, not yet emptied out of it).
    const journalled = await crashWithTwoOnlyJournalled(f);
    writeFileSync(f.journal, readFileSync(f.journal, 'utf8') || journalled);
    const store2 = await openSqliteStore(f.db);
    const writer = await startSqliteWriter(f.db);
    const calls: string[] = [];
    const sink: BulkWriter = {
      ...writer,
      appendAudit: (records) => (calls.push(`records ${records.length}`), writer.appendAudit(records)),
      ingestJournal: (file, from, to) => (calls.push(`range ${from}`), writer.ingestJournal!(file, from, to)),
    };
    const log2 = await AuditLog.open(store2, { journal: f.journal, sink });
    await log2.write([event(4)]);
    await log2.write([event(5)]);
    await log2.flush();
    expect(calls[0]).toBe('records 2');
    expect(calls.slice(1).every((c) => c.startsWith('range '))).toBe(true);
    expect((await log2.search({})).map((e) => e.message)).toEqual(['event 1', 'event 2', 'event 3', 'event 4', 'event 5']);
    expect(await log2.verify()).toMatchObject({ ok: true, count: 5 });
    await log2.close();
    await writer.close();
    await store2.close();
  });

  test('a journal range that is not whole event lines is refused (AGENTDB_ERR_STORE_CORRUPT), never half stored', () => {
    const f = fresh();
    const line = JSON.stringify({ id: 'e1', time: '2025-06-15T14:22:00.000Z', type: 'login', code: 'ALG00I', prevHash: '0', hash: '1' });
    writeFileSync(f.journal, `${line}\n${line.slice(0, 20)}\n`);
    const reader = new JournalReader();
    try {
      expect(reader.read(f.journal, 0, line.length + 1).map((r) => r.id)).toEqual(['e1']);
      expect(() => reader.read(f.journal, 0, line.length + 22)).toThrow(expect.objectContaining({ code: 'AGENTDB_ERR_STORE_CORRUPT' }) as Error);
      // Past the end of the file: the journal was cut after the range was written.
      expect(() => reader.read(f.journal, 0, 10_000)).toThrow(expect.objectContaining({ code: 'AGENTDB_ERR_STORE_CORRUPT' }) as Error);
    } finally {
      reader.close();
    }
  });
});
