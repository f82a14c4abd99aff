// Statements the gateway holds for a reviewer. The gateway holds the statement and the connection simply waits,
// so a call's statement runs on its own connection in the background: if it has not finished after a short
// wait and a pending request for exactly this statement (sql and parameters, of this identity on this
// database, made since the call began) appears in the request list, the call answers `pending_approval` with the
// request id, and the statement keeps waiting. Approval in agentdb runs it (once: it is the same held
// statement); request_status reports when it ran or was denied. Nothing here approves anything.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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
  request: RequestView;
  call: string;
  outcome: HeldOutcome;
}

// How often the request list is read while a call's statement has not answered yet.
const POLL_MS = 400;

/** sha256 of the statement text and its parameters: what an elicitation names, so a person confirms this one. */
export function statementHash(sql: string, params: readonly (string | null)[]): string {
  return createHash('sha256').update(JSON.stringify([sql, params])).digest('hex');
}

export class HeldStatements {
  private readonly calls = new Map<string, HeldCall>();

  constructor(
    private readonly api: ApiClient,
    private readonly identity: string,
    private readonly db: string,
  ) {}

  /**
   * Waits for `work` (a statement on its own connection). Resolves with its value when it finishes, or with
   * the request that holds it once one shows up; then `work` goes on in the background, and `settled`
   * runs when it ends (to close its connection).
   */
  async waitOrHeld<T>(
    work: Promise<T>,
    stmt: { sql: string; params: (string | null)[]; call: string },
    settled: () => void,
  ): Promise<{ done: T } | { held: RequestView }> {
    const since = Date.now() - 1000;
    const finished = work.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    for (;;) {
      const first = await Promise.race([finished, sleep(POLL_MS).then(() => undefined)]);
      if (first) {
        settled();
        if ('error' in first) throw first.error;
        return { done: first.value };
      }
      // The control plane briefly out of reach: keep waiting on the statement, and look again.
      const request = await this.find(stmt.sql, stmt.params, since).catch(() => undefined);
      if (!request) continue;
      const entry: HeldCall = { request, call: stmt.call, outcome: { state: 'waiting' } };
      this.calls.set(request.id, entry);
      void finished.then((r) => {
        entry.outcome = 'error' in r ? { state: 'failed', error: r.error } : { state: 'ran', value: r.value };
        settled();
      });
      return { held: request };
    }
  }

  private async find(sql: string, params: (string | null)[], since: number): Promise<RequestView | undefined> {
    const { requests } = await this.api.get<{ requests: RequestView[] }>('/v1/requests?state=pending');
    const want = JSON.stringify(params);
    return requests.find(
      (r) =>
        r.kind === 'statement' &&
        r.requester === this.identity &&
        r.db?.service === this.db &&
        r.statement?.sql === sql &&
        JSON.stringify(r.statement.params ?? []) === want &&
        Date.parse(r.createdAt) >= since &&
        !this.calls.has(r.id),
    );
  }

  /** This server's record of a held call (undefined: not one of ours) and the control plane's view of the request. */
  async status(id: string): Promise<{ local?: { call: string; outcome: HeldOutcome }; request?: RequestView }> {
    const { requests } = await this.api.get<{ requests: RequestView[] }>('/v1/requests');
    const request = requests.find((r) => r.id === id && r.requester === this.identity);
    const local = this.calls.get(id);
    return { ...(local ? { local: { call: local.call, outcome: local.outcome } } : {}), ...(request ? { request } : {}) };
  }
}
