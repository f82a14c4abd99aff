// The base of every agentdb error. It lives in pgwire because pgwire is the one module that imports nothing of the
// project, so every module can extend it without an import pointing up; and SQLSTATE, which it may carry, is the
// wire protocol's idea.

export interface CodedErrorOptions {
  cause?: unknown;
  /** the SQLSTATE a PostgreSQL client sees when this error becomes an ErrorResponse */
  sqlState?: string;
}

/**
 * An error with a stable `code` from its module's catalogue (`AGENTDB_ERR_*`: scripts, tests and the docs match it;
 * the message is for people) and, when it is meant for a PostgreSQL client, the SQLSTATE it reaches it with.
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  readonly sqlState: string | undefined;

  constructor(code: C, message: string, options?: CodedErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.sqlState = options?.sqlState;
  }
}
