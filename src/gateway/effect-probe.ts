// Review by effect: a write held for the rows it would change (policy rule review:rows-over) is first run on a
// connection of its own, as the session's database user with the session's forced settings, inside a
// transaction that is always rolled back. Its CommandComplete count decides: at most the role's threshold and
// it runs at once; more, or no count at all, and a person decides, told what the probe found.
//
// Known limits (README "Review by effect"): rows written between the probe and the real run are not counted; the
// session's own uncommitted changes and the settings it changed itself are invisible to the probe; cascades
// of foreign keys are not counted. A statement whose probe could leave something behind that a rollback does
// not undo (volatile functions, nextval, column defaults, triggers, rules) is not probed but held.
import type net from 'node:net';
import { rowsOfTag, terminateMessage } from '../pgwire/index.js';
import { analyze, analyzeExact, bodyOf, isObject, list, unwrap, ROWS_OVER_RULE, type AnalyzedStatement } from '../policy/index.js';
import { applySessionSettings, connectBackend, runSimpleQuery, sqlLiteral, type BackendLogin, type BackendTarget } from './backend.js';
import type { HeldStatement, ReviewOutcome } from './session.js';

/** What the probe found: the rows the statement would change, or why they could not be counted. */
export type Effect = { rows: number } | { uncounted: string };

export interface ProbeLimits {
  /** how long the probe waits for a row lock before it gives up (and a person decides) */
  lockTimeoutMs: number;
  /** how long the probe may run */
  statementTimeoutMs: number;
}

export const DEFAULT_PROBE_LIMITS: ProbeLimits = { lockTimeoutMs: 2_000, statementTimeoutMs: 5_000 };

/** Opens a backend connection as the session's database user, with the session's forced settings applied. */
export type OpenProbeConnection = () => Promise<net.Socket>;

/** The name the probe prepares the statement under, on its own connection. */
const PROBE_NAME = 'agentdb_effect_probe';
/** How the session relays a parameter that came in binary format, or one cut for the audit log (session.ts). */
const BINARY_PARAM = /^\\x/;
const MAX_EXACT_PARAM = 64 * 1024;
const PROBED_KINDS = new Set(['update', 'delete', 'merge']);

/**
 * The gateway's review path with the probe in front: statements held by ROWS_OVER_RULE are counted first, and
 * only go to `ask` (a person) when they would change more than `rowsOver` rows or cannot be counted.
 */
export async function reviewByEffect(
  held: HeldStatement,
  rowsOver: number | undefined,
  open: OpenProbeConnection,
  ask: (held: HeldStatement) => Promise<ReviewOutcome>,
  limits: ProbeLimits = DEFAULT_PROBE_LIMITS,
): Promise<ReviewOutcome> {
  if (held.rule !== ROWS_OVER_RULE || rowsOver === undefined) return ask(held);
  const effect = await probeEffect(held, open, limits);
  if ('rows' in effect && effect.rows <= rowsOver) return { approved: true, by: `agentdb effect probe (would change ${effect.rows} rows)` };
  const found = 'rows' in effect ? `would change ${effect.rows} rows` : `rows it would change could not be counted: ${effect.uncounted}`;
  return ask({ ...held, message: held.message ? `${held.message}; ${found}` : found });
}

/** Counts the rows the held statement would change, rolled back; never throws. */
export async function probeEffect(held: HeldStatement, open: OpenProbeConnection, limits: ProbeLimits = DEFAULT_PROBE_LIMITS): Promise<Effect> {
  const plan = probePlan(held, limits);
  if ('uncounted' in plan) return plan;
  let socket: net.Socket | undefined;
  try {
    socket = await open();
    const hazard = (await runSimpleQuery(socket, hazardQuery(plan.stmt), 'the effect probe\'s catalog check')).rows[0]?.[0];
    if (hazard) return { uncounted: `${hazard}, so it is not run to count its rows` };
    const { tags } = await runSimpleQuery(socket, plan.script, 'the effect probe', false);
    const rows = rowsOfTag(tags[plan.countedTag] ?? '');
    return rows === undefined ? { uncounted: `the statement reported no row count (${tags[plan.countedTag] ?? 'nothing'})` } : { rows };
  } catch (err) {
    return { uncounted: (err as Error).message };
  } finally {
    // Closing the connection ends the transaction too: nothing the probe did survives it, whatever failed.
    if (socket && !socket.destroyed) {
      const s = socket;
      s.end(terminateMessage(), () => s.destroy());
      setTimeout(() => s.destroy(), 1000).unref();
    }
  }
}

