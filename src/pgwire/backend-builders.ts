// Builders of backend messages: what the gateway itself says to a PostgreSQL client.
import { BackendType } from './constants.js';
import { checkCancelKey, checkPid } from './cancel-key.js';
import { PgwireError, PgwireErrorCode } from './errors.js';
import { MessageWriter, cstringSize } from './message-writer.js';
import type { FieldDescription, ReportField } from './backend-decoders.js';

export interface ReportFields {
  /** ERROR, FATAL or PANIC for errors; WARNING, NOTICE, DEBUG, INFO or LOG for notices. */
  severity?: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** 'E' ErrorResponse; severity defaults to ERROR (use FATAL when the connection ends after it). */
export function errorResponse(f: ReportFields): Buffer {
  return report(BackendType.ErrorResponse, f, 'ERROR');
}

/** 'N' NoticeResponse; severity defaults to NOTICE. */
export function noticeResponse(f: ReportFields): Buffer {
  return report(BackendType.NoticeResponse, f, 'NOTICE');
}

function report(type: number, f: ReportFields, defaultSeverity: string): Buffer {
  const severity = f.severity ?? defaultSeverity;
  // S (localized) and V (never localized) get the same text: the gateway does not translate.
  const fields: [number, string | undefined][] = [
    [0x53, severity],
    [0x56, severity],
    [0x43, f.code],
    [0x4d, f.message],
    [0x44, f.detail],
    [0x48, f.hint],
  ];
  let size = 1;
  for (const [, v] of fields) if (v !== undefined) size += 1 + cstringSize(textOf(v));
  const w = new MessageWriter(type, size);
  for (const [code, v] of fields) if (v !== undefined) w.byte(code).cstring(textOf(v), 'report field');
  return w.byte(0).finish();
}

/** 'E' ErrorResponse or 'N' NoticeResponse from a field list, in its order: a server's report, rewritten. */
export function reportMessage(type: 'E' | 'N', fields: readonly ReportField[]): Buffer {
  let size = 1;
  for (const f of fields) size += 1 + cstringSize(textOf(f.value));
  const w = new MessageWriter(type === 'E' ? BackendType.ErrorResponse : BackendType.NoticeResponse, size);
  for (const f of fields) {
    const code = f.code.charCodeAt(0);
    if (f.code.length !== 1 || code === 0 || code > 0x7f) throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, `report field code must be one ASCII letter, got ${JSON.stringify(f.code)}`);
    w.byte(code).cstring(textOf(f.value), 'report field');
  }
  return w.byte(0).finish();
}

// An error report must never fail to be built (it is how failures get told), and its texts often quote
// what a client sent, so a NUL there is replaced instead of refused.
function textOf(v: string): string {
  return v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v;
}

const AUTH_OK = Buffer.from([BackendType.Authentication, 0, 0, 0, 8, 0, 0, 0, 0]);

/** 'R' AuthenticationOk */
export function authenticationOk(): Buffer {
  return Buffer.from(AUTH_OK);
}

/** 'R' AuthenticationSASL: the mechanisms the server offers (e.g. SCRAM-SHA-256). */
export function authenticationSasl(mechanisms: readonly string[]): Buffer {
  let size = 4 + 1;
  for (const m of mechanisms) size += cstringSize(m);
  const w = new MessageWriter(BackendType.Authentication, size).int32(10);
  for (const m of mechanisms) w.cstring(m, 'SASL mechanism');
  return w.byte(0).finish();
}

/** 'R' AuthenticationSASLContinue: the mechanism's challenge (SCRAM's server-first-message). */
export function authenticationSaslContinue(data: Buffer): Buffer {
  return new MessageWriter(BackendType.Authentication, 4 + data.length).int32(11).bytes(data).finish();
}

/** 'R' AuthenticationSASLFinal: the mechanism's outcome (SCRAM's server-final-message). */
export function authenticationSaslFinal(data: Buffer): Buffer {
  return new MessageWriter(BackendType.Authentication, 4 + data.length).int32(12).bytes(data).finish();
}

