// A decided statement becomes two things: an entry in the tracker, which pairs it with PostgreSQL's answer
// (statement-tracker.ts), and an audit event, queued with the chunk and stored before the chunk is forwarded
// (forward.ts). In a masked session neither keeps a masked value, not even as a literal guessed at it.
import { readsOnlyCatalogs, type Analysis, type AnalyzedStatement } from '../../policy/index.js';
import { nameEffect } from '../sql-names.js';
import type { Rewrite } from '../statement-rewrites.js';
import type { ColumnsRef, Denial, PendingStatement } from '../statement-tracker.js';
import type { SessionState } from './state.js';
import type { StatementDecision } from './types.js';

/** How a statement is tracked: its parameters, where its columns go, and the decision made on it. */
export interface TrackedAs {
  params?: (string | null)[] | undefined;
  /** what the result's columns are attached to (a portal's, a prepared statement's); a fresh one if not given */
  columnsRef?: ColumnsRef;
  /** simple protocol: the RowDescription comes inline */
  simple?: boolean;
  denial?: Denial | undefined;
  review?: StatementDecision;
  /** the whole text's analysis, when the statement tracked is not one of its statements (a refused string) */
  text?: Analysis;
  /** the text's own bytes when they are not valid UTF-8 (kept in the audit event) */
  invalidText?: Buffer | undefined;
  /** an allowed statement the gateway answered its own way (a rewrite): the rule and why, for the audit log */
  note?: { rule: string; message: string };
}

/** The statement fields of an audit event. */
export function statementFields(sql: string, analysis: AnalyzedStatement | undefined, params: (string | null)[] | undefined) {
  return { sql, ...(params && params.length ? { params } : {}), kind: analysis?.kind ?? 'unknown', tables: analysis?.tables ?? [] };
}

/** Queues a statement for its answer and its audit event (written before the chunk is forwarded). */
export function trackStatement(st: SessionState, sql: string, analysis: AnalyzedStatement | undefined, how: TrackedAs): PendingStatement {
  const { columnsRef = {}, simple = false, denial, review, invalidText, note } = how;
  let params = how.params;
  const decision = denial ? 'deny' : review ? 'review' : 'allow';
  const rule = denial?.rule ?? review?.rule ?? note?.rule;
  const masking = st.deps.masking;
  const text = sql;
  if (masking) {
    const all = analysis ? undefined : how.text;
    sql = all && !all.error && all.statements.length > 1 ? masking.auditQuery(sql, all.statements) : masking.auditSql(analysis, sql);
    if (params) params = masking.auditParams(analysis, params);
    if (simple) columnsRef.analysis = analysis;
  }
  const entry = st.tracker.statement({
    rec: { t: st.elapsed(), sql, ms: 0, ...(params && params.length ? { params } : {}), decision, ...(rule ? { rule } : {}) },
    startedAt: performance.now(),
    columnsRef,
    simple,
    ...(denial ? { denial } : {}),
    ...(masking && !denial ? { readsMasked: masking.readsMasked(analysis) } : {}),
    ...(st.deps.budget && analysis && readsOnlyCatalogs(analysis) ? { budgetFree: true } : {}),
  });
  const effect = !denial && analysis ? nameEffect(analysis) : undefined;
  if (effect) st.names.follow(entry, effect, text, analysis!, review);
  st.totals.statements++;
  if (denial) st.totals.denied++;
  st.events.push({
    ...st.stamp,
    type: denial ? 'db.session.denied' : review ? 'db.session.review' : 'db.session.query',
    statement: { ...statementFields(sql, analysis, params), decision, ...(rule ? { rule } : {}) },
    ...(denial ? { message: denial.message } : review?.message ? { message: review.message } : note ? { message: note.message } : {}),
    // Text that is not UTF-8 shows as U+FFFD in `sql`: the bytes that were sent are kept as they are.
    ...(invalidText ? { details: { sqlEncoding: 'invalid-utf8', sqlBase64: (masking ? masking.auditBytes(invalidText) : invalidText).toString('base64') } } : {}),
  });
  return entry;
}

/** A rewritten statement: audited as the client sent it (allowed, with the rewrite's rule), answered as the gateway ran it. */
export function trackRewritten(st: SessionState, sql: string, analysis: AnalyzedStatement, simple: boolean, rewrite: Rewrite): void {
  const entry = trackStatement(st, sql, analysis, { simple, note: { rule: rewrite.rule, message: rewrite.message } });
  if (rewrite.notice) entry.notice = rewrite.notice;
}
