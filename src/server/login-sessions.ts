// agentdb's own login sessions: after the IdP vouches for someone, the control plane hands out its own short-lived,
// revocable token (never the IdP's). The token is `<id>.<secret>`; only a hash of the secret is stored.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../identity/index.js';
import type { Store } from '../store/index.js';
import { ServerError, ServerErrorCode } from './errors.js';

/** No usable login session: the API answers 401 (run `agentdb login`). */
export class LoginSessionError extends ServerError {
  constructor(message: string) {
    super(ServerErrorCode.LOGIN_SESSION, message, 401);
  }
}

export interface LoginSession {
  id: string;
  identity: Identity;
  expiresAt: Date;
}

// One-shot: every API request hashes its token, and crypto.hash skips the Hash object createHash builds.
const hashSecret = (secret: string) => hash('sha256', secret, 'hex');

export class LoginSessions {
  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    /** called once a session is revoked, so the gateway can end the sessions its certificates opened */
    private readonly onRevoke: (id: string) => void = () => undefined,
  ) {}

  async create(identity: Identity): Promise<{ token: string; session: LoginSession }> {
    const id = randomBytes(12).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.store.putLoginSession({ id, secretHash: hashSecret(secret), identity, createdAt: now.toISOString(), expiresAt: expiresAt.toISOString() });
    return { token: `${id}.${secret}`, session: { id, identity, expiresAt } };
  }

  /** The session behind a bearer token, or an error that says to log in again. */
  async verify(token: string | undefined): Promise<LoginSession> {
    const [id, secret] = (token ?? '').split('.');
    if (!id || !secret) throw new LoginSessionError('not logged in: run `agentdb login`');
    const rec = await this.store.getLoginSession(id);
    const a = Buffer.from(hashSecret(secret), 'hex');
    if (!rec || !timingSafeEqual(a, Buffer.from(rec.secretHash, 'hex'))) throw new LoginSessionError('login session not recognised: run `agentdb login`');
    if (rec.revokedAt) throw new LoginSessionError('login session was ended: run `agentdb login`');
    const expiresAt = new Date(rec.expiresAt);
    if (expiresAt <= new Date()) throw new LoginSessionError('login session expired: run `agentdb login`');
    return { id, identity: rec.identity as Identity, expiresAt };
  }

  /** For the gateway: is the login behind a certificate still alive? */
  async isActive(id: string): Promise<boolean> {
    const rec = await this.store.getLoginSession(id);
    return !!rec && !rec.revokedAt && new Date(rec.expiresAt) > new Date();
  }

  /** Ends a login session: no new certificates or sessions from it, and its open sessions end (onRevoke). */
  async revoke(id: string): Promise<boolean> {
    const revoked = await this.store.revokeLoginSession(id, new Date().toISOString());
    // Also when it was revoked already: ending sessions twice is harmless, missing one is not.
    this.onRevoke(id);
    return revoked;
  }
}
