// The worker side of SqliteWriter: its own connection to the store file, taking batches of audit and
// recording records and answering when each batch is committed.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from './open.js';
import type { RecordingRecord } from '../records.js';
import { unflattenAuditRecords } from './audit-columns.js';
import { JournalReader } from './journal-reader.js';

interface Job {
  id: number;
  op: 'audit' | 'recording' | 'journal' | 'kv' | 'close';
  /** audit: the flat column values (audit-columns.ts); recording: the records; journal: [file, from, to]; kv: [key, value] */
  records?: (string | null)[] | RecordingRecord[] | [string, number, number] | [string, unknown];
}

const store = await openSqliteStore((workerData as { path: string }).path);
const journal = new JournalReader();

function run(job: Job): Promise<void> {
  switch (job.op) {
    case 'audit':
      return store.appendAudit(unflattenAuditRecords(job.records as (string | null)[]));
    case 'journal': {
      const [file, from, to] = job.records as [string, number, number];
      try {
        return store.appendAudit(journal.read(file, from, to));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    case 'recording':
      return store.appendRecording(job.records as RecordingRecord[]);
    case 'kv': {
      const [key, value] = job.records as [string, unknown];
      return store.putKv(key, value);
    }
    default:
      journal.close();
      return store.close();
  }
}

parentPort!.on('message', (job: Job) => {
  run(job).then(
    () => parentPort!.postMessage({ id: job.id }),
    (err: Error & { code?: string }) => parentPort!.postMessage({ id: job.id, error: { message: err.message, code: err.code } }),
  );
});
parentPort!.postMessage({ ready: true });
