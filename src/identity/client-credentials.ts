// The CLI's side of bot login: the client secret is sent only to the IdP, never to the control
// plane, which receives the resulting JWT and verifies it (OidcLogin.verifyAccessToken).
import * as oidc from 'openid-client';
import { discoverIssuer } from './discovery.js';
import { IdentityError, IdentityErrorCode } from './errors.js';
import { describeError, oauthErrorCode } from './oidc-errors.js';

export interface ClientCredentialsOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The control plane's audience; sent as the RFC 8707 `resource` so the IdP issues a JWT for it. */
  audience: string;
}

/** Runs the client credentials grant and returns the access token (a JWT for `audience`). */
export async function clientCredentialsToken(opts: ClientCredentialsOptions): Promise<string> {
  if (typeof opts.clientSecret !== 'string' || opts.clientSecret === '') {
    throw new IdentityError(IdentityErrorCode.CLIENT_INVALID, `no client secret given for client "${opts.clientId}"`);
  }
  if (typeof opts.audience !== 'string' || opts.audience === '') {
    throw new IdentityError(IdentityErrorCode.AUDIENCE_MISSING, 'an audience (the control plane\'s token audience) is required');
  }
  const config = await discoverIssuer(opts);
  let tokens: Awaited<ReturnType<typeof oidc.clientCredentialsGrant>>;
  try {
    tokens = await oidc.clientCredentialsGrant(config, { resource: opts.audience });
  } catch (err) {
    const code = oauthErrorCode(err);
    const issuer = config.serverMetadata().issuer;
    if (code === 'invalid_client' || code === 'unauthorized_client') {
      throw new IdentityError(IdentityErrorCode.CLIENT_AUTH, `${issuer} rejected the credentials of client "${opts.clientId}": ${describeError(err)}`, { cause: err });
    }
    if (code === 'invalid_target') {
      throw new IdentityError(IdentityErrorCode.AUDIENCE_UNKNOWN, `${issuer} does not issue tokens for audience "${opts.audience}": ${describeError(err)}`, { cause: err });
    }
    throw new IdentityError(IdentityErrorCode.TOKEN_REQUEST, `the token request to ${issuer} failed: ${describeError(err)}`, { cause: err });
  }
  return tokens.access_token;
}
