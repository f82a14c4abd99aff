// What the steps of one session share: who it is for, its dependencies, the statements in flight, the names it
// knows, and the edits and audit events of the chunk being processed. The steps (one file each) are plain
// functions that take this state; GatewaySession (../session.ts) owns it and wires the sockets to them.
import type net from 'node:net';
import type { AuditEventInput } from '../../audit/index.js';
import type { AnalyzedStatement, StatementInputs } from '../../policy/index.js';
import { sessionTag, type SessionTag } from '../application-name.js';
import { StatementTracker, type PendingStatement } from '../statement-tracker.js';
import { ChunkAnalyses } from './chunk-analysis.js';
import { decisionInputs } from './decision.js';
import type { Edit } from './edits.js';
import type { OutChunk } from './forward.js';
import { SessionNames } from './names.js';
import type { DescribedRow } from './result-masking.js';
import type { HeldStatement, SessionContext, SessionDeps } from './types.js';

/** A statement waiting for review, and the edit that refuses it if the answer is no. */
export interface Hold {
  /** as sent; what people see is added from `entry` (the audited copy) when it is asked for (holds.ts) */
  held: Omit<HeldStatement, 'shown'>;
  entry: PendingStatement;
  refuse: Edit;
  analysis: AnalyzedStatement | undefined;
}

export class SessionState {
  readonly t0 = performance.now();
  readonly tracker = new StatementTracker();
  readonly names: SessionNames;
  /** who, what task, which database: the same on every event of the session, built once */
  readonly stamp: Pick<AuditEventInput, 'sid' | 'identity' | 'task' | 'db' | 'client'>;
  /** the session's tag in application_name, which a client's SET application_name keeps */
  readonly tag: SessionTag;
  /** what the one merge (policy decideStatements) is given besides the statements, made once */
  readonly inputs: StatementInputs;
  totals = { statements: 0, rows: 0, bytes: 0, denied: 0 };
  ended = false;

  // The chunk from the client being processed: its texts' analyses, its edits, its audit events, its holds.
  readonly analyses = new ChunkAnalyses();
  clientEdits: Edit[] = [];
  events: AuditEventInput[] = [];
  holds: Hold[] = [];
  /** DDL went through: masking's catalog starts over once the chunk is processed */
  ddlSeen = false;
  /** chunks in order, each forwarded once its audit events are stored (forward.ts) */
  readonly outQueue: OutChunk[] = [];
  /** withdraws the statement waiting for review (holds.ts) */
  abortReview: ((reason: string) => void) | undefined;

  // The answer from PostgreSQL being processed.
  backendEdits: Edit[] = [];
  /** RowDescriptions seen, by their bytes (result-masking.ts) */
  readonly described = new Map<string, DescribedRow>();
  /** PostgreSQL's FATAL report (what masking left of it): the session's end reason names it */
  backendFatal: { code: string; message: string } | undefined;

  constructor(
    readonly ctx: SessionContext,
    readonly deps: SessionDeps,
    readonly client: net.Socket,
    readonly backend: net.Socket,
    /** ends the session with a FATAL ErrorResponse made from `err`; `reason` is the end reason (default: its message) */
    readonly fail: (err: unknown, reason?: string) => void,
  ) {
    // Frozen copies: the audit log encodes an object that cannot change once, not once per event.
    this.stamp = { sid: ctx.sid, identity: frozenCopy(ctx.identity), task: frozenCopy(ctx.task), db: frozenCopy(ctx.db), client: frozenCopy(ctx.client) };
    this.tag = sessionTag(ctx.sid, ctx.identity.name);
    this.names = new SessionNames(deps.masking);
    this.inputs = decisionInputs(this);
  }

  /** ms since the session started, as the recording stamps statements */
  elapsed(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }
}

function frozenCopy<T extends object>(v: T): T {
  const copy = structuredClone(v) as Record<string, unknown>;
  for (const x of Object.values(copy)) if (typeof x === 'object' && x !== null) Object.freeze(x);
  return Object.freeze(copy) as T;
}
