// Decoders of the backend messages the gateway inspects. Offsets and lengths are the framer's.
import { MAX_CANCEL_KEY_LENGTH, MIN_CANCEL_KEY_LENGTH } from './constants.js';
import { MessageCursor, malformed } from './message-cursor.js';

export interface ErrorFields {
  /** The non-localized severity (field V) when the server sent it, else the localized one (S). */
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  [k: string]: string | undefined;
}

/** Names of the documented ErrorResponse/NoticeResponse fields; unknown codes keep their letter. */
const ERROR_FIELD_NAMES: Readonly<Record<string, string>> = {
  S: 'localizedSeverity',
  V: 'severity',
  C: 'code',
  M: 'message',
  D: 'detail',
  H: 'hint',
  P: 'position',
  p: 'internalPosition',
  q: 'internalQuery',
  W: 'where',
  s: 'schema',
  t: 'table',
  c: 'column',
  d: 'dataType',
  n: 'constraint',
  F: 'file',
  L: 'line',
  R: 'routine',
};

/** 'E' ErrorResponse / 'N' NoticeResponse from the backend. */
export function readErrorFields(buf: Buffer, offset: number, length: number): ErrorFields {
  const c = MessageCursor.open(buf, offset, length, 'EN', buf[offset] === 0x4e ? 'NoticeResponse' : 'ErrorResponse');
  const out: ErrorFields = { severity: '', code: '', message: '' };
  for (;;) {
    const code = c.byte('field code');
    if (code === 0) break;
    const letter = String.fromCharCode(code);
    // defineProperty: a server-chosen key must never reach Object.prototype through "__proto__".
    Object.defineProperty(out, ERROR_FIELD_NAMES[letter] ?? letter, {
      value: c.cstring(`field '${letter}'`),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  c.done();
  if (out.severity === '' && out.localizedSeverity !== undefined) out.severity = out.localizedSeverity;
  return out;
}

/** One field of an ErrorResponse/NoticeResponse: its code letter and its text. */
export interface ReportField {
  code: string;
  value: string;
}

/**
 * 'E' ErrorResponse / 'N' NoticeResponse: every field in the order the server sent it, unknown codes included,
 * so that a report can be rewritten field by field and built again with reportMessage().
 */
export function readReportFields(buf: Buffer, offset: number, length: number): ReportField[] {
  const c = MessageCursor.open(buf, offset, length, 'EN', buf[offset] === 0x4e ? 'NoticeResponse' : 'ErrorResponse');
  const out: ReportField[] = [];
  for (;;) {
    const code = c.byte('field code');
    if (code === 0) break;
    const letter = String.fromCharCode(code);
    out.push({ code: letter, value: c.cstring(`field '${letter}'`) });
  }
  c.done();
  return out;
}

export interface FieldDescription {
  name: string;
  /** OID of the table the column comes from, 0 when it is not a plain table column. */
  tableOid: number;
  /** Attribute number of the column in that table, 0 when none. */
  columnAttr: number;
  typeOid: number;
  /** pg_type.typlen: negative for variable-length types. */
  typeSize: number;
  typeMod: number;
  /** 0 = text, 1 = binary. */
  format: number;
}

/** 'T' RowDescription */
export function readRowDescription(buf: Buffer, offset: number, length: number): FieldDescription[] {
  const c = MessageCursor.open(buf, offset, length, 'T', 'RowDescription');
  const count = c.uint16('field count');
  // Each field is at least 19 bytes (empty name + 18 fixed): refuse a hostile count before allocating.
  if (count * 19 > c.remaining) throw malformed(c.what, `${count} fields announced but only ${c.remaining} bytes left`);
  const fields = new Array<FieldDescription>(count);
  for (let i = 0; i < count; i++) {
    fields[i] = {
      name: c.cstring('field name'),
      tableOid: c.uint32('table OID'),
      columnAttr: c.int16('column attribute number'),
      typeOid: c.uint32('type OID'),
      typeSize: c.int16('type size'),
      typeMod: c.int32('type modifier'),
      format: c.int16('format code'),
    };
  }
  c.done();
  return fields;
}

// Tags whose last word is a row count. INSERT has "INSERT oid rows"; the count is still the last word.
const COUNTED_TAGS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY', 'FETCH', 'MOVE']);

/** 'C' CommandComplete (backend; the frontend's 'C' is Close). */
export function readCommandComplete(buf: Buffer, offset: number, length: number): { tag: string; rows: number | undefined } {
  const c = MessageCursor.open(buf, offset, length, 'C', 'CommandComplete');
  const tag = c.cstring('command tag');
  c.done();
  return { tag, rows: rowsOfTag(tag) };
}

/** The row count in a command tag, or undefined for tags that carry none ("CREATE TABLE"). */
export function rowsOfTag(tag: string): number | undefined {
  const space = tag.indexOf(' ');
  if (space < 0 || !COUNTED_TAGS.has(tag.slice(0, space))) return undefined;
  const last = tag.slice(tag.lastIndexOf(' ') + 1);
  return /^\d+$/.test(last) ? Number(last) : undefined;
}

/** 'S' ParameterStatus (backend; the frontend's 'S' is Sync). */
export function readParameterStatus(buf: Buffer, offset: number, length: number): { name: string; value: string } {
  const c = MessageCursor.open(buf, offset, length, 'S', 'ParameterStatus');
  const name = c.cstring('parameter name');
  const value = c.cstring('parameter value');
  c.done();
  return { name, value };
}

/** 'K' BackendKeyData: the secret is 4 bytes in 3.0, 4 to 256 in 3.2. It is copied (kept for cancels). */
export function readBackendKeyData(buf: Buffer, offset: number, length: number): { pid: number; secret: Buffer<ArrayBuffer> } {
  const c = MessageCursor.open(buf, offset, length, 'K', 'BackendKeyData');
  const pid = c.int32('process id');
  const keyLength = c.remaining;
  if (keyLength < MIN_CANCEL_KEY_LENGTH || keyLength > MAX_CANCEL_KEY_LENGTH) {
    throw malformed(c.what, `secret key of ${keyLength} bytes (must be ${MIN_CANCEL_KEY_LENGTH} to ${MAX_CANCEL_KEY_LENGTH})`);
  }
  return { pid, secret: c.copy(keyLength, 'secret key') };
}

/** 'Z' ReadyForQuery: I idle, T in a transaction, E in a failed transaction. */
export function readReadyForQuery(buf: Buffer, offset: number, length: number): 'I' | 'T' | 'E' {
  const c = MessageCursor.open(buf, offset, length, 'Z', 'ReadyForQuery');
  const status = String.fromCharCode(c.byte('transaction status'));
  c.done();
  if (status !== 'I' && status !== 'T' && status !== 'E') {
    throw malformed(c.what, `transaction status must be 'I', 'T' or 'E', got ${JSON.stringify(status)}`);
  }
  return status;
}

export type AuthRequest =
  | { kind: 'ok' }
  | { kind: 'cleartext' }
  | { kind: 'md5'; salt: Buffer<ArrayBuffer> }
  | { kind: 'sasl'; mechanisms: string[] }
  | { kind: 'sasl-continue'; data: Buffer<ArrayBuffer> }
  | { kind: 'sasl-final'; data: Buffer<ArrayBuffer> }
  /** Kerberos (2), GSS (7, 8), SSPI (9) and anything newer. */
  | { kind: 'other'; code: number };

/** 'R' Authentication* */
export function readAuthentication(buf: Buffer, offset: number, length: number): AuthRequest {
  const c = MessageCursor.open(buf, offset, length, 'R', 'Authentication');
  const code = c.int32('authentication code');
  let req: AuthRequest;
  switch (code) {
    case 0:
      req = { kind: 'ok' };
      break;
    case 3:
      req = { kind: 'cleartext' };
      break;
    case 5:
      req = { kind: 'md5', salt: c.copy(4, 'MD5 salt') };
      break;
    case 10: {
      const mechanisms: string[] = [];
      for (;;) {
        const m = c.cstring('SASL mechanism');
        if (m === '') break;
        mechanisms.push(m);
      }
      req = { kind: 'sasl', mechanisms };
      break;
    }
    case 11:
      req = { kind: 'sasl-continue', data: c.copy(c.remaining, 'SASL data') };
      break;
    case 12:
      req = { kind: 'sasl-final', data: c.copy(c.remaining, 'SASL data') };
      break;
    default:
      // Other methods carry method-specific data we do not interpret.
      return { kind: 'other', code };
  }
  c.done();
  return req;
}

/**
 * 'v' NegotiateProtocolVersion. PostgreSQL puts the whole version (3 << 16 | minor) on the wire,
 * though the documentation speaks of the minor only; both forms are read.
 */
export function readNegotiateProtocolVersion(
  buf: Buffer,
  offset: number,
  length: number,
): { newestMinor: number; unrecognized: string[] } {
  const c = MessageCursor.open(buf, offset, length, 'v', 'NegotiateProtocolVersion');
  const version = c.int32('newest protocol version');
  const major = version >>> 16;
  if (version < 0 || (major !== 0 && major !== 3)) {
    throw malformed(c.what, `the server offers protocol ${major}.${version & 0xffff}, not a version of protocol 3`);
  }
  const newestMinor = version & 0xffff;
  const count = c.int32('unrecognized option count');
  // Each option name takes at least its NUL.
  if (count < 0 || count > c.remaining) throw malformed(c.what, `${count} options announced but only ${c.remaining} bytes left`);
  const unrecognized = new Array<string>(count);
  for (let i = 0; i < count; i++) unrecognized[i] = c.cstring('option name');
  c.done();
  return { newestMinor, unrecognized };
}

/** 'D' DataRow: the column values, null for SQL NULL; buffers are views into the message (no copy). */
export function readDataRow(buf: Buffer, offset: number, length: number): (Buffer | null)[] {
  const c = MessageCursor.open(buf, offset, length, 'D', 'DataRow');
  const count = c.uint16('column count');
  if (count * 4 > c.remaining) throw malformed(c.what, `${count} columns announced but only ${c.remaining} bytes left`);
  const values = new Array<Buffer | null>(count);
  for (let i = 0; i < count; i++) {
    const len = c.int32(`column ${i + 1} length`);
    if (len === -1) values[i] = null;
    else if (len < 0) throw malformed(c.what, `column ${i + 1} has length ${len} (only -1, for NULL, may be negative)`);
    else values[i] = c.view(len, `column ${i + 1}`);
  }
  c.done();
  return values;
}

/** 'D' DataRow: the number of columns, without decoding any value. */
export function readDataRowColumnCount(buf: Buffer, offset: number, length: number): number {
  return MessageCursor.open(buf, offset, length, 'D', 'DataRow').uint16('column count');
}
