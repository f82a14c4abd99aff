// Revocation reaches open sessions: a lock ends the gateway sessions it covers, an ended login the sessions its
// certificates opened. When this process revokes (logout, lock) the sessions end at once; when another control
// plane sharing the store does, or someone revokes in the store by hand, a sweep finds it within SWEEP_MS.
import type { Gateway, GatewayLogger } from '../gateway/index.js';
import type { LockRecord } from '../store/index.js';
import { lockCovers } from './locks.js';

/** Half a second, so that revocation from anywhere ends open sessions within a second. */
export const REVOCATION_SWEEP_MS = 500;

export interface RevocationSources {
  /** is the login behind a certificate still alive? (read from the store) */
  isLoginActive(id: string): Promise<boolean>;
  /** reloads the locks from the store; new ones come back through endLocked */
  refreshLocks(): Promise<void>;
}

export class Revocation {
  private gateway: Gateway | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(private readonly log?: GatewayLogger) {}

  /** Ends the open sessions of an ended login session. */
  endLogin(id: string): void {
    this.gateway?.terminateWhere((_ctx, loginSession) => loginSession === id, 'the login behind this session was ended (agentdb logout or revoked); run `agentdb login` again');
  }

  /** Ends the open sessions a lock covers. */
  endLocked(lock: LockRecord): void {
    this.gateway?.terminateWhere(
      (ctx) => lockCovers(lock, ctx.identity.name, ctx.task),
      `locked by ${lock.createdBy}: ${lock.reason}`,
    );
  }

  /** Starts sweeping `gateway`'s open sessions against the store. */
  start(gateway: Gateway, sources: RevocationSources): void {
    this.gateway = gateway;
    this.timer = setInterval(() => void this.sweep(sources), REVOCATION_SWEEP_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.gateway = undefined;
  }

  private async sweep(sources: RevocationSources): Promise<void> {
    // A slow store must not pile sweeps on top of each other.
    if (this.sweeping || !this.gateway) return;
    this.sweeping = true;
    try {
      await sources.refreshLocks();
      for (const id of this.gateway.openLoginSessions()) {
        if (!(await sources.isLoginActive(id))) this.endLogin(id);
      }
    } catch (err) {
      // Sessions stay open through a store outage: the next sweep, and every new session, checks again.
      this.log?.warn({ err: (err as Error).message }, 'revocation sweep could not read the store');
    } finally {
      this.sweeping = false;
    }
  }
}
