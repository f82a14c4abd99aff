// One tunnelled client session: the spine of the statement path. It frames every message in both directions and
// hands each to its step, in order:
//   client -> PostgreSQL: framing (here) -> per-message handling (session/client-messages.ts: simple-query.ts,
//   extended-query.ts) -> analysis, once per text (session/chunk-analysis.ts) -> the decision (session/decision.ts
//   -> policy decideStatements) -> audit, then forward (session/forward.ts; held statements: session/holds.ts);
//   PostgreSQL -> client: framing (here) -> per-message handling (session/backend-messages.ts) -> budget
//   (session/result-budget.ts) -> masking (session/result-masking.ts) -> recording (session/result-recording.ts).
// The common case — a chunk of allowed messages — is forwarded as the very Buffer that arrived: no copy, no
// per-message allocation.
import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import { MessageFramer, SqlState, forEachMessage, type OnMessage } from '../pgwire/index.js';
import { errorResponseOf } from './error-response.js';
import { GatewayError, GatewayErrorCode } from './errors.js';
import { backendMessageHandler } from './session/backend-messages.js';
import { clientMessageHandler } from './session/client-messages.js';
import { applyEdits } from './session/edits.js';
import { processChunk } from './session/forward.js';
import { SessionState } from './session/state.js';
import type { SessionContext, SessionDeps } from './session/types.js';

export type { HeldStatement, ReviewOutcome, SessionContext, SessionDeps, StatementDecision } from './session/types.js';

export class GatewaySession {
  readonly startedAt = Date.now();
  private readonly st: SessionState;
  private readonly fromClient: MessageFramer;
  private readonly fromBackend = new MessageFramer();
  private readonly onClientMessage: OnMessage;
  private readonly onBackendMessage: OnMessage;
  private expiryTimer: NodeJS.Timeout | undefined;
  endReason = '';

  constructor(
    readonly ctx: SessionContext,
    private readonly client: net.Socket,
    private readonly backend: net.Socket,
    private readonly deps: SessionDeps,
  ) {
    this.st = new SessionState(ctx, deps, client, backend, (err, reason) => this.fail(err, reason));
    this.fromClient = new MessageFramer(deps.maxMessageBytes);
    this.onClientMessage = clientMessageHandler(this.st);
    this.onBackendMessage = backendMessageHandler(this.st);
  }

  static newSid(): string {
    return randomUUID();
  }

  /** statements, rows, bytes and denials so far (db.session.end carries them) */
  get totals(): SessionState['totals'] {
    return this.st.totals;
  }

  start(): void {
    this.client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    this.backend.on('data', (chunk: Buffer) => this.onBackendData(chunk));
    this.client.on('close', () => this.end('client disconnected'));
    this.backend.on('close', () => this.end(this.backendClosed()));
    this.client.on('error', () => this.end('client connection error'));
    this.backend.on('error', () => this.end(this.backendClosed()));
    this.armExpiry();
  }

  /** The session cannot outlive its certificate: at notAfter the client gets a FATAL error and both sides close. */
  private armExpiry(): void {
    const ms = this.ctx.expiresAt.getTime() - Date.now();
    // setTimeout holds at most ~24.8 days: a longer certificate re-arms instead of ending the session early.
    const MAX_TIMER = 2 ** 31 - 1;
    this.expiryTimer = setTimeout(() => {
      if (ms > MAX_TIMER) return this.armExpiry();
      const message = `task certificate expired at ${this.ctx.expiresAt.toISOString()}; run agentdb proxy again for a new one`;
      this.fail(new GatewayError(GatewayErrorCode.CERT_EXPIRED, message, SqlState.INVALID_AUTHORIZATION));
    }, Math.max(0, Math.min(ms, MAX_TIMER)));
    this.expiryTimer.unref();
  }

  /** Ends the session with a FATAL ErrorResponse to the client (the gateway's own reasons: shutdown, revocation). */
  terminate(sqlState: string, message: string): void {
    this.fail(new GatewayError(GatewayErrorCode.SESSION_ENDED, message, sqlState));
  }

  /**
   * Ends the session with a FATAL ErrorResponse made from `err` (error-response.ts), written at a message boundary:
   * only whole frames are ever forwarded. `reason` is the end reason; the error's message when not given.
   */
  private fail(err: unknown, reason?: string): void {
    if (this.st.ended) return;
    this.client.write(errorResponseOf(err, 'FATAL'));
    this.end(reason ?? (err instanceof Error ? err.message : String(err)));
  }

