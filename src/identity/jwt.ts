// What every JWT we verify shares, whoever issued it (the login IdP's access tokens, CI workload tokens):
// the accepted algorithms, the clock leeway, the size bound, the remote key set, and one readable error
// for each way jose can refuse a token.
import { createRemoteJWKSet, customFetch, decodeJwt, errors as jose } from 'jose';
import { IdentityError, IdentityErrorCode } from './errors.js';
import { describeError } from './oidc-errors.js';
import { assertTransportAllowed, guardedFetch } from './transport.js';

/** Asymmetric algorithms only: a symmetric one would let anyone holding a shared secret mint identities. */
export const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Seconds of clock difference tolerated between an issuer and us on exp/nbf/iat. */
export const CLOCK_TOLERANCE_S = 30;
/** Real tokens are a few KiB; anything far larger is refused before any parsing. */
const MAX_TOKEN_LENGTH = 32 * 1024;

export type KeySet = ReturnType<typeof createRemoteJWKSet>;

/** Refuses anything that is not a compact JWS of sane size, before any parsing. */
export function assertJwtShape(token: unknown): asserts token is string {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
    throw new IdentityError(IdentityErrorCode.TOKEN_INVALID, 'the token is not a signed JWT (three base64url parts separated by dots, at most 32 KiB)');
  }
}

/**
 * The `iss` a token claims, read before its signature is checked: it only picks which issuer's keys
 * verify the token, and the verification then checks `iss` again.
 */
export function unverifiedIssuer(token: unknown): string {
  assertJwtShape(token);
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch (err) {
    throw new IdentityError(IdentityErrorCode.TOKEN_INVALID, `the token is not a readable JWT: ${describeError(err)}`, { cause: err });
  }
  if (typeof iss !== 'string' || iss === '') throw new IdentityError(IdentityErrorCode.TOKEN_ISSUER, 'the token names no issuer ("iss" claim)');
  return iss;
}

/**
 * jose caches the key set and refetches it (at most every 30 s) when a token names an unknown kid,
 * which is how an issuer's key rotation reaches us without letting forged kids flood the issuer.
 */
export function remoteKeySet(jwksUri: string): KeySet {
  return createRemoteJWKSet(assertTransportAllowed(jwksUri, 'JWKS endpoint'), { [customFetch]: guardedFetch('JWKS endpoint') });
}

/** One IdentityError for whatever jwtVerify threw. `audience` is left out where the caller checks it itself. */
export function tokenError(err: unknown, issuer: string, audience?: string): IdentityError {
  if (err instanceof IdentityError) return err;
  const opts = { cause: err };
  if (err instanceof jose.JWTExpired) {
    const exp = typeof err.payload.exp === 'number' ? ` at ${new Date(err.payload.exp * 1000).toISOString()}` : '';
    return new IdentityError(IdentityErrorCode.TOKEN_EXPIRED, `the token expired${exp}; get a new one`, opts);
  }
  if (err instanceof jose.JWTClaimValidationFailed) {
    if (err.claim === 'aud') {
      return new IdentityError(IdentityErrorCode.TOKEN_AUDIENCE, `the token is for audience ${JSON.stringify(err.payload.aud)}, not "${audience}"`, opts);
    }
    if (err.claim === 'iss') {
      return new IdentityError(IdentityErrorCode.TOKEN_ISSUER, `the token is from issuer ${JSON.stringify(err.payload.iss)}, not ${issuer}`, opts);
    }
    return new IdentityError(IdentityErrorCode.TOKEN_CLAIMS, `the token's "${err.claim}" claim is not acceptable: ${err.reason}`, opts);
  }
  if (err instanceof jose.JWSSignatureVerificationFailed || err instanceof jose.JWKSNoMatchingKey || err instanceof jose.JWKSMultipleMatchingKeys) {
    return new IdentityError(IdentityErrorCode.TOKEN_SIGNATURE, `the token's signature does not verify with the published keys of ${issuer}`, opts);
  }
  if (err instanceof jose.JOSEAlgNotAllowed) {
    return new IdentityError(IdentityErrorCode.TOKEN_INVALID, `the token is signed with an algorithm that is not accepted (${ALGORITHMS.join(', ')})`, opts);
  }
  if (err instanceof jose.JWKSTimeout || err instanceof jose.JWKSInvalid || (err instanceof jose.JOSEError && err.code === 'ERR_JOSE_GENERIC') || err instanceof TypeError) {
    return new IdentityError(IdentityErrorCode.JWKS_UNAVAILABLE, `could not fetch the signing keys of ${issuer}: ${describeError(err)}`, opts);
  }
  return new IdentityError(IdentityErrorCode.TOKEN_INVALID, `the token is not valid: ${describeError(err)}`, opts);
}
