// PostgreSQL to client, per message: the framer hands every whole backend message here, and this dispatches on
// pgwire's BackendType to one handler per message. Each applies the steps back in order: budget
// (result-budget.ts), masking (result-masking.ts), recording (result-recording.ts); the statement a message
// belongs to comes from the tracker (statement-tracker.ts).
import {
  BackendType, SqlState, errorResponse, noticeResponse, readCommandComplete, readParameterStatus, readReadyForQuery, type OnMessage,
} from '../../pgwire/index.js';
import { PARSER_SETTINGS } from '../../policy/index.js';
import { GatewayError, GatewayErrorCode } from '../errors.js';
import { overBudget, takeRow } from './result-budget.js';
import { describedRow, maskCopyData, maskCopyOut, maskRow, reportOf, serverReport } from './result-masking.js';
import { drop, finish, recordSettled, suppressedEnd } from './result-recording.js';
import type { SessionState } from './state.js';

/** The handler the backend framer calls for every message of a chunk (made once per session). */
export function backendMessageHandler(st: SessionState): OnMessage {
  return (type, buf, off, len) => onBackendMessage(st, type, buf, off, len);
}

function onBackendMessage(st: SessionState, type: number, buf: Buffer, off: number, len: number): void {
  // Errors, notices and COPY data carry data too: their bytes count against the budget (rows count in DataRow).
  if ((type === BackendType.ErrorResponse || type === BackendType.NoticeResponse || type === BackendType.CopyData) && st.deps.budget && overBudget(st, type, off, len)) return;
  switch (type) {
    case BackendType.DataRow:
      return onDataRow(st, buf, off, len);
    case BackendType.RowDescription:
      return onRowDescription(st, buf, off, len);
    case BackendType.NoData:
      if (st.tracker.rowDescriptionTarget()?.internal) drop(st, off, len);
      return;
    case BackendType.CopyInResponse:
      return st.tracker.copyInStarted();
    case BackendType.CopyOutResponse: {
      const s = st.tracker.current();
      if (s && st.deps.masking) maskCopyOut(st.deps.masking, s, buf.readInt16BE(off + 6));
      return;
    }
    case BackendType.CopyData: {
      const s = st.tracker.current();
      if (s?.suppress) drop(st, off, len);
      else if (s?.copy) maskCopyData(st, s, buf, off, len);
      return;
    }
    case BackendType.CopyDone:
      if (st.tracker.current()?.suppress) drop(st, off, len);
      return;
    case BackendType.NotificationResponse: {
      const rewritten = st.deps.masking?.notification(buf, off, len);
      if (rewritten) st.backendEdits.push({ start: off, end: off + len, bytes: rewritten });
      return;
    }
    case BackendType.NoticeResponse:
      if (st.deps.masking) serverReport(st, buf, off, len, st.tracker.reportTarget()?.readsMasked);
      return;
    case BackendType.ParameterStatus:
      return onParameterStatus(st, buf, off, len);
    case BackendType.ParseComplete:
      return st.tracker.stepCompleted('parse');
    case BackendType.BindComplete:
      return st.tracker.stepCompleted('bind');
    case BackendType.CommandComplete:
      return onCommandComplete(st, buf, off, len);
    case BackendType.EmptyQueryResponse:
    case BackendType.PortalSuspended:
      return onResultEnd(st, off, len);
    case BackendType.ErrorResponse:
      return onErrorResponse(st, buf, off, len);
    case BackendType.ReadyForQuery:
      recordSettled(st);
      st.names.readyForQuery(st.names.hasTransactionCursors && readReadyForQuery(buf, off, len) !== 'T');
      return;
    default:
      return;
  }
}

function onDataRow(st: SessionState, buf: Buffer, off: number, len: number): void {
  const s = st.tracker.current();
  if (!s) return;
  if (s.suppress || !takeRow(st, s, len)) return drop(st, off, len);
  const masking = st.deps.masking;
  if (masking && !maskRow(st, masking, s, buf, off, len)) return drop(st, off, len);
  s.rec.rows = (s.rec.rows ?? 0) + 1;
  s.bytes += len;
}

