// What the parse tree says about masked data in one statement: which output columns may carry it, where it
// steers the result (filters), what would let it out some other way (refusals), and which literals and
// parameters in the statement's text are guesses at it (to be kept out of the audit log).
import type { AnalyzedStatement } from '../../policy/index.js';
import type { CopyOptions } from './copy-options.js';
import type { Taint } from './taint.js';

export interface ColumnFlow {
  readonly name: string;
  readonly taint: Taint;
}

/**
 * The statement's result columns. `head` are the first columns by position. When a `*` whose columns the
 * analysis cannot list (a base table, without its column order from the catalog) sits among the targets,
 * `middle` is what the columns it stands for may carry and `tail` the columns after it, by position from the
 * end; without one, `middle` is undefined and `head` is the whole result.
 */
export interface OutputFlow {
  readonly head: readonly ColumnFlow[];
  readonly tail: readonly ColumnFlow[];
  readonly middle?: Taint;
}

/** A masked (or possibly masked) column used to choose, order or count rows: an oracle that reads it back. */
export interface FilterUse {
  /** the masked column, 'schema.table.column', or a description of a value of unknown origin */
  readonly column: string;
  /** WHERE, JOIN ON, ORDER BY, GROUP BY, ... */
  readonly clause: string;
  readonly message: string;
}

export type RefusalReason = 'cast' | 'function' | 'operator' | 'write' | 'statistics' | 'code' | 'copy' | 'analysis';

/** Something the statement would do with masked data that masking the result cannot undo. */
export interface Refusal {
  readonly reason: RefusalReason;
  readonly column: string;
  readonly message: string;
}

export interface CopyFlow {
  readonly direction: 'to' | 'from';
  /** where the data goes or comes from */
  readonly endpoint: 'client' | 'file' | 'program';
  readonly options: CopyOptions;
  /** per copied column, in order; undefined when the columns cannot be established */
  readonly columns: readonly ColumnFlow[] | undefined;
  /** what any copied column may carry (the union), for a COPY whose columns are not listed */
  readonly any: Taint;
}

export interface MaskFlow {
  /** the rows the statement returns (for PREPARE and DECLARE: what EXECUTE and FETCH will return); undefined: none known */
  readonly output: OutputFlow | undefined;
  /** every relation read, schema-qualified, including inside the view definitions passed in */
  readonly relations: readonly string[];
  /** relations that were given as opaque, or views whose definition was given (see FlowOptions) */
  readonly views: readonly string[];
  /** the taint of a column of a relation as RowDescription names it (a view's column, or a masked table column) */
  sourceTaint(relation: string, column: string): Taint;
  readonly filterOnMasked?: FilterUse;
  readonly refusal?: Refusal;
  /** byte ranges [start, end) in stmt.sql of literals compared with, assigned to or inserted into masked columns */
  readonly sensitiveLiterals: readonly (readonly [number, number])[];
  /** $n parameters used the same way */
  readonly sensitiveParams: readonly number[];
  readonly copy?: CopyFlow;
  /** DECLARE: the cursor name, so FETCH can find this flow */
  readonly cursor?: string;
  /** PREPARE: the statement name, so EXECUTE can find this flow */
  readonly prepared?: string;
}

export interface FlowOptions {
  /**
   * Definitions of views (and materialized views) the statement reads, by schema-qualified name, as
   * analyze(pg_get_viewdef(oid)) gives them. The gateway asks the catalog which of `flow.relations` are views
   * and calls again with their definitions, until no new view turns up (views read views).
   */
  readonly views?: ReadonlyMap<string, AnalyzedStatement>;
  /** relations known to be views whose definition is not available: every column of them counts as masked */
  readonly opaqueRelations?: ReadonlySet<string>;
  /** column names of tables in attribute order (dropped columns left out): lets `*` and COPY map positions */
  readonly tableColumns?: ReadonlyMap<string, readonly string[]>;
  /** flows of SQL-level prepared statements by name, for EXECUTE */
  readonly prepared?: ReadonlyMap<string, MaskFlow>;
  /** flows of open cursors by name, for FETCH */
  readonly cursors?: ReadonlyMap<string, MaskFlow>;
}
