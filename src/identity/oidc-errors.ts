// openid-client and jose fail with several error classes; users need one readable sentence.
import { ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';

/**
 * The OAuth error code (e.g. 'access_denied', 'invalid_client') when the IdP answered with an error.
 * A 401 from the token endpoint carries it in a WWW-Authenticate challenge instead of the body.
 */
export function oauthErrorCode(err: unknown): string | undefined {
  if (err instanceof ResponseBodyError) return err.error;
  if (err instanceof WWWAuthenticateChallengeError) return err.cause.find((c) => c.parameters.error)?.parameters.error;
  return undefined;
}

/** One line about what went wrong, including the nested cause (network errors hide the real reason there). */
export function describeError(err: unknown): string {
  if (err instanceof ResponseBodyError) {
    return err.error_description ? `${err.error}: ${err.error_description}` : err.error;
  }
  if (err instanceof WWWAuthenticateChallengeError) {
    const challenge = err.cause.find((c) => c.parameters.error)?.parameters;
    if (challenge?.error) return challenge.error_description ? `${challenge.error}: ${challenge.error_description}` : challenge.error;
    return `HTTP ${err.status}`;
  }
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause && !err.message.includes(cause) ? `${err.message} (${cause})` : err.message;
}
