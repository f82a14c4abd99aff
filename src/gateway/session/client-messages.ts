// Client to PostgreSQL, per message: the framer hands every whole frontend message here, and this dispatches on
// pgwire's FrontendType to one handler per message. Query is simple-query.ts; Parse, Bind and Execute are
// extended-query.ts; the bookkeeping messages (Describe, Close, Sync) and the refused FunctionCall are here;
// COPY data from the client and Flush/Terminate pass as they are.
import { FrontendType, SqlState, queryMessage, queryTextBytes, readCloseOrDescribe, readQuery, textIsUtf8, type OnMessage } from '../../pgwire/index.js';
import { GatewayError, GatewayErrorCode } from '../errors.js';
import { onBind, onExecute, onParse } from './extended-query.js';
import { POISON_SQL } from './edits.js';
import { onQuery } from './simple-query.js';
import type { SessionState } from './state.js';
import { trackStatement } from './track.js';

/** The handler the client framer calls for every message of a chunk (made once per session). */
export function clientMessageHandler(st: SessionState): OnMessage {
  return (type, buf, off, len) => onClientMessage(st, type, buf, off, len);
}

function onClientMessage(st: SessionState, type: number, buf: Buffer, off: number, len: number): void {
  switch (type) {
    case FrontendType.Query:
      return onQuery(st, readQuery(buf, off, len), off, len, textIsUtf8(buf, off, len) ? undefined : queryTextBytes(buf, off, len));
    case FrontendType.Parse:
      return onParse(st, buf, off, len);
    case FrontendType.Bind:
      return onBind(st, buf, off, len);
    case FrontendType.Describe:
      return onDescribe(st, buf, off, len);
    case FrontendType.Execute:
      return onExecute(st, buf, off, len);
    case FrontendType.Close:
      return onClose(st, buf, off, len);
    case FrontendType.Sync:
      return st.tracker.sync();
    case FrontendType.FunctionCall:
      return onFunctionCall(st, off, len);
    case FrontendType.Flush:
    case FrontendType.Terminate:
    case FrontendType.CopyData:
    case FrontendType.CopyDone:
    case FrontendType.CopyFail:
      return;
    default:
      // Bytes the gateway cannot judge are not forwarded (fail closed).
      throw new GatewayError(GatewayErrorCode.PROTOCOL, `unexpected message type 0x${type.toString(16).padStart(2, '0')} from the client`, SqlState.PROTOCOL_VIOLATION);
  }
}

/** Describe: its RowDescription (or NoData) will give the columns of that statement or portal. */
function onDescribe(st: SessionState, buf: Buffer, off: number, len: number): void {
  const d = readCloseOrDescribe(buf, off, len);
  const ref = d.target === 'S' ? st.names.statements.get(d.name)?.columnsRef : st.names.portals.get(d.name)?.columnsRef;
  st.tracker.describe(ref ?? {});
}

function onClose(st: SessionState, buf: Buffer, off: number, len: number): void {
  const c = readCloseOrDescribe(buf, off, len);
  if (c.target === 'S') st.names.statements.delete(c.name);
  else st.names.portals.delete(c.name);
}

/**
 * Fast-path function calls name a function by OID with binary arguments: no SQL to analyse, so no way to decide
 * what they do (lo_export writes server files). Refused, as a poisoned query.
 */
function onFunctionCall(st: SessionState, off: number, len: number): void {
  const denial = { rule: 'protocol', message: 'fast-path function calls are not allowed through the gateway', sqlState: SqlState.INSUFFICIENT_PRIVILEGE };
  st.clientEdits.push({ start: off, end: off + len, bytes: queryMessage(POISON_SQL) });
  trackStatement(st, '<fast-path function call>', undefined, { simple: true, denial });
  st.tracker.sync();
}
