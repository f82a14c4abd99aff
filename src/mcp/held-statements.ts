// Statements the gateway holds for a reviewer. The gateway holds the statement, tells the client at once with a
// NOTICE naming the request (connections.ts: CallConnection.held), and the connection waits. So a call's
// statement runs on its own connection: if the NOTICE comes before the result, the call answers
// `pending_approval` with that request id and the statement keeps waiting in the background. Approval in agentdb
// runs it (once: it is the same held statement); request_status reports when it ran or was denied. Nothing here
// approves anything.
import { createHash } from 'node:crypto';
import type { ApiClient } from '../client/index.js';

/** What GET /v1/requests shows of a request (server/access-requests.ts publicView). */
export interface RequestView {
  id: string;
  kind: 'statement' | 'role';
  state: 'pending' | 'approved' | 'denied' | 'expired';
  requester: string;
  createdAt: string;
  decidedBy?: string;
  reason?: string;
  statement?: { sql: string; params?: (string | null)[]; rule: string; message?: string };
  db?: { service: string; name: string; user: string };
  task?: { id: string; reason: string };
}

/** How a held statement of this server ended, once it did. */
export type HeldOutcome =
  | { state: 'waiting' }
  | { state: 'ran'; value: unknown }
  | { state: 'failed'; error: unknown };

interface HeldCall {
  call: string;
  outcome: HeldOutcome;
}

/** sha256 of the statement text and its parameters: what an elicitation names, so a person confirms this one. */
export function statementHash(sql: string, params: readonly (string | null)[]): string {
  return createHash('sha256').update(JSON.stringify([sql, params])).digest('hex');
}

export class HeldStatements {
  private readonly calls = new Map<string, HeldCall>();

  constructor(
    private readonly api: ApiClient,
    private readonly identity: string,
  ) {}

  /**
   * Waits for `work` (a statement on its own connection). Resolves with its value when it finishes, or with
   * the request id once the gateway holds it (`held`); then `work` goes on in the background, and `settled` runs
   * when it ends (to close its connection).
   */
  async waitOrHeld<T>(work: Promise<T>, held: Promise<string>, call: string, settled: () => void): Promise<{ done: T } | { held: string }> {
    const finished = work.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    const first = await Promise.race([finished, held.then((id) => ({ id }))]);
    if ('id' in first) {
      const entry: HeldCall = { call, outcome: { state: 'waiting' } };
      this.calls.set(first.id, entry);
      void finished.then((r) => {
        entry.outcome = 'error' in r ? { state: 'failed', error: r.error } : { state: 'ran', value: r.value };
        settled();
      });
      return { held: first.id };
    }
    settled();
    if ('error' in first) throw first.error;
    return { done: first.value };
  }

  /** The control plane's view of one of this identity's requests. */
  async request(id: string): Promise<RequestView | undefined> {
    const { requests } = await this.api.get<{ requests: RequestView[] }>('/v1/requests');
    return requests.find((r) => r.id === id && r.requester === this.identity);
  }

  /** This server's record of a held call (undefined: not one of ours) and the control plane's view of the request. */
  async status(id: string): Promise<{ local?: { call: string; outcome: HeldOutcome }; request?: RequestView }> {
    const request = await this.request(id);
    const local = this.calls.get(id);
    return { ...(local ? { local: { call: local.call, outcome: local.outcome } } : {}), ...(request ? { request } : {}) };
  }
}
