// The control plane's error catalogue and the one error type its services raise for the API to answer.
import { CodedError } from '../pgwire/index.js';
import type { CaErrorCode } from '../ca/index.js';
import type { PolicyErrorCode } from '../policy/index.js';

/** Stable codes of the control plane's own errors. */
export const ServerErrorCode = {
  /** An API payload or query that fails its schema. */
  API_BAD_REQUEST: 'AGENTDB_ERR_API_BAD_REQUEST',
  /** The identity holds no role that may do this (read the audit log). */
  API_FORBIDDEN: 'AGENTDB_ERR_API_FORBIDDEN',
  /** An unexpected failure inside the control plane (details only in its log). */
  API_INTERNAL: 'AGENTDB_ERR_API_INTERNAL',
  /** Over an action's rate limit: 429 with Retry-After. */
  API_RATE_LIMITED: 'AGENTDB_ERR_API_RATE_LIMITED',
  /** Too many device logins waiting to be completed, from one address or in total: 429. */
  API_TOO_MANY_LOGINS: 'AGENTDB_ERR_API_TOO_MANY_LOGINS',
  /** The login session is missing, unknown, ended or expired: run `agentdb login`. */
  LOGIN_SESSION: 'AGENTDB_ERR_LOGIN_SESSION',
  /** A device login that expired or is unknown. */
  LOGIN_UNKNOWN: 'AGENTDB_ERR_LOGIN_UNKNOWN',
  /** A device login that failed without a code of the identity module. */
  LOGIN_FAILED: 'AGENTDB_ERR_LOGIN_FAILED',
  /** The identity is locked: no certificate. */
  CERT_LOCKED: 'AGENTDB_ERR_CERT_LOCKED',
  /** A certificate --ttl that is not a duration. */
  CERT_TTL: 'AGENTDB_ERR_CERT_TTL',
  /** Several database users are allowed: choose one with --db-user. */
  CERT_CHOOSE_USER: 'AGENTDB_ERR_CERT_CHOOSE_USER',
  /** No single role grants the database user on the database asked for. */
  CERT_NO_GRANT: 'AGENTDB_ERR_CERT_NO_GRANT',
  /** The requester is locked: no access request. */
  REQUEST_LOCKED: 'AGENTDB_ERR_REQUEST_LOCKED',
  /** An access request for a role that is not (or no longer) defined. */
  REQUEST_UNKNOWN_ROLE: 'AGENTDB_ERR_REQUEST_UNKNOWN_ROLE',
  /** An access request for a role the requester already holds. */
  REQUEST_HAS_ROLE: 'AGENTDB_ERR_REQUEST_HAS_ROLE',
  /** An access request without a reason. */
  REQUEST_REASON: 'AGENTDB_ERR_REQUEST_REASON',
  /** The same role is already asked for and waits for a reviewer. */
  REQUEST_PENDING: 'AGENTDB_ERR_REQUEST_PENDING',
  /** No such access request. */
  REQUEST_NOT_FOUND: 'AGENTDB_ERR_REQUEST_NOT_FOUND',
  /** A reviewer deciding their own request. */
  REQUEST_SELF: 'AGENTDB_ERR_REQUEST_SELF',
  /** The reviewer holds no role that may review for the request's databases. */
  REQUEST_FORBIDDEN: 'AGENTDB_ERR_REQUEST_FORBIDDEN',
  /** The request was already decided or expired. */
  REQUEST_DECIDED: 'AGENTDB_ERR_REQUEST_DECIDED',
  /** A lock on an identity that is itself locked. */
  LOCK_LOCKED: 'AGENTDB_ERR_LOCK_LOCKED',
  /** A lock that names neither or both of --user and --task. */
  LOCK_TARGET: 'AGENTDB_ERR_LOCK_TARGET',
  /** A lock without a reason. */
  LOCK_REASON: 'AGENTDB_ERR_LOCK_REASON',
  /** A lock --ttl that is too long. */
  LOCK_TTL: 'AGENTDB_ERR_LOCK_TTL',
  /** A lock on a name the audit log already holds, without --future. */
  LOCK_NO_MATCH: 'AGENTDB_ERR_LOCK_NO_MATCH',
  /** No such active lock. */
  LOCK_NOT_FOUND: 'AGENTDB_ERR_LOCK_NOT_FOUND',
  /** No recording of that session. */
  RECORDING_NOT_FOUND: 'AGENTDB_ERR_RECORDING_NOT_FOUND',
  /** No task of the identity to show a masking plan for. */
  MASKING_PLAN_NOT_FOUND: 'AGENTDB_ERR_MASKING_PLAN_NOT_FOUND',
  /** A duration or time that cannot be read (30m, 1h30m, an ISO 8601 time). */
  DURATION: 'AGENTDB_ERR_DURATION',
  /** The server's config file is invalid or cannot be read, or a secret it names is missing. */
  CONFIG: 'AGENTDB_ERR_CONFIG',
  /** The embedded PostgreSQL of `--dev` and `demo` cannot start. */
  EMBEDDED_POSTGRES: 'AGENTDB_ERR_EMBEDDED_POSTGRES',
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

/**
 * What the control plane's services (access requests, locks, certificate issuance) refuse with, and the HTTP
 * status the API answers it with. A certificate refusal relays the CA's or the policy's code.
 */
export class ServerError extends CodedError<ServerErrorCode | CaErrorCode | PolicyErrorCode> {
  constructor(
    code: ServerErrorCode | CaErrorCode | PolicyErrorCode,
    message: string,
    readonly status = 400,
  ) {
    super(code, message);
  }
}
