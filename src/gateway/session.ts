// One tunnelled client session: frames every message in both directions, decides and audits each statement
// before it is forwarded, holds statements that need a person's approval, enforces the task's data budget,
// and records what PostgreSQL answered. The common case — a chunk of allowed messages — is forwarded as the
// very Buffer that arrived: no copy, no per-message allocation.
import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import {
  BackendType, FrontendType, MessageFramer, SqlState, copyOutData, describeMessage, errorResponse, forEachMessage, noticeResponse, parseMessage, queryMessage, queryTextBytes, readBind, readCloseOrDescribe,
  readCommandComplete, readErrorFields, readExecute, readParameterStatus, readParse, readQuery, readRowDescription, textIsUtf8, type FieldDescription,
} from '../pgwire/index.js';
import type { SessionMasking } from './session-masking.js';
import type { MaskedReads, RowPlan } from '../masking/index.js';
import type { AuditEventInput, AuditLog } from '../audit/index.js';
import type { RecordingWriter } from '../recording/index.js';
import { PARSER_SETTINGS, analyze, readsOnlyCatalogs, type AnalyzedStatement } from '../policy/index.js';
import { sessionTag, type SessionTag } from './application-name.js';
import { rewriteOf, type Rewrite } from './statement-rewrites.js';
import { StatementTracker, type ColumnsRef, type Denial, type PendingStatement } from './statement-tracker.js';
import { nameEffect, type NameEffect } from './sql-names.js';
import type { TaskBudget } from './task-budget.js';

/** Who is on the other end, from the task certificate: stamped on every event of the session. */
export interface SessionContext {
  sid: string;
  identity: { name: string; kind: 'human' | 'agent' | 'bot'; roles: string[] };
  task: { id: string; reason: string; requester: string };
  db: { service: string; name: string; user: string };
  client: { addr: string; app?: string };
  expiresAt: Date;
}

export interface StatementDecision {
  decision: 'allow' | 'deny' | 'review';
  rule?: string;
  message?: string;
  /** the SQLSTATE of a denial, when not 42501 (text that is not UTF-8: 22021, as PostgreSQL answers) */
  sqlState?: string;
  /** a SET of settings the policy forces: answered as done, the forced value kept (see Decision.ignorable) */
  ignorable?: boolean;
}

export interface HeldStatement {
  sql: string;
  params?: (string | null)[];
  rule: string;
  message?: string;
}

export type ReviewOutcome = { approved: true; by: string } | { approved: false; reason: string };

export interface SessionDeps {
  audit: AuditLog;
  recording: RecordingWriter;
  /** decides one statement; must be synchronous and cheap (parse results are cached) */
  decide(ctx: SessionContext, stmt: AnalyzedStatement): StatementDecision;
  /** asks a person; resolves when someone decides or the request times out */
  review(ctx: SessionContext, held: HeldStatement, onHeld?: (requestId: string) => void): Promise<ReviewOutcome>;
  /** the task's data budget, shared by all its sessions on this gateway */
  budget?: TaskBudget;
  /** cancels what the backend is running (a spent budget stops the result) */
  cancelBackend(): void;
  /** inline masking for this session's roles; absent when nothing is masked (results pass untouched) */
  masking?: SessionMasking;
  onEnd(session: GatewaySession): void;
}

// A statement that is denied is replaced by text that fails in PostgreSQL's own parser, before anything runs.
// PostgreSQL then does exactly what it does on any error — aborts a transaction block, discards extended-
// protocol messages until Sync, answers ReadyForQuery with the right status — and the gateway only swaps the
// syntax error for its own 42501 denial. No state machine of PostgreSQL's has to be imitated.
const POISON_SQL = 'AGENTDB DENIED';
const MAX_AUDITED_PARAM = 64 * 1024;
// Parsing is synchronous on the event loop; text past this size is refused rather than analysed (a deeply
// nested megabyte expression takes the parser most of a second).
const MAX_ANALYZED_SQL = 4 * 1024 * 1024;
// ReadyForQuery's status byte inside a transaction block ('T'; 'I' idle, 'E' failed).
const IN_TRANSACTION_BLOCK = 0x54;
const EMPTY = Buffer.alloc(0);

interface PreparedStatement {
  sql: string;
  analysis: AnalyzedStatement | undefined;
  columnsRef: ColumnsRef;
  denial?: Denial;
  review?: { rule: string; message?: string };
  /** PostgreSQL has it: its Parse completed, or it was made by SQL PREPARE */
  confirmed?: boolean;
  /** made by SQL PREPARE or DECLARE (its text and analysis are theirs) */
  bySql?: boolean;
  /** masking: it reads masked data, so PostgreSQL's error texts about it are withheld */
  readsMasked?: MaskedReads;
  /** the gateway runs other text in its place (see rewriteOf): what the audit says and the client is told */
  rewrite?: Rewrite;
}

/** How a statement is tracked: its parameters, where its columns go, and the decision made on it. */
interface TrackedAs {
  params?: (string | null)[] | undefined;
  /** what the result's columns are attached to (a portal's, a prepared statement's); a fresh one if not given */
  columnsRef?: ColumnsRef;
  /** simple protocol: the RowDescription comes inline */
  simple?: boolean;
  denial?: Denial | undefined;
  review?: StatementDecision;
  /** the text's own bytes when they are not valid UTF-8 (kept in the audit event) */
  invalidText?: Buffer | undefined;
  /** an allowed statement the gateway answered its own way (a rewrite): the rule and why, for the audit log */
  note?: { rule: string; message: string };
}


interface Portal {
  stmt: PreparedStatement;
  params: (string | null)[];
  columnsRef: ColumnsRef;
  formats: number[];
  /** made by SQL DECLARE; without hold it ends with its transaction */
  cursor?: { hold: boolean };
}

interface DescribedRow {
  fields: readonly FieldDescription[];
  /** the column names the recording keeps (shared and frozen) */
  columns: readonly string[];
}

/** RowDescriptions a session keeps; a session of ever new result shapes starts over past this. */
const MAX_DESCRIBED = 256;

interface OutChunk {
  buf: Buffer;
  ready: boolean;
}

interface Edit {
  start: number;
  end: number;
  bytes: Buffer;
}

/** A statement waiting for review, and the edit that refuses it if the answer is no. */
interface Hold {
  held: HeldStatement;
  entry: PendingStatement;
  refuse: Edit;
  analysis: AnalyzedStatement | undefined;
}

const strictness = { allow: 0, review: 1, deny: 2 } as const;

