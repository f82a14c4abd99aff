// SQL analysis with PostgreSQL's own grammar (libpg-query, the server's parser compiled to WASM): what a
// statement does and which relations it touches. A regex cannot classify SQL; the server's grammar can.
import { hasSqlDetails, loadModule, parseSync } from 'libpg-query';
import { LRUCache } from 'lru-cache';
import { analyzeStatement } from './analyze-statement.js';
import { numericLiterals, type NumericLiterals } from './numeric-template.js';
import { escapeAmbiguity, isSpace } from './sql-lexer.js';
import { PolicyError, PolicyErrorCode } from './errors.js';
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
  const hit = cache.get(sql) ?? instances.get(sql);
  if (hit) return hit;
  if (!loaded) throw new PolicyError(PolicyErrorCode.PARSER_NOT_LOADED, 'the SQL parser is not loaded yet: await loadParser() first');
  const bytes = Buffer.from(sql, 'utf8');
  const numbers = numericLiterals(bytes);
  const shared = numbers === undefined ? undefined : templates.get(numbers.template)?.instantiate(sql);
  if (shared) {
    instances.set(sql, shared);
    return shared;
  }
  const result = analyzeUncached(sql, bytes);
  const templated = numbers === undefined ? undefined : templateOf(numbers, sql, bytes, result);
  if (templated) {
    templates.set(numbers!.template, templated);
    cache.set(sql, templated.exemplar);
    return templated.exemplar;
  }
  cache.set(sql, result);
  return result;
}

/**
 * The analysis of exactly this text, never one shared with other values of its numeric literals: for callers
 * that read parse-tree locations or literal values against the text (masking redacts literals by offset).
 */
export function analyzeExact(sql: string): Analysis {
  const a = analyze(sql);
  const stmt = a.statements[0];
  if (!stmt?.template || a !== instances.get(sql)) return a;
  // Masking asks twice for the same text (the flow, then the literals' offsets): one parse serves both.
  let exact = exacts.get(sql);
  if (!exact) exacts.set(sql, (exact = analyzeUncached(sql, Buffer.from(sql, 'utf8'))));
  return exact;
}

// ---- statements that differ only in numeric literals

// `WHERE aid = 17` and `WHERE aid = 42` do the same thing; only a client that sends literals sends a new text
// each time. A template (numeric-template.ts) whose first text analysed to one statement whose meaning cannot
// depend on a number gives every later text of that template the same analysis with the text's own `sql`:
// the same `template`, the same parse tree (the first text's: its locations and literal values are that
// text's, which is why analyzeExact exists).

interface Template {
  exemplar: Analysis;
  /** the analysis of another text of the template, or undefined when its text is not cut as the first one's */
  instantiate(sql: string): Analysis | undefined;
}

const sizeOfKey = (_v: unknown, key: string) => key.length * 10 + 512;
const templates = new LRUCache<string, Template>({ max: 10_000, maxSize: 64 * 1024 * 1024, sizeCalculation: sizeOfKey });
// Analyses made from a template lately: the gateway asks for a chunk's statements before it handles them,
// and must be given the same objects again (flows are kept per statement object).
const instances = new LRUCache<string, Analysis>({ max: 1_024, maxSize: 16 * 1024 * 1024, sizeCalculation: sizeOfKey });
// Own parses of template instances that analyzeExact was asked for lately.
const exacts = new LRUCache<string, Analysis>({ max: 256, maxSize: 16 * 1024 * 1024, sizeCalculation: sizeOfKey });

// What a template may cover: statements that read or write rows. SET (its value is the literal), utility
// statements, EXPLAIN/PREPARE/DECLARE wrappers and anything unclassified are analysed per text.
const TEMPLATED_KINDS: ReadonlySet<string> = new Set(['select', 'insert', 'update', 'delete']);
// Under these a number is not a value: ORDER BY 2 and GROUP BY 2 name an output column; window and DISTINCT
// ON lists are taken in with them rather than reasoned about.
const POSITIONAL_KEYS: ReadonlySet<string> = new Set(['sortClause', 'groupClause', 'distinctClause', 'orderClause', 'partitionClause']);