/** A RowDescription answers a Describe (or a simple query inline): its columns, and masking's shape for them. */
function onRowDescription(st: SessionState, buf: Buffer, off: number, len: number): void {
  const target = st.tracker.rowDescriptionTarget();
  if (!target) return;
  const described = describedRow(st, buf, off, len);
  target.ref.columns = described.columns;
  if (st.deps.masking) target.ref.shape = st.deps.masking.shape(described.fields, target.ref.analysis);
  if (target.internal) drop(st, off, len);
}

/**
 * Code the gateway cannot see (a function, a trigger) changed a setting the analyzer reads SQL with: what the
 * session sends next would no longer be read as it was decided, so the session ends (fail closed). Other
 * settings pass, withheld or scanned in a masked session.
 */
function onParameterStatus(st: SessionState, buf: Buffer, off: number, len: number): void {
  const p = readParameterStatus(buf, off, len);
  const must = PARSER_SETTINGS[p.name.toLowerCase()];
  if (must !== undefined && p.value.toLowerCase().replace(/[-_]/g, '') !== must.toLowerCase()) {
    const why = `the session's ${p.name} became ${JSON.stringify(p.value)} (set by a function or trigger): the gateway reads SQL with ${must}, so the session is ended`;
    return st.fail(new GatewayError(GatewayErrorCode.PARSER_SETTING, why, SqlState.INSUFFICIENT_PRIVILEGE));
  }
  const rewritten = st.deps.masking?.parameterStatus(buf, off, len, st.tracker.groupReadsMasked());
  if (rewritten) st.backendEdits.push({ start: off, end: off + len, bytes: rewritten });
}

function onCommandComplete(st: SessionState, buf: Buffer, off: number, len: number): void {
  const s = st.tracker.current();
  if (!s) return;
  if (s.suppress) return suppressedEnd(st, s, off, len);
  // What the gateway has to tell about the statement (a SET it ignored) comes just before its CommandComplete.
  if (s.notice) st.backendEdits.push({ start: off, end: off, bytes: noticeResponse({ severity: 'WARNING', code: SqlState.WARNING, message: s.notice }) });
  const c = readCommandComplete(buf, off, len);
  s.rec.tag = c.tag;
  if (c.rows !== undefined) s.rec.rows = c.rows;
  finish(st, s);
  s.onComplete?.();
}

/** EmptyQueryResponse or PortalSuspended: the statement's answer ends without a tag. */
function onResultEnd(st: SessionState, off: number, len: number): void {
  const s = st.tracker.current();
  if (!s) return;
  // A result cut off (budget, columns that cannot be masked) ends in an error even when the portal was only suspended.
  if (s.suppress) return suppressedEnd(st, s, off, len);
  finish(st, s);
}

function onErrorResponse(st: SessionState, buf: Buffer, off: number, len: number): void {
  // A Parse or Bind that failed: the error is about its statement, and PostgreSQL skips to Sync.
  const step = st.tracker.stepFailed();
  const s = st.tracker.current();
  if (s && !step && (s.suppress || s.denial)) {
    // The gateway's own error replaces the database's; a FATAL one still names why the session ends.
    noteFatal(st, reportOf(st, buf, off, len, true));
    if (s.suppress) return suppressedEnd(st, s, off, len);
    st.backendEdits.push({
      start: off,
      end: off + len,
      bytes: errorResponse({ code: s.denial!.sqlState, message: `denied by agentdb policy (rule ${s.denial!.rule}): ${s.denial!.message}` }),
    });
    s.rec.error = { code: s.denial!.sqlState, message: s.denial!.message };
    finish(st, s);
    return;
  }
  // Outside any statement (a FATAL of the session) the report still passes the detectors.
  const error = serverReport(st, buf, off, len, step ? step.readsMasked : s?.readsMasked);
  noteFatal(st, error);
  // The statement after a failed Parse or Bind did not run: it is recorded with that error, as PostgreSQL's answer to it.
  if (s && !s.denial && !s.suppress) {
    s.rec.error = { code: error.code, message: error.message };
    finish(st, s);
  }
}

/** PostgreSQL ends the connection after a FATAL (57P01 admin shutdown, ...): the session's end reason will name it. */
function noteFatal(st: SessionState, report: { severity: string; code: string; message: string }): void {
  if (report.severity === 'FATAL' || report.severity === 'PANIC') st.backendFatal = { code: report.code, message: report.message };
}
