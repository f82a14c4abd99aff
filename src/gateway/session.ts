// One tunnelled client session: frames every message in both directions, decides and audits each statement
// before it is forwarded, and records what PostgreSQL answered. The common case — a chunk of allowed
// messages — is forwarded as the very Buffer that arrived: no copy, no per-message allocation.
import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import {
  MessageFramer, SqlState, errorResponse, queryMessage, readBind, readCloseOrDescribe, readCommandComplete,
  readErrorFields, readExecute, readParse, readQuery, readReadyForQuery, readRowDescription,
} from '../pgwire/index.js';
import type { AuditEventInput, AuditLog } from '../audit/index.js';
import type { RecordingWriter } from '../recording/index.js';
import { analyze, type AnalyzedStatement } from '../policy/index.js';
import { StatementTracker, type ColumnsRef, type Denial, type PendingStatement } from './statement-tracker.js';

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
  decision: 'allow' | 'deny';
  rule?: string;
  message?: string;
}

export interface SessionDeps {
  audit: AuditLog;
  recording: RecordingWriter;
  /** decides one statement; must be synchronous and cheap (parse results are cached) */
  decide(ctx: SessionContext, stmt: AnalyzedStatement): StatementDecision;
  onEnd(session: GatewaySession): void;
}

// A statement that is denied is replaced by text that fails in PostgreSQL's own parser, before anything runs.
// PostgreSQL then does exactly what it does on any error — aborts a transaction block, discards extended-
// protocol messages until Sync, answers ReadyForQuery with the right status — and the gateway only swaps the
// syntax error for its own 42501 denial. No state machine of PostgreSQL's has to be imitated.
const POISON_SQL = 'AGENTDB DENIED';
const MAX_AUDITED_PARAM = 64 * 1024;

interface PreparedStatement {
  sql: string;
  analysis: AnalyzedStatement | undefined;
  columnsRef: ColumnsRef;
  denial?: Denial;
}

interface Portal {
  stmt: PreparedStatement;
  params: (string | null)[];
  columnsRef: ColumnsRef;
}

interface OutChunk {
  buf: Buffer;
  ready: boolean;
}

export class GatewaySession {
  readonly startedAt = Date.now();
  private readonly t0 = performance.now();
  private readonly fromClient = new MessageFramer();
  private readonly fromBackend = new MessageFramer();
  private readonly tracker = new StatementTracker();
  private readonly statements = new Map<string, PreparedStatement>();
  private readonly portals = new Map<string, Portal>();
  private readonly outQueue: OutChunk[] = [];
  private events: AuditEventInput[] = [];
  private clientEdits: { start: number; end: number; bytes: Buffer }[] = [];
  private backendEdits: { start: number; end: number; bytes: Buffer }[] = [];
  private txStatus: 'I' | 'T' | 'E' = 'I';
  private ended = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  totals = { statements: 0, rows: 0, bytes: 0, denied: 0 };

