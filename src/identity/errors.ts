/** The one error type of the identity module. `code` is stable (scripts and the CLI map it to exit codes). */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  readonly code: string;

  constructor(code: `AGENTDB_ERR_IDENTITY_${string}`, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
