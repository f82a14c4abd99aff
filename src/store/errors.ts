/** The one error type of the store; `code` is stable, the message is for people. */
export class StoreError extends Error {
  readonly code: string;

  constructor(code: `AGENTDB_ERR_STORE_${string}`, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}
