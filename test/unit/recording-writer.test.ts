import { DatabaseSync } from 'node:sqlite';
import { describe, expect, test } from 'vitest';
import {
  FLUSH_ENTRIES,
  FLUSH_INTERVAL_MS,
  readRecording,
  RecordingError,
  RecordingWriter,
  type RecordedStatement,
  type RecordingHeader,
} from '../../src/recording/index.js';
import { countingStore, header, tempStores } from './recording-fixtures.js';
import { rejected, thrown } from '../helpers/expect-coded.js';

const stores = tempStores();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const stmt = (i: number): RecordedStatement => ({ t: i * 10, sql: `SELECT ${i}`, rows: 1, tag: 'SELECT 1', ms: 0.5, decision: 'allow' });

describe('RecordingWriter', () => {
  test('what is written reads back: header, statements in order, end', async () => {
    const { store } = await stores.open();
    const w = new RecordingWriter(store, header('s1'));
    const statements = [stmt(0), { t: 15, sql: 'SELECT $1', params: ['a', null], columns: ['x'], rows: 0, ms: 1 }, { ...stmt(2), error: { code: '42P01', message: 'relation "nope" does not exist' } }];
    for (const s of statements) w.statement(s);
    await w.end({ endedAt: '2025-06-15T14:23:10.000Z', reason: 'client disconnected' });
    expect(await readRecording(store, 's1')).toEqual({
      header: header('s1'),
      statements,
      end: { endedAt: '2025-06-15T14:23:10.000Z', reason: 'client disconnected' },
    });
  });

  test('buffers: nothing is stored until the interval passes, then everything so far is', async () => {
    const { store } = await stores.open();
    const w = new RecordingWriter(store, header('s2'));
    for (let i = 0; i < 10; i++) w.statement(stmt(i));
    await turn();
    expect(await store.readRecording('s2')).toEqual([]);
    await sleep(FLUSH_INTERVAL_MS + 100);
    const stored = await store.readRecording('s2');
    // The statements of one flush are one store record.
    expect(stored.map((r) => r.kind)).toEqual(['start', 'statements']);
    expect(stored.map((r) => r.seq)).toEqual([0, 1]);
    expect(stored[1]!.data).toEqual([...Array(10).keys()].map(stmt));
    // The timer re-arms for later statements.
    w.statement(stmt(10));
    await sleep(FLUSH_INTERVAL_MS + 100);
    expect((await store.readRecording('s2')).length).toBe(3);
    expect((await readRecording(store, 's2'))?.statements).toEqual([...Array(11).keys()].map(stmt));
    const rec = await readRecording(store, 's2');
    expect(rec?.end).toBeUndefined();
    await w.end({ endedAt: '2025-06-15T14:23:10.000Z' });
  });

  test(`flushes at once when ${FLUSH_ENTRIES} statements wait, one appendRecording and one record per batch`, async () => {
    const real = await stores.open();
    const { store, calls } = countingStore(real.store);
    const w = new RecordingWriter(store, header('s3'));
    for (let i = 0; i < FLUSH_ENTRIES; i++) w.statement(stmt(i));
    await turn();
    // The header and one record holding the FLUSH_ENTRIES statements.
    expect(calls).toEqual([2]);
    expect((await store.readRecording('s3')).map((r) => (Array.isArray(r.data) ? r.data.length : r.kind))).toEqual(['start', FLUSH_ENTRIES]);
    for (let i = 0; i < 2 * FLUSH_ENTRIES + 5; i++) w.statement(stmt(FLUSH_ENTRIES + i));
    await turn();
    expect(calls).toEqual([2, 1, 1]);
    await w.end({ endedAt: '2025-06-15T14:23:10.000Z' });
    // The last 5 statements, then the end marker.
    expect(calls).toEqual([2, 1, 1, 2]);
    const rec = await readRecording(real.store, 's3');
    expect(rec?.statements).toEqual([...Array(3 * FLUSH_ENTRIES + 5).keys()].map(stmt));
    expect(rec?.end).toBeDefined();
  });

  test('end() is once; statements after it are refused', async () => {
    const { store } = await stores.open();
    const w = new RecordingWriter(store, header('s4'));
    await w.end({ endedAt: '2025-06-15T14:23:10.000Z' });
    await expect(w.end({ endedAt: '2025-06-15T14:23:11.000Z' })).rejects.toMatchObject({ code: 'AGENTDB_ERR_RECORDING_ENDED' });
    thrown(RecordingError, () => w.statement(stmt(1)), 'AGENTDB_ERR_RECORDING_ENDED');
    expect((await readRecording(store, 's4'))?.end?.endedAt).toBe('2025-06-15T14:23:10.000Z');
  });

  test('malformed input is refused with AGENTDB_ERR_RECORDING_BAD_INPUT', async () => {
    const { store } = await stores.open();
    const badHeaders: unknown[] = [
      null,
      { ...header('x'), sid: '' },
      { ...header('x'), startedAt: 'whenever' },
      { ...header('x'), identity: { name: 'a', kind: 'agent' } },
      { ...header('x'), db: { service: 'customers' } },
      { ...header('x'), client: undefined },
    ];
    for (const h of badHeaders) thrown(RecordingError, () => new RecordingWriter(store, h as RecordingHeader), 'AGENTDB_ERR_RECORDING_BAD_INPUT');
    const w = new RecordingWriter(store, header('s5'));
    const badStatements: unknown[] = [
      null,
      { t: 0, ms: 1 },
      { t: 'soon', sql: 'SELECT 1', ms: 1 },
      { t: 0, sql: 'SELECT 1', ms: Number.NaN },
      { t: 0, sql: 'SELECT 1', ms: 1, params: [1] },
      { t: 0, sql: 'SELECT 1', ms: 1, error: { code: '42501' } },
    ];
    for (const s of badStatements) thrown(RecordingError, () => w.statement(s as RecordedStatement), 'AGENTDB_ERR_RECORDING_BAD_INPUT');
    await expect(w.end({ endedAt: 'later' })).rejects.toMatchObject({ code: 'AGENTDB_ERR_RECORDING_BAD_INPUT' });
    await w.end({ endedAt: '2025-06-15T14:23:10.000Z' });
    expect((await readRecording(store, 's5'))?.statements).toEqual([]);
  });

  test('a failed write is reported by end()', async () => {
    const { store } = await stores.open();
    const w = new RecordingWriter(store, header('s6'));
    w.statement(stmt(1));
    await store.close();
    await rejected(RecordingError, w.end({ endedAt: '2025-06-15T14:23:10.000Z' }), 'AGENTDB_ERR_RECORDING_WRITE_FAILED', /s6/);
  });
});

