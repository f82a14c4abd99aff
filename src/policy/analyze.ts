// SQL analysis with PostgreSQL's own grammar (libpg-query, the server's parser compiled to WASM): what a
// statement does and which relations it touches. A regex cannot classify SQL; the server's grammar can.
import { hasSqlDetails, loadModule, parseSync } from 'libpg-query';
import { LRUCache } from 'lru-cache';
import { analyzeStatement } from './analyze-statement.js';
import { PolicyError } from './errors.js';
import { isObject, unwrap } from './parse-node.js';
import type { Analysis, AnalyzedStatement } from './statement.js';

let ready: Promise<void> | undefined;
let loaded = false;

/** The WASM parser loads once per process; call before the first analyze(). */
export function loadParser(): Promise<void> {
  ready ??= loadModule().then(() => {
    loaded = true;
  });
  return ready;
}

// Keyed by the exact text: the same statement costs one lookup. Bounded by size as well as count, since the
// parse tree of one large INSERT can be megabytes; the tree is roughly ten times the text.
const cache = new LRUCache<string, Analysis>({
  max: 10_000,
  maxSize: 256 * 1024 * 1024,
  sizeCalculation: (_v, sql) => sql.length * 10 + 512,
});

/** Splits and classifies a query string. Results are cached by text and shared: treat them as read-only. */
export function analyze(sql: string): Analysis {
  const hit = cache.get(sql);
  if (hit) return hit;
  if (!loaded) throw new PolicyError('AGENTDB_ERR_POLICY_PARSER_NOT_LOADED', 'the SQL parser is not loaded yet: await loadParser() first');
  const result = analyzeUncached(sql);
  cache.set(sql, result);
  return result;
}

function analyzeUncached(sql: string): Analysis {
  // The parser refuses an empty string; PostgreSQL answers it with EmptyQueryResponse and runs nothing.
  if (sql.trim() === '') return Object.freeze({ statements: Object.freeze([]) });
  let parsed: { stmts?: { stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number }[] };
  try {
    parsed = parseSync(sql) as typeof parsed;
  } catch (err) {
    // A syntax error is PostgreSQL's own verdict. Anything else (a tree too deep for the parser's output) is
    // not: the server may well run the text, so it becomes one statement nobody can vouch for.
    if (hasSqlDetails(err)) return Object.freeze({ statements: Object.freeze([]), error: err.message });
    const reason = err instanceof RangeError ? 'the statement is nested too deeply to analyse' : `the parser failed: ${String(err)}`;
    return Object.freeze({ statements: Object.freeze([Object.freeze(unclassifiedStatement(sql.trim(), reason))]) });
  }
  // Offsets from the parser are in bytes of UTF-8; slice the bytes, not the JS string.
  const bytes = Buffer.from(sql, 'utf8');
  const statements: AnalyzedStatement[] = [];
  for (const raw of parsed.stmts ?? []) {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const text = bytes.subarray(start, end).toString('utf8').trim();
    const node = raw.stmt ?? {};
    const wrapped = isObject(node) ? unwrap(node) : undefined;
    let stmt: AnalyzedStatement;
    if (wrapped) stmt = analyzeStatement(wrapped[0], wrapped[1], text, node);
    else if (Object.keys(node).length === 0) stmt = emptyStatement(text);
    // A shape this code does not know is not taken for an empty statement: it fails closed.
    else stmt = unclassifiedStatement(text, 'the parse tree has a shape the analyzer does not know');
    statements.push(Object.freeze(stmt));
  }
  return Object.freeze({ statements: Object.freeze(statements) });
}

function emptyStatement(sql: string): AnalyzedStatement {
  return bareStatement(sql, 'empty');
}

function unclassifiedStatement(sql: string, reason: string): AnalyzedStatement {
  return { ...bareStatement(sql, 'unknown'), unclassified: reason };
}

function bareStatement(sql: string, kind: 'empty' | 'unknown'): AnalyzedStatement {
  const none = Object.freeze([]);
  return {
    sql, kind, kinds: Object.freeze([kind]), tables: [], reads: none, writes: none, functions: none,
    settings: none, settingChanges: none, resetsAll: false, whereless: false, copyProgram: false, copyFile: false, node: {},
  };
}