/** 'S' ParameterStatus */
export function parameterStatus(name: string, value: string): Buffer {
  return new MessageWriter(BackendType.ParameterStatus, cstringSize(name) + cstringSize(value))
    .cstring(name, 'parameter name')
    .cstring(value, 'parameter value')
    .finish();
}

/** 'K' BackendKeyData: a 4-byte secret for protocol 3.0 clients, up to 256 bytes for 3.2. */
export function backendKeyData(pid: number, secret: Buffer): Buffer {
  checkPid(pid);
  checkCancelKey(secret);
  return new MessageWriter(BackendType.BackendKeyData, 4 + secret.length).int32(pid).bytes(secret).finish();
}

/** 'Z' ReadyForQuery */
export function readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  if (status !== 'I' && status !== 'T' && status !== 'E') {
    throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, `transaction status must be 'I', 'T' or 'E', got ${JSON.stringify(status)}`);
  }
  return Buffer.from([BackendType.ReadyForQuery, 0, 0, 0, 5, status.charCodeAt(0)]);
}

/**
 * 'v' NegotiateProtocolVersion: the newest minor we speak and the _pq_. options we did not recognise.
 * Written as the whole version (3 << 16 | minor), as PostgreSQL does: libpq compares it with the
 * version it asked for and refuses a bare minor as "older than 3.0".
 */
export function negotiateProtocolVersion(newestMinor: number, unrecognized: string[]): Buffer {
  if (!Number.isInteger(newestMinor) || newestMinor < 0 || newestMinor > 0xffff) {
    throw new PgwireError(PgwireErrorCode.BAD_ARGUMENT, `newest minor protocol version must be 0 to 65535, got ${newestMinor}`);
  }
  let size = 8;
  for (const name of unrecognized) size += cstringSize(name);
  const w = new MessageWriter(BackendType.NegotiateProtocolVersion, size).int32((3 << 16) | newestMinor).int32(unrecognized.length);
  for (const name of unrecognized) w.cstring(name, 'protocol option name');
  return w.finish();
}

/** 'T' RowDescription */
export function rowDescription(fields: readonly FieldDescription[]): Buffer {
  let size = 2;
  for (const f of fields) size += cstringSize(f.name) + 18;
  const w = new MessageWriter(BackendType.RowDescription, size).int16(fields.length);
  for (const f of fields) {
    w.cstring(f.name, 'field name')
      .int32(f.tableOid | 0)
      .int16(f.columnAttr)
      .int32(f.typeOid | 0)
      .int16(f.typeSize)
      .int32(f.typeMod)
      .int16(f.format);
  }
  return w.finish();
}

/** 'D' DataRow: null for SQL NULL, otherwise the value's bytes in the column's format. */
export function dataRow(values: readonly (Buffer | null)[]): Buffer {
  let size = 2;
  for (const v of values) size += 4 + (v === null ? 0 : v.length);
  const w = new MessageWriter(BackendType.DataRow, size).int16(values.length);
  for (const v of values) {
    if (v === null) w.int32(-1);
    else w.int32(v.length).bytes(v);
  }
  return w.finish();
}

/** 'd' CopyData (from the server): one COPY ... TO STDOUT payload. */
export function copyOutData(payload: Buffer): Buffer {
  return new MessageWriter(BackendType.CopyData, payload.length).bytes(payload).finish();
}

/** 'C' CommandComplete, e.g. "SELECT 3". */
export function commandComplete(tag: string): Buffer {
  return new MessageWriter(BackendType.CommandComplete, cstringSize(tag)).cstring(tag, 'command tag').finish();
}

/** Answers to SSLRequest/GSSENCRequest: a single byte, not a typed message. */
export const SSL_ACCEPT: Buffer = Buffer.from('S');
export const SSL_REFUSE: Buffer = Buffer.from('N');
