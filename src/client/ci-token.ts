// Where a CI job's own OIDC token comes from: an environment variable the CI system filled (GitLab's
// id_tokens, or any CI that can put a token in the environment), or GitHub Actions' token endpoint, which
// mints a token for the audience we ask for.
import { isLoopbackHost } from '../identity/index.js';
import { ClientError, ClientErrorCode } from './errors.js';
import { ExitCode } from './exit-codes.js';

/** GitHub's issuer for Actions tokens (GitHub Enterprise Server has its own, so this is only a preference). */
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
/** The audience asked of GitHub when the server advertises none. */
export const DEFAULT_CI_AUDIENCE = 'agentdb';
export const DEFAULT_TOKEN_ENV = 'AGENTDB_ID_TOKEN';
const REQUEST_TIMEOUT_MS = 30_000;

export interface CiTokenOptions {
  /** the audience to ask GitHub for; default: what the server advertises (see `ciAudience`) */
  audience?: string | undefined;
  /** the variable holding the token; given explicitly, it must be set */
  tokenEnv?: string | undefined;
}

/**
 * The audience to request, from the server's auth.workload entries (GET /v1/ping): the one GitHub's own
 * issuer is configured with, else the one all entries share, else DEFAULT_CI_AUDIENCE when none are listed.
 */
export function ciAudience(advertised: { issuer: string; audience: string }[]): string {
  const distinct = (list: { audience: string }[]) => [...new Set(list.map((e) => e.audience))];
  const github = distinct(advertised.filter((e) => e.issuer === GITHUB_ISSUER));
  if (github.length === 1) return github[0]!;
  const all = distinct(advertised);
  if (all.length === 0) return DEFAULT_CI_AUDIENCE;
  if (all.length === 1) return all[0]!;
  throw new ClientError(ClientErrorCode.CI_AUDIENCE, `the server accepts CI tokens for several audiences (${all.join(', ')}); choose one with --audience`);
}

/**
 * The job's token: `tokenEnv` when given (it must be set), else AGENTDB_ID_TOKEN when set, else one from
 * GitHub Actions' endpoint for the audience `audience()` resolves (asked only then: it costs a request).
 */
export async function ciToken(opts: CiTokenOptions, audience: () => Promise<string>): Promise<string> {
  if (opts.tokenEnv) {
    const token = process.env[opts.tokenEnv]?.trim();
    if (!token) throw new ClientError(ClientErrorCode.CI_TOKEN, `environment variable ${opts.tokenEnv} is not set or empty; name the variable your CI's id_tokens fills`, ExitCode.NOT_LOGGED_IN);
    return token;
  }
  const fromEnv = process.env[DEFAULT_TOKEN_ENV]?.trim();
  if (fromEnv) return fromEnv;
  const url = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (url && bearer) return githubActionsToken(url, bearer, opts.audience ?? (await audience()));
  throw new ClientError(
    ClientErrorCode.CI_TOKEN,
    `no CI OIDC token found: set ${DEFAULT_TOKEN_ENV} (e.g. from GitLab id_tokens), name another variable with --token-env, use --token-file, or run in GitHub Actions with "permissions: id-token: write"`,
    ExitCode.NOT_LOGGED_IN,
  );
}

async function githubActionsToken(requestUrl: string, bearer: string, audience: string): Promise<string> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new ClientError(ClientErrorCode.CI_TOKEN, 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
  }
  // The request token is a credential: it goes over https, or plain http only to this machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ClientError(ClientErrorCode.CI_TOKEN, `ACTIONS_ID_TOKEN_REQUEST_URL must be https (got ${url.protocol}//${url.host})`);
  }
  url.searchParams.set('audience', audience);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), redirect: 'error' });
  } catch (err) {
    throw new ClientError(ClientErrorCode.CI_TOKEN, `could not reach GitHub Actions' token endpoint ${url.host}: ${(err as Error).message}`);
  }
  if (!res.ok) {
    throw new ClientError(ClientErrorCode.CI_TOKEN, `GitHub Actions refused an OIDC token for audience "${audience}" (HTTP ${res.status}); does the job have "permissions: id-token: write"?`, ExitCode.NOT_LOGGED_IN);
  }
  const value = ((await res.json().catch(() => ({}))) as { value?: unknown }).value;
  if (typeof value !== 'string' || value === '') throw new ClientError(ClientErrorCode.CI_TOKEN, 'GitHub Actions\' token endpoint answered without a token ("value")');
  return value;
}
