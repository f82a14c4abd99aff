// The decision, as the session asks for it: policy's one merge (decideStatements) with the session's inputs —
// the role's rules, review-by-effect, the names the session knows, masking's refusal — and, for a whole Query
// string, the task's budget. What the merge answers becomes a Denial when the statement is refused.
import { SqlState } from '../../pgwire/index.js';
import { decideStatements, type Analysis, type Refusal, type StatementInputs } from '../../policy/index.js';
import type { Denial } from '../statement-tracker.js';
import type { SessionState } from './state.js';
import type { StatementDecision } from './types.js';

/** The merge's inputs for this session, made once. */
export function decisionInputs(st: Pick<SessionState, 'ctx' | 'deps' | 'names'>): StatementInputs {
  const { ctx, deps, names } = st;
  const masking = deps.masking;
  return {
    decide: (stmt) => deps.decide(ctx, stmt),
    rowsOver: deps.rowsOver,
    prepared: (name) => names.prepared(name),
    ...(masking ? { maskingRefusal: (stmt) => masking.refusal(stmt) } : {}),
  };
}

/** The decision on a text's statements; `refused` refuses all of it first (budget, text not analysed, protocol). */
export function decide(st: SessionState, analysis: Analysis, refused?: Refusal): StatementDecision {
  return decideStatements(analysis, st.inputs, refused);
}

/** A spent task budget refuses everything that follows in the session. */
export function budgetDenial(st: SessionState): Denial | undefined {
  const b = st.deps.budget;
  return b?.spent ? { rule: 'budget', message: `the data budget of task ${st.ctx.task.id} is spent (${b.describe()})`, sqlState: SqlState.INSUFFICIENT_PRIVILEGE } : undefined;
}

export function toDenial(d: StatementDecision): Denial {
  return { rule: d.rule ?? 'policy', message: d.message ?? 'denied by policy', sqlState: d.sqlState ?? SqlState.INSUFFICIENT_PRIVILEGE };
}
