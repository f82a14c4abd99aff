// Who is waiting for a device login's result. The control plane polls the IdP for a login only while a
// client's long poll waits for it: a login nobody asks about any more costs a timer, not an HTTP request to
// the IdP every few seconds (thousands of abandoned logins were thousands of polls).

export class Demand {
  private watchers = 0;
  private wakers: (() => void)[] = [];

  /** `always`: behave as if someone were always watching (a caller that simply awaits the result). */
  constructor(private readonly always = false) {}

  /** Someone waits; the returned function says they stopped (idempotent). */
  watch(): () => void {
    this.watchers++;
    for (const wake of this.wakers.splice(0)) wake();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.watchers--;
    };
  }

  /** Resolves at once while someone watches, otherwise when someone starts to; rejects when `signal` aborts. */
  wanted(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (this.always || this.watchers > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.wakers = this.wakers.filter((w) => w !== wake);
        reject(signal.reason as Error);
      };
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      this.wakers.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
