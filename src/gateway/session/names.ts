// The session's prepared statements and portals, as PostgreSQL holds them: made by a protocol Parse or Bind, or
// by SQL PREPARE and DECLARE (sql-names.ts says what a statement does to them), each with its text and decision,
// so that whatever runs under a name is decided and audited as what the name stands for.
import type { AnalyzedStatement, PreparedName } from '../../policy/index.js';
import type { MaskedReads } from '../../masking/index.js';
import type { SessionMasking } from '../session-masking.js';
import type { NameEffect } from '../sql-names.js';
import type { Rewrite } from '../statement-rewrites.js';
import type { ColumnsRef, Denial, PendingStatement } from '../statement-tracker.js';
import type { StatementDecision } from './types.js';

export interface PreparedStatement {
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

export interface Portal {
  stmt: PreparedStatement;
  params: (string | null)[];
  columnsRef: ColumnsRef;
  formats: number[];
  /** made by SQL DECLARE; without hold it ends with its transaction */
  cursor?: { hold: boolean };
}

/** A held decision as a prepared statement keeps it: held again at every execution. */
export function reviewOf(d: StatementDecision): { rule: string; message?: string } {
  return { rule: d.rule ?? 'review', ...(d.message ? { message: d.message } : {}) };
}

export class SessionNames {
  readonly statements = new Map<string, PreparedStatement>();
  readonly portals = new Map<string, Portal>();
  // SQL PREPAREs tracked but not answered yet: an EXECUTE pipelined behind one is decided as what it prepares.
  // Forgotten at the next ReadyForQuery (a PREPARE that failed made nothing).
  private readonly pendingPrepares = new Map<string, PreparedStatement>();
  /** DECLAREd cursors without HOLD: they end with the transaction (ReadyForQuery outside a transaction block) */
  private readonly transactionCursors = new Set<string>();

  constructor(private readonly masking: SessionMasking | undefined) {}

  /** What a SQL EXECUTE of `name` runs, for the decision (policy PreparedName). */
  prepared(name: string): PreparedName {
    const named = this.pendingPrepares.get(name) ?? this.statements.get(name);
    if (!named) return undefined;
    return !named.analysis || named.denial ? null : named.analysis;
  }

  /**
   * SQL PREPARE and DECLARE name what a protocol Bind or Execute may run later: the name stands, with the
   * statement's text and decision (a held one is held again at every execution), once PostgreSQL has made it.
   * DEALLOCATE, CLOSE and DISCARD ALL forget names at once: an Execute in between is refused, never misnamed.
   */
  follow(entry: PendingStatement, effect: NameEffect, sql: string, analysis: AnalyzedStatement, review: StatementDecision | undefined): void {
    const masking = this.masking;
    switch (effect.kind) {
      case 'prepare':
      case 'declare': {
        const stmt: PreparedStatement = {
          sql,
          analysis,
          columnsRef: { analysis },
          confirmed: true,
          bySql: true,
          ...(review ? { review: reviewOf(review) } : {}),
          ...(entry.readsMasked !== undefined ? { readsMasked: entry.readsMasked } : {}),
        };
        // What its EXECUTE or FETCH will return is masked as this statement's result (the flow of the text as decided now).
        const flow = masking?.flow(analysis);
        if (effect.kind === 'prepare') this.pendingPrepares.set(effect.name, stmt);
        entry.onComplete = () => {
          masking?.named(effect, flow);
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
          masking?.forget(effect);
        };
        return;
      case 'close':
        entry.onComplete = () => {
          if (effect.name === undefined) this.portals.clear();
          else this.portals.delete(effect.name);
          masking?.forget(effect);
        };
        return;
      case 'discard-all':
        entry.onComplete = () => {
          this.statements.clear();
          this.portals.clear();
          masking?.forget(effect);
        };
        return;
    }
  }

  /** Whether a ReadyForQuery may end cursors (checked before its status is read). */
  get hasTransactionCursors(): boolean {
    return this.transactionCursors.size > 0;
  }

  /**
   * ReadyForQuery: PREPAREs not answered by now made nothing; `outsideBlock` (idle, or failed and waiting for
   * ROLLBACK): cursors without HOLD are gone.
   */
  readyForQuery(outsideBlock: boolean): void {
    this.pendingPrepares.clear();
    if (!outsideBlock) return;
    for (const name of this.transactionCursors) {
      if (this.portals.get(name)?.cursor) this.portals.delete(name);
      this.masking?.forget({ kind: 'close', name });
    }
    this.transactionCursors.clear();
  }
}