export class GatewaySession {
  readonly startedAt = Date.now();
  private readonly t0 = performance.now();
  private readonly fromClient = new MessageFramer();
  private readonly fromBackend = new MessageFramer();
  private readonly tracker = new StatementTracker();
  private readonly statements = new Map<string, PreparedStatement>();
  // SQL PREPAREs tracked but not answered yet: an EXECUTE pipelined behind one is decided as what it prepares.
  // Forgotten at the next ReadyForQuery (a PREPARE that failed made nothing).
  private readonly pendingPrepares = new Map<string, PreparedStatement>();
  private readonly portals = new Map<string, Portal>();
  /** DECLAREd cursors without HOLD: they end with the transaction (ReadyForQuery outside a transaction block) */
  private readonly transactionCursors = new Set<string>();
  private readonly outQueue: OutChunk[] = [];
  private readonly described = new Map<string, DescribedRow>();
  private events: AuditEventInput[] = [];
  private clientEdits: Edit[] = [];
  private backendEdits: Edit[] = [];
  private holds: Hold[] = [];
  private abortReview: ((reason: string) => void) | undefined;
  private ended = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  endReason = '';
  /** who, what task, which database: the same on every event of the session, built once */
  private readonly stamp: Pick<AuditEventInput, 'sid' | 'identity' | 'task' | 'db' | 'client'>;
  /** the session's tag in application_name, which a client's SET application_name keeps */
  private readonly tag: SessionTag;
  totals = { statements: 0, rows: 0, bytes: 0, denied: 0 };

  constructor(
    readonly ctx: SessionContext,
    private readonly client: net.Socket,
    private readonly backend: net.Socket,
    private readonly deps: SessionDeps,
  ) {
    // Frozen copies: the audit log encodes an object that cannot change once, not once per event.
    this.stamp = { sid: ctx.sid, identity: frozenCopy(ctx.identity), task: frozenCopy(ctx.task), db: frozenCopy(ctx.db), client: frozenCopy(ctx.client) };
    this.tag = sessionTag(ctx.sid, ctx.identity.name);
    this.onClientMessage = this.onClientMessage.bind(this);
    this.onBackendMessage = this.onBackendMessage.bind(this);
  }

  static newSid(): string {
    return randomUUID();
  }

  start(): void {
    this.client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    this.backend.on('data', (chunk: Buffer) => this.onBackendData(chunk));
    this.client.on('close', () => this.end('client disconnected'));
    this.backend.on('close', () => this.end('database closed the connection'));
    this.client.on('error', () => this.end('client connection error'));
    this.backend.on('error', () => this.end('database connection error'));
    this.armExpiry();
  }

  /** The session cannot outlive its certificate: at notAfter the client gets a FATAL error and both sides close. */
  private armExpiry(): void {
    const ms = this.ctx.expiresAt.getTime() - Date.now();
    // setTimeout holds at most ~24.8 days: a longer certificate re-arms instead of ending the session early.
    const MAX_TIMER = 2 ** 31 - 1;
    this.expiryTimer = setTimeout(() => {
      if (ms > MAX_TIMER) return this.armExpiry();
      this.terminate(SqlState.INVALID_AUTHORIZATION, `task certificate expired at ${this.ctx.expiresAt.toISOString()}; run agentdb proxy again for a new one`);
    }, Math.max(0, Math.min(ms, MAX_TIMER)));
    this.expiryTimer.unref();
  }

  /** Ends the session with a FATAL ErrorResponse to the client (written at a message boundary: only whole frames are ever forwarded). */
  terminate(sqlState: string, message: string): void {
    if (this.ended) return;
    this.client.write(errorResponse({ severity: 'FATAL', code: sqlState, message }));
    this.end(message);
  }

  /** A CancelRequest from the client: a statement waiting for review is withdrawn; a running one is cancelled by the caller. */
  cancelHeld(): boolean {
    if (!this.abortReview) return false;
    this.abortReview('canceled by the client while waiting for review');
    return true;
  }

  // ---- client -> PostgreSQL

  private onClientData(chunk: Buffer): void {
    if (this.deps.masking) return this.onMaskedClientData(chunk);
    let framed: { buf: Buffer; end: number };
    try {
      framed = this.fromClient.feed(chunk, this.onClientMessage);
    } catch (err) {
      this.terminate(SqlState.PROTOCOL_VIOLATION, `invalid message from client: ${(err as Error).message}`);
      return;
    }
    if (framed.end === 0) return;
    this.processChunk(framed.end === framed.buf.length ? framed.buf : framed.buf.subarray(0, framed.end));
  }

  // With masking, what a statement may let out is worked out (catalog lookups: views, column orders) before
  // its messages are processed; chunks wait their turn in order while that happens.
  private readonly backlog: Buffer[] = [];
  private pumping = false;

