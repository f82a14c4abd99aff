import { StoreError, StoreErrorCode, type RecordingRecord, type Store } from '../store/index.js';
import { RecordingError, RecordingErrorCode } from './errors.js';
import { endFault, headerFault, statementFault } from './shape-checks.js';
import { RECORD_KIND, type RecordedStatement, type RecordingEnd, type RecordingHeader, type SessionRecording } from './types.js';

function corrupt(sid: string, seq: number, fault: string): RecordingError {
  return new RecordingError(RecordingErrorCode.CORRUPT, `the recording of session ${sid} is damaged at entry ${seq}: ${fault}`);
}

/**
 * The recording of a session, or undefined when there is none. Entries of kinds this version does
 * not know are skipped, so a newer gateway's recordings still play.
 */
export async function readRecording(store: Store, sid: string): Promise<SessionRecording | undefined> {
  let records: RecordingRecord[];
  try {
    records = await store.readRecording(sid);
  } catch (err) {
    const damaged = err instanceof StoreError && err.code === StoreErrorCode.CORRUPT;
    throw new RecordingError(
      damaged ? RecordingErrorCode.CORRUPT : RecordingErrorCode.READ_FAILED,
      `cannot read the recording of session ${sid}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const first = records[0];
  if (first === undefined) return undefined;
  if (first.kind !== RECORD_KIND.start) throw corrupt(sid, first.seq, `it starts with "${first.kind}", not a header`);
  const headerProblem = headerFault(first.data);
  if (headerProblem !== undefined) throw corrupt(sid, first.seq, headerProblem);

  const statements: RecordedStatement[] = [];
  let end: RecordingEnd | undefined;
  for (const r of records.slice(1)) {
    if (r.kind === RECORD_KIND.statement) {
      const fault = statementFault(r.data);
      if (fault !== undefined) throw corrupt(sid, r.seq, fault);
      statements.push(r.data as RecordedStatement);
    } else if (r.kind === RECORD_KIND.statements) {
      if (!Array.isArray(r.data)) throw corrupt(sid, r.seq, 'a batch of statements that is not an array');
      r.data.forEach((s: unknown, i) => {
        const fault = statementFault(s);
        if (fault !== undefined) throw corrupt(sid, r.seq, `statement ${i} of the batch: ${fault}`);
      });
      for (const s of r.data as RecordedStatement[]) statements.push(s);
    } else if (r.kind === RECORD_KIND.end) {
      const fault = endFault(r.data);
      if (fault !== undefined) throw corrupt(sid, r.seq, fault);
      end = r.data as RecordingEnd;
    } else if (r.kind === RECORD_KIND.start) {
      throw corrupt(sid, r.seq, 'a second header');
    }
  }
  const rec: SessionRecording = { header: first.data as RecordingHeader, statements };
  if (end !== undefined) rec.end = end;
  return rec;
}
