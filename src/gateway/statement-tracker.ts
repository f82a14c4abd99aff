// Pairs what the client sent with what PostgreSQL answered, so each executed statement can be recorded with
// its columns, row count, command tag or error and its time. PostgreSQL answers strictly in order, so a queue
// of what is outstanding, cut at every Sync/Query boundary (ReadyForQuery), is all it takes.
import type { RecordedStatement } from '../recording/index.js';

/** Columns found by a Describe, shared by the statement/portal records and the executions that follow. */
export interface ColumnsRef {
  columns?: string[];
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
  /** the task's data budget ran out during this statement: its remaining rows are dropped and its end replaced */
  overBudget?: boolean;
}

interface PendingDescribe {
  kind: 'describe';
  columnsRef: ColumnsRef;
  done: boolean;
}

interface SyncPoint {
  kind: 'sync';
  done: boolean;
}

type Pending = PendingStatement | PendingDescribe | SyncPoint;

export class StatementTracker {
  private queue: Pending[] = [];
  private head = 0;

  statement(p: Omit<PendingStatement, 'kind' | 'done' | 'bytes'>): PendingStatement {
    const entry: PendingStatement = { kind: 'stmt', done: false, bytes: 0, ...p };
    this.queue.push(entry);
    return entry;
  }

  describe(columnsRef: ColumnsRef): void {
    this.queue.push({ kind: 'describe', columnsRef, done: false });
  }

  sync(): void {
    this.queue.push({ kind: 'sync', done: false });
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
  rowDescriptionTarget(): ColumnsRef | undefined {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.kind === 'sync') return undefined;
      if (e.done) continue;
      if (e.kind === 'describe') {
        e.done = true;
        return e.columnsRef;
      }
      if (e.simple) return e.columnsRef;
    }
    return undefined;
  }

  /** ReadyForQuery: everything up to the first sync point is settled. Returns the statements that finished;
   *  the ones without an answer were skipped by PostgreSQL after an earlier error and did not run. */
  readyForQuery(onFinished: (s: PendingStatement) => void): void {
    while (this.head < this.queue.length) {
      const e = this.queue[this.head++]!;
      if (e.kind === 'sync') break;
      if (e.kind === 'stmt' && e.done) onFinished(e);
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
