import { CodedError } from './coded-error.js';
import { SqlState } from './constants.js';

/** Stable codes of every PgwireError, so callers branch on a code and never on message text. */
export const PgwireErrorCode = {
  /** A typed message announced a length below 4 (the length word alone). */
  BAD_LENGTH: 'AGENTDB_ERR_PGWIRE_BAD_LENGTH',
  /** A typed message announced more bytes than the framer's limit. */
  MESSAGE_TOO_LARGE: 'AGENTDB_ERR_PGWIRE_MESSAGE_TOO_LARGE',
  /** A startup-phase packet has an impossible length or layout. */
  BAD_STARTUP_PACKET: 'AGENTDB_ERR_PGWIRE_BAD_STARTUP_PACKET',
  /** The client asked for a protocol major version or request code we do not speak. */
  UNSUPPORTED_PROTOCOL: 'AGENTDB_ERR_PGWIRE_UNSUPPORTED_PROTOCOL',
  /** A message's body does not match its documented layout. */
  MALFORMED_MESSAGE: 'AGENTDB_ERR_PGWIRE_MALFORMED_MESSAGE',
  /** A builder was given a value the protocol cannot carry (a NUL inside a string, a bad key length). */
  BAD_ARGUMENT: 'AGENTDB_ERR_PGWIRE_BAD_ARGUMENT',
  /** An earlier error (or a throwing callback) left a reader mid-stream; the connection must be closed. */
  STREAM_BROKEN: 'AGENTDB_ERR_PGWIRE_STREAM_BROKEN',
  /** The SCRAM exchange went wrong: malformed server data, a nonce that is not ours, a step out of order. */
  SCRAM_PROTOCOL: 'AGENTDB_ERR_PGWIRE_SCRAM_PROTOCOL',
  /** The server reported a SCRAM error (`e=...`) in its final message. */
  SCRAM_SERVER_ERROR: 'AGENTDB_ERR_PGWIRE_SCRAM_SERVER_ERROR',
  /** The server could not prove it knows the password: it may not be the server we meant to reach. */
  SCRAM_SERVER_SIGNATURE: 'AGENTDB_ERR_PGWIRE_SCRAM_SERVER_SIGNATURE',
  /** A SCRAM client's proof is wrong: it does not know the password (we are the server). */
  SCRAM_BAD_PROOF: 'AGENTDB_ERR_PGWIRE_SCRAM_BAD_PROOF',
} as const;

export type PgwireErrorCode = (typeof PgwireErrorCode)[keyof typeof PgwireErrorCode];

/**
 * The one error type of pgwire. `sqlState` is what a PostgreSQL client should see if the gateway turns
 * this into an ErrorResponse, so the gateway does not have to map codes itself.
 */
export class PgwireError extends CodedError<PgwireErrorCode> {
  declare readonly sqlState: string;

  constructor(code: PgwireErrorCode, message: string, sqlState: string = SqlState.PROTOCOL_VIOLATION) {
    super(code, message, { sqlState });
  }
}

/** Renders a message type byte for error text: the letter when printable, hex otherwise. */
export function describeType(type: number): string {
  return type >= 0x20 && type < 0x7f ? `'${String.fromCharCode(type)}'` : `0x${type.toString(16).padStart(2, '0')}`;
}
