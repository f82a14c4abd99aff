// Reference COPY TO writers and readers for the fuzz targets, written from PostgreSQL's documentation
// (copy.sgml, "File Formats") and not from the rewriters they check.
import type { CopyOptions } from '../../src/masking/index.js';

export type Row = (string | null)[];

const TEXT_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v' };
const TEXT_UNESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

export function writeTextRow(row: Row, o: CopyOptions): string {
  return row.map((v) => (v === null ? o.null : [...v].map((c) => TEXT_ESCAPES[c] ?? (c === o.delimiter ? '\\' + c : c)).join(''))).join(o.delimiter) + '\n';
}

/** Rows of a text-format payload; a field equal to the NULL string is null. */
export function readTextRows(payload: string, o: CopyOptions): Row[] {
  const rows: Row[] = [];
  let fields: Row = [];
  let raw = '';
  let value = '';
  for (let i = 0; i < payload.length; i++) {
    const c = payload[i]!;
    if (c === '\\' && i + 1 < payload.length) {
      const n = payload[++i]!;
      raw += c + n;
      value += TEXT_UNESCAPES[n] ?? n;
    } else if (c === o.delimiter || c === '\n') {
      fields.push(raw === o.null ? null : value);
      raw = value = '';
      if (c === '\n') {
        rows.push(fields);
        fields = [];
      }
    } else {
      raw += c;
      value += c;
    }
  }
  if (raw !== '' || fields.length > 0) throw new Error('reference: text payload does not end with a newline');
  return rows;
}

export function writeCsvRow(row: Row, o: CopyOptions, forceQuote: readonly boolean[]): string {
  return (
    row
      .map((v, i) => {
        if (v === null) return o.null;
        const needs = forceQuote[i] || v === o.null || v === '\\.' || [o.delimiter, o.quote, '\n', '\r'].some((c) => v.includes(c));
        if (!needs) return v;
        let body = '';
        for (const c of v) body += c === o.quote || (c === o.escape && o.escape !== o.quote) ? o.escape + c : c;
        return o.quote + body + o.quote;
      })
      .join(o.delimiter) + '\n'
  );
}

export function readCsvRows(payload: string, o: CopyOptions): Row[] {
  const rows: Row[] = [];
  let fields: Row = [];
  let value = '';
  let quoted = false;
  let i = 0;
  let atStart = true;
  while (i < payload.length) {
    const c = payload[i]!;
    if (atStart && c === o.quote) {
      quoted = true;
      atStart = false;
      i++;
      for (;;) {
        if (i >= payload.length) throw new Error('reference: unterminated CSV quote');
        const q = payload[i]!;
        if (q === o.escape && o.escape !== o.quote && (payload[i + 1] === o.quote || payload[i + 1] === o.escape)) {
          value += payload[i + 1];
          i += 2;
        } else if (q === o.quote && o.escape === o.quote && payload[i + 1] === o.quote) {
          value += q;
          i += 2;
        } else if (q === o.quote) {
          i++;
          break;
        } else {
          value += q;
          i++;
        }
      }
      continue;
    }
    atStart = false;
    if (c === o.delimiter || c === '\n') {
      fields.push(!quoted && value === o.null ? null : value);
      value = '';
      quoted = false;
      atStart = true;
      if (c === '\n') {
        rows.push(fields);
        fields = [];
      }
    } else value += c;
    i++;
  }
  if (!atStart || fields.length > 0) throw new Error('reference: CSV payload does not end with a newline');
  return rows;
}

export const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

export function binaryHeader(extension: Buffer): Buffer {
  const h = Buffer.alloc(19);
  BINARY_SIGNATURE.copy(h);
  h.writeUInt32BE(extension.length, 15);
  return Buffer.concat([h, extension]);
}

export function binaryTuple(values: readonly (Buffer | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([values.length >> 8, values.length & 0xff])];
  for (const v of values) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(v === null ? -1 : v.length);
    parts.push(len);
    if (v !== null) parts.push(v);
  }
  return Buffer.concat(parts);
}

export const BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** Tuples of binary payloads (the header in the first); stops at the trailer. */
export function readBinaryTuples(payloads: readonly Buffer[]): (Buffer | null)[][] {
  const all = Buffer.concat(payloads);
  let pos = 19 + all.readUInt32BE(15);
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    const count = all.readInt16BE(pos);
    pos += 2;
    if (count === -1) break;
    const row: (Buffer | null)[] = [];
    for (let f = 0; f < count; f++) {
      const len = all.readInt32BE(pos);
      pos += 4;
      if (len === -1) row.push(null);
      else {
        row.push(all.subarray(pos, pos + len));
        pos += len;
      }
    }
    rows.push(row);
  }
  if (pos !== all.length) throw new Error('reference: bytes after the binary COPY trailer');
  return rows;
}
