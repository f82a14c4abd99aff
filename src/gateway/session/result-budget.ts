// Budget, on the way back: the rows and bytes of a statement's result count against the task's data budget
// (task-budget.ts; catalog-only reads do not: policy readsOnlyCatalogs). Past it, the rest of the result is not
// delivered, the statement ends in a 54000 error and the query is cancelled at the database.
import { BackendType, SqlState } from '../../pgwire/index.js';
import type { PendingStatement } from '../statement-tracker.js';
import type { TaskBudget } from '../task-budget.js';
import { drop } from './result-recording.js';
import type { SessionState } from './state.js';

/** A DataRow of `len` bytes: false when the budget is spent (the row and the rest of the result are cut off). */
export function takeRow(st: SessionState, s: PendingStatement, len: number): boolean {
  const budget = st.deps.budget;
  if (!budget || s.budgetFree || budget.take(len)) return true;
  cutOff(st, s, budget, true);
  return false;
}

/**
 * Counts an ErrorResponse, NoticeResponse or CopyData of a statement's result. Past the budget the result is cut
 * off: its error becomes the budget's and its COPY data is dropped (their own handlers do that); a notice is
 * dropped here (true: nothing more to do with it).
 */
export function overBudget(st: SessionState, type: number, off: number, len: number): boolean {
  const s = st.tracker.current();
  // Outside a statement, or the gateway's own refusal (its text replaces the database's): not a result's bytes.
  if (!s || s.denial || s.budgetFree) return false;
  if (!s.suppress) {
    if (st.deps.budget!.take(len, 0)) return false;
    cutOff(st, s, st.deps.budget!, type !== BackendType.ErrorResponse);
  }
  // A cut-off result's COPY data and error are handled by their own cases; its notices go with it.
  if (type !== BackendType.NoticeResponse) return false;
  drop(st, off, len);
  return true;
}

/** Past the budget: this message and the rest of the result are not delivered; the query is cancelled at the database. */
function cutOff(st: SessionState, s: PendingStatement, budget: TaskBudget, cancel: boolean): void {
  s.suppress = { code: SqlState.PROGRAM_LIMIT_EXCEEDED, message: `data budget of task ${st.ctx.task.id} exceeded (${budget.describe()}); the rest of the result was not delivered` };
  if (cancel) st.deps.cancelBackend();
}
