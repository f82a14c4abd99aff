// Held statements: who may approve them for which database services, how long one waits, and which writes are
// held by the number of rows they would change.
import { z } from 'zod';
import type { Decision } from './compile-policy.js';
import { durationText } from './duration-text.js';
import { bodyOf, unwrap } from './parse-node.js';
import type { Role } from './roles.js';
import type { AnalyzedStatement, StatementKind } from './statement.js';

export const DEFAULT_REVIEW_TIMEOUT = '5m';

export const reviewSchema = z
  .object({
    /** database services (or '*') whose held statements people with this role may approve or deny */
    databases: z.array(z.string().min(1)).default([]),
    /** how long a statement of this role's identities waits for a decision */
    timeout: durationText.optional(),
    /**
     * UPDATE, DELETE and MERGE (also inside WITH, and INSERT ... ON CONFLICT DO UPDATE) that the rules allow are
     * held when they would change more rows than this; the gateway counts them first (effect probe)
     */
    rowsOver: z.number().int().min(0).optional(),
  })
  .strict();

/** Whether any of the roles may review held statements on the service. */
export function mayReview(roles: Readonly<Record<string, Role>>, roleNames: readonly string[], dbService: string): boolean {
  return roleNames.some((r) => roles[r]?.review?.databases.some((d) => d === '*' || d === dbService) ?? false);
}

/**
 * How long a held statement of an identity with these roles waits, in ms: the shortest timeout among its
 * roles, or 5 minutes. `parse` is the server's duration parser (the grammar durationText checks).
 */
export function reviewTimeoutFor(roles: Readonly<Record<string, Role>>, roleNames: readonly string[], parse: (d: string) => number): number {
  let ms: number | undefined;
  for (const r of roleNames) {
    const t = roles[r]?.review?.timeout;
    if (t !== undefined) ms = Math.min(ms ?? Infinity, parse(t));
  }
  return ms ?? parse(DEFAULT_REVIEW_TIMEOUT);
}

/** The rule name of a statement held for the rows it would change: the gateway probes these before asking a person. */
export const ROWS_OVER_RULE = 'review:rows-over';

/** The smallest `review.rowsOver` among the roles, or undefined when none sets one. */
export function rowsOverFor(roles: Readonly<Record<string, Role>>, roleNames: readonly string[]): number | undefined {
  let n: number | undefined;
  for (const r of roleNames) {
    const t = roles[r]?.review?.rowsOver;
    if (t !== undefined) n = Math.min(n ?? Infinity, t);
  }
  return n;
}

const CHANGES_ROWS: ReadonlySet<StatementKind> = new Set(['update', 'delete', 'merge']);

/**
 * The decision once the role's row threshold is applied: a statement the rules allow that changes existing rows
 * is held (rule ROWS_OVER_RULE) until its effect is known. Only allowed statements: holding a refused one would
 * let an automatic approval through. `WHERE CURRENT OF` changes one row at most and is left alone.
 */
export function holdByEffect(d: Decision, stmt: AnalyzedStatement, rowsOver: number | undefined): Decision {
  if (rowsOver === undefined || d.decision !== 'allow' || !stmt.kinds.some((k) => CHANGES_ROWS.has(k))) return d;
  if (changesOneRowAtMost(stmt)) return d;
  return {
    decision: 'review',
    rule: ROWS_OVER_RULE,
    message: `an UPDATE, DELETE or MERGE that changes more than ${rowsOver} rows needs a person's approval`,
  };
}

function changesOneRowAtMost(stmt: AnalyzedStatement): boolean {
  if (stmt.kinds.length !== 1 || stmt.wrapper !== undefined) return false;
  const body = bodyOf(stmt.node, stmt.kind === 'update' ? 'UpdateStmt' : 'DeleteStmt');
  return unwrap(body?.whereClause)?.[0] === 'CurrentOfExpr' && body?.withClause === undefined;
}
