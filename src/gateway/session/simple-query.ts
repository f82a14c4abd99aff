// Query (the simple protocol): one string of one or more statements, decided as a whole (policy
// decideStatements: one denial denies all of it, one review holds all of it), then tracked and audited statement
// by statement when it runs as sent, or as one refused or held string.
import { queryMessage } from '../../pgwire/index.js';
import { rewriteOf } from '../statement-rewrites.js';
import { textRefusal } from './chunk-analysis.js';
import { POISON_SQL } from './edits.js';
import { budgetDenial, decide, toDenial } from './decision.js';
import type { SessionState } from './state.js';
import { trackRewritten, trackStatement } from './track.js';

/** A Query message at [off, off + len) of the chunk; `invalid`: its text's bytes when they are not UTF-8. */
export function onQuery(st: SessionState, sql: string, off: number, len: number, invalid: Buffer | undefined): void {
  const text = st.analyses.take(off, sql);
  const budget = budgetDenial(st);
  const refused = budget ?? textRefusal(sql, invalid);
  // Text that is not UTF-8 is not what was analysed: none of its statements counts (nor reaches the audit).
  const stmts = invalid ? [] : text.statements;
  const verdict = decide(st, text, refused);
  if (verdict.decision !== 'deny' && stmts.some((s) => s.kind === 'ddl')) st.ddlSeen = true;
  const one = stmts.length === 1 ? stmts[0] : undefined;
  const rewrite = one && !refused ? rewriteOf(one, verdict, st.tag) : undefined;
  if (rewrite) {
    st.clientEdits.push({ start: off, end: off + len, bytes: queryMessage(rewrite.sql) });
    trackRewritten(st, sql, one!, true, rewrite);
  } else if (verdict.decision === 'deny') {
    st.clientEdits.push({ start: off, end: off + len, bytes: queryMessage(POISON_SQL) });
    trackStatement(st, sql, one, { simple: true, denial: toDenial(verdict), text, invalidText: invalid });
  } else if (verdict.decision === 'review') {
    const entry = trackStatement(st, sql, one, { simple: true, review: verdict, text });
    st.holds.push({
      held: { sql, rule: verdict.rule ?? 'review', ...(verdict.message ? { message: verdict.message } : {}) },
      entry,
      refuse: { start: off, end: off + len, bytes: queryMessage(POISON_SQL) },
      analysis: one,
    });
  } else if (stmts.length <= 1) {
    trackStatement(st, stmts[0]?.sql ?? sql, stmts[0], { simple: true });
  } else {
    for (const s of stmts) trackStatement(st, s.sql, s, { simple: true });
  }
  st.tracker.sync();
}
