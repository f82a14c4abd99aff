// Cancel keys: the client gets a key the gateway made, never the backend's. A CancelRequest that matches is
// sent on to PostgreSQL with the backend's own key, from the gateway.
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export interface CancelTarget {
  secret: Buffer;
  cancel(): void;
}

export class CancelRegistry {
  private readonly byPid = new Map<number, CancelTarget>();

  /** A fresh key: 4-byte secret for protocol 3.0, 32 bytes for 3.2 (as PostgreSQL 18 does). */
  issue(minor: number, cancel: () => void): { pid: number; secret: Buffer; release(): void } {
    let pid: number;
    do pid = randomInt(1, 2 ** 31 - 1);
    while (this.byPid.has(pid));
    const secret = randomBytes(minor >= 2 ? 32 : 4);
    this.byPid.set(pid, { secret, cancel });
    return { pid, secret, release: () => this.byPid.delete(pid) };
  }

  /** Returns true when the key matched; compares the secret in constant time. */
  cancel(pid: number, secret: Buffer): boolean {
    const target = this.byPid.get(pid);
    if (!target || target.secret.length !== secret.length || !timingSafeEqual(target.secret, secret)) return false;
    target.cancel();
    return true;
  }

  get size(): number {
    return this.byPid.size;
  }
}
