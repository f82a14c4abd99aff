import { CodedError } from '../pgwire/index.js';

/** Stable codes of every StoreError. */
export const StoreErrorCode = {
  /** The store could not be opened: no path, a bad PostgreSQL schema name, an unreachable server, a file it cannot open. */
  OPEN_FAILED: 'AGENTDB_ERR_STORE_OPEN_FAILED',
  /** The store's schema is newer than this agentdb knows: upgrade agentdb. */
  SCHEMA_TOO_NEW: 'AGENTDB_ERR_STORE_SCHEMA_TOO_NEW',
  /** A call after close(). */
  CLOSED: 'AGENTDB_ERR_STORE_CLOSED',
  /** A record with the same key is already stored. */
  DUPLICATE: 'AGENTDB_ERR_STORE_DUPLICATE',
  /** The SQLite file stayed locked by another process for longer than the busy timeout. */
  BUSY: 'AGENTDB_ERR_STORE_BUSY',
  /** A read or write failed in the database or the writer thread. */
  FAILED: 'AGENTDB_ERR_STORE_FAILED',
  /** A record to write is malformed; checked before anything is written. */
  BAD_RECORD: 'AGENTDB_ERR_STORE_BAD_RECORD',
  /** An audit query with a bad limit, time or filter. */
  BAD_QUERY: 'AGENTDB_ERR_STORE_BAD_QUERY',
  /** What the store holds is damaged: a column that is not text, JSON that does not parse. */
  CORRUPT: 'AGENTDB_ERR_STORE_CORRUPT',
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** The one error type of the store; `code` is stable, the message is for people. */
export class StoreError extends CodedError<StoreErrorCode> {
  // The catalogue above is all it adds: the base holds the code and the message.
}
