// Discovery of an OpenID provider, shared by the control plane (device login, token verification)
// and the CLI (client credentials), so both apply the same transport rule.
import * as oidc from 'openid-client';
import { IdentityError, IdentityErrorCode } from './errors.js';
import { describeError } from './oidc-errors.js';
import { assertTransportAllowed, guardedFetch } from './transport.js';

export interface DiscoveryInput {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
}

export async function discoverIssuer(input: DiscoveryInput): Promise<oidc.Configuration> {
  const issuer = assertTransportAllowed(input.issuer, 'issuer');
  if (typeof input.clientId !== 'string' || input.clientId === '') {
    throw new IdentityError(IdentityErrorCode.CLIENT_INVALID, `a client id is required for issuer ${issuer.href}`);
  }
  const secret = input.clientSecret;
  try {
    return await oidc.discovery(
      issuer,
      input.clientId,
      secret ? { client_secret: secret } : undefined,
      secret ? secretAuth(secret) : oidc.None(),
      {
        [oidc.customFetch]: guardedFetch('issuer endpoint'),
        // Only reached for loopback issuers (checked above); guardedFetch keeps every later request
        // to the same rule, whatever endpoints the metadata names.
        execute: issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
      },
    );
  } catch (err) {
    if (err instanceof IdentityError) throw err;
    throw new IdentityError(
      IdentityErrorCode.DISCOVERY,
      `could not read the OpenID configuration of ${issuer.href}: ${describeError(err)}`,
      { cause: err },
    );
  }
}

/** client_secret_basic unless the IdP says it only takes client_secret_post. */
function secretAuth(secret: string): oidc.ClientAuth {
  const basic = oidc.ClientSecretBasic(secret);
  const post = oidc.ClientSecretPost(secret);
  return (as, client, body, headers) => {
    const methods = as.token_endpoint_auth_methods_supported;
    const usePost = Array.isArray(methods) && !methods.includes('client_secret_basic') && methods.includes('client_secret_post');
    (usePost ? post : basic)(as, client, body, headers);
  };
}