  private onMaskedClientData(chunk: Buffer): void {
    let framed: { buf: Buffer; end: number };
    try {
      framed = this.fromClient.feed(chunk, noop);
    } catch (err) {
      this.terminate(SqlState.PROTOCOL_VIOLATION, `invalid message from client: ${(err as Error).message}`);
      return;
    }
    if (framed.end === 0) return;
    this.backlog.push(framed.end === framed.buf.length ? framed.buf : framed.buf.subarray(0, framed.end));
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      await this.pumpBacklog();
    } catch (err) {
      // Nothing a client sends may take the gateway down: the session ends instead.
      this.terminate(SqlState.INTERNAL_ERROR, `the gateway could not process the request: ${(err as Error).message}`);
    } finally {
      this.pumping = false;
    }
  }

  private async pumpBacklog(): Promise<void> {
    const masking = this.deps.masking!;
    while (this.backlog.length > 0 && !this.ended) {
      const out = this.backlog.shift()!;
      const wait = masking.prepare(statementsIn(out));
      if (wait) {
        this.client.pause();
        await wait;
        this.client.resume();
      }
      try {
        forEachMessage(out, this.onClientMessage);
      } catch (err) {
        this.terminate(SqlState.PROTOCOL_VIOLATION, `invalid message from client: ${(err as Error).message}`);
        break;
      }
      this.processChunk(out);
      masking.done();
      if (this.ddlSeen) {
        this.ddlSeen = false;
        masking.schemaChanged();
      }
    }
  }

  private ddlSeen = false;

  /** Forwards one chunk of whole messages whose handlers have run: edits applied, audit written first, holds honoured. */
  private processChunk(out: Buffer): void {
    const edits = this.clientEdits;
    const events = this.events;
    if (this.holds.length > 0) {
      // Held: this chunk, and everything the client sends after it, waits for the reviewers. The chunk keeps
      // its own lists; the next chunk starts new ones.
      const holds = this.holds;
      this.holds = [];
      this.clientEdits = [];
      this.events = [];
      const chunkOut: OutChunk = { buf: out, ready: false };
      this.forward(chunkOut);
      void this.awaitReviews(chunkOut, out, edits, events, holds);
      return;
    }
    if (edits.length > 0) this.clientEdits = [];
    if (events.length > 0) this.events = [];
    const buf = edits.length > 0 ? applyEdits(out, edits) : out;
    if (events.length === 0) {
      this.forward({ buf, ready: true });
      return;
    }
    const chunkOut: OutChunk = { buf, ready: false };
    this.forward(chunkOut);
    // Written before forwarding: the chunk leaves only once its audit events are stored. If they cannot be
    // stored, nothing is forwarded and the session ends (fail closed).
    this.deps.audit.submit(events, (err) => {
      if (err) {
        this.terminate(SqlState.INTERNAL_ERROR, 'audit log unavailable; statement not executed');
        return;
      }
      chunkOut.ready = true;
      this.flushOut();
    });
  }

  private async awaitReviews(chunkOut: OutChunk, out: Buffer, edits: Edit[], events: AuditEventInput[], holds: Hold[]): Promise<void> {
    try {
      await this.deps.audit.write(events);
      for (const h of holds) {
        const outcome = await this.review(h.held);
        const audit: AuditEventInput = {
          ...this.stamp,
          type: outcome.approved ? 'db.session.query' : 'db.session.denied',
          statement: {
            ...this.statementFields(h.held.sql, h.analysis, h.held.params),
            decision: outcome.approved ? 'allow' : 'deny',
            rule: h.held.rule,
          },
          message: outcome.approved ? `approved by ${outcome.by}` : outcome.reason,
        };
        if (outcome.approved) {
          h.entry.rec.decision = 'allow';
        } else {
          edits.push(h.refuse);
          h.entry.denial = { rule: h.held.rule, message: outcome.reason, sqlState: SqlState.INSUFFICIENT_PRIVILEGE };
          h.entry.rec.decision = 'deny';
          h.entry.rec.rule = h.held.rule;
          this.totals.denied++;
        }
        await this.deps.audit.write([audit]);
      }
    } catch {
      this.terminate(SqlState.INTERNAL_ERROR, 'audit log unavailable; statement not executed');
      return;
    }
    edits.sort((a, b) => a.start - b.start);
    chunkOut.buf = edits.length > 0 ? applyEdits(out, edits) : out;
    chunkOut.ready = true;
    this.flushOut();
  }

  private review(held: HeldStatement): Promise<ReviewOutcome> {
    const aborted = new Promise<ReviewOutcome>((resolve) => {
      this.abortReview = (reason) => resolve({ approved: false, reason });
    });
    return Promise.race([this.deps.review(this.ctx, held, (id) => this.tellHeld(id)), aborted]).finally(() => {
      this.abortReview = undefined;
    });
  }

  /**
   * The client learns at once why nothing comes back (psql shows a NOTICE while it waits). Written between two
   * backend chunks, which end on whole messages; PostgreSQL may send a NoticeResponse at any time.
   */
  private tellHeld(requestId: string): void {
    if (this.ended) return;
    this.client.write(noticeResponse({
      severity: 'NOTICE',
      code: SqlState.WARNING,
      message: `agentdb: held for review: request ${requestId}`,
      hint: `A reviewer approves it with \`agentdb request approve ${requestId}\` (or denies it with \`agentdb request deny ${requestId}\`); the statement runs once approved.`,
    }));
  }

  private forward(chunk: OutChunk): void {
    if (chunk.ready && this.outQueue.length === 0) {
      this.writeBackend(chunk.buf);
      return;
    }
    this.outQueue.push(chunk);
  }

  private flushOut(): void {
    while (this.outQueue.length > 0 && this.outQueue[0]!.ready) this.writeBackend(this.outQueue.shift()!.buf);
  }

  private writeBackend(buf: Buffer): void {
    if (this.ended) return;
    if (!this.backend.write(buf)) {
      this.client.pause();
      this.backend.once('drain', () => this.client.resume());
    }
  }

  private elapsed(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  private onClientMessage(type: number, buf: Buffer, off: number, len: number): void {
    switch (type) {
      case FrontendType.Query:
        return this.onQuery(readQuery(buf, off, len), off, len, textIsUtf8(buf, off, len) ? undefined : queryTextBytes(buf, off, len));
      case FrontendType.Parse:
        return this.onParse(buf, off, len);
      case FrontendType.Bind:
        return this.onBind(buf, off, len);
      case FrontendType.Describe: {
        const d = readCloseOrDescribe(buf, off, len);
        const ref = d.target === 'S' ? this.statements.get(d.name)?.columnsRef : this.portals.get(d.name)?.columnsRef;
        this.tracker.describe(ref ?? {});
        return;
      }
      case FrontendType.Execute:
        return this.onExecute(buf, off, len);
      case FrontendType.Close: {
        const c = readCloseOrDescribe(buf, off, len);
        if (c.target === 'S') this.statements.delete(c.name);
        else this.portals.delete(c.name);
        return;
      }
      case FrontendType.Sync:
        this.tracker.sync();
        return;
      case FrontendType.FunctionCall: {
        // Fast-path function calls name a function by OID with binary arguments: no SQL to analyse, so no way
        // to decide what they do (lo_export writes server files). Refused, as a poisoned query.
        const denial = { rule: 'protocol', message: 'fast-path function calls are not allowed through the gateway', sqlState: SqlState.INSUFFICIENT_PRIVILEGE };
        this.clientEdits.push({ start: off, end: off + len, bytes: queryMessage(POISON_SQL) });
        this.trackStatement('<fast-path function call>', undefined, { simple: true, denial });
        this.tracker.sync();
        return;
      }
      case FrontendType.Flush:
      case FrontendType.Terminate:
      case FrontendType.CopyData:
      case FrontendType.CopyDone:
      case FrontendType.CopyFail:
        return;
      default:
        // Bytes the gateway cannot judge are not forwarded (fail closed).
        throw new GatewayProtocolError(`unexpected message type 0x${type.toString(16).padStart(2, '0')} from the client`);
    }
  }

  /** A spent task budget refuses everything that follows in the session. */
  private budgetDenial(): Denial | undefined {
    const b = this.deps.budget;
    return b?.spent ? { rule: 'budget', message: `the data budget of task ${this.ctx.task.id} is spent (${b.describe()})`, sqlState: SqlState.INSUFFICIENT_PRIVILEGE } : undefined;
  }

  /**
   * Text the gateway refuses to analyse, or cannot: not UTF-8 (`invalid`: its bytes; what would be analysed and
   * audited is not what was sent, and PostgreSQL refuses it too), too large, or not SQL PostgreSQL 18's grammar
   * accepts (fail closed).
   */
  private unanalysable(sql: string, error: string | undefined, invalid?: Buffer): StatementDecision | undefined {
    if (invalid) return { decision: 'deny', rule: 'encoding', message: 'invalid byte sequence for encoding "UTF8": the statement is not valid UTF-8', sqlState: SqlState.CHARACTER_NOT_IN_REPERTOIRE };
    if (sql.length > MAX_ANALYZED_SQL) return { decision: 'deny', rule: 'size', message: `statements longer than ${MAX_ANALYZED_SQL} bytes are not analysed, so they are refused` };
    if (error !== undefined) return { decision: 'deny', rule: 'syntax', message: `the statement does not parse, so it is refused: ${error}` };
    return undefined;
  }

  /**
   * SQL EXECUTE of a name the session knows runs that statement: it is decided as the statement itself (a
   * PREPAREd UPDATE held for review is held at every EXECUTE too, whatever a rule says of kind `execute`; a
   * PREPAREd catalog query pg_dump runs is allowed without a rule for kind `execute`). A rule that names kind
   * `execute` can still make it stricter.
   */
  private decideByName(stmt: AnalyzedStatement, d: StatementDecision, earlier?: ReadonlyMap<string, PreparedStatement>): StatementDecision {
    if (stmt.kind !== 'execute' || stmt.preparedName === undefined) return d;
    const named = earlier?.get(stmt.preparedName) ?? this.pendingPrepares.get(stmt.preparedName) ?? this.statements.get(stmt.preparedName);
    // A name the gateway does not know (never prepared through it, or its PREPARE's fate unknown) would run
    // something undecided: refused, as a protocol Bind of it is.
    if (!named) return { decision: 'deny', rule: 'protocol', message: `prepared statement "${stmt.preparedName}" was not prepared in this session through the gateway` };
    if (!named.analysis || named.denial) return d;
    const own = this.deps.decide(this.ctx, named.analysis);
    if (d.rule === 'default') return own;
    return strictness[own.decision] > strictness[d.decision] ? own : d;
  }

  private onQuery(sql: string, off: number, len: number, invalid: Buffer | undefined): void {
    const tooLarge = sql.length > MAX_ANALYZED_SQL;
    const analysis = tooLarge || invalid ? { statements: [] } : analyze(sql);
    const stmts = analysis.statements;
    // The string is decided as a whole: one denial denies all of it, one review holds all of it.
    let verdict: StatementDecision = { decision: 'allow' };
    const budget = this.budgetDenial();
    const refused = this.unanalysable(sql, 'error' in analysis ? analysis.error : undefined, invalid);
    if (budget) verdict = { decision: 'deny', rule: budget.rule, message: budget.message };
    else if (refused) verdict = refused;
    else {
      // A PREPARE earlier in the same string names what a later EXECUTE in it runs.
      const earlier = new Map<string, PreparedStatement>();
      for (const s of stmts) {
        let d = this.decideByName(s, this.deps.decide(this.ctx, s), earlier);
        if (s.wrapper === 'prepare' && s.preparedName !== undefined) earlier.set(s.preparedName, { sql: s.sql, analysis: s, columnsRef: {} });
        if (d.decision !== 'deny') {
          const masked = this.deps.masking?.refusal(s);
          if (masked) d = { decision: 'deny', ...masked };
        }
        if (strictness[d.decision] > strictness[verdict.decision]) verdict = d;
        if (d.decision === 'deny') break;
      }
    }
    if (verdict.decision !== 'deny' && stmts.some((s) => s.kind === 'ddl')) this.ddlSeen = true;
    const rewrite = stmts.length === 1 && !budget && !refused ? rewriteOf(stmts[0]!, verdict, this.tag) : undefined;
    if (rewrite) {
      this.clientEdits.push({ start: off, end: off + len, bytes: queryMessage(rewrite.sql) });
      this.trackRewritten(sql, stmts[0]!, true, rewrite);
    } else if (verdict.decision === 'deny') {
      this.clientEdits.push({ start: off, end: off + len, bytes: queryMessage(POISON_SQL) });
      this.trackStatement(sql, stmts.length === 1 ? stmts[0] : undefined, { simple: true, denial: toDenial(verdict), invalidText: invalid });
    } else if (verdict.decision === 'review') {
      const entry = this.trackStatement(sql, stmts.length === 1 ? stmts[0] : undefined, { simple: true, review: verdict });
      this.holds.push({
        held: { sql, rule: verdict.rule ?? 'review', ...(verdict.message ? { message: verdict.message } : {}) },
        entry,
        refuse: { start: off, end: off + len, bytes: queryMessage(POISON_SQL) },
        analysis: stmts.length === 1 ? stmts[0] : undefined,
      });
    } else if (stmts.length <= 1) {
      this.trackStatement(stmts[0]?.sql ?? sql, stmts[0], { simple: true });
    } else {
      for (const s of stmts) this.trackStatement(s.sql, s, { simple: true });
    }
    this.tracker.sync();
  }

  private onParse(buf: Buffer, off: number, len: number): void {
    const p = readParse(buf, off, len);
    const invalid = textIsUtf8(buf, off, len) ? undefined : queryTextBytes(buf, off, len);
    const analysis = p.sql.length > MAX_ANALYZED_SQL || invalid ? { statements: [] } : analyze(p.sql);
    const stmt: PreparedStatement = { sql: p.sql, analysis: analysis.statements[0], columnsRef: {} };
    // A name the session has (a refused Parse's stand-in aside): PostgreSQL keeps the statement it has and
    // refuses the new one, so the gateway refuses it first and never takes the new text for the old.
    const held = p.name === '' ? undefined : this.statements.get(p.name);
    const known = held?.denial ? undefined : held;
    let d: StatementDecision = this.unanalysable(p.sql, 'error' in analysis ? analysis.error : undefined, invalid) ?? { decision: 'allow' };
    if (d.decision === 'deny') {
      // refused before it could be analysed
    } else if (known) d = { decision: 'deny', rule: 'protocol', message: `prepared statement "${p.name}" already exists; close it before preparing the name again`, sqlState: SqlState.DUPLICATE_PREPARED_STATEMENT };
    else if (analysis.statements.length > 1) d = { decision: 'deny', rule: 'protocol', message: 'a prepared statement must hold exactly one statement' };
    else if (stmt.analysis) {
      d = this.decideByName(stmt.analysis, this.deps.decide(this.ctx, stmt.analysis));
      const masked = d.decision !== 'deny' ? this.deps.masking?.refusal(stmt.analysis) : undefined;
      if (masked) d = { decision: 'deny', ...masked };
      if (d.decision !== 'deny' && stmt.analysis.kind === 'ddl') this.ddlSeen = true;
      const rewrite = this.budgetDenial() ? undefined : rewriteOf(stmt.analysis, d, this.tag);
      if (rewrite) {
        // Prepared as the gateway's text; each Execute is audited as the client's (see onExecute).
        stmt.rewrite = rewrite;
        d = { decision: 'allow' };
        this.clientEdits.push({ start: off, end: off + len, bytes: parseMessage(p.name, rewrite.sql, []) });
      }
    }
    stmt.columnsRef.analysis = stmt.analysis;
    if (!known) this.statements.set(p.name, stmt);
    if (d.decision === 'review') stmt.review = { rule: d.rule ?? 'review', ...(d.message ? { message: d.message } : {}) };
    if (d.decision !== 'deny') {
      if (this.deps.masking) stmt.readsMasked = this.deps.masking.readsMasked(stmt.analysis);
      // The name stands once PostgreSQL has parsed it; a Parse that fails (or is skipped after an error) made nothing.
      this.tracker.step({
        message: 'parse',
        ...(stmt.readsMasked !== undefined ? { readsMasked: stmt.readsMasked } : {}),
        onComplete: () => void (stmt.confirmed = true),
        onFailed: () => void (this.statements.get(p.name) === stmt && this.statements.delete(p.name)),
      });
      return;
    }
    // A denied Parse answers ErrorResponse and PostgreSQL discards until Sync, as for any failed Parse.
    stmt.denial = toDenial(d);
    this.clientEdits.push({ start: off, end: off + len, bytes: parseMessage(known ? '' : p.name, POISON_SQL, []) });
    this.trackStatement(p.sql, stmt.analysis, { denial: stmt.denial, invalidText: invalid });
  }

  private onBind(buf: Buffer, off: number, len: number): void {
    const b = readBind(buf, off, len);
    const params = b.params.map((p, i) => paramText(p, b.paramFormats, i));
    let stmt = this.statements.get(b.statement);
    const cursor = b.portal === '' ? undefined : this.portals.get(b.portal)?.cursor;
    // A statement the session never saw prepared (by Parse or SQL PREPARE) would run without its text in the
    // audit log; a portal name a cursor holds is PostgreSQL's cursor, not this Bind's statement. Both are refused.
    const refusal = !stmt
      ? { message: `prepared statement "${b.statement}" was not prepared in this session through the gateway`, sqlState: SqlState.INSUFFICIENT_PRIVILEGE }
      : cursor
        ? { message: `cursor "${b.portal}" already exists; close it before binding the name`, sqlState: SqlState.DUPLICATE_CURSOR }
        : undefined;
    if (refusal) {
      const denial: Denial = { rule: 'protocol', ...refusal };
      this.clientEdits.push({ start: off, end: off + len, bytes: parseMessage('', POISON_SQL, []) });
      this.trackStatement(stmt?.sql ?? `<Bind of prepared statement ${JSON.stringify(b.statement)}>`, stmt?.analysis, { params, denial });
      if (cursor) return;
      stmt = { sql: '', analysis: undefined, columnsRef: {}, denial };
    }
    const portal: Portal = { stmt: stmt!, params, columnsRef: stmt!.columnsRef, formats: b.resultFormats };
    this.portals.set(b.portal, portal);
    if (portal.stmt.denial) return;
    this.tracker.step({
      message: 'bind',
      ...(portal.stmt.readsMasked !== undefined ? { readsMasked: portal.stmt.readsMasked } : {}),
      onFailed: () => void (this.portals.get(b.portal) === portal && this.portals.delete(b.portal)),
    });
  }

  private onExecute(buf: Buffer, off: number, len: number): void {
    const e = readExecute(buf, off, len);
    const portal = this.portals.get(e.portal);
    // A refused Execute becomes a failing Parse of the unnamed statement: PostgreSQL errors and discards until Sync.
    const refuse = { start: off, end: off + len, bytes: parseMessage('', POISON_SQL, []) };
    if (!portal) {
      // A portal the session never saw bound or DECLAREd would run without its text in the audit log.
      const denial = { rule: 'protocol', message: `portal "${e.portal}" was not opened in this session through the gateway`, sqlState: SqlState.INSUFFICIENT_PRIVILEGE };
      this.clientEdits.push(refuse);
      this.trackStatement(`<Execute of portal ${JSON.stringify(e.portal)}>`, undefined, { denial });
      return;
    }
    const stmt = portal.stmt;
    // A statement whose Parse was refused was never prepared: PostgreSQL answers its Execute itself.
    if (stmt.denial) return;
    // A spent budget, or a result masking already refused (a suspended portal resumed), is refused before it runs again.
    const refusedShape = portal.columnsRef.shape?.refusal;
    const budget = this.budgetDenial() ?? (refusedShape ? { rule: 'masking', message: refusedShape, sqlState: SqlState.INSUFFICIENT_PRIVILEGE } : undefined);
    if (budget) {
      this.clientEdits.push(refuse);
      this.trackStatement(stmt.sql, stmt.analysis, { params: portal.params, columnsRef: portal.columnsRef, denial: budget });
      return;
    }
    const review = stmt.review;
    const columnsRef = portal.columnsRef;
    // Masking needs the result's columns; a client that never asked for them gets a Describe sent for it,
    // whose answer the gateway keeps to itself.
    if (this.deps.masking && !columnsRef.described) {
      this.clientEdits.push({ start: off, end: off, bytes: describeMessage('P', e.portal) });
      this.tracker.describe(columnsRef, true);
    }
    if (stmt.rewrite && stmt.analysis) {
      this.trackRewritten(stmt.sql, stmt.analysis, false, stmt.rewrite);
      return;
    }
    const entry = this.trackStatement(stmt.sql, stmt.analysis, { params: portal.params, columnsRef, ...(review ? { review: { decision: 'review', ...review } } : {}) });
    entry.formats = portal.formats;
    // Running what SQL PREPARE or DECLARE named runs the statement inside: it names nothing again.
    if (stmt.bySql) delete entry.onComplete;
    if (review) {
      this.holds.push({
        held: { sql: stmt.sql, ...(portal.params.length ? { params: portal.params } : {}), ...review },
        entry,
        refuse,
        analysis: stmt.analysis,
      });
    }
  }

  /** A rewritten statement: audited as the client sent it (allowed, with the rewrite's rule), answered as the gateway ran it. */
  private trackRewritten(sql: string, analysis: AnalyzedStatement, simple: boolean, rewrite: Rewrite): void {
    const entry = this.trackStatement(sql, analysis, { simple, note: { rule: rewrite.rule, message: rewrite.message } });
    if (rewrite.notice) entry.notice = rewrite.notice;
  }

  private statementFields(sql: string, analysis: AnalyzedStatement | undefined, params: (string | null)[] | undefined) {
    return { sql, ...(params && params.length ? { params } : {}), kind: analysis?.kind ?? 'unknown', tables: analysis?.tables ?? [] };
  }

  /** Queues a statement for its answer and its audit event (written before the chunk is forwarded). */
  private trackStatement(sql: string, analysis: AnalyzedStatement | undefined, how: TrackedAs): PendingStatement {
    const { columnsRef = {}, simple = false, denial, review, invalidText, note } = how;
    let params = how.params;
    const decision = denial ? 'deny' : review ? 'review' : 'allow';
    const rule = denial?.rule ?? review?.rule ?? note?.rule;
    const masking = this.deps.masking;
    const text = sql;
    if (masking) {
      // Audit and recording never hold a masked value, not even as a literal guessed at it.
      const all = analysis || sql.length > MAX_ANALYZED_SQL ? undefined : analyze(sql);
      sql = all && !all.error && all.statements.length > 1 ? masking.auditQuery(sql, all.statements) : masking.auditSql(analysis, sql);
      if (params) params = masking.auditParams(analysis, params);
      if (simple) columnsRef.analysis = analysis;
    }
    const entry = this.tracker.statement({
      rec: { t: this.elapsed(), sql, ms: 0, ...(params && params.length ? { params } : {}), decision, ...(rule ? { rule } : {}) },
      startedAt: performance.now(),
      columnsRef,
      simple,
      ...(denial ? { denial } : {}),
      ...(masking && !denial ? { readsMasked: masking.readsMasked(analysis) } : {}),
      ...(this.deps.budget && analysis && readsOnlyCatalogs(analysis) ? { budgetFree: true } : {}),
    });
    const effect = !denial && analysis ? nameEffect(analysis) : undefined;
    if (effect) this.nameEffect(entry, effect, text, analysis!, review);
    this.totals.statements++;
    if (denial) this.totals.denied++;
    this.events.push({
      ...this.stamp,
      type: denial ? 'db.session.denied' : review ? 'db.session.review' : 'db.session.query',
      statement: { ...this.statementFields(sql, analysis, params), decision, ...(rule ? { rule } : {}) },
      ...(denial ? { message: denial.message } : review?.message ? { message: review.message } : note ? { message: note.message } : {}),
      // Text that is not UTF-8 shows as U+FFFD in `sql`: the bytes that were sent are kept as they are.
      ...(invalidText ? { details: { sqlEncoding: 'invalid-utf8', sqlBase64: (masking ? masking.auditBytes(invalidText) : invalidText).toString('base64') } } : {}),
    });
    return entry;
  }

  /**
   * SQL PREPARE and DECLARE name what a protocol Bind or Execute may run later: the name stands, with the
   * statement's text and decision (a held one is held again at every execution), once PostgreSQL has made it.
   * DEALLOCATE, CLOSE and DISCARD ALL forget names at once: an Execute in between is refused, never misnamed.
   */
  private nameEffect(entry: PendingStatement, effect: NameEffect, sql: string, analysis: AnalyzedStatement, review: StatementDecision | undefined): void {
    switch (effect.kind) {
      case 'prepare':
      case 'declare': {
        const stmt: PreparedStatement = {
          sql,
          analysis,
          columnsRef: { analysis },
          confirmed: true,
          bySql: true,
          ...(review ? { review: { rule: review.rule ?? 'review', ...(review.message ? { message: review.message } : {}) } } : {}),
          ...(entry.readsMasked !== undefined ? { readsMasked: entry.readsMasked } : {}),
        };
        // What its EXECUTE or FETCH will return is masked as this statement's result (the flow of the text as decided now).
        const flow = this.deps.masking?.flow(analysis);
        if (effect.kind === 'prepare') this.pendingPrepares.set(effect.name, stmt);
        entry.onComplete = () => {
          this.deps.masking?.named(effect, flow);
          if (effect.kind === 'prepare') {
            if (this.pendingPrepares.get(effect.name) === stmt) this.pendingPrepares.delete(effect.name);
            return void this.statements.set(effect.name, stmt);
          }
          this.portals.set(effect.name, { stmt, params: [], columnsRef: stmt.columnsRef, formats: effect.binary ? [1] : [], cursor: { hold: effect.hold } });
          if (effect.hold) this.transactionCursors.delete(effect.name);
          else this.transactionCursors.add(effect.name);
        };
        return;
      }
      // Names go when PostgreSQL has removed them: a DEALLOCATE that fails (in an aborted transaction) leaves the
      // statement there, and the gateway keeps deciding its EXECUTE as that statement.
      case 'deallocate':
        entry.onComplete = () => {
          if (effect.name === undefined) this.statements.clear();
          else this.statements.delete(effect.name);
          this.deps.masking?.forget(effect);
        };
        return;
      case 'close':
        entry.onComplete = () => {
          if (effect.name === undefined) this.portals.clear();
          else this.portals.delete(effect.name);
          this.deps.masking?.forget(effect);
        };
        return;
      case 'discard-all':
        entry.onComplete = () => {
          this.statements.clear();
          this.portals.clear();
          this.deps.masking?.forget(effect);
        };
        return;
    }
  }

  // ---- PostgreSQL -> client

  private onBackendData(chunk: Buffer): void {
    let framed: { buf: Buffer; end: number };
    try {
      framed = this.fromBackend.feed(chunk, this.onBackendMessage);
    } catch (err) {
      this.terminate(SqlState.PROTOCOL_VIOLATION, `invalid message from the database: ${(err as Error).message}`);
      return;
    }
    if (framed.end === 0) return;
    let out = framed.end === framed.buf.length ? framed.buf : framed.buf.subarray(0, framed.end);
    if (this.backendEdits.length > 0) {
      out = applyEdits(out, this.backendEdits);
      this.backendEdits = [];
    }
    if (out.length > 0 && !this.client.write(out)) {
      this.backend.pause();
      this.client.once('drain', () => this.backend.resume());
    }
  }

  private onBackendMessage(type: number, buf: Buffer, off: number, len: number): void {
    // Errors, notices and COPY data carry data too: their bytes count against the budget (rows count in DataRow).
    if ((type === BackendType.ErrorResponse || type === BackendType.NoticeResponse || type === BackendType.CopyData) && this.deps.budget && this.resultBytesOverBudget(type, off, len)) return;
    switch (type) {
      case BackendType.DataRow: {
        const s = this.tracker.current();
        if (!s) return;
        if (s.suppress) return this.drop(off, len);
        const budget = this.deps.budget;
        if (budget && !s.budgetFree && !budget.take(len)) {
          this.cutOffByBudget(s, budget, true);
          return this.drop(off, len);
        }
        const masking = this.deps.masking;
        if (masking) {
          const plan = (s.rowPlan ??= this.rowPlanFor(s, masking));
          if (!plan) return this.drop(off, len);
          const rewritten = masking.rewriteRow(buf, off, len, plan);
          if (rewritten) this.backendEdits.push({ start: off, end: off + len, bytes: rewritten });
        }
        s.rec.rows = (s.rec.rows ?? 0) + 1;
        s.bytes += len;
        return;
      }
      case BackendType.RowDescription: {
        const target = this.tracker.rowDescriptionTarget();
        if (!target) return;
        const described = this.rowDescription(buf, off, len);
        target.ref.columns = described.columns;
        if (this.deps.masking) target.ref.shape = this.deps.masking.shape(described.fields, target.ref.analysis);
        if (target.internal) this.drop(off, len);
        return;
      }
      case BackendType.NoData: {
        const target = this.tracker.rowDescriptionTarget();
        if (target?.internal) this.drop(off, len);
        return;
      }
      case BackendType.CopyInResponse:
        this.tracker.copyInStarted();
        return;
      case BackendType.CopyOutResponse: {
        const s = this.tracker.current();
        const masking = this.deps.masking;
        if (!s || !masking) return;
        const copy = masking.copyOut(s.columnsRef.analysis, buf.readInt16BE(off + 6));
        if ('refusal' in copy) s.suppress = maskingRefusal(copy.refusal);
        else if (!copy.passThrough) s.copy = copy;
        return;
      }
      case BackendType.CopyData: {
        const s = this.tracker.current();
        if (!s) return;
        if (s.suppress) return this.drop(off, len);
        if (s.copy) {
          const payload = s.copy.rewrite(buf.subarray(off + 5, off + len));
          if (payload) this.backendEdits.push({ start: off, end: off + len, bytes: copyOutData(payload) });
        }
        return;
      }
      case BackendType.CopyDone: {
        const s = this.tracker.current();
        if (s?.suppress) this.drop(off, len);
        return;
      }
      case BackendType.NotificationResponse: {
        const rewritten = this.deps.masking?.notification(buf, off, len);
        if (rewritten) this.backendEdits.push({ start: off, end: off + len, bytes: rewritten });
        return;
      }
      case BackendType.NoticeResponse:
        if (this.deps.masking) this.serverReport(buf, off, len, this.tracker.reportTarget()?.readsMasked);
        return;
      case BackendType.ParameterStatus: {
        // Code the gateway cannot see (a function, a trigger) changed a setting the analyzer reads SQL with:
        // what the session sends next would no longer be read as it was decided. Fail closed.
        const changed = parserSettingChange(buf, off, len);
        if (changed) return this.terminate(SqlState.INSUFFICIENT_PRIVILEGE, changed);
        const rewritten = this.deps.masking?.parameterStatus(buf, off, len, this.tracker.groupReadsMasked());
        if (rewritten) this.backendEdits.push({ start: off, end: off + len, bytes: rewritten });
        return;
      }
      case BackendType.ParseComplete:
        this.tracker.stepCompleted('parse');
        return;
      case BackendType.BindComplete:
        this.tracker.stepCompleted('bind');
        return;
      case BackendType.CommandComplete: {
        const s = this.tracker.current();
        if (!s) return;
        if (s.suppress) return this.suppressedEnd(s, off, len);
        // What the gateway has to tell about the statement (a SET it ignored) comes just before its CommandComplete.
        if (s.notice) this.backendEdits.push({ start: off, end: off, bytes: noticeResponse({ severity: 'WARNING', code: SqlState.WARNING, message: s.notice }) });
        const c = readCommandComplete(buf, off, len);
        s.rec.tag = c.tag;
        if (c.rows !== undefined) s.rec.rows = c.rows;
        this.finish(s);
        s.onComplete?.();
        return;
      }
      case BackendType.EmptyQueryResponse:
      case BackendType.PortalSuspended: {
        const s = this.tracker.current();
        if (!s) return;
        // A result cut off (budget, columns that cannot be masked) ends in an error even when the portal was only suspended.
        if (s.suppress) return this.suppressedEnd(s, off, len);
        this.finish(s);
        return;
      }
      case BackendType.ErrorResponse: {
        // A Parse or Bind that failed: the error is about its statement, and PostgreSQL skips to Sync.
        const step = this.tracker.stepFailed();
        const s = this.tracker.current();
        if (s && !step && s.suppress) return this.suppressedEnd(s, off, len);
        if (s && !step && s.denial) {
          this.backendEdits.push({
            start: off,
            end: off + len,
            bytes: errorResponse({ code: s.denial.sqlState, message: `denied by agentdb policy (rule ${s.denial.rule}): ${s.denial.message}` }),
          });
          s.rec.error = { code: s.denial.sqlState, message: s.denial.message };
          this.finish(s);
          return;
        }
        // Outside any statement (a FATAL of the session) the report still passes the detectors.
        const error = this.serverReport(buf, off, len, step ? step.readsMasked : s?.readsMasked);
        // The statement after a failed Parse or Bind did not run: it is recorded with that error, as PostgreSQL's answer to it.
        if (s && !s.denial && !s.suppress) {
          s.rec.error = error;
          this.finish(s);
        }
        return;
      }
      case BackendType.ReadyForQuery:
        this.tracker.readyForQuery((s) => this.deps.recording.statement(s.rec));
        this.pendingPrepares.clear();
        // Outside a transaction block (idle, or failed and waiting for ROLLBACK) cursors without HOLD are gone.
        if (this.transactionCursors.size > 0 && buf[off + 5] !== IN_TRANSACTION_BLOCK) this.endTransactionCursors();
        return;
      default:
        return;
    }
  }

  /**
   * A RowDescription's fields: a statement run again gets the very same (frozen) arrays back for the same
   * bytes, so what is derived from them (column names, masking shapes) is worked out once.
   */
  private rowDescription(buf: Buffer, off: number, len: number): DescribedRow {
    const key = buf.toString('latin1', off, off + len);
    let d = this.described.get(key);
    if (!d) {
      const fields = Object.freeze(readRowDescription(buf, off, len));
      d = { fields, columns: Object.freeze(fields.map((f) => f.name)) };
      if (this.described.size >= MAX_DESCRIBED) this.described.clear();
      this.described.set(key, d);
    }
    return d;
  }

  /** The masking plan for a statement's rows; undefined when its columns cannot be established (the result is then refused). */
  private rowPlanFor(s: PendingStatement, masking: SessionMasking): RowPlan | undefined {
    const shape = s.columnsRef.shape;
    if (shape?.refusal || !shape?.plan) {
      s.suppress = maskingRefusal(shape?.refusal ?? 'the columns of this result could not be established, so it is not delivered');
      return undefined;
    }
    return masking.rowPlan(shape, s.formats ?? []);
  }

  /** Past the budget: this message and the rest of the result are not delivered; the query is cancelled at the database. */
  private cutOffByBudget(s: PendingStatement, budget: TaskBudget, cancel: boolean): void {
    s.suppress = { code: SqlState.PROGRAM_LIMIT_EXCEEDED, message: `data budget of task ${this.ctx.task.id} exceeded (${budget.describe()}); the rest of the result was not delivered` };
    if (cancel) this.deps.cancelBackend();
  }

  /**
   * Counts an ErrorResponse, NoticeResponse or CopyData of a statement's result. Past the budget the result is cut
   * off: its error becomes the budget's and its COPY data is dropped (their own cases do that); a notice is
   * dropped here (true).
   */
  private resultBytesOverBudget(type: number, off: number, len: number): boolean {
    const s = this.tracker.current();
    // Outside a statement, or the gateway's own refusal (its text replaces the database's): not a result's bytes.
    if (!s || s.denial || s.budgetFree) return false;
    if (!s.suppress) {
      if (this.deps.budget!.take(len, 0)) return false;
      this.cutOffByBudget(s, this.deps.budget!, type !== BackendType.ErrorResponse);
    }
    // A cut-off result's COPY data and error are handled by their own cases; its notices go with it.
    if (type !== BackendType.NoticeResponse) return false;
    this.drop(off, len);
    return true;
  }

  /**
   * An ErrorResponse or NoticeResponse from PostgreSQL, as the session may pass it on: in a masked session its
   * texts are withheld when its statement read masked data (`withhold`; unknown counts as yes), else scanned by
   * the detectors. Returns what is left of it for the recording.
   */
  private serverReport(buf: Buffer, off: number, len: number, withhold: MaskedReads | undefined): { code: string; message: string } {
    const masking = this.deps.masking;
    if (!masking) {
      const f = readErrorFields(buf, off, len);
      return { code: f.code, message: f.message };
    }
    const r = masking.report(buf, off, len, withhold ?? false);
    if (r.rewritten) this.backendEdits.push({ start: off, end: off + len, bytes: r.rewritten });
    return { code: r.code, message: r.message };
  }

  private endTransactionCursors(): void {
    for (const name of this.transactionCursors) {
      if (this.portals.get(name)?.cursor) this.portals.delete(name);
      this.deps.masking?.forget({ kind: 'close', name });
    }
    this.transactionCursors.clear();
  }

  private drop(off: number, len: number): void {
    this.backendEdits.push({ start: off, end: off + len, bytes: EMPTY });
  }

  /** The end of a statement whose result was cut off (its CommandComplete, or the cancel's error) becomes that statement's error. */
  private suppressedEnd(s: PendingStatement, off: number, len: number): void {
    const { code, message } = s.suppress!;
    this.backendEdits.push({ start: off, end: off + len, bytes: errorResponse({ code, message }) });
    s.rec.error = { code, message };
    this.finish(s);
  }

  private finish(s: PendingStatement): void {
    s.done = true;
    s.rec.ms = Math.round((performance.now() - s.startedAt) * 1000) / 1000;
    if (s.columnsRef.columns) s.rec.columns = s.columnsRef.columns;
    this.totals.rows += s.rec.rows ?? 0;
    this.totals.bytes += s.bytes;
  }

  // ---- end

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    clearTimeout(this.expiryTimer);
    this.abortReview?.('the session ended while waiting for review');
    this.tracker.drain((s) => {
      if (s.done) this.deps.recording.statement(s.rec);
    });
    this.client.end();
    this.backend.end();
    setTimeout(() => {
      this.client.destroy();
      this.backend.destroy();
    }, 1000).unref();
    this.deps.onEnd(this);
  }
}

