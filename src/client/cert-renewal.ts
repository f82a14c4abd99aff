// `agentdb proxy`'s task certificate over time. A fresh one is fetched in the background two thirds into the
// current one's life, for new connections; an open tunnel keeps the certificate it opened with, so nothing here
// touches an established session. When the control plane cannot be reached the fetch is retried with capped
// exponential backoff and jitter until it answers. Meanwhile a still-valid certificate serves new connections,
// and once it has expired a new connection is refused at once with an error that says why, not left waiting.
import { ClientError, ClientErrorCode } from './errors.js';
import { ExitCode } from './exit-codes.js';

export interface ExpiringCertificate {
  issuedAt: Date;
  expiresAt: Date;
}

export interface RenewalOptions<C> {
  fetch(): Promise<C>;
  /** the control plane's URL, for the error a local client reads */
  server: string;
  /** each failed fetch, and how long until the next background attempt (undefined: none, e.g. the login expired) */
  onError(err: Error, retryInMs: number | undefined): void;
  /** the first retry's delay, doubled with each failure up to capMs */
  baseMs?: number;
  capMs?: number;
  random?: () => number;
}

/** A fresh certificate is fetched once this share of the current one's life has passed. */
export const RENEW_AT = 2 / 3;
const BASE_MS = 1_000;
const CAP_MS = 30_000;
/** A new connection that finds the certificate expired may start an attempt of its own at most this often. */
const ON_DEMAND_SPACING_MS = 1_000;
/** setTimeout's largest delay; a later renewal is reached in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The wait before the next attempt after `failures` failures in a row: base·2^(failures-1) capped, drawn from its
 * upper half, so proxies that lost the control plane together do not all return at the same instant, and no
 * retry comes much sooner than the schedule says ("equal jitter").
 */
export function backoffDelay(failures: number, baseMs = BASE_MS, capMs = CAP_MS, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

export class CertificateRenewal<C extends ExpiringCertificate> {
  private held: C;
  private attempt: Promise<C> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastError: Error | undefined;
  private lastAttemptAt = -Infinity;
  private nextAttemptAt: number | undefined;
  private stopped = false;

  constructor(first: C, private readonly opts: RenewalOptions<C>) {
    this.held = first;
    this.scheduleRenewal();
  }

  /** The newest certificate, valid or not. */
  get current(): C {
    return this.held;
  }

  /**
   * The certificate a new connection opens its tunnel with. An expired one cannot be used: the attempt in flight
   * is awaited, or one is started (at most once a second); if that fails the connection is refused with
   * AGENTDB_ERR_PROXY_CONTROL_PLANE_DOWN when the control plane was unreachable, or with the control plane's own
   * answer (a login that expired, a denial).
   */
  async forNewConnection(): Promise<C> {
    if (this.held.expiresAt.getTime() > Date.now()) return this.held;
    if (this.attempt === undefined && Date.now() - this.lastAttemptAt >= ON_DEMAND_SPACING_MS) this.renew();
    if (this.attempt !== undefined) {
      try {
        return await this.attempt;
      } catch {
        // reported below, with what the failed attempt left in lastError
      }
    }
    throw this.unavailable();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private unavailable(): Error {
    const err = this.lastError;
    if (err !== undefined && !(err instanceof ClientError && err.code === ClientErrorCode.UNREACHABLE)) return err;
    const next = this.nextAttemptAt === undefined ? '' : ` (next attempt in ${Math.max(1, Math.ceil((this.nextAttemptAt - Date.now()) / 1000))} s)`;
    return new ClientError(
      ClientErrorCode.PROXY_CONTROL_PLANE_DOWN,
      `agentdb control plane unreachable at ${this.opts.server}: retrying${next}; a new connection needs a new task certificate (the last one expired at ${this.held.expiresAt.toISOString()})`,
    );
  }

  private renew(): void {
    this.clearTimer();
    this.lastAttemptAt = Date.now();
    const attempt = this.opts.fetch();
    this.attempt = attempt;
    attempt
      .then(
        (c) => {
          this.held = c;
          this.failures = 0;
          this.lastError = undefined;
          this.scheduleRenewal();
        },
        (err: Error) => {
          this.failures++;
          this.lastError = err;
          // A login that expired stays expired for this process (a new `agentdb login` is not picked up).
          const retry = err instanceof ClientError && err.exitCode === ExitCode.NOT_LOGGED_IN ? undefined : backoffDelay(this.failures, this.opts.baseMs, this.opts.capMs, this.opts.random);
          if (retry !== undefined) this.schedule(Date.now() + retry);
          this.opts.onError(err, retry);
        },
      )
      .finally(() => {
        if (this.attempt === attempt) this.attempt = undefined;
      });
  }

  private scheduleRenewal(): void {
    const life = this.held.expiresAt.getTime() - this.held.issuedAt.getTime();
    this.schedule(this.held.issuedAt.getTime() + life * RENEW_AT);
  }

  private schedule(at: number): void {
    this.clearTimer();
    if (this.stopped) return;
    this.nextAttemptAt = at;
    const fire = () => {
      if (Date.now() < at) this.timer = setTimeout(fire, Math.min(at - Date.now(), MAX_TIMER_MS)).unref();
      else this.renew();
    };
    // The proxy's listener keeps the process alive; a pending renewal alone must not.
    this.timer = setTimeout(fire, Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS)).unref();
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAttemptAt = undefined;
  }
}
