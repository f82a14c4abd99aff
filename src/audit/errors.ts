/** The one error type of the audit log; `code` is stable, the message is for people. */
export class AuditError extends Error {
  readonly code: string;

  constructor(code: `AGENTDB_ERR_AUDIT_${string}`, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditError';
    this.code = code;
  }
}
