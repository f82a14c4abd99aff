// Recording, on the way back: each statement ends with its tag and row count, its error, or the error that
// replaced a cut-off result; at ReadyForQuery the finished ones go to the recording (recording/writer.ts) and
// the session's totals (rows, bytes) grow.
import { errorResponse } from '../../pgwire/index.js';
import type { PendingStatement } from '../statement-tracker.js';
import { EMPTY } from './edits.js';
import type { SessionState } from './state.js';

/** The statement's answer is complete: its time, columns, and what it adds to the session's totals. */
export function finish(st: SessionState, s: PendingStatement): void {
  s.done = true;
  s.rec.ms = Math.round((performance.now() - s.startedAt) * 1000) / 1000;
  if (s.columnsRef.columns) s.rec.columns = s.columnsRef.columns;
  st.totals.rows += s.rec.rows ?? 0;
  st.totals.bytes += s.bytes;
}

/** The end of a statement whose result was cut off (its CommandComplete, or the cancel's error) becomes that statement's error. */
export function suppressedEnd(st: SessionState, s: PendingStatement, off: number, len: number): void {
  const { code, message } = s.suppress!;
  st.backendEdits.push({ start: off, end: off + len, bytes: errorResponse({ code, message }) });
  s.rec.error = { code, message };
  finish(st, s);
}

/** ReadyForQuery: the statements up to it are settled; the finished ones are recorded. */
export function recordSettled(st: SessionState): void {
  st.tracker.readyForQuery((s) => st.deps.recording.statement(s.rec));
}

/** The message at [off, off + len) of the backend chunk is not passed on. */
export function drop(st: SessionState, off: number, len: number): void {
  st.backendEdits.push({ start: off, end: off + len, bytes: EMPTY });
}
