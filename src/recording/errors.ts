import { CodedError } from '../pgwire/index.js';

/** Stable codes of every RecordingError. */
export const RecordingErrorCode = {
  /** What was handed to the writer cannot be recorded (a field of the wrong type or size). */
  BAD_INPUT: 'AGENTDB_ERR_RECORDING_BAD_INPUT',
  /** A statement or an end after the recording of the session ended. */
  ENDED: 'AGENTDB_ERR_RECORDING_ENDED',
  /** The store failed to write the recording. */
  WRITE_FAILED: 'AGENTDB_ERR_RECORDING_WRITE_FAILED',
  /** The store failed to read the recording. */
  READ_FAILED: 'AGENTDB_ERR_RECORDING_READ_FAILED',
  /** A stored recording is damaged: an entry that does not parse or does not follow the one before. */
  CORRUPT: 'AGENTDB_ERR_RECORDING_CORRUPT',
} as const;
export type RecordingErrorCode = (typeof RecordingErrorCode)[keyof typeof RecordingErrorCode];

/** The one error type of session recording; `code` is stable, the message is for people. */
export class RecordingError extends CodedError<RecordingErrorCode> {
  // The catalogue above is all it adds: the base holds the code and the message.
}
