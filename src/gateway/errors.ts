import { CodedError, SqlState } from '../pgwire/index.js';

/**
 * A refusal or failure that reaches the PostgreSQL client as an ErrorResponse with `sqlState`: the one its code has
 * in the catalogue (GATEWAY_SQL_STATE), unless the raiser relays another (PostgreSQL's own, a backend login's).
 */
export class GatewayError extends CodedError<GatewayErrorCode> {
  declare readonly sqlState: string;

  constructor(
    code: GatewayErrorCode,
    message: string,
    sqlState?: string,
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(code, message, { sqlState: sqlState ?? GATEWAY_SQL_STATE[code] });
  }
}

/** Stable codes of every GatewayError, with the SQLSTATE the client reads (GATEWAY_SQL_STATE below). */
export const GatewayErrorCode = {
  /** a client message the gateway will not relay (malformed, or of a type it cannot judge): 08P01 */
  PROTOCOL: 'AGENTDB_ERR_GATEWAY_PROTOCOL',
  /** PostgreSQL sent bytes that are not the protocol: 08P01 */
  BACKEND_PROTOCOL: 'AGENTDB_ERR_GATEWAY_BACKEND_PROTOCOL',
  /** the audit log could not store a statement's events, so it was not forwarded: 53100 disk full, else 58030 */
  AUDIT_UNAVAILABLE: 'AGENTDB_ERR_GATEWAY_AUDIT_UNAVAILABLE',
  /** the task certificate's notAfter passed during the session: 28000 */
  CERT_EXPIRED: 'AGENTDB_ERR_GATEWAY_CERT_EXPIRED',
  /** code the gateway cannot see changed a setting the analyzer reads SQL with: 42501 */
  PARSER_SETTING: 'AGENTDB_ERR_GATEWAY_PARSER_SETTING',
  /** the gateway ended the session from outside (shutdown, revocation, lock) with the SQLSTATE it gave */
  SESSION_ENDED: 'AGENTDB_ERR_GATEWAY_SESSION_ENDED',
  /** anything else that went wrong inside the gateway: XX000 */
  INTERNAL: 'AGENTDB_ERR_GATEWAY_INTERNAL',
  /** a plain connection (no SSLRequest, no direct TLS): the gateway requires TLS with a task certificate: 28000 */
  TLS_REQUIRED: 'AGENTDB_ERR_GATEWAY_TLS_REQUIRED',
  /** no client certificate: 28000 */
  NO_CERT: 'AGENTDB_ERR_GATEWAY_NO_CERT',
  /** the task certificate is not valid yet: 28000 */
  CERT_NOT_YET_VALID: 'AGENTDB_ERR_GATEWAY_CERT_NOT_YET_VALID',
  /** the certificate was not issued by this cluster's user CA: 28000 */
  CERT_UNTRUSTED: 'AGENTDB_ERR_GATEWAY_CERT_UNTRUSTED',
  /** the certificate is not an agentdb task certificate: 28000 */
  CERT_INVALID: 'AGENTDB_ERR_GATEWAY_CERT_INVALID',
  /** the login behind the certificate was ended or revoked: 28000 */
  LOGIN_REVOKED: 'AGENTDB_ERR_GATEWAY_LOGIN_REVOKED',
  /** the identity or task is locked: 28000 */
  LOCKED: 'AGENTDB_ERR_GATEWAY_LOCKED',
  /** a replication connection: 28000 */
  REPLICATION: 'AGENTDB_ERR_GATEWAY_REPLICATION',
  /** the "options" startup parameter (settings are decided by policy): 28000 */
  STARTUP_OPTIONS: 'AGENTDB_ERR_GATEWAY_STARTUP_OPTIONS',
  /** the certificate's database service is not one this gateway serves: 28000 */
  UNKNOWN_SERVICE: 'AGENTDB_ERR_GATEWAY_UNKNOWN_SERVICE',
  /** the startup message names no user: 28000 */
  NO_USER: 'AGENTDB_ERR_GATEWAY_NO_USER',
  /** a database user the certificate does not allow, or the gateway holds no credential for: 28000 */
  DB_USER: 'AGENTDB_ERR_GATEWAY_DB_USER',
  /** a database the certificate does not allow: 28000 */
  DB_NAME: 'AGENTDB_ERR_GATEWAY_DB_NAME',
  /** the identity's roles cannot open this session (a trait a setting needs is missing, say): 28000 */
  POLICY: 'AGENTDB_ERR_GATEWAY_POLICY',
  /** the user `auto` on a service, or roles, that say nothing about provisioning: 28000 */
  PROVISION_PLAN: 'AGENTDB_ERR_GATEWAY_PROVISION_PLAN',
  /** the gateway's admin role may not provision the database user: 42501 */
  PROVISION_PRIVILEGE: 'AGENTDB_ERR_GATEWAY_PROVISION_PRIVILEGE',
  /** the database was unavailable while provisioning: 08006 */
  PROVISION_UNAVAILABLE: 'AGENTDB_ERR_GATEWAY_PROVISION_UNAVAILABLE',
  /** a role of the provisioned name exists and was not made by this gateway: 42710 */
  PROVISION_COLLISION: 'AGENTDB_ERR_GATEWAY_PROVISION_COLLISION',
  /** provisioning failed otherwise: PostgreSQL's SQLSTATE, relayed */
  PROVISION: 'AGENTDB_ERR_GATEWAY_PROVISION',
  /** the database cannot be reached: 08006 */
  BACKEND_UNREACHABLE: 'AGENTDB_ERR_GATEWAY_BACKEND_UNREACHABLE',
  /** TLS to the database is not offered or fails while sslmode asks for it: 08006 */
  BACKEND_TLS: 'AGENTDB_ERR_GATEWAY_BACKEND_TLS',
  /** the database login or a query of the gateway's own timed out: 08006 */
  BACKEND_TIMEOUT: 'AGENTDB_ERR_GATEWAY_BACKEND_TIMEOUT',
  /** the database asks for an authentication the gateway cannot do safely: 08006 (08P01 for SASL out of order) */
  BACKEND_AUTH: 'AGENTDB_ERR_GATEWAY_BACKEND_AUTH',
  /** the database refused the login: its ErrorResponse, relayed (BackendLoginError) */
  BACKEND_LOGIN: 'AGENTDB_ERR_GATEWAY_BACKEND_LOGIN',
  /** the database closed the connection during the login or a query of the gateway's own: 08006 */
  BACKEND_CLOSED: 'AGENTDB_ERR_GATEWAY_BACKEND_CLOSED',
  /** a query of the gateway's own failed: PostgreSQL's SQLSTATE, relayed */
  BACKEND_QUERY: 'AGENTDB_ERR_GATEWAY_BACKEND_QUERY',
  /** the role's session settings could not be applied: 28000 */
  SETTINGS: 'AGENTDB_ERR_GATEWAY_SETTINGS',
  /** the catalog masking reads could not be read, so masking cannot tell where data comes from: XX000 */
  CATALOG: 'AGENTDB_ERR_GATEWAY_CATALOG',
  /** the catalog connection was closed: 08006 */
  CATALOG_CLOSED: 'AGENTDB_ERR_GATEWAY_CATALOG_CLOSED',
} as const;
export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

