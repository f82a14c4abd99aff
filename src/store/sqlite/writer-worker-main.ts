// The worker side of SqliteWriter: its own connection to the store file, taking batches of audit and
// recording records and answering when each batch is committed.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from './open.js';
import type { AuditRecord, RecordingRecord } from '../records.js';

interface Job {
  id: number;
  op: 'audit' | 'recording' | 'close';
  records?: AuditRecord[] | RecordingRecord[];
}

const store = await openSqliteStore((workerData as { path: string }).path);
parentPort!.on('message', (job: Job) => {
  const run =
    job.op === 'audit' ? store.appendAudit(job.records as AuditRecord[]) : job.op === 'recording' ? store.appendRecording(job.records as RecordingRecord[]) : store.close();
  run.then(
    () => parentPort!.postMessage({ id: job.id }),
    (err: Error & { code?: string }) => parentPort!.postMessage({ id: job.id, error: { message: err.message, code: err.code } }),
  );
});
parentPort!.postMessage({ ready: true });
