// SQL analysis with PostgreSQL's own grammar (libpg-query, the server's parser compiled to WASM): what a
// statement does and which relations it touches. A regex cannot classify SQL; the server's grammar can.
import { loadModule, parseSync } from 'libpg-query';
import { LRUCache } from 'lru-cache';

export type StatementKind =
  | 'select' | 'select-into' | 'insert' | 'update' | 'delete' | 'merge' | 'ddl' | 'dcl' | 'copy-in' | 'copy-out'
  | 'set' | 'transaction' | 'utility' | 'call' | 'do' | 'explain' | 'prepare' | 'execute' | 'deallocate'
  | 'cursor' | 'show' | 'empty' | 'unknown';

export interface AnalyzedStatement {
  /** the statement's own text, cut from the string the client sent */
  sql: string;
  kind: StatementKind;
  /** relations read or written, schema-qualified when the statement qualified them */
  tables: string[];
  /** the parse tree node, for rules that look deeper */
  node: Record<string, unknown>;
}

export interface Analysis {
  statements: AnalyzedStatement[];
  /** set when the text does not parse: PostgreSQL would refuse it too */
  error?: string;
}

let ready: Promise<void> | undefined;

/** The WASM parser loads once per process; call before the first analyze(). */
export function loadParser(): Promise<void> {
  ready ??= loadModule();
  return ready;
}

const KIND_BY_NODE: Record<string, StatementKind> = {
  SelectStmt: 'select', InsertStmt: 'insert', UpdateStmt: 'update', DeleteStmt: 'delete', MergeStmt: 'merge',
  VariableSetStmt: 'set', VariableShowStmt: 'show', TransactionStmt: 'transaction', ExplainStmt: 'explain',
  DoStmt: 'do', CallStmt: 'call', PrepareStmt: 'prepare', ExecuteStmt: 'execute', DeallocateStmt: 'deallocate',
  DeclareCursorStmt: 'cursor', FetchStmt: 'cursor', ClosePortalStmt: 'cursor',
  GrantStmt: 'dcl', GrantRoleStmt: 'dcl', CreateRoleStmt: 'dcl', AlterRoleStmt: 'dcl', DropRoleStmt: 'dcl',
  AlterRoleSetStmt: 'dcl', AlterDefaultPrivilegesStmt: 'dcl', ReassignOwnedStmt: 'dcl', DropOwnedStmt: 'dcl',
  VacuumStmt: 'utility', LockStmt: 'utility', ListenStmt: 'utility', UnlistenStmt: 'utility', NotifyStmt: 'utility',
  CheckPointStmt: 'utility', DiscardStmt: 'utility', LoadStmt: 'utility', ClusterStmt: 'utility', ReindexStmt: 'utility',
  ConstraintsSetStmt: 'utility',
};

function kindOf(type: string, body: Record<string, unknown>): StatementKind {
  if (type === 'SelectStmt' && body.intoClause) return 'select-into';
  if (type === 'CopyStmt') return body.is_from ? 'copy-in' : 'copy-out';
  return KIND_BY_NODE[type] ?? 'ddl';
}

/** Collects RangeVar relations, leaving out names that a WITH clause defines. */
function collectTables(node: unknown, out: Set<string>, ctes: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) collectTables(n, out, ctes);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  const withClause = obj.withClause as { ctes?: { CommonTableExpr?: { ctename?: string } }[] } | undefined;
  withClause?.ctes?.forEach((c) => c.CommonTableExpr?.ctename && ctes.add(c.CommonTableExpr.ctename));
  // A RangeVar appears wrapped ({RangeVar: {...}}) in lists and bare where a field is typed RangeVar
  // (INSERT/UPDATE/DELETE `relation`): recognise it by its relname.
  if (typeof obj.relname === 'string') {
    const rv = obj as { schemaname?: string; relname: string };
    if (rv.schemaname || !ctes.has(rv.relname)) out.add(rv.schemaname ? `${rv.schemaname}.${rv.relname}` : rv.relname);
  }
  for (const key in obj) collectTables(obj[key], out, ctes);
}

const cache = new LRUCache<string, Analysis>({ max: 10_000 });

/** Splits and classifies a query string. Results are cached by text: the same statement costs one lookup. */
export function analyze(sql: string): Analysis {
  const hit = cache.get(sql);
  if (hit) return hit;
  const result = analyzeUncached(sql);
  cache.set(sql, result);
  return result;
}

function analyzeUncached(sql: string): Analysis {
  let parsed: { stmts?: { stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number }[] };
  try {
    parsed = parseSync(sql) as typeof parsed;
  } catch (err) {
    return { statements: [], error: err instanceof Error ? err.message : String(err) };
  }
  // Offsets from the parser are in bytes of UTF-8; slice the bytes, not the JS string.
  const bytes = Buffer.from(sql, 'utf8');
  const statements: AnalyzedStatement[] = [];
  for (const raw of parsed.stmts ?? []) {
    const stmt = raw.stmt ?? {};
    const type = Object.keys(stmt)[0];
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const text = bytes.subarray(start, end).toString('utf8').trim();
    if (!type) {
      statements.push({ sql: text, kind: 'empty', tables: [], node: {} });
      continue;
    }
    const body = (stmt[type] ?? {}) as Record<string, unknown>;
    const tables = new Set<string>();
    collectTables(body, tables, new Set());
    statements.push({ sql: text, kind: kindOf(type, body), tables: [...tables], node: stmt });
  }
  return { statements };
}
