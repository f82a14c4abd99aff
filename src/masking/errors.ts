import { CodedError } from '../pgwire/index.js';

/** Stable codes of every MaskingError. */
export const MaskingErrorCode = {
  /** A masking block of the config is invalid (schema check). */
  BAD_CONFIG: 'AGENTDB_ERR_MASKING_BAD_CONFIG',
  /** A masked column in the config is not table.column or schema.table.column. */
  BAD_COLUMN: 'AGENTDB_ERR_MASKING_BAD_COLUMN',
  /** The hash strategy was given a key of the wrong length. */
  BAD_KEY: 'AGENTDB_ERR_MASKING_BAD_KEY',
  /** The hash key file in the data directory cannot be read or created, or has the wrong length. */
  KEY_FILE: 'AGENTDB_ERR_MASKING_KEY_FILE',
  /** The statement would move masked data where it is no longer masked (a write, a function): refused. */
  REFUSED: 'AGENTDB_ERR_MASKING_REFUSED',
  /** The statement filters on a masked column and the policy says `filters: deny`. */
  FILTER: 'AGENTDB_ERR_MASKING_FILTER',
  /** A result column may carry masked data and its type cannot hold a masked value: refused. */
  UNKNOWN_ORIGIN: 'AGENTDB_ERR_MASKING_UNKNOWN_ORIGIN',
  /** A COPY may carry masked data but its columns cannot be matched to their sources: refused. */
  COPY_COLUMNS: 'AGENTDB_ERR_MASKING_COPY_COLUMNS',
  /** A COPY option (format, delimiter, quote, escape) the masking rewriter cannot follow. */
  COPY: 'AGENTDB_ERR_MASKING_COPY',
  /** COPY data from the database that cannot be parsed, so cannot be masked. */
  COPY_DATA: 'AGENTDB_ERR_MASKING_COPY_DATA',
  /** A masking plan whose column count does not match the row's formats and types (a caller's bug). */
  PLAN: 'AGENTDB_ERR_MASKING_PLAN',
  /** A DataRow from the database that cannot be parsed, so cannot be masked. */
  MALFORMED_ROW: 'AGENTDB_ERR_MASKING_MALFORMED_ROW',
  /** A NotificationResponse from the database that cannot be parsed, so cannot be masked. */
  MALFORMED_NOTIFICATION: 'AGENTDB_ERR_MASKING_MALFORMED_NOTIFICATION',
} as const;
export type MaskingErrorCode = (typeof MaskingErrorCode)[keyof typeof MaskingErrorCode];

/** The one error type of the masking module; `code` is stable, the message is for people. */
export class MaskingError extends CodedError<MaskingErrorCode> {
  // The catalogue above is all it adds: the base holds the code and the message.
}
