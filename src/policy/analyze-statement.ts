// One top-level statement from the parse tree to an AnalyzedStatement. Wrappers that run another statement
// (EXPLAIN ANALYZE, PREPARE, DECLARE CURSOR) are decided as the statement they run.
import { FactCollector, type StatementFacts } from './fact-collector.js';
import { constantText, isObject, unwrap, type ParseObject } from './parse-node.js';
import { DML_KINDS, kindOfNode } from './statement-kind.js';
import type { AnalyzedStatement, StatementKind } from './statement.js';

export function analyzeStatement(type: string, body: ParseObject, sql: string, node: ParseObject): AnalyzedStatement {
  const inner = isObject(body.query) ? unwrap(body.query) : undefined;
  if (type === 'ExplainStmt' && inner) {
    const stmt = analyzeStatement(inner[0], inner[1], sql, node);
    return explainRuns(body.options) ? { ...stmt, wrapper: 'explain-analyze' } : planOnly(stmt);
  }
  if (type === 'PrepareStmt' && inner) {
    return { ...analyzeStatement(inner[0], inner[1], sql, node), wrapper: 'prepare', preparedName: String(body.name ?? '') };
  }
  if (type === 'DeclareCursorStmt' && inner) {
    return { ...analyzeStatement(inner[0], inner[1], sql, node), wrapper: 'declare-cursor' };
  }
  const kind = kindOfNode(type, body);
  let facts: StatementFacts;
  try {
    facts = new FactCollector().collect(type, body, kind === 'ddl' || kind === 'dcl');
  } catch (err) {
    // A tree too deep for the walker (thousands of nested parentheses) cannot be vouched for.
    const reason = err instanceof RangeError ? 'the statement is nested too deeply to analyse' : `the analyzer failed: ${(err as Error).message}`;
    return build(kind, sql, node, { ...emptyFacts(), unclassified: reason });
  }
  if (kind === 'unknown') facts.unclassified ??= `statements of type ${type} are not known to the analyzer`;
  const stmt = build(kind, sql, node, facts);
  if (type === 'ExecuteStmt' || type === 'DeallocateStmt') {
    // DEALLOCATE ALL names none
    if (typeof body.name === 'string') return { ...stmt, preparedName: body.name };
  }
  return stmt;
}

/** EXPLAIN (ANALYZE) runs the statement; ANALYZE false/off/0 does not (anything else PostgreSQL reads as true or refuses). */
function explainRuns(options: unknown): boolean {
  if (!Array.isArray(options)) return false;
  let runs = false;
  for (const o of options) {
    const w = isObject(o) ? unwrap(o) : undefined;
    if (!w || w[0] !== 'DefElem' || w[1].defname !== 'analyze') continue;
    const arg = constantText(w[1].arg);
    runs = !(typeof arg === 'string' && ['false', 'off', '0'].includes(arg.toLowerCase()));
  }
  return runs;
}

/**
 * Plain EXPLAIN plans and does not run: it is kind explain, and every relation of the inner statement counts
 * as read (the plan shows their names, sizes and indexes). Functions stay listed, because the planner does
 * evaluate immutable functions with constant arguments, and an unclassified inner statement stays refused.
 */
function planOnly(stmt: AnalyzedStatement): AnalyzedStatement {
  const reads = [...new Set([...stmt.reads, ...stmt.writes])];
  return {
    sql: stmt.sql,
    kind: 'explain',
    kinds: Object.freeze(['explain'] as StatementKind[]),
    tables: [...reads],
    reads: Object.freeze(reads),
    writes: Object.freeze([]),
    functions: stmt.functions,
    settings: Object.freeze([]),
    settingChanges: Object.freeze([]),
    resetsAll: false,
    whereless: false,
    copyProgram: false,
    copyFile: false,
    ...(stmt.unclassified ? { unclassified: stmt.unclassified } : {}),
    node: stmt.node,
  };
}

function emptyFacts(): StatementFacts {
  return {
    kinds: new Set(), reads: new Set(), writes: new Set(), functions: new Set(), settingChanges: [],
    resetsAll: false, whereless: false, copyProgram: false, copyFile: false,
  };
}

function build(topKind: StatementKind, sql: string, node: ParseObject, facts: StatementFacts): AnalyzedStatement {
  let kinds = [topKind, ...[...facts.kinds].filter((k) => k !== topKind)];
  let kind = topKind;
  // A SELECT whose CTE modifies data is that modification: the outer SELECT only shows what it returned.
  const dml = kinds.find((k) => DML_KINDS.has(k));
  if (topKind === 'select' && dml) {
    kinds = kinds.filter((k) => k !== 'select');
    kind = dml;
  }
  const reads = Object.freeze([...facts.reads]);
  const writes = Object.freeze([...facts.writes]);
  return {
    sql,
    kind,
    kinds: Object.freeze(kinds),
    tables: [...new Set([...reads, ...writes])],
    reads,
    writes,
    functions: Object.freeze([...facts.functions]),
    settings: Object.freeze([...new Set(facts.settingChanges.map((c) => c.name))]),
    settingChanges: Object.freeze(facts.settingChanges.map((c) => Object.freeze(c))),
    resetsAll: facts.resetsAll,
    whereless: facts.whereless,
    copyProgram: facts.copyProgram,
    copyFile: facts.copyFile,
    ...(facts.unclassified ? { unclassified: facts.unclassified } : {}),
    node,
  };
}