describe('readRecording', () => {
  test('unknown session: undefined; a store that cannot answer: AGENTDB_ERR_RECORDING_READ_FAILED', async () => {
    const { store } = await stores.open();
    expect(await readRecording(store, 'nope')).toBeUndefined();
    await store.close();
    await expect(readRecording(store, 'nope')).rejects.toMatchObject({ code: 'AGENTDB_ERR_RECORDING_READ_FAILED' });
  });

  test('entries of unknown kinds are skipped', async () => {
    const { store } = await stores.open();
    await store.appendRecording([
      { sid: 's', seq: 0, time: '2025-06-15T14:22:03.120Z', kind: 'start', data: header('s') },
      { sid: 's', seq: 1, time: '2025-06-15T14:22:04.000Z', kind: 'note-from-the-future', data: { anything: true } },
      { sid: 's', seq: 2, time: '2025-06-15T14:22:05.000Z', kind: 'statement', data: stmt(1) },
    ]);
    expect(await readRecording(store, 's')).toEqual({ header: header('s'), statements: [stmt(1)] });
  });

  test('single statements (recordings made before batching) and batches read in seq order', async () => {
    const { store } = await stores.open();
    await store.appendRecording([
      { sid: 'old', seq: 0, time: '2025-06-15T14:22:03.120Z', kind: 'start', data: header('old') },
      { sid: 'old', seq: 1, time: '2025-06-15T14:22:04.000Z', kind: 'statement', data: stmt(1) },
      { sid: 'old', seq: 2, time: '2025-06-15T14:22:05.000Z', kind: 'statements', data: [stmt(2), stmt(3)] },
      { sid: 'old', seq: 3, time: '2025-06-15T14:22:06.000Z', kind: 'statement', data: stmt(4) },
    ]);
    expect((await readRecording(store, 'old'))?.statements).toEqual([stmt(1), stmt(2), stmt(3), stmt(4)]);
  });

  test('damaged recordings give AGENTDB_ERR_RECORDING_CORRUPT naming the entry', async () => {
    const cases: [string, unknown[]][] = [
      ['no header', [{ kind: 'statement', data: stmt(0) }]],
      ['bad header', [{ kind: 'start', data: { ...header('s'), task: 'x' } as unknown as RecordingHeader }]],
      ['bad statement', [{ kind: 'start', data: header('s') }, { kind: 'statement', data: { sql: 5 } }]],
      ['a batch that is not an array', [{ kind: 'start', data: header('s') }, { kind: 'statements', data: stmt(0) }]],
      ['a bad statement in a batch', [{ kind: 'start', data: header('s') }, { kind: 'statements', data: [stmt(0), { sql: 5 }] }]],
      ['bad end', [{ kind: 'start', data: header('s') }, { kind: 'end', data: 'done' }]],
      ['two headers', [{ kind: 'start', data: header('s') }, { kind: 'start', data: header('s') }]],
    ];
    for (const [name, entries] of cases) {
      const { store } = await stores.open();
      await store.appendRecording(
        entries.map((e, seq) => ({ sid: 's', seq, time: '2025-06-15T14:22:03.120Z', ...(e as { kind: string; data: unknown }) })),
      );
      const err = await readRecording(store, 's').catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(RecordingError);
      expect((err as RecordingError).code, name).toBe('AGENTDB_ERR_RECORDING_CORRUPT');
      expect((err as RecordingError).message, name).toMatch(/session s is damaged at entry \d/);
    }
  });

  test('data edited in the store file to something not JSON fails clearly', async () => {
    const { store, file } = await stores.open();
    const w = new RecordingWriter(store, header('s7') as RecordingHeader);
    w.statement(stmt(0));
    await w.end({ endedAt: '2025-06-15T14:23:10.000Z' });
    const db = new DatabaseSync(file);
    db.exec("UPDATE recordings SET data = '{' WHERE seq = 1");
    db.close();
    await rejected(RecordingError, readRecording(store, 's7'), 'AGENTDB_ERR_RECORDING_CORRUPT', /session s7/);
  });
});
