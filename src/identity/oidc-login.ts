// The control plane's side of OpenID Connect: device login for people, and verification of JWTs
// that bots (client credentials) and CI jobs (workload tokens) present. The IdP's tokens never leave
// the control plane; callers get claims.
import { setTimeout as sleep } from 'node:timers/promises';
import { jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { Demand } from './demand.js';
import { discoverIssuer } from './discovery.js';
import { IdentityError, IdentityErrorCode } from './errors.js';
import { describeError, oauthErrorCode } from './oidc-errors.js';
import { ALGORITHMS, CLOCK_TOLERANCE_S, assertJwtShape, remoteKeySet, tokenError, type KeySet } from './jwt.js';

export interface OidcProviderSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** The expected `aud` of access tokens. */
  audience: string;
  scopes?: string[];
}

export interface DeviceLogin {
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresIn: number;
  interval: number;
  /** Claims of the verified ID token merged with userinfo; rejects with IdentityError. */
  result: Promise<Record<string, unknown>>;
  /** Someone waits for `result`; call the returned function when they stop. See `pollWhenWatched`. */
  watch(): () => void;
  /** Stops polling; `result` then rejects with AGENTDB_ERR_IDENTITY_LOGIN_CANCELLED. */
  cancel(): void;
}

/** What one browser sign-in's callback must match: PKCE verifier, state and nonce (all random per sign-in). */
export interface BrowserLoginChecks {
  verifier: string;
  state: string;
  nonce: string;
}

export interface DeviceLoginOptions {
  /** Poll the IdP only while someone watches (the control plane: while a client's long poll waits). Default:
   *  poll until the login ends, for a caller that simply awaits `result`. */
  pollWhenWatched?: boolean;
}

/** Asked for when the settings name no scopes; trimmed to what the IdP advertises, since some IdPs reject unknown scopes. */
const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'groups'];
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 3.5: the interval when the IdP names none, and what each slow_down adds to it. */
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_S = 5;

export class OidcLogin {
  readonly #config: oidc.Configuration;
  readonly #settings: OidcProviderSettings;
  readonly #keys: KeySet;

  private constructor(config: oidc.Configuration, settings: OidcProviderSettings, keys: KeySet) {
    this.#config = config;
    this.#settings = settings;
    this.#keys = keys;
  }

  /** Fetches the issuer's metadata (plain http only for loopback issuers). */
  static async discover(settings: OidcProviderSettings): Promise<OidcLogin> {
    if (typeof settings.audience !== 'string' || settings.audience === '') {
      throw new IdentityError(IdentityErrorCode.AUDIENCE_MISSING, `an expected token audience is required for issuer ${settings.issuer}`);
    }
    const config = await discoverIssuer(settings);
    const { jwks_uri: jwksUri, issuer } = config.serverMetadata();
    if (!jwksUri) {
      throw new IdentityError(IdentityErrorCode.DISCOVERY, `the OpenID configuration of ${issuer} names no jwks_uri, so its tokens cannot be verified`);
    }
    // ID tokens come straight from the token endpoint, which TLS would vouch for; checking their
    // signature as well keeps the http development IdP to the same standard.
    oidc.enableNonRepudiationChecks(config);
    return new OidcLogin(config, settings, remoteKeySet(jwksUri));
  }

  get issuer(): string {
    return this.#config.serverMetadata().issuer;
  }

