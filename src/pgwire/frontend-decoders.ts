// Decoders of the frontend messages the gateway inspects. Offsets and lengths are the framer's.
import { isUtf8 } from 'node:buffer';
import { MessageCursor, malformed } from './message-cursor.js';

export interface ParseMessage {
  name: string;
  sql: string;
  /** Type OIDs the client fixed for the parameters; 0 means "let the server infer". */
  paramTypes: number[];
}

export interface BindMessage {
  portal: string;
  statement: string;
  /** 0 = text, 1 = binary; none = all text, one = applies to all parameters. */
  paramFormats: number[];
  /** null for SQL NULL. The buffers are views into the message (no copy). */
  params: (Buffer | null)[];
  resultFormats: number[];
}

/** 'Q' Query */
export function readQuery(buf: Buffer, offset: number, length: number): string {
  const c = MessageCursor.open(buf, offset, length, 'Q', 'Query');
  const sql = c.cstring('query text');
  c.done();
  return sql;
}

/** 'P' Parse */
export function readParse(buf: Buffer, offset: number, length: number): ParseMessage {
  const c = MessageCursor.open(buf, offset, length, 'P', 'Parse');
  const name = c.cstring('statement name');
  const sql = c.cstring('query text');
  const count = c.uint16('parameter type count');
  if (count * 4 > c.remaining) throw malformed(c.what, `${count} parameter types announced but only ${c.remaining} bytes left`);
  const paramTypes = new Array<number>(count);
  for (let i = 0; i < count; i++) paramTypes[i] = c.uint32('parameter type');
  c.done();
  return { name, sql, paramTypes };
}

/** 'B' Bind */
export function readBind(buf: Buffer, offset: number, length: number): BindMessage {
  const c = MessageCursor.open(buf, offset, length, 'B', 'Bind');
  const portal = c.cstring('portal name');
  const statement = c.cstring('statement name');
  const paramFormats = readFormats(c, 'parameter format');
  const count = c.uint16('parameter count');
  // Each parameter takes at least its 4-byte length: check before allocating for a hostile count.
  if (count * 4 > c.remaining) throw malformed(c.what, `${count} parameters announced but only ${c.remaining} bytes left`);
  const params = new Array<Buffer | null>(count);
  for (let i = 0; i < count; i++) {
    const len = c.int32(`parameter ${i + 1} length`);
    if (len === -1) params[i] = null;
    else if (len < 0) throw malformed(c.what, `parameter ${i + 1} has length ${len} (only -1, for NULL, may be negative)`);
    else params[i] = c.view(len, `parameter ${i + 1}`);
  }
  if (paramFormats.length > 1 && paramFormats.length !== count) {
    throw malformed(c.what, `${paramFormats.length} parameter formats for ${count} parameters (must be 0, 1 or one per parameter)`);
  }
  const resultFormats = readFormats(c, 'result format');
  c.done();
  return { portal, statement, paramFormats, params, resultFormats };
}

function readFormats(c: MessageCursor, field: string): number[] {
  const count = c.uint16(`${field} count`);
  if (count * 2 > c.remaining) throw malformed(c.what, `${count} ${field}s announced but only ${c.remaining} bytes left`);
  const formats = new Array<number>(count);
  for (let i = 0; i < count; i++) formats[i] = c.int16(field);
  return formats;
}

/** 'E' Execute (frontend; the backend's 'E' is ErrorResponse). maxRows 0 means all rows. */
export function readExecute(buf: Buffer, offset: number, length: number): { portal: string; maxRows: number } {
  const c = MessageCursor.open(buf, offset, length, 'E', 'Execute');
  const portal = c.cstring('portal name');
  const maxRows = c.int32('row limit');
  c.done();
  return { portal, maxRows };
}

/** 'C' Close or 'D' Describe (frontend): 'S' a prepared statement, 'P' a portal. */
export function readCloseOrDescribe(buf: Buffer, offset: number, length: number): { target: 'S' | 'P'; name: string } {
  const c = MessageCursor.open(buf, offset, length, 'CD', buf[offset] === 0x43 ? 'Close' : 'Describe');
  const target = c.byte('target');
  if (target !== 0x53 && target !== 0x50) {
    throw malformed(c.what, `target must be 'S' (statement) or 'P' (portal), got byte ${target}`);
  }
  const name = c.cstring('name');
  c.done();
  return { target: target === 0x53 ? 'S' : 'P', name };
}

/** 'p' read as SASLInitialResponse (the server knows it is one because it asked for SASL). */
export function readSaslInitialResponse(buf: Buffer, offset: number, length: number): { mechanism: string; data: Buffer } {
  const c = MessageCursor.open(buf, offset, length, 'p', 'SASLInitialResponse');
  const mechanism = c.cstring('SASL mechanism');
  const n = c.int32('SASL data length');
  // -1 means "no initial response", which SCRAM never sends; it reads as empty data and fails there.
  const data = n === -1 ? Buffer.alloc(0) : c.copy(n, 'SASL data');
  c.done();
  return { mechanism, data };
}

/** 'p' read as SASLResponse: the rest of the message is the mechanism's data. */
export function readSaslResponse(buf: Buffer, offset: number, length: number): Buffer {
  const c = MessageCursor.open(buf, offset, length, 'p', 'SASLResponse');
  return c.copy(c.remaining, 'SASL data');
}

/**
 * Whether the texts of a 'Q' Query or 'P' Parse (statement name and query text) are valid UTF-8, checked on the
 * bytes: the decoders replace what is not, and a PostgreSQL in a UTF8 database would refuse it. Call it on a
 * message the decoders accepted (its terminators are there).
 */
export function textIsUtf8(buf: Buffer, offset: number, length: number): boolean {
  const start = offset + 5;
  const end = buf[offset] === 0x50 ? buf.indexOf(0, buf.indexOf(0, start) + 1) : offset + length - 1;
  return end >= start && isUtf8(buf.subarray(start, end));
}

/** The query text of a 'Q' Query or 'P' Parse as the bytes that were sent (a view), for a message the decoders accepted. */
export function queryTextBytes(buf: Buffer, offset: number, length: number): Buffer {
  const start = buf[offset] === 0x50 ? buf.indexOf(0, offset + 5) + 1 : offset + 5;
  const end = buf.indexOf(0, start);
  return buf.subarray(start, end < 0 || end > offset + length ? start : end);
}
