// Masking, on the way back (masked sessions): a plan per RowDescription (session-masking.ts shape ->
// masking/column-plan.ts), each DataRow and COPY row rewritten by it, and PostgreSQL's own reports (errors,
// notices) withheld or scanned. A result whose columns cannot be established is refused, never passed unmasked.
import { SqlState, copyOutData, readErrorFields, readRowDescription, type FieldDescription } from '../../pgwire/index.js';
import type { MaskedReads } from '../../masking/index.js';
import type { PendingStatement } from '../statement-tracker.js';
import type { SessionMasking } from '../session-masking.js';
import type { SessionState } from './state.js';

export interface DescribedRow {
  fields: readonly FieldDescription[];
  /** the column names the recording keeps (shared and frozen) */
  columns: readonly string[];
}

/** RowDescriptions a session keeps; a session of ever new result shapes starts over past this. */
const MAX_DESCRIBED = 256;

/**
 * A RowDescription's fields: a statement run again gets the very same (frozen) arrays back for the same
 * bytes, so what is derived from them (column names, masking shapes) is worked out once.
 */
export function describedRow(st: SessionState, buf: Buffer, off: number, len: number): DescribedRow {
  const key = buf.toString('latin1', off, off + len);
  let d = st.described.get(key);
  if (!d) {
    const fields = Object.freeze(readRowDescription(buf, off, len));
    d = { fields, columns: Object.freeze(fields.map((f) => f.name)) };
    if (st.described.size >= MAX_DESCRIBED) st.described.clear();
    st.described.set(key, d);
  }
  return d;
}

/** A DataRow of a masked session: rewritten by its statement's plan; false when the result is refused (the row is dropped). */
export function maskRow(st: SessionState, masking: SessionMasking, s: PendingStatement, buf: Buffer, off: number, len: number): boolean {
  const plan = (s.rowPlan ??= rowPlanFor(s, masking));
  if (!plan) return false;
  const rewritten = masking.rewriteRow(buf, off, len, plan);
  if (rewritten) st.backendEdits.push({ start: off, end: off + len, bytes: rewritten });
  return true;
}

/** The masking plan for a statement's rows; undefined when its columns cannot be established (the result is then refused). */
function rowPlanFor(s: PendingStatement, masking: SessionMasking) {
  const shape = s.columnsRef.shape;
  if (shape?.refusal || !shape?.plan) {
    s.suppress = maskingRefusal(shape?.refusal ?? 'the columns of this result could not be established, so it is not delivered');
    return undefined;
  }
  return masking.rowPlan(shape, s.formats ?? []);
}

/** CopyOutResponse: how the COPY's rows are rewritten, or the COPY refused. */
export function maskCopyOut(masking: SessionMasking, s: PendingStatement, columns: number): void {
  const copy = masking.copyOut(s.columnsRef.analysis, columns);
  if ('refusal' in copy) s.suppress = maskingRefusal(copy.refusal);
  else if (!copy.passThrough) s.copy = copy;
}

/** A CopyData of a COPY ... TO STDOUT being rewritten. */
export function maskCopyData(st: SessionState, s: PendingStatement, buf: Buffer, off: number, len: number): void {
  const payload = s.copy!.rewrite(buf.subarray(off + 5, off + len));
  if (payload) st.backendEdits.push({ start: off, end: off + len, bytes: copyOutData(payload) });
}

export interface ServerReport {
  severity: string;
  code: string;
  message: string;
  /** the report as the client may see it, when masking changed it */
  rewritten?: Buffer | undefined;
}

/**
 * An ErrorResponse or NoticeResponse from PostgreSQL, as the session may pass it on: in a masked session its
 * texts are withheld when its statement read masked data (`withhold`; unknown counts as yes), else scanned by
 * the detectors. What is left of it goes to the recording (and, for a FATAL, into the session's end reason).
 */
export function reportOf(st: SessionState, buf: Buffer, off: number, len: number, withhold: MaskedReads | undefined): ServerReport {
  const masking = st.deps.masking;
  if (!masking) {
    const f = readErrorFields(buf, off, len);
    return { severity: f.severity, code: f.code, message: f.message };
  }
  return masking.report(buf, off, len, withhold ?? false);
}

/** The report passed on as reportOf says (rewritten in place when masking changed it). */
export function serverReport(st: SessionState, buf: Buffer, off: number, len: number, withhold: MaskedReads | undefined): ServerReport {
  const r = reportOf(st, buf, off, len, withhold);
  if (r.rewritten) st.backendEdits.push({ start: off, end: off + len, bytes: r.rewritten });
  return r;
}

/** A result masking refuses once its columns arrive: worded as every other policy denial, so clients can name the rule. */
export function maskingRefusal(why: string): { code: string; message: string } {
  return { code: SqlState.INSUFFICIENT_PRIVILEGE, message: `denied by agentdb policy (rule masking): ${why}` };
}