  constructor(
    readonly ctx: SessionContext,
    private readonly client: net.Socket,
    private readonly backend: net.Socket,
    private readonly deps: SessionDeps,
  ) {
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
    this.expiryTimer = setTimeout(() => {
      this.terminate(SqlState.INVALID_AUTHORIZATION, `task certificate expired at ${this.ctx.expiresAt.toISOString()}; run agentdb proxy again for a new one`);
    }, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    this.expiryTimer.unref();
  }

  /** Ends the session with a FATAL ErrorResponse to the client (written at a message boundary: only whole frames are ever forwarded). */
  terminate(sqlState: string, message: string): void {
    if (this.ended) return;
    this.client.write(errorResponse({ severity: 'FATAL', code: sqlState, message }));
    this.end(message);
  }

  // ---- client -> PostgreSQL

  private onClientData(chunk: Buffer): void {
    let framed: { buf: Buffer; end: number };
    try {
      framed = this.fromClient.feed(chunk, this.onClientMessage);
    } catch (err) {
      this.terminate(SqlState.PROTOCOL_VIOLATION, `invalid message from client: ${(err as Error).message}`);
      return;
    }
    if (framed.end === 0) return;
    let out = framed.end === framed.buf.length ? framed.buf : framed.buf.subarray(0, framed.end);
    if (this.clientEdits.length > 0) out = applyEdits(out, this.clientEdits);
    if (this.events.length === 0) {
      this.forward({ buf: out, ready: true });
      return;
    }
    const chunkOut: OutChunk = { buf: out, ready: false };
    const events = this.events;
    this.events = [];
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
      case 0x51 /* Q */:
        return this.onQuery(readQuery(buf, off, len), off, len);
      case 0x50 /* P */: {
        const p = readParse(buf, off, len);
        const analysis = analyze(p.sql);
        const stmt: PreparedStatement = { sql: p.sql, analysis: analysis.statements[0], columnsRef: {} };
        if (analysis.statements.length > 1) {
          stmt.denial = { rule: 'protocol', message: 'a prepared statement must hold exactly one statement', sqlState: '42601' };
        } else if (stmt.analysis) {
          const d = this.deps.decide(this.ctx, stmt.analysis);
          if (d.decision === 'deny') stmt.denial = { rule: d.rule ?? 'policy', message: d.message ?? 'denied by policy', sqlState: SqlState.INSUFFICIENT_PRIVILEGE };
        }
        this.statements.set(p.name, stmt);
        if (stmt.denial) this.poison(buf, off, len, p.name);
        return;
      }
      case 0x42 /* B */: {
        const b = readBind(buf, off, len);
        const stmt = this.statements.get(b.statement) ?? { sql: '', analysis: undefined, columnsRef: {} };
        this.portals.set(b.portal, { stmt, params: b.params.map((p, i) => paramText(p, b.paramFormats, i)), columnsRef: stmt.columnsRef });
        return;
      }
      case 0x44 /* D */: {
        const d = readCloseOrDescribe(buf, off, len);
        const ref = d.target === 'S' ? this.statements.get(d.name)?.columnsRef : this.portals.get(d.name)?.columnsRef;
        this.tracker.describe(ref ?? {});
        return;
      }
      case 0x45 /* E */: {
        const e = readExecute(buf, off, len);
        const portal = this.portals.get(e.portal);
        const stmt = portal?.stmt;
        const sql = stmt?.sql ?? '';
        this.trackStatement(sql, stmt?.analysis, portal?.params, portal?.columnsRef ?? {}, false, stmt?.denial);
        return;
      }
      case 0x43 /* C */: {
        const c = readCloseOrDescribe(buf, off, len);
        if (c.target === 'S') this.statements.delete(c.name);
        else this.portals.delete(c.name);
        return;
      }
      case 0x53 /* S */:
        this.tracker.sync();
        return;
      case 0x46 /* F */: {
        // Fast-path function calls name a function by OID with binary arguments: no SQL to analyse, so no way
        // to decide what they do (lo_export writes server files). Refused, as a poisoned query.
        const denial = { rule: 'protocol', message: 'fast-path function calls are not allowed through the gateway', sqlState: SqlState.INSUFFICIENT_PRIVILEGE };
        this.replace(off, len, queryMessage(POISON_SQL));
        this.trackStatement('<fast-path function call>', undefined, undefined, {}, true, denial);
        this.tracker.sync();
        return;
      }
      default:
        return; // Flush, Terminate, CopyData/Done/Fail and the rest pass through
    }
  }

  private onQuery(sql: string, off: number, len: number): void {
    const analysis = analyze(sql);
    const stmts = analysis.statements;
    // One denial denies the whole string: nothing of it runs.
    let denial: Denial | undefined;
    if (!analysis.error) {
      for (const s of stmts) {
        const d = this.deps.decide(this.ctx, s);
        if (d.decision === 'deny') {
          denial = { rule: d.rule ?? 'policy', message: d.message ?? 'denied by policy', sqlState: SqlState.INSUFFICIENT_PRIVILEGE };
          break;
        }
      }
    }
    if (denial) {
      this.replace(off, len, queryMessage(POISON_SQL));
      this.trackStatement(sql, stmts.length === 1 ? stmts[0] : undefined, undefined, {}, true, denial);
    } else if (stmts.length <= 1) {
      this.trackStatement(stmts[0]?.sql ?? sql, stmts[0], undefined, {}, true, undefined);
    } else {
      for (const s of stmts) this.trackStatement(s.sql, s, undefined, {}, true, undefined);
    }
    this.tracker.sync();
  }

  /** Replaces a denied Parse by a Parse of the poison text under the same name, so later Bind/Execute fail as PostgreSQL would. */
  private poison(_buf: Buffer, off: number, len: number, name: string): void {
    this.replace(off, len, parseMessage(name, POISON_SQL));
  }

  private replace(off: number, len: number, bytes: Buffer): void {
    this.clientEdits.push({ start: off, end: off + len, bytes });
  }