function templateOf(numbers: NumericLiterals, sql: string, bytes: Buffer, result: Analysis): Template | undefined {
  const [stmt] = result.statements;
  if (result.error !== undefined || result.statements.length !== 1 || !stmt) return undefined;
  if (stmt.unclassified !== undefined || stmt.wrapper !== undefined || stmt.preparedName !== undefined) return undefined;
  if (!stmt.kinds.every((k) => TEMPLATED_KINDS.has(k)) || stmt.settings.length > 0 || stmt.resetsAll) return undefined;
  if (numberInPosition(stmt.node, false)) return undefined;
  if (!numbersAreConstants(numbers.offsets, stmt.node, bytes)) return undefined;
  // The statement's text within the string: what comes before and after it (space, comments, `;`) holds no
  // number, so it is the same in every text of the template; each instance is checked to have it too.
  const span = spans.get(stmt);
  if (!span || sql.slice(span.head, sql.length - span.tail) !== stmt.sql) return undefined;
  const head = sql.slice(0, span.head);
  const tail = sql.slice(sql.length - span.tail);
  const exemplarStmt: AnalyzedStatement = Object.freeze({ ...stmt, template: numbers.template });
  const exemplar: Analysis = Object.freeze({ statements: Object.freeze([exemplarStmt]) });
  return {
    exemplar,
    instantiate: (text) => {
      if (text.length < head.length + tail.length || !text.startsWith(head) || !text.endsWith(tail)) return undefined;
      return Object.freeze({ statements: Object.freeze([Object.freeze({ ...exemplarStmt, sql: text.slice(head.length, text.length - tail.length) })]) });
    },
  };
}

/** Where a single statement's text sits in its query string, in UTF-16 units from either end. */
const spans = new WeakMap<AnalyzedStatement, { head: number; tail: number }>();

const isNumericConst = (v: unknown): v is { location?: number } => isObject(v) && ('ival' in v || 'fval' in v);

/** Whether a numeric constant sits where a number means a position rather than a value. */
function numberInPosition(v: unknown, positional: boolean): boolean {
  if (Array.isArray(v)) return v.some((x) => numberInPosition(x, positional));
  if (!isObject(v)) return false;
  for (const key in v) {
    const child = v[key];
    if (positional && key === 'A_Const' && isNumericConst(child)) return true;
    if (typeof child === 'object' && child !== null && numberInPosition(child, positional || POSITIONAL_KEYS.has(key))) return true;
  }
  return false;
}

/**
 * Whether the numbers the lexer found are exactly the tree's numeric constants: as many, and each where a
 * constant is (a folded sign, `-5` or `- 5`, puts the constant at the sign). A text the lexer read otherwise
 * than the server did fails this, and is analysed per text.
 */
function numbersAreConstants(offsets: readonly number[], node: unknown, bytes: Buffer): boolean {
  const locations: number[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!isObject(v)) return;
    for (const key in v) {
      const child = v[key];
      if (key === 'A_Const' && isNumericConst(child)) locations.push(typeof child.location === 'number' ? child.location : -1);
      if (typeof child === 'object' && child !== null) walk(child);
    }
  };
  walk(node);
  if (locations.length !== offsets.length) return false;
  locations.sort((a, b) => a - b);
  return offsets.every((at, k) => {
    const l = locations[k]!;
    if (l < 0 || l > at) return false;
    for (let i = l; i < at; i++) if (bytes[i] !== 0x2d && bytes[i] !== 0x2b && !isSpace(bytes[i]!)) return false;
    return true;
  });
}

function analyzeUncached(sql: string, bytes: Buffer): Analysis {
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
  // A text the server could split differently after a function changed standard_conforming_strings or
  // client_encoding is analysed as nobody can vouch for: refused, whatever the rules say.
  const ambiguous = escapeAmbiguity(bytes);
  if (ambiguous) return Object.freeze({ statements: Object.freeze([Object.freeze(unclassifiedStatement(sql.trim(), ambiguous))]) });
  // Offsets from the parser are in bytes of UTF-8; slice the bytes, not the JS string.
  const statements: AnalyzedStatement[] = [];
  for (const raw of parsed.stmts ?? []) {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const cut = bytes.subarray(start, end).toString('utf8');
    const text = cut.trim();
    const node = raw.stmt ?? {};
    const wrapped = isObject(node) ? unwrap(node) : undefined;
    let stmt: AnalyzedStatement;
    if (wrapped) stmt = analyzeStatement(wrapped[0], wrapped[1], text, node);
    else if (Object.keys(node).length === 0) stmt = emptyStatement(text);
    // A shape this code does not know is not taken for an empty statement: it fails closed.
    else stmt = unclassifiedStatement(text, 'the parse tree has a shape the analyzer does not know');
    statements.push(Object.freeze(stmt));
    if (parsed.stmts?.length === 1) {
      const head = bytes.subarray(0, start).toString('utf8').length + cut.length - cut.trimStart().length;
      spans.set(stmt, { head, tail: sql.length - head - text.length });
    }
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
