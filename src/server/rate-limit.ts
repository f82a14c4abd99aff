// Token buckets, one per key (a source address or an identity): `burst` requests at once, then `perMinute`
// on average. Over the limit the API answers 429 with Retry-After (LimitError; api.ts maps it).
import { addressKey } from '../gateway/index.js';
import { ServerError, ServerErrorCode } from './errors.js';

export interface RateSpec {
  burst: number;
  perMinute: number;
}

/** Too many of something: HTTP 429, with the seconds after which a retry can succeed. */
export class LimitError extends ServerError {
  constructor(
    code: typeof ServerErrorCode.API_RATE_LIMITED | typeof ServerErrorCode.API_TOO_MANY_LOGINS,
    message: string,
    readonly retryAfterS: number,
  ) {
    super(code, message, 429);
  }
}

/** Keys beyond this evict the fullest buckets first, so a crowd of addresses cannot grow memory without end. */
const MAX_KEYS = 50_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  /** `what` names the limited action in the error: "device logins from 10.0.0.7" */
  constructor(
    private readonly what: string,
    private readonly spec: RateSpec,
    private readonly maxKeys = MAX_KEYS,
  ) {
    this.perMs = spec.perMinute / 60_000;
  }

  /** Takes one token for `key`, or throws LimitError. */
  take(key: string, now = Date.now()): void {
    const b = this.buckets.get(key) ?? this.add(key, now);
    b.tokens = Math.min(this.spec.burst, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const retryAfterS = Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
    throw new LimitError(ServerErrorCode.API_RATE_LIMITED, `too many ${this.what} ${key}: at most ${this.spec.burst} at once and ${this.spec.perMinute} a minute; retry in ${retryAfterS} s`, retryAfterS);
  }

  private add(key: string, now: number): Bucket {
    if (this.buckets.size >= this.maxKeys) this.evict(now);
    const b = { tokens: this.spec.burst, at: now };
    this.buckets.set(key, b);
    return b;
  }

  /** Drops buckets that have refilled (they are the same as no bucket); failing that, the oldest tenth, so a
   *  full map is swept once per many additions rather than on each. */
  private evict(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + (now - b.at) * this.perMs >= this.spec.burst) this.buckets.delete(k);
    const keep = Math.floor(this.maxKeys * 0.9);
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= keep) break;
      this.buckets.delete(k);
    }
  }
}

/** One limit per source address and, once someone is logged in, one per identity. */
export class ActionLimits {
  private readonly byAddress: RateLimiter;
  private readonly byIdentity: RateLimiter | undefined;

  constructor(what: string, spec: { perAddress: RateSpec; perIdentity?: RateSpec }) {
    this.byAddress = new RateLimiter(`${what} from`, spec.perAddress);
    this.byIdentity = spec.perIdentity ? new RateLimiter(`${what} by`, spec.perIdentity) : undefined;
  }

  take(address: string | undefined, identity?: string): void {
    this.byAddress.take(addressKey(address));
    if (identity !== undefined) this.byIdentity?.take(identity);
  }
}
