import { CodedError } from '../pgwire/index.js';

/** Stable codes of every IdentityError (scripts and the CLI map them to exit codes). */
export const IdentityErrorCode = {
  /** The token is not a signed JWT, cannot be read, or uses an algorithm that is not accepted. */
  TOKEN_INVALID: 'AGENTDB_ERR_IDENTITY_TOKEN_INVALID',
  /** The token names no issuer, another issuer than expected, or one not listed under auth.workload. */
  TOKEN_ISSUER: 'AGENTDB_ERR_IDENTITY_TOKEN_ISSUER',
  /** The token is for another audience than the one expected. */
  TOKEN_AUDIENCE: 'AGENTDB_ERR_IDENTITY_TOKEN_AUDIENCE',
  /** The token has expired. */
  TOKEN_EXPIRED: 'AGENTDB_ERR_IDENTITY_TOKEN_EXPIRED',
  /** A registered claim of the token (iat, nbf, ...) is not acceptable. */
  TOKEN_CLAIMS: 'AGENTDB_ERR_IDENTITY_TOKEN_CLAIMS',
  /** The token's signature does not verify with the issuer's published keys. */
  TOKEN_SIGNATURE: 'AGENTDB_ERR_IDENTITY_TOKEN_SIGNATURE',
  /** The issuer's signing keys (JWKS) could not be fetched. */
  JWKS_UNAVAILABLE: 'AGENTDB_ERR_IDENTITY_JWKS_UNAVAILABLE',
  /** A claim the identity is read from is missing or not a non-empty string. */
  CLAIMS_INVALID: 'AGENTDB_ERR_IDENTITY_CLAIMS_INVALID',
  /** No usable identity name could be made from the token's claims. */
  NO_NAME: 'AGENTDB_ERR_IDENTITY_NO_NAME',
  /** No role binding matches the identity. */
  NO_ROLES: 'AGENTDB_ERR_IDENTITY_NO_ROLES',
  /** A workload token's claim does not match its issuer's rule. */
  WORKLOAD_CLAIM: 'AGENTDB_ERR_IDENTITY_WORKLOAD_CLAIM',
  /** A workload identity template has a brace outside `{{claim}}`. */
  WORKLOAD_TEMPLATE: 'AGENTDB_ERR_IDENTITY_WORKLOAD_TEMPLATE',
  /** An issuer's OpenID configuration cannot be read, names another issuer, or names no jwks_uri. */
  DISCOVERY: 'AGENTDB_ERR_IDENTITY_DISCOVERY',
  /** An issuer URL that is not a URL or not https. */
  ISSUER_INVALID: 'AGENTDB_ERR_IDENTITY_ISSUER_INVALID',
  /** A plain-http issuer that is not on a loopback address. */
  INSECURE_ISSUER: 'AGENTDB_ERR_IDENTITY_INSECURE_ISSUER',
  /** A client id or secret is missing. */
  CLIENT_INVALID: 'AGENTDB_ERR_IDENTITY_CLIENT_INVALID',
  /** The identity provider rejected the client's credentials. */
  CLIENT_AUTH: 'AGENTDB_ERR_IDENTITY_CLIENT_AUTH',
  /** No token audience was given where one is required. */
  AUDIENCE_MISSING: 'AGENTDB_ERR_IDENTITY_AUDIENCE_MISSING',
  /** The identity provider does not issue tokens for the audience asked for. */
  AUDIENCE_UNKNOWN: 'AGENTDB_ERR_IDENTITY_AUDIENCE_UNKNOWN',
  /** A token request to the identity provider failed otherwise. */
  TOKEN_REQUEST: 'AGENTDB_ERR_IDENTITY_TOKEN_REQUEST',
  /** The device authorization could not be started. */
  DEVICE_START: 'AGENTDB_ERR_IDENTITY_DEVICE_START',
  /** The device login was cancelled. */
  LOGIN_CANCELLED: 'AGENTDB_ERR_IDENTITY_LOGIN_CANCELLED',
  /** The device login expired before it was completed. */
  LOGIN_EXPIRED: 'AGENTDB_ERR_IDENTITY_LOGIN_EXPIRED',
  /** The person denied the sign-in at the identity provider. */
  LOGIN_DENIED: 'AGENTDB_ERR_IDENTITY_LOGIN_DENIED',
  /** The device login failed otherwise. */
  LOGIN_FAILED: 'AGENTDB_ERR_IDENTITY_LOGIN_FAILED',
  /** The login finished without an ID token. */
  NO_ID_TOKEN: 'AGENTDB_ERR_IDENTITY_NO_ID_TOKEN',
  /** The userinfo endpoint could not be read. */
  USERINFO: 'AGENTDB_ERR_IDENTITY_USERINFO',
  /** The development IdP's key file cannot be read, written or used. */
  KEY_FILE: 'AGENTDB_ERR_IDENTITY_KEY_FILE',
  /** The development IdP's settings are invalid (a non-loopback host, no client secret, a bad audience). */
  DEV_IDP_CONFIG: 'AGENTDB_ERR_IDENTITY_DEV_IDP_CONFIG',
  /** The development IdP cannot listen on its address. */
  DEV_IDP_LISTEN: 'AGENTDB_ERR_IDENTITY_DEV_IDP_LISTEN',
} as const;
export type IdentityErrorCode = (typeof IdentityErrorCode)[keyof typeof IdentityErrorCode];

/** The one error type of the identity module. `code` is stable (scripts and the CLI map it to exit codes). */
export class IdentityError extends CodedError<IdentityErrorCode> {
  // The catalogue above is all it adds: the base holds the code and the message.
}
