/** The one error type of session recording; `code` is stable, the message is for people. */
export class RecordingError extends Error {
  readonly code: string;

  constructor(code: `AGENTDB_ERR_RECORDING_${string}`, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RecordingError';
    this.code = code;
  }
}