  async startDeviceLogin(opts: DeviceLoginOptions = {}): Promise<DeviceLogin> {
    let started: oidc.DeviceAuthorizationResponse;
    try {
      started = await oidc.initiateDeviceAuthorization(this.#config, { scope: this.#scopes().join(' ') });
    } catch (err) {
      throw new IdentityError(
        IdentityErrorCode.DEVICE_START,
        `the identity provider ${this.issuer} did not start a device login: ${describeError(err)}`,
        { cause: err },
      );
    }
    const stop = new AbortController();
    const expiry = AbortSignal.timeout(started.expires_in * 1000);
    const demand = new Demand(!opts.pollWhenWatched);
    const result = this.#finishDeviceLogin(started, stop.signal, expiry, demand);
    // Marks the rejection as handled so a caller that cancels need not await `result`; anyone who
    // does await it still sees the rejection.
    result.catch(() => undefined);
    return {
      userCode: started.user_code,
      verificationUri: started.verification_uri,
      ...(started.verification_uri_complete ? { verificationUriComplete: started.verification_uri_complete } : {}),
      expiresIn: started.expires_in,
      interval: started.interval ?? DEFAULT_INTERVAL_S,
      result,
      watch: () => demand.watch(),
      cancel: () => stop.abort(),
    };
  }

  /** Verifies a JWT from this issuer: signature (JWKS), iss, aud, exp. Returns its claims. */
  async verifyAccessToken(token: string): Promise<Record<string, unknown>> {
    assertJwtShape(token);
    try {
      // Note: an ID token for our own client has aud = clientId, so it passes here only if the
      // configured audience is the client id, which an access token's audience should never be.
      const { payload } = await jwtVerify(token, this.#keys, {
        issuer: this.issuer,
        audience: this.#settings.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      return { ...payload };
    } catch (err) {
      throw tokenError(err, this.issuer, this.#settings.audience);
    }
  }

  #scopes(): string[] {
    const wanted = this.#settings.scopes ?? DEFAULT_SCOPES;
    const supported = this.#settings.scopes ? undefined : this.#config.serverMetadata().scopes_supported;
    const scopes = supported ? wanted.filter((s) => s === 'openid' || supported.includes(s)) : [...wanted];
    return scopes.includes('openid') ? scopes : ['openid', ...scopes];
  }

  async #finishDeviceLogin(started: oidc.DeviceAuthorizationResponse, stop: AbortSignal, expiry: AbortSignal, demand: Demand): Promise<Record<string, unknown>> {
    let tokens: Awaited<ReturnType<typeof oidc.genericGrantRequest>>;
    try {
      tokens = await this.#pollDeviceGrant(started, AbortSignal.any([stop, expiry]), demand);
    } catch (err) {
      throw deviceError(err, stop.aborted, expiry.aborted, this.issuer);
    }
    return this.#claimsOf(tokens);
  }

  /**
   * Starts a browser sign-in (authorization code with PKCE, RFC 7636): the IdP's URL to send the person to, and the
   * values the callback must check, which the caller keeps for that one browser.
   */
  async startBrowserLogin(redirectUri: string): Promise<{ url: string; checks: BrowserLoginChecks }> {
    const checks = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce() };
    const url = oidc.buildAuthorizationUrl(this.#config, {
      redirect_uri: redirectUri,
      scope: this.#scopes().join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(checks.verifier),
      code_challenge_method: 'S256',
      state: checks.state,
      nonce: checks.nonce,
    });
    return { url: url.href, checks };
  }

  /** Finishes a browser sign-in at the callback URL: the code is exchanged, state, nonce and PKCE checked; returns claims as a device login does. */
  async finishBrowserLogin(callbackUrl: URL, checks: BrowserLoginChecks): Promise<Record<string, unknown>> {
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(this.#config, callbackUrl, {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      const code = oauthErrorCode(err) === 'access_denied' ? IdentityErrorCode.LOGIN_DENIED : IdentityErrorCode.LOGIN_FAILED;
      throw new IdentityError(code, `the sign-in at ${this.issuer} failed: ${describeError(err)}`, { cause: err });
    }
    return this.#claimsOf(tokens);
  }

  /** The verified ID token's claims merged with userinfo. */
  async #claimsOf(tokens: Awaited<ReturnType<typeof oidc.genericGrantRequest>>): Promise<Record<string, unknown>> {
    const idToken = tokens.claims();
    if (!idToken) {
      throw new IdentityError(IdentityErrorCode.NO_ID_TOKEN, `the identity provider ${this.issuer} finished the login without an ID token`);
    }
    // A conformant IdP puts scope claims (email, groups, ...) only in userinfo when it also issues an
    // access token, so ask there too; the verified ID token wins on any claim both carry.
    let userinfo: Record<string, unknown> = {};
    if (this.#config.serverMetadata().userinfo_endpoint && tokens.access_token) {
      try {
        userinfo = await oidc.fetchUserInfo(this.#config, tokens.access_token, idToken.sub);
      } catch (err) {
        throw new IdentityError(IdentityErrorCode.USERINFO, `could not read userinfo from ${this.issuer}: ${describeError(err)}`, { cause: err });
      }
    }
    return { ...userinfo, ...idToken };
  }

  /**
   * One token request per interval (RFC 8628 3.4/3.5), and only while `demand` says someone waits. A request
   * once sent is never aborted: the IdP may already have spent the device code on its answer.
   */
  async #pollDeviceGrant(started: oidc.DeviceAuthorizationResponse, signal: AbortSignal, demand: Demand): Promise<Awaited<ReturnType<typeof oidc.genericGrantRequest>>> {
    let intervalMs = (started.interval ?? DEFAULT_INTERVAL_S) * 1000;
    let last = Date.now();
    for (;;) {
      await demand.wanted(signal);
      const wait = last + intervalMs - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      last = Date.now();
      try {
        const tokens = await oidc.genericGrantRequest(this.#config, DEVICE_CODE_GRANT, { device_code: started.device_code });
        signal.throwIfAborted();
        return tokens;
      } catch (err) {
        const code = oauthErrorCode(err);
        if (code === 'slow_down') intervalMs += SLOW_DOWN_S * 1000;
        else if (code !== 'authorization_pending') throw err;
      }
    }
  }
}

function deviceError(err: unknown, cancelled: boolean, expired: boolean, issuer: string): IdentityError {
  if (cancelled) return new IdentityError(IdentityErrorCode.LOGIN_CANCELLED, 'the device login was cancelled', { cause: err });
  const code = oauthErrorCode(err);
  if (expired || code === 'expired_token') {
    return new IdentityError(IdentityErrorCode.LOGIN_EXPIRED, 'the device login expired before it was completed; run the login again', { cause: err });
  }
  if (code === 'access_denied') {
    return new IdentityError(IdentityErrorCode.LOGIN_DENIED, `the sign-in was denied at ${issuer}: ${describeError(err)}`, { cause: err });
  }
  return new IdentityError(IdentityErrorCode.LOGIN_FAILED, `the device login at ${issuer} failed: ${describeError(err)}`, { cause: err });
}
