import { SqlState } from '../pgwire/index.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { ExitCode } from './exit-codes.js';

/**
 * The SQLSTATE a local PostgreSQL client reads when `agentdb proxy` cannot open its session: the exit code's
 * meaning, so a refusal the person can act on (log in again, ask for access) reads as one; an unreachable control
 * plane as libpq's own "could not connect" (the proxy keeps retrying); anything else as a failed connection.
 */
export function refusalSqlState(err: unknown): string {
  if (!(err instanceof ClientError)) return SqlState.CONNECTION_FAILURE;
  if (err.code === ClientErrorCode.PROXY_CONTROL_PLANE_DOWN) return SqlState.UNABLE_TO_ESTABLISH_CONNECTION;
  const exit: ExitCode = err.exitCode;
  return exit === ExitCode.NOT_LOGGED_IN || exit === ExitCode.DENIED ? SqlState.INVALID_AUTHORIZATION : SqlState.CONNECTION_FAILURE;
}
