// Pairs what the client sent with what PostgreSQL answered, so each executed statement can be recorded with
// its columns, row count, command tag or error and its time. PostgreSQL answers strictly in order, so a queue
// of what is outstanding, cut at every Sync/Query boundary (ReadyForQuery), is all it takes.
import type { RecordedStatement } from '../recording/index.js';
import type { AnalyzedStatement } from '../policy/index.js';
import type { CopyOutRewriter, MaskedReads, RowPlan } from '../masking/index.js';
import type { ResultShape } from './session-masking.js';

/** Columns found by a Describe, shared by the statement/portal records and the executions that follow. */
export interface ColumnsRef {
  columns?: readonly string[];
  /** the statement the columns come from, for masking's plan */
  analysis?: AnalyzedStatement;
  /** masking's plan for these columns */
  shape?: ResultShape;
  /** a Describe for it was sent (by the client or the gateway) */
  described?: boolean;
}

export interface Denial {
  rule: string;
  message: string;
  sqlState: string;
}

export interface PendingStatement {
  kind: 'stmt';
  rec: RecordedStatement;
  startedAt: number;
  columnsRef: ColumnsRef;
  /** rows/tag/error arrived */
  done: boolean;
  bytes: number;
  /** the statement was replaced by a poison statement; its error is swapped for this denial */
  denial?: Denial;
  /** a simple-protocol statement gets its RowDescription inline; an extended one through Describe */
  simple: boolean;
  /** the rest of this statement's result is dropped and its end replaced by this error (data budget spent, columns that cannot be masked) */
  suppress?: { code: string; message: string };
  /** result format codes from Bind (extended protocol) */
  formats?: readonly number[];
  /** masking: how each DataRow is rewritten (compiled at the first row) */
  rowPlan?: RowPlan;
  /** masking: COPY ... TO STDOUT data */
  copy?: CopyOutRewriter;
  /** masking: the statement reads masked data, so PostgreSQL's error and notice texts about it are withheld */
  readsMasked?: MaskedReads;
  /** runs when the statement completed without error (a SQL PREPARE or DECLARE then names what it made) */
  onComplete?: () => void;
  /** the gateway's word about the statement (a SET it ignored), sent as a WARNING before its CommandComplete */
  notice?: string;
  /** reads only the system catalogs: its result is no user data and does not count against the data budget */
  budgetFree?: boolean;
}

/** A Parse or Bind: it makes a prepared statement or portal, or fails (then PostgreSQL skips to Sync). */
export interface PendingStep {
  kind: 'step';
  /** ParseComplete or BindComplete */
  message: 'parse' | 'bind';
  done: boolean;
  /** masking: the statement it parses or binds reads masked data (its error texts are withheld) */
  readsMasked?: MaskedReads;
  onComplete?: () => void;
  /** it failed, or PostgreSQL skipped it after an earlier error */
  onFailed?: () => void;
}

interface PendingDescribe {
  kind: 'describe';
  columnsRef: ColumnsRef;
  done: boolean;
  /** sent by the gateway itself (masking needs the columns): its answer is not forwarded */
  internal: boolean;
}

interface SyncPoint {
  kind: 'sync';
  done: boolean;
}

type Pending = PendingStatement | PendingStep | PendingDescribe | SyncPoint;

export class StatementTracker {
  private queue: Pending[] = [];
  private head = 0;

  statement(p: Omit<PendingStatement, 'kind' | 'done' | 'bytes'>): PendingStatement {
    const entry: PendingStatement = { kind: 'stmt', done: false, bytes: 0, ...p };
    this.queue.push(entry);
    return entry;
  }

  describe(columnsRef: ColumnsRef, internal = false): void {
    columnsRef.described = true;
    this.queue.push({ kind: 'describe', columnsRef, done: false, internal });
  }

  step(p: Omit<PendingStep, 'kind' | 'done'>): PendingStep {
    const entry: PendingStep = { kind: 'step', done: false, ...p };
    this.queue.push(entry);
    return entry;
  }

