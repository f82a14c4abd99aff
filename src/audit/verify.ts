import type { AuditRecord } from '../store/index.js';
import { eventHash, GENESIS_HASH } from './chain.js';
import { toAuditRecord } from './build-event.js';
import { parseStoredEvent } from './stored-event.js';

export interface VerifyResult {
  ok: boolean;
  /** events that verified: all of them when ok, those before the break otherwise */
  count: number;
  broken?: { index: number; id: string; reason: string };
  /** the index of the event whose hash is the `find` asked for, when the chain holds it */
  found?: number;
}

const SEARCH_COLUMNS = ['id', 'time', 'type', 'code', 'sid', 'identityName', 'dbService', 'taskId', 'taskReason', 'sql', 'prevHash', 'hash'] as const;

/** Why this record does not belong after `prev` in the chain, or undefined when it does. */
function fault(record: AuditRecord, prev: string): string | undefined {
  let event;
  try {
    event = parseStoredEvent(record);
  } catch {
    return 'the stored event is not a valid JSON object: the row was edited';
  }
  if (event.prevHash !== prev) {
    return 'its prevHash is not the hash of the event before it: events were deleted, inserted or reordered here (or the event before was edited and re-hashed)';
  }
  let hash: string;
  try {
    hash = eventHash(event.prevHash, event);
  } catch {
    return 'the stored event cannot be hashed: the row was edited';
  }
  if (hash !== event.hash) return 'its content does not match its hash: the event was edited';
  // The columns search filters on must say what the hashed event says, or a search would lie.
  const expected = toAuditRecord(event, record.json);
  for (const col of SEARCH_COLUMNS) {
    if (record[col] !== expected[col]) return `its stored ${col} differs from the hashed event: the row was edited`;
  }
  return undefined;
}

/** Walks the chain in order and stops at the first event that breaks it. */
export async function verifyChain(records: AsyncIterable<AuditRecord>, find?: string, from = GENESIS_HASH): Promise<VerifyResult> {
  let prev = from;
  let index = 0;
  let found: number | undefined;
  for await (const record of records) {
    const reason = fault(record, prev);
    if (reason !== undefined) return { ok: false, count: index, broken: { index, id: record.id, reason }, ...(found !== undefined ? { found } : {}) };
    if (record.hash === find) found = index;
    prev = record.hash;
    index++;
  }
  return { ok: true, count: index, ...(found !== undefined ? { found } : {}) };
}
