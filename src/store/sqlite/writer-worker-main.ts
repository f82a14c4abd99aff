// The worker side of SqliteWriter: its own connection to the store file, taking batches of audit and
// recording records and answering when each batch is committed.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from './open.js';
import type { RecordingRecord } from '../records.js';
import { unflattenAuditRecords } from './audit-columns.js';

interface Job {
  id: number;
  op: 'audit' | 'recording' | 'close';
  /** audit: the flat column values (audit-columns.ts); recording: the records */
  records?: (string | null)[] | RecordingRecord[];
}

const store = await openSqliteStore((workerData as { path: string }).path);
parentPort!.on('message', (job: Job) => {
  const run =
    job.op === 'audit' ? store.appendAudit(unflattenAuditRecords(job.records as (string | null)[])) : job.op === 'recording' ? store.appendRecording(job.records as RecordingRecord[]) : store.close();
  run.then(
    () => parentPort!.postMessage({ id: job.id }),
    (err: Error & { code?: string }) => parentPort!.postMessage({ id: job.id, error: { message: err.message, code: err.code } }),
  );
});
parentPort!.postMessage({ ready: true });