  sync(): void {
    this.queue.push({ kind: 'sync', done: false });
  }

  /** What a NoticeResponse or ErrorResponse is about: the first open Parse, Bind or statement before the next sync point. */
  reportTarget(): PendingStatement | PendingStep | undefined {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.kind === 'sync') return undefined;
      if (!e.done && (e.kind === 'stmt' || e.kind === 'step')) return e;
    }
    return undefined;
  }

  /**
   * Whether anything up to the next sync point, finished or not, reads masked data. PostgreSQL reports changed
   * parameters (ParameterStatus) just before ReadyForQuery, after the statement that changed them completed.
   */
  groupReadsMasked(): boolean {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.kind === 'sync') return false;
      if ((e.kind === 'stmt' || e.kind === 'step') && e.readsMasked) return true;
    }
    return false;
  }

  /** ParseComplete/BindComplete: the first open step of that message completed. */
  stepCompleted(message: PendingStep['message']): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.kind === 'sync') return;
      if (e.kind === 'step' && !e.done && e.message === message) {
        e.done = true;
        e.onComplete?.();
        return;
      }
    }
  }

  /** An ErrorResponse: when the first open entry is a Parse or Bind, it failed there; returns that step. */
  stepFailed(): PendingStep | undefined {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.kind === 'sync') return undefined;
      if (e.done) continue;
      if (e.kind !== 'step') return undefined;
      e.done = true;
      e.onFailed?.();
      return e;
    }
    return undefined;
  }

  /** The statement that the next DataRow/CommandComplete/ErrorResponse belongs to, if any, before the next sync point. */
  current(): PendingStatement | undefined {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.kind === 'sync') return undefined;
      if (e.kind === 'stmt' && !e.done) return e;
    }
    return undefined;
  }

  /** A RowDescription/NoData answers the first open Describe, or a simple statement's own row description. */
  rowDescriptionTarget(): { ref: ColumnsRef; internal: boolean; stmt?: PendingStatement } | undefined {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.kind === 'sync') return undefined;
      if (e.done) continue;
      if (e.kind === 'describe') {
        e.done = true;
        return { ref: e.columnsRef, internal: e.internal };
      }
      if (e.kind === 'step') continue;
      if (e.simple) return { ref: e.columnsRef, internal: false, stmt: e };
    }
    return undefined;
  }

  /**
   * CopyInResponse for an extended-protocol statement: PostgreSQL ignores Sync during copy-in, so the Sync the
   * client sent with the Execute gets no ReadyForQuery; the one sent after CopyDone/CopyFail does.
   */
  copyInStarted(): void {
    let i = this.head;
    while (i < this.queue.length) {
      const e = this.queue[i]!;
      if (e.kind === 'sync') return;
      if (e.kind === 'stmt' && !e.done) break;
      i++;
    }
    const stmt = this.queue[i];
    if (!stmt || stmt.kind !== 'stmt' || stmt.simple) return;
    for (let j = i + 1; j < this.queue.length; j++) {
      if (this.queue[j]!.kind === 'sync') {
        this.queue.splice(j, 1);
        return;
      }
    }
  }

  /** ReadyForQuery: everything up to the first sync point is settled. Returns the statements that finished;
   *  the ones without an answer were skipped by PostgreSQL after an earlier error and did not run. */
  readyForQuery(onFinished: (s: PendingStatement) => void): void {
    while (this.head < this.queue.length) {
      const e = this.queue[this.head++]!;
      if (e.kind === 'sync') break;
      if (e.kind === 'stmt' && e.done) onFinished(e);
      // A Parse or Bind PostgreSQL skipped after an error made nothing.
      else if (e.kind === 'step' && !e.done) e.onFailed?.();
    }
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Statements still open when the session ends (the connection dropped mid-query). */
  drain(onOpen: (s: PendingStatement) => void): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.kind === 'stmt') onOpen(e);
    }
    this.queue = [];
    this.head = 0;
  }
}
