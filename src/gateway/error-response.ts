// The one place that turns an error into what a PostgreSQL client reads: an ErrorResponse with a SQLSTATE, the
// message, and the AGENTDB_ERR_* code (in DETAIL: PostgreSQL's ErrorResponse has no field of its own for it).
// An error that carries a `sqlState` (GatewayError, PgwireError, AuditError's write failures, anything built on
// pgwire's CodedError) reaches the client with it; anything else is XX000 internal_error.
import { SqlState, errorResponse, type ReportFields } from '../pgwire/index.js';
import { GatewayError, GatewayErrorCode } from './errors.js';

/** The fields of the ErrorResponse that reports `err` (severity left to the caller). */
export function errorFields(err: unknown): ReportFields {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; sqlState?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
  const code = typeof e.code === 'string' && e.code.startsWith('AGENTDB_ERR_') ? e.code : GatewayErrorCode.INTERNAL;
  const sqlState = typeof e.sqlState === 'string' && /^[0-9A-Z]{5}$/.test(e.sqlState) ? e.sqlState : SqlState.INTERNAL_ERROR;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  const detail = typeof e.detail === 'string' && e.detail !== '' ? `${e.detail}\n` : '';
  return { code: sqlState, message, detail: `${detail}agentdb error code ${code}`, ...(typeof e.hint === 'string' && e.hint !== '' ? { hint: e.hint } : {}) };
}

/** `err` as an ErrorResponse; FATAL when the connection ends after it. */
export function errorResponseOf(err: unknown, severity: 'ERROR' | 'FATAL' = 'ERROR'): Buffer {
  return errorResponse({ severity, ...errorFields(err) });
}

/**
 * A statement's audit events could not be stored, so it was not forwarded: the SQLSTATE the audit error carries
 * (53100 when the disk or quota is full), else 58030 io_error; the cause's own words in parentheses.
 */
export function auditUnavailable(err: unknown): GatewayError {
  const e = err as { sqlState?: unknown; cause?: unknown; message?: unknown } | undefined;
  const cause = e?.cause instanceof Error ? e.cause.message : typeof e?.message === 'string' ? e.message : String(err);
  const sqlState = typeof e?.sqlState === 'string' ? e.sqlState : SqlState.IO_ERROR;
  return new GatewayError(GatewayErrorCode.AUDIT_UNAVAILABLE, `audit log unavailable: statement not executed (${cause})`, sqlState);
}
