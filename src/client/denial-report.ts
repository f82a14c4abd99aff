// Tells the control plane's audit log that a local client failed the proxy's password check, so a local
// user probing someone's proxy shows up next to the task it tried to ride on.
import type { ApiClient } from './api-client.js';

export interface LocalDenial {
  /** the local client's address: ip:port, or the unix socket's path */
  client: string;
  /** why the check failed; never the client's answer itself */
  reason: string;
}

/**
 * At most one report in flight: failures that arrive meanwhile are counted and go in the next one, so a
 * client hammering the proxy costs the control plane one request per round trip, and none is lost.
 */
export class DenialReporter {
  private inFlight = false;
  private waiting: { denial: LocalDenial; attempts: number } | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly taskId: () => string,
    private readonly onError: (err: Error) => void,
  ) {}

  report(denial: LocalDenial): void {
    this.waiting = { denial, attempts: (this.waiting?.attempts ?? 0) + 1 };
    if (!this.inFlight) this.sendNext();
  }

  private sendNext(): void {
    const next = this.waiting;
    if (!next) return;
    this.waiting = undefined;
    this.inFlight = true;
    this.api
      // Cut to what the route accepts: a report refused for its length would be a lost report.
      .post('/v1/audit/local-denied', { task: this.taskId(), client: next.denial.client.slice(0, 300), reason: next.denial.reason.slice(0, 500), attempts: next.attempts })
      .catch((err: Error) => this.onError(new Error(`could not report a refused local client to the audit log: ${err.message}`)))
      .finally(() => {
        this.inFlight = false;
        this.sendNext();
      });
  }

  /** Resolves once nothing is in flight or waiting, or after timeoutMs (shutdown must not hang on the API). */
  async drain(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.inFlight || this.waiting) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}
