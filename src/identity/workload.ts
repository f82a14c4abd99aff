// The control plane's side of CI workload identity: tokens that GitHub Actions, GitLab or any other CI
// issuer listed under auth.workload mints for a job. Each listed issuer's keys come from its own OIDC
// discovery document; a token from an issuer not listed is refused before anything is fetched, so a
// token cannot make the control plane talk to a host of its choosing.
import { jwtVerify } from 'jose';
import { IdentityError, IdentityErrorCode } from './errors.js';
import { ALGORITHMS, CLOCK_TOLERANCE_S, remoteKeySet, tokenError, unverifiedIssuer, type KeySet } from './jwt.js';
import type { Identity } from './mapping.js';
import { describeError } from './oidc-errors.js';
import { assertTransportAllowed, guardedFetch } from './transport.js';
import { identifyWorkload, type WorkloadEntry } from './workload-rules.js';

/** A discovery that failed is not retried sooner than this: a burst of CI logins during an outage costs one request. */
const DISCOVERY_RETRY_MS = 10_000;
const DISCOVERY_TIMEOUT_MS = 5_000;
/** A discovery document is a few KiB; one far larger is not what we asked for. */
const MAX_DISCOVERY_BYTES = 256 * 1024;

interface Issuer {
  keys?: Promise<KeySet>;
  failedAt?: number;
}

export class WorkloadIssuers {
  readonly #entries: readonly WorkloadEntry[];
  readonly #issuers = new Map<string, Issuer>();

  constructor(entries: readonly WorkloadEntry[]) {
    this.#entries = entries;
    for (const e of entries) this.#issuers.set(e.issuer, {});
  }

  /** True when `iss` is listed under auth.workload (exact string match). */
  lists(iss: string): boolean {
    return this.#issuers.has(iss);
  }

  /** The (issuer, audience) pairs configured, for clients that ask their CI system for a token. */
  audiences(): { issuer: string; audience: string }[] {
    const seen = new Set<string>();
    return this.#entries
      .map((e) => ({ issuer: e.issuer, audience: e.audience }))
      .filter((p) => !seen.has(JSON.stringify(p)) && seen.add(JSON.stringify(p)));
  }

  /**
   * Checks the token's signature against its issuer's published keys, its issuer, exp (required), nbf and
   * iat (required), with a small clock leeway; returns its claims. The audience and the claim rules are
   * `identify`'s: they decide which entry, if any, the token is for.
   */
  async verify(token: string): Promise<Record<string, unknown>> {
    const iss = unverifiedIssuer(token);
    if (!this.lists(iss)) throw new IdentityError(IdentityErrorCode.TOKEN_ISSUER, `issuer ${JSON.stringify(iss)} is not listed under auth.workload`);
    const keys = await this.#keys(iss);
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: iss, algorithms: ALGORITHMS, requiredClaims: ['exp', 'iat'], clockTolerance: CLOCK_TOLERANCE_S });
      // jose accepts an iat in the future; a token minted "later" is a clock problem or a forgery either way.
      if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) {
        throw new IdentityError(IdentityErrorCode.TOKEN_CLAIMS, `the token's "iat" claim is in the future (${new Date(payload.iat * 1000).toISOString()})`);
      }
      return { ...payload };
    } catch (err) {
      throw tokenError(err, iss);
    }
  }

  /** The bot a verified token speaks for; throws naming the first failing rule of the closest entry. */
  identify(claims: Record<string, unknown>): Identity {
    return identifyWorkload(claims, this.#entries);
  }

  #keys(iss: string): Promise<KeySet> {
    const issuer = this.#issuers.get(iss)!;
    if (issuer.keys && !(issuer.failedAt !== undefined && Date.now() - issuer.failedAt >= DISCOVERY_RETRY_MS)) return issuer.keys;
    issuer.failedAt = undefined;
    const keys = discoverKeys(iss);
    issuer.keys = keys;
    keys.catch(() => (issuer.failedAt = Date.now()));
    return keys;
  }
}

/** OIDC discovery (`/.well-known/openid-configuration`) reduced to what verification needs: the key set. */
async function discoverKeys(issuer: string): Promise<KeySet> {
  const base = assertTransportAllowed(issuer, 'workload issuer');
  const url = new URL(`${base.href.replace(/\/$/, '')}/.well-known/openid-configuration`);
  let meta: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const res = await guardedFetch('workload issuer')(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), redirect: 'error' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    if (text.length > MAX_DISCOVERY_BYTES) throw new Error(`the document is larger than ${MAX_DISCOVERY_BYTES} bytes`);
    meta = JSON.parse(text) as typeof meta;
  } catch (err) {
    throw new IdentityError(IdentityErrorCode.DISCOVERY, `could not read the OpenID configuration of workload issuer ${issuer}: ${describeError(err)}`, { cause: err });
  }
  // OpenID Connect Discovery 4.3: the document must name exactly the issuer it was fetched for.
  if (meta.issuer !== issuer) {
    throw new IdentityError(IdentityErrorCode.DISCOVERY, `the OpenID configuration at ${url.href} names issuer ${JSON.stringify(meta.issuer)}, not ${issuer}`);
  }
  if (typeof meta.jwks_uri !== 'string') {
    throw new IdentityError(IdentityErrorCode.DISCOVERY, `the OpenID configuration of workload issuer ${issuer} names no jwks_uri, so its tokens cannot be verified`);
  }
  return remoteKeySet(meta.jwks_uri);
}
