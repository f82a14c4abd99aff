/** The one error type of the certificate authority; `code` is stable, the message is for people. */
export class CaError extends Error {
  readonly code: string;

  constructor(code: `AGENTDB_ERR_CA_${string}`, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CaError';
    this.code = code;
  }
}
