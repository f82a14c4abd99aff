// What a GatewaySession is given and gives: who is on the other end, what it depends on, what a held statement
// and its review look like. (session.ts re-exports these: it is the session's public face.)
import type { AuditLog } from '../../audit/index.js';
import type { AnalyzedStatement, Decision } from '../../policy/index.js';
import type { RecordingWriter } from '../../recording/index.js';
import type { SessionMasking } from '../session-masking.js';
import type { TaskBudget } from '../task-budget.js';
import type { GatewaySession } from '../session.js';

/** Who is on the other end, from the task certificate: stamped on every event of the session. */
export interface SessionContext {
  sid: string;
  identity: { name: string; kind: 'human' | 'agent' | 'bot'; roles: string[] };
  task: { id: string; reason: string; requester: string };
  db: { service: string; name: string; user: string };
  client: { addr: string; app?: string };
  expiresAt: Date;
}

/** The policy's decision on a statement (`sqlState`: a denial's SQLSTATE when not 42501). */
export type StatementDecision = Decision;

export interface HeldStatement {
  /** as the client sent it: what the effect probe runs, never stored or shown */
  sql: string;
  params?: (string | null)[];
  rule: string;
  message?: string;
  /**
   * What the request record, its audit events, the webhook and reviewers see: the statement as the audit log
   * keeps it (in a masked session, literals and parameters bound to masked columns redacted).
   */
  shown: { sql: string; params?: (string | null)[] };
}

export type ReviewOutcome = { approved: true; by: string } | { approved: false; reason: string };

export interface SessionDeps {
  audit: AuditLog;
  recording: RecordingWriter;
  /** decides one statement by the role's rules; must be synchronous and cheap (parse results are cached) */
  decide(ctx: SessionContext, stmt: AnalyzedStatement): StatementDecision;
  /** review-by-effect: writes the rules allow that may change more rows than this are held (policy holdByEffect) */
  rowsOver?: number;
  /** asks a person; resolves when someone decides or the request times out */
  review(ctx: SessionContext, held: HeldStatement, onHeld?: (requestId: string) => void): Promise<ReviewOutcome>;
  /** the task's data budget, shared by all its sessions on this gateway */
  budget?: TaskBudget;
  /** cancels what the backend is running (a spent budget stops the result) */
  cancelBackend(): void;
  /** inline masking for this session's roles; absent when nothing is masked (results pass untouched) */
  masking?: SessionMasking;
  /** the largest frontend message the client may send (limits.gateway.maxMessageBytes); default PostgreSQL's */
  maxMessageBytes?: number;
  /** the session ended (its endReason and totals are final): the gateway writes db.session.end */
  onEnd(session: GatewaySession): void;
}
