import { StoreError, type RecordingRecord, type Store } from '../store/index.js';
import { RecordingError } from './errors.js';
import { endFault, headerFault, statementFault } from './shape-checks.js';
import { RECORD_KIND, type RecordedStatement, type RecordingEnd, type RecordingHeader, type SessionRecording } from './types.js';

function corrupt(sid: string, seq: number, fault: string): RecordingError {
  return new RecordingError('AGENTDB_ERR_RECORDING_CORRUPT', `the recording of session ${sid} is damaged at entry ${seq}: ${fault}`);
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
    const damaged = err instanceof StoreError && err.code === 'AGENTDB_ERR_STORE_CORRUPT';
    throw new RecordingError(
      damaged ? 'AGENTDB_ERR_RECORDING_CORRUPT' : 'AGENTDB_ERR_RECORDING_READ_FAILED',
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