  /** A CancelRequest from the client: a statement waiting for review is withdrawn; a running one is cancelled by the caller. */
  cancelHeld(): boolean {
    if (!this.st.abortReview) return false;
    this.st.abortReview('canceled by the client while waiting for review');
    return true;
  }

  // ---- client -> PostgreSQL: framing

  private onClientData(chunk: Buffer): void {
    if (this.deps.masking) return this.onMaskedClientData(chunk);
    const out = this.frameClient(chunk, this.onClientMessage);
    if (out) processChunk(this.st, out);
  }

  /** The whole messages of the client's bytes so far, each handed to `onMessage`; undefined when none (or the session ended). */
  private frameClient(chunk: Buffer, onMessage: OnMessage): Buffer | undefined {
    let framed: { buf: Buffer; end: number };
    try {
      framed = this.fromClient.feed(chunk, onMessage);
    } catch (err) {
      this.invalidFromClient(err);
      return undefined;
    }
    if (framed.end === 0) return undefined;
    return framed.end === framed.buf.length ? framed.buf : framed.buf.subarray(0, framed.end);
  }

  private invalidFromClient(err: unknown): void {
    this.fail(new GatewayError(GatewayErrorCode.PROTOCOL, `invalid message from client: ${(err as Error).message}`, SqlState.PROTOCOL_VIOLATION));
  }

  // With masking, what a statement may let out is worked out (catalog lookups: views, column orders) before
  // its messages are processed; chunks wait their turn in order while that happens.
  private readonly backlog: Buffer[] = [];
  private pumping = false;

  private onMaskedClientData(chunk: Buffer): void {
    const out = this.frameClient(chunk, noop);
    if (!out) return;
    this.backlog.push(out);
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      await this.pumpBacklog();
    } catch (err) {
      // Nothing a client sends may take the gateway down: the session ends instead.
      this.fail(new GatewayError(GatewayErrorCode.INTERNAL, `the gateway could not process the request: ${(err as Error).message}`, SqlState.INTERNAL_ERROR));
    } finally {
      this.pumping = false;
    }
  }

  private async pumpBacklog(): Promise<void> {
    const masking = this.deps.masking!;
    const st = this.st;
    while (this.backlog.length > 0 && !st.ended) {
      const out = this.backlog.shift()!;
      // Analysis, once per text: the chunk's texts are analysed here, and the handlers take these analyses.
      const wait = masking.prepare(st.analyses.collect(out));
      if (wait) {
        this.client.pause();
        await wait;
        this.client.resume();
      }
      try {
        forEachMessage(out, this.onClientMessage);
      } catch (err) {
        this.invalidFromClient(err);
        break;
      } finally {
        st.analyses.clear();
      }
      processChunk(st, out);
      masking.done();
      if (st.ddlSeen) {
        st.ddlSeen = false;
        masking.schemaChanged();
      }
    }
  }

  // ---- PostgreSQL -> client: framing

  private onBackendData(chunk: Buffer): void {
    let framed: { buf: Buffer; end: number };
    try {
      framed = this.fromBackend.feed(chunk, this.onBackendMessage);
    } catch (err) {
      this.fail(new GatewayError(GatewayErrorCode.BACKEND_PROTOCOL, `invalid message from the database: ${(err as Error).message}`, SqlState.PROTOCOL_VIOLATION));
      return;
    }
    if (framed.end === 0) return;
    let out = framed.end === framed.buf.length ? framed.buf : framed.buf.subarray(0, framed.end);
    if (this.st.backendEdits.length > 0) {
      out = applyEdits(out, this.st.backendEdits);
      this.st.backendEdits = [];
    }
    if (out.length > 0 && !this.client.write(out)) {
      this.backend.pause();
      this.client.once('drain', () => this.backend.resume());
    }
  }

  // ---- end

  /** PostgreSQL ended the connection: its FATAL report (57P01 admin shutdown, ...) when one came. */
  private backendClosed(): string {
    const f = this.st.backendFatal;
    return f ? `backend-closed: ${f.code} ${f.message}` : 'backend-closed';
  }

  private end(reason: string): void {
    const st = this.st;
    if (st.ended) return;
    st.ended = true;
    this.endReason = reason;
    clearTimeout(this.expiryTimer);
    st.abortReview?.('the session ended while waiting for review');
    st.tracker.drain((s) => {
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

const noop = (): void => undefined;
