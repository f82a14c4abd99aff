// Device logins the control plane has started and a client may still poll, capped in total and per source
// address: each holds an IdP device code and a timer until it completes or expires, and an unauthenticated
// client could otherwise start them without end.
import { randomBytes } from 'node:crypto';
import type { DeviceLogin } from '../identity/index.js';
import { addressKey } from '../gateway/index.js';
import { ServerErrorCode } from './errors.js';
import { LimitError } from './rate-limit.js';

export interface DeviceLoginLimits {
  total: number;
  perAddress: number;
}

interface Pending {
  login: DeviceLogin;
  address: string;
  timer: NodeJS.Timeout;
}

/** Kept after the IdP's expiry so that a client polling late hears "expired" from the login, not "unknown". */
const GRACE_MS = 60_000;
/** What a refused client is told to wait: logins end when completed or after the IdP's expiry (minutes). */
const RETRY_AFTER_S = 60;

export class DeviceLogins {
  private readonly logins = new Map<string, Pending>();
  private readonly byAddress = new Map<string, number>();
  /** places taken by logins being started at the IdP, so concurrent starts cannot overshoot the caps */
  private reserved = 0;

  constructor(private readonly limits: DeviceLoginLimits) {}

  get size(): number {
    return this.logins.size;
  }

  /**
   * Holds a place for a login from `address` before the IdP is asked, or throws LimitError. `start` asks the
   * IdP; its login is kept under the id returned.
   */
  async start(address: string | undefined, start: () => Promise<DeviceLogin>): Promise<{ loginId: string; login: DeviceLogin }> {
    const key = addressKey(address);
    const held = this.byAddress.get(key) ?? 0;
    if (this.logins.size + this.reserved >= this.limits.total) {
      throw new LimitError(ServerErrorCode.API_TOO_MANY_LOGINS, 'too many device logins are waiting to be completed; try again later', RETRY_AFTER_S);
    }
    if (held >= this.limits.perAddress) {
      throw new LimitError(ServerErrorCode.API_TOO_MANY_LOGINS, `${held} device logins from ${key} are waiting to be completed; finish one or try again later`, RETRY_AFTER_S);
    }
    this.byAddress.set(key, held + 1);
    this.reserved++;
    let login: DeviceLogin;
    try {
      login = await start();
    } catch (err) {
      this.unhold(key);
      throw err;
    } finally {
      this.reserved--;
    }
    const loginId = randomBytes(16).toString('base64url');
    const timer = setTimeout(() => this.end(loginId), login.expiresIn * 1000 + GRACE_MS);
    timer.unref();
    login.result.catch(() => undefined); // settled through the poll route
    this.logins.set(loginId, { login, address: key, timer });
    return { loginId, login };
  }

  get(loginId: string): DeviceLogin | undefined {
    return this.logins.get(loginId)?.login;
  }

  /** Forgets a login (completed, failed or expired) and stops its polling; frees its place. */
  end(loginId: string): void {
    const p = this.logins.get(loginId);
    if (!p) return;
    this.logins.delete(loginId);
    clearTimeout(p.timer);
    p.login.cancel();
    this.unhold(p.address);
  }

  close(): void {
    for (const id of [...this.logins.keys()]) this.end(id);
  }

  private unhold(key: string): void {
    const n = (this.byAddress.get(key) ?? 1) - 1;
    if (n <= 0) this.byAddress.delete(key);
    else this.byAddress.set(key, n);
  }
}
