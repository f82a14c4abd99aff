// Bulk writes (the audit log's ingestion from its journal, session recordings) on a worker thread with its own
// SQLite connection: a commit of a few hundred rows takes milliseconds, and on the gateway's thread that would
// stall every session's relay. WAL lets this writer and the main connection's readers work side by side.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StoreError, StoreErrorCode } from '../errors.js';
import type { AuditRecord, RecordingRecord } from '../records.js';
import { flattenAuditRecords } from './audit-columns.js';

export interface BulkWriter {
  appendAudit(records: AuditRecord[]): Promise<void>;
  /**
   * Stores the audit events in bytes [from, to) of the journal `file`: whole lines, each an event's canonical
   * JSON, in chain order. The writer reads them from the file (the OS's page cache) itself, so the relay thread
   * hands over two numbers instead of cloning every record into a message.
   */
  ingestJournal?(file: string, from: number, to: number): Promise<void>;
  appendRecording(records: RecordingRecord[]): Promise<void>;
  /**
   * Stores a setting on the writer's connection, after the batches handed over before it (the audit log's
   * signed checkpoint, which names an event those batches stored). On the relay thread's own connection the
   * write is synchronous and waits, with SQLite's busy handler sleeping 1 ms, 2 ms, 5 ms..., for this writer's
   * transaction to commit: every session's relay stood still meanwhile.
   */
  putKv?(key: string, value: unknown): Promise<void>;
  close(): Promise<void>;
}

/** The compiled worker script. Tests run the TypeScript sources, whose worker is the build's (npm test builds first). */
function workerScript(): URL {
  const here = new URL('./writer-worker-main.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL(import.meta.url.replace('/src/', '/dist/').replace(/writer-worker\.ts$/, 'writer-worker-main.js'));
}

export async function startSqliteWriter(path: string): Promise<BulkWriter> {
  const worker = new Worker(workerScript(), { workerData: { path } });
  worker.unref();
  let next = 1;
  const waiting = new Map<number, { resolve(): void; reject(err: Error): void }>();
  let failure: Error | undefined;
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  worker.on('message', (m: { id: number; error?: { message: string; code?: string } }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (!w) return;
    if (m.error) w.reject(new StoreError((m.error.code as StoreErrorCode | undefined) ?? StoreErrorCode.FAILED, m.error.message));
    else w.resolve();
  });
  worker.on('error', (err) => {
    failure = err;
    for (const w of waiting.values()) w.reject(new StoreError(StoreErrorCode.FAILED, `the store's writer thread failed: ${err.message}`));
    waiting.clear();
  });
  const send = (op: 'audit' | 'recording' | 'journal' | 'kv' | 'close', records?: unknown[]): Promise<void> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(new StoreError(StoreErrorCode.FAILED, `the store's writer thread failed: ${failure.message}`));
      const id = next++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, op, records });
    });
  return {
    appendAudit: (records) => {
      let flat: (string | null)[];
      try {
        flat = flattenAuditRecords(records);
      } catch (err) {
        return Promise.reject(new StoreError(StoreErrorCode.BAD_RECORD, `audit records must be an array of records: ${(err as Error).message}`));
      }
      return send('audit', flat);
    },
    ingestJournal: (file, from, to) => send('journal', [file, from, to]),
    appendRecording: (records) => send('recording', records),
    putKv: (key, value) => send('kv', [key, value]),
    async close() {
      await send('close').catch(() => undefined);
      await worker.terminate();
    },
  };
}