  private trackStatement(
    sql: string,
    analysis: AnalyzedStatement | undefined,
    params: (string | null)[] | undefined,
    columnsRef: ColumnsRef,
    simple: boolean,
    denial: Denial | undefined,
  ): void {
    const entry = this.tracker.statement({
      rec: { t: this.elapsed(), sql, ms: 0, ...(params && params.length ? { params } : {}), decision: denial ? 'deny' : 'allow', ...(denial ? { rule: denial.rule } : {}) },
      startedAt: performance.now(),
      columnsRef,
      simple,
      ...(denial ? { denial } : {}),
    });
    void entry;
    this.totals.statements++;
    if (denial) this.totals.denied++;
    this.events.push({
      type: denial ? 'db.session.denied' : 'db.session.query',
      sid: this.ctx.sid,
      identity: this.ctx.identity,
      task: this.ctx.task,
      db: this.ctx.db,
      client: this.ctx.client,
      statement: {
        sql,
        ...(params && params.length ? { params } : {}),
        kind: analysis?.kind ?? 'unknown',
        tables: analysis?.tables ?? [],
        decision: denial ? 'deny' : 'allow',
        ...(denial ? { rule: denial.rule } : {}),
      },
      ...(denial ? { message: denial.message } : {}),
    });
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
    if (this.backendEdits.length > 0) out = applyEdits(out, this.backendEdits);
    if (!this.client.write(out)) {
      this.backend.pause();
      this.client.once('drain', () => this.backend.resume());
    }
  }

  private onBackendMessage(type: number, buf: Buffer, off: number, len: number): void {
    switch (type) {
      case 0x44 /* D DataRow */: {
        const s = this.tracker.current();
        if (s) {
          s.rec.rows = (s.rec.rows ?? 0) + 1;
          s.bytes += len;
        }
        return;
      }
      case 0x54 /* T RowDescription */: {
        const target = this.tracker.rowDescriptionTarget();
        if (target) target.columns = readRowDescription(buf, off, len).map((f) => f.name);
        return;
      }
      case 0x6e /* n NoData */:
        this.tracker.rowDescriptionTarget();
        return;
      case 0x43 /* C CommandComplete */: {
        const s = this.tracker.current();
        if (s) {
          const c = readCommandComplete(buf, off, len);
          s.rec.tag = c.tag;
          if (c.rows !== undefined) s.rec.rows = c.rows;
          this.finish(s);
        }
        return;
      }
      case 0x49 /* I EmptyQueryResponse */:
      case 0x73 /* s PortalSuspended */: {
        const s = this.tracker.current();
        if (s) this.finish(s);
        return;
      }
      case 0x45 /* E ErrorResponse */: {
        const s = this.tracker.current();
        if (!s) return;
        if (s.denial) {
          this.backendEdits.push({
            start: off,
            end: off + len,
            bytes: errorResponse({ code: s.denial.sqlState, message: `denied by agentdb policy (rule ${s.denial.rule}): ${s.denial.message}` }),
          });
          s.rec.error = { code: s.denial.sqlState, message: s.denial.message };
        } else {
          const f = readErrorFields(buf, off, len);
          s.rec.error = { code: f.code, message: f.message };
        }
        this.finish(s);
        return;
      }
      case 0x5a /* Z ReadyForQuery */:
        this.txStatus = readReadyForQuery(buf, off, len);
        this.tracker.readyForQuery((s) => this.deps.recording.statement(s.rec));
        return;
      default:
        return;
    }
  }

  private finish(s: PendingStatement): void {
    s.done = true;
    s.rec.ms = Math.round((performance.now() - s.startedAt) * 1000) / 1000;
    if (s.columnsRef.columns) s.rec.columns = s.columnsRef.columns;
    this.totals.rows += s.rec.rows ?? 0;
    this.totals.bytes += s.bytes;
  }

  get transactionStatus(): 'I' | 'T' | 'E' {
    return this.txStatus;
  }

  // ---- end

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.expiryTimer);
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
    this.endReason = reason;
  }

  endReason = '';
}

function applyEdits(out: Buffer, edits: { start: number; end: number; bytes: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (const e of edits) {
    parts.push(out.subarray(pos, e.start), e.bytes);
    pos = e.end;
  }
  parts.push(out.subarray(pos));
  edits.length = 0;
  return Buffer.concat(parts);
}

function paramText(p: Buffer | null, formats: number[], i: number): string | null {
  if (p === null) return null;
  const format = formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : formats[i];
  const text = format === 1 ? `\\x${p.toString('hex')}` : p.toString('utf8');
  return text.length > MAX_AUDITED_PARAM ? `${text.slice(0, MAX_AUDITED_PARAM)}…(${p.length} bytes)` : text;
}

function parseMessage(name: string, sql: string): Buffer {
  const nameLen = Buffer.byteLength(name);
  const sqlLen = Buffer.byteLength(sql);
  const len = 4 + nameLen + 1 + sqlLen + 1 + 2;
  const b = Buffer.alloc(1 + len);
  b[0] = 0x50;
  b.writeInt32BE(len, 1);
  b.write(name, 5);
  b.write(sql, 6 + nameLen);
  return b;
}