function frozenCopy<T extends object>(v: T): T {
  const copy = structuredClone(v) as Record<string, unknown>;
  for (const x of Object.values(copy)) if (typeof x === 'object' && x !== null) Object.freeze(x);
  return Object.freeze(copy) as T;
}

/** A client message the gateway will not relay; the session ends with 08P01. */
class GatewayProtocolError extends Error {}

const noop = (): void => undefined;

/** The statements of every Query and Parse in a chunk (analysis is cached: the handlers find them again). */
function statementsIn(out: Buffer): AnalyzedStatement[] {
  const found: AnalyzedStatement[] = [];
  forEachMessage(out, (type, buf, off, len) => {
    if (type !== FrontendType.Query && type !== FrontendType.Parse) return;
    const sql = type === FrontendType.Query ? readQuery(buf, off, len) : readParse(buf, off, len).sql;
    if (sql.length > MAX_ANALYZED_SQL) return;
    const a = analyze(sql);
    if (!a.error) found.push(...a.statements);
  });
  return found;
}


/** Why a ParameterStatus shows a setting the analyzer reads SQL with (PARSER_SETTINGS) changed, or undefined. */
function parserSettingChange(buf: Buffer, off: number, len: number): string | undefined {
  const p = readParameterStatus(buf, off, len);
  const must = PARSER_SETTINGS[p.name.toLowerCase()];
  if (must === undefined || p.value.toLowerCase().replace(/[-_]/g, '') === must.toLowerCase()) return undefined;
  return `the session's ${p.name} became ${JSON.stringify(p.value)} (set by a function or trigger): the gateway reads SQL with ${must}, so the session is ended`;
}

/** A result masking refuses once its columns arrive: worded as every other policy denial, so clients can name the rule. */
function maskingRefusal(why: string): { code: string; message: string } {
  return { code: SqlState.INSUFFICIENT_PRIVILEGE, message: `denied by agentdb policy (rule masking): ${why}` };
}

function toDenial(d: StatementDecision): Denial {
  return { rule: d.rule ?? 'policy', message: d.message ?? 'denied by policy', sqlState: d.sqlState ?? SqlState.INSUFFICIENT_PRIVILEGE };
}

function applyEdits(out: Buffer, edits: Edit[]): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (const e of edits) {
    parts.push(out.subarray(pos, e.start), e.bytes);
    pos = e.end;
  }
  parts.push(out.subarray(pos));
  return Buffer.concat(parts);
}

function paramText(p: Buffer | null, formats: number[], i: number): string | null {
  if (p === null) return null;
  const format = formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : formats[i];
  const text = format === 1 ? `\\x${p.toString('hex')}` : p.toString('utf8');
  return text.length > MAX_AUDITED_PARAM ? `${text.slice(0, MAX_AUDITED_PARAM)}…(${p.length} bytes)` : text;
}