const C = GatewayErrorCode;
/** The SQLSTATE each code reaches the client with when its raiser relays none. */
export const GATEWAY_SQL_STATE: Record<GatewayErrorCode, string> = {
  [C.PROTOCOL]: SqlState.PROTOCOL_VIOLATION,
  [C.BACKEND_PROTOCOL]: SqlState.PROTOCOL_VIOLATION,
  [C.AUDIT_UNAVAILABLE]: SqlState.IO_ERROR,
  [C.CERT_EXPIRED]: SqlState.INVALID_AUTHORIZATION,
  [C.PARSER_SETTING]: SqlState.INSUFFICIENT_PRIVILEGE,
  [C.SESSION_ENDED]: SqlState.ADMIN_SHUTDOWN,
  [C.INTERNAL]: SqlState.INTERNAL_ERROR,
  [C.TLS_REQUIRED]: SqlState.INVALID_AUTHORIZATION,
  [C.NO_CERT]: SqlState.INVALID_AUTHORIZATION,
  [C.CERT_NOT_YET_VALID]: SqlState.INVALID_AUTHORIZATION,
  [C.CERT_UNTRUSTED]: SqlState.INVALID_AUTHORIZATION,
  [C.CERT_INVALID]: SqlState.INVALID_AUTHORIZATION,
  [C.LOGIN_REVOKED]: SqlState.INVALID_AUTHORIZATION,
  [C.LOCKED]: SqlState.INVALID_AUTHORIZATION,
  [C.REPLICATION]: SqlState.INVALID_AUTHORIZATION,
  [C.STARTUP_OPTIONS]: SqlState.INVALID_AUTHORIZATION,
  [C.UNKNOWN_SERVICE]: SqlState.INVALID_AUTHORIZATION,
  [C.NO_USER]: SqlState.INVALID_AUTHORIZATION,
  [C.DB_USER]: SqlState.INVALID_AUTHORIZATION,
  [C.DB_NAME]: SqlState.INVALID_AUTHORIZATION,
  [C.POLICY]: SqlState.INVALID_AUTHORIZATION,
  [C.PROVISION_PLAN]: SqlState.INVALID_AUTHORIZATION,
  [C.PROVISION_PRIVILEGE]: SqlState.INSUFFICIENT_PRIVILEGE,
  [C.PROVISION_UNAVAILABLE]: SqlState.CONNECTION_FAILURE,
  [C.PROVISION_COLLISION]: SqlState.DUPLICATE_OBJECT,
  // Relayed from PostgreSQL; this is what a client reads when it gave none.
  [C.PROVISION]: SqlState.INVALID_AUTHORIZATION,
  [C.BACKEND_UNREACHABLE]: SqlState.CONNECTION_FAILURE,
  [C.BACKEND_TLS]: SqlState.CONNECTION_FAILURE,
  [C.BACKEND_TIMEOUT]: SqlState.CONNECTION_FAILURE,
  [C.BACKEND_AUTH]: SqlState.CONNECTION_FAILURE,
  [C.BACKEND_LOGIN]: SqlState.INVALID_AUTHORIZATION,
  [C.BACKEND_CLOSED]: SqlState.CONNECTION_FAILURE,
  [C.BACKEND_QUERY]: SqlState.INTERNAL_ERROR,
  [C.SETTINGS]: SqlState.INVALID_AUTHORIZATION,
  [C.CATALOG]: SqlState.INTERNAL_ERROR,
  [C.CATALOG_CLOSED]: SqlState.CONNECTION_FAILURE,
};