/** Opens the probe's connection: the same login and startup parameters as the session, then its forced settings. */
export async function openProbeConnection(target: BackendTarget, login: BackendLogin, settings: Record<string, string>): Promise<net.Socket> {
  const { socket } = await connectBackend(target, login);
  try {
    await applySessionSettings(socket, settings);
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return socket;
}

interface Plan {
  stmt: AnalyzedStatement;
  /** BEGIN; SET LOCAL ...; PREPARE ...; EXECUTE ...; ROLLBACK — checked with the parser as exactly that */
  script: string;
  /** the index of EXECUTE's tag among the script's CommandCompletes */
  countedTag: number;
}

/** The script that runs the held statement in a rolled-back transaction, or why it is not run at all. */
function probePlan(held: HeldStatement, limits: ProbeLimits): Plan | { uncounted: string } {
  const analysis = analyzeExact(held.sql);
  if (analysis.error !== undefined || analysis.statements.length !== 1) {
    return { uncounted: 'only a statement sent on its own is probed, and this text holds ' + (analysis.error ? 'no statement that parses' : `${analysis.statements.length} statements`) };
  }
  const stmt = analysis.statements[0]!;
  const refusal = unprobeable(stmt) ?? paramProblem(held.params ?? []);
  if (refusal) return { uncounted: refusal };
  const args = held.params?.length ? `(${held.params.map((p) => (p === null ? 'NULL' : sqlLiteral(p))).join(', ')})` : '';
  const script = [
    'BEGIN',
    `SET LOCAL lock_timeout = ${Math.max(1, Math.round(limits.lockTimeoutMs))}`,
    `SET LOCAL statement_timeout = ${Math.max(1, Math.round(limits.statementTimeoutMs))}`,
    // A newline ends a trailing line comment of the statement before the next one starts.
    `PREPARE ${PROBE_NAME} AS ${stmt.sql}\n`,
    `EXECUTE ${PROBE_NAME}${args}`,
    'ROLLBACK',
  ].join(';\n');
  // The statement is one statement on its own; the parser confirms the script around it is what was built.
  const parts = analyze(script);
  const expected = ['transaction', 'set', 'set', stmt.kind, 'execute', 'transaction'];
  if (parts.error !== undefined || parts.statements.length !== expected.length || parts.statements.some((s, i) => s.kind !== expected[i]) || parts.statements[3]!.wrapper !== 'prepare') {
    return { uncounted: 'the statement could not be wrapped for a rolled-back run' };
  }
  return { stmt, script, countedTag: 4 };
}

/** Why running the statement to count its rows could change something a rollback leaves behind, or not count. */
function unprobeable(stmt: AnalyzedStatement): string | undefined {
  if (!PROBED_KINDS.has(stmt.kind) || stmt.wrapper !== undefined) return `only a plain UPDATE, DELETE or MERGE is counted (this is ${describeKind(stmt)})`;
  const body = unwrap(stmt.node)?.[1];
  if (!body) return 'its parse tree is not one the probe knows';
  // The CommandComplete count is the main statement's: rows changed in a WITH clause would go uncounted.
  const ctes = list(bodyOf(body.withClause, 'WithClause')?.ctes);
  if (ctes.some((c) => unwrap(bodyOf(c, 'CommonTableExpr')?.ctequery)?.[0] !== 'SelectStmt')) return 'it changes rows in a WITH clause as well';
  if (stmt.kinds.includes('insert')) return 'it inserts rows, whose column defaults (sequences) a rollback does not give back';
  if (contains(stmt.node, 'SetToDefault')) return 'it sets a column to its default, which may draw from a sequence';
  return undefined;
}

function paramProblem(params: readonly (string | null)[]): string | undefined {
  // The session hands over the parameters' audit text: exact for text-format values below the audit limit only.
  if (params.some((p) => p !== null && (BINARY_PARAM.test(p) || p.length > MAX_EXACT_PARAM))) {
    return 'a parameter was sent in binary format or is too long for the probe to repeat exactly';
  }
  return undefined;
}

/**
 * One row naming the first thing that makes the statement unsafe to run even rolled back, or no rows: a
 * relation it writes that this connection cannot resolve or that is not a table (a view's triggers and rules
 * decide what it does), a trigger or rewrite rule on a table it writes or on their partitions and children, a
 * volatile function it calls (by name in any schema: the probe cannot tell which one the call resolves to).
 */
function hazardQuery(stmt: AnalyzedStatement): string {
  const array = (items: readonly string[]) => `ARRAY[${items.map(sqlLiteral).join(', ')}]::text[]`;
  const targets = array(stmt.writes.map(quotedRelation));
  const functions = array([...new Set(stmt.functions.map((f) => f.slice(f.lastIndexOf('.') + 1)))]);
  return `WITH RECURSIVE target(name, oid) AS (
      SELECT n, pg_catalog.to_regclass(n)::oid FROM pg_catalog.unnest(${targets}) AS n
      UNION SELECT t.name, i.inhrelid FROM target t JOIN pg_catalog.pg_inherits i ON i.inhparent = t.oid)
    SELECT 'it writes ' || name || ', which the probe cannot resolve' FROM target WHERE oid IS NULL
    UNION ALL SELECT 'it writes ' || t.name || ', which is not a table' FROM target t JOIN pg_catalog.pg_class c ON c.oid = t.oid WHERE c.relkind NOT IN ('r', 'p')
    UNION ALL SELECT 'trigger ' || g.tgname || ' runs on ' || g.tgrelid::pg_catalog.regclass::text FROM target t JOIN pg_catalog.pg_trigger g ON g.tgrelid = t.oid WHERE NOT g.tgisinternal
    UNION ALL SELECT 'rule ' || w.rulename || ' rewrites writes to ' || t.name FROM target t JOIN pg_catalog.pg_rewrite w ON w.ev_class = t.oid WHERE w.ev_type <> '1'
    UNION ALL SELECT 'it calls ' || p.proname || ', which is volatile' FROM pg_catalog.pg_proc p WHERE p.provolatile = 'v' AND pg_catalog.lower(p.proname) = ANY (${functions})
    LIMIT 1`;
}

/** 'public.orders' (the analyzer's spelling, case kept) as to_regclass reads it exactly. */
function quotedRelation(name: string): string {
  const dot = name.indexOf('.');
  const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
  return dot < 0 ? ident(name) : `${ident(name.slice(0, dot))}.${ident(name.slice(dot + 1))}`;
}

function contains(node: unknown, type: string): boolean {
  if (Array.isArray(node)) return node.some((n) => contains(n, type));
  if (!isObject(node)) return false;
  for (const key in node) if (key === type || contains(node[key], type)) return true;
  return false;
}

function describeKind(stmt: AnalyzedStatement): string {
  return stmt.wrapper ? `${stmt.wrapper} of ${stmt.kind}` : stmt.kinds.join('/');
}
