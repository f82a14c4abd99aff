/** The one error type of the masking module; `code` is stable, the message is for people. */
export class MaskingError extends Error {
  readonly code: `AGENTDB_ERR_MASKING_${string}`;

  constructor(code: `AGENTDB_ERR_MASKING_${string}`, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MaskingError';
    this.code = code;
  }
}
