// What the analyzer tells the policy (and the audit log) about one statement.

/**
 * What a statement does. A statement can do several things (a SELECT whose CTE deletes): see `kinds`.
 * PREPARE, EXPLAIN ANALYZE and DECLARE CURSOR have no kind of their own: they are the statement they run.
 */
export const STATEMENT_KINDS = [
  'select', 'select-into', 'insert', 'update', 'delete', 'merge', 'ddl', 'dcl', 'copy-in', 'copy-out',
  'set', 'transaction', 'utility', 'call', 'do', 'explain', 'execute', 'deallocate',
  'cursor', 'show', 'empty', 'lock', 'discard', 'unknown',
] as const;

export type StatementKind = (typeof STATEMENT_KINDS)[number];

/** One setting a statement changes; `value` is the literal it sets, null for RESET/DEFAULT or a computed value. */
export interface SettingChange {
  name: string;
  value: string | null;
}

export interface AnalyzedStatement {
  /** the statement's own text, cut from the string the client sent */
  sql: string;
  /** the main thing the statement does: EXPLAIN ANALYZE, PREPARE and DECLARE report what they run */
  kind: StatementKind;
  /** everything it does: DML inside CTEs or COPY (query), ON CONFLICT DO UPDATE, set_config() calls */
  kinds: readonly StatementKind[];
  /** reads ∪ writes, for the audit log (mutable type for the audit event; shared through the cache, so do not modify) */
  tables: string[];
  /** relations read, always schema-qualified (see qualifyRelation) */
  reads: readonly string[];
  /** relations written: DML targets (also inside CTEs), SELECT INTO / CREATE TABLE AS targets, COPY FROM targets, DDL objects */
  writes: readonly string[];
  /** functions called anywhere in the tree, lowercased, schema-qualified as written ('pg_catalog.set_config') */
  functions: readonly string[];
  /** names of the settings it changes (lowercased): SET, RESET, SET LOCAL, set_config('name', ...), BEGIN ... READ WRITE */
  settings: readonly string[];
  settingChanges: readonly SettingChange[];
  /** RESET ALL or DISCARD ALL: every resettable setting goes back to its default */
  resetsAll: boolean;
  /** an UPDATE or DELETE (anywhere in the statement) whose WHERE mentions no column, or TRUNCATE */
  whereless: boolean;
  /** COPY ... TO/FROM PROGRAM */
  copyProgram: boolean;
  /** COPY ... TO/FROM a server file */
  copyFile: boolean;
  /** what the statement was wrapped in, when it is decided as the statement inside */
  wrapper?: 'explain-analyze' | 'prepare' | 'declare-cursor';
  /** the SQL-level prepared statement named by PREPARE, EXECUTE or DEALLOCATE */
  preparedName?: string;
  /** set when the analyzer cannot tell what the statement does: the reason. Such a statement fails closed. */
  unclassified?: string;
  /**
   * The text's numeric template, on statements that share their analysis with every text that differs from
   * theirs only in numeric literals (see analyze.ts): what the statement does is keyed by it. Such a
   * statement's `node` may be another text's tree; read locations or literal values only via analyzeExact.
   */
  template?: string;
  /** the parse tree node, for rules that look deeper */
  node: Record<string, unknown>;
}

export interface Analysis {
  statements: readonly AnalyzedStatement[];
  /** set when the text does not parse: PostgreSQL would refuse it too, and the policy refuses it first */
  error?: string;
}
