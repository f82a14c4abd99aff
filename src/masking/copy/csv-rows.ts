// COPY ... (FORMAT csv): rows end with '\n' outside quotes, a quoted field may hold delimiters, quotes
// (doubled, or after the ESCAPE character) and newlines, and NULL is an unquoted field equal to the NULL
// string ('' by default). A field that was quoted stays quoted, so FORCE_QUOTE columns keep their look.
import type { MaskingPolicy } from '../policy.js';
import { OP_PASS, transformText, type ValueOp } from '../value-ops.js';
import { badCopyData } from './copy-row-error.js';

const NEWLINE = 0x0a;

export interface CsvSyntax {
  delimiter: number;
  quote: number;
  escape: number;
  nullText: Buffer;
}

export interface CsvRowState {
  headerPending: boolean;
}

interface Field {
  start: number;
  end: number;
  quoted: boolean;
}

export function rewriteCsvRows(payload: Buffer, ops: readonly ValueOp[], policy: MaskingPolicy, syntax: CsvSyntax, state: CsvRowState): Buffer | undefined {
  const parts: Buffer[] = [];
  let copied = 0;
  let pos = 0;
  while (pos < payload.length) {
    const { fields, next } = splitRow(payload, pos, syntax);
    pos = next;
    if (state.headerPending) {
      state.headerPending = false;
      continue;
    }
    if (fields.length !== ops.length) throw badCopyData(`a CSV row has ${fields.length} fields where ${ops.length} were announced`);
    for (let f = 0; f < fields.length; f++) {
      const op = ops[f]!;
      if (op.kind === OP_PASS) continue;
      const field = fields[f]!;
      const raw = payload.subarray(field.start, field.end);
      if (!field.quoted && raw.equals(syntax.nullText) && !op.nulls) continue;
      const out = transformText(op, field.quoted ? unquote(raw, syntax) : raw.toString('utf8'), policy);
      if (out === undefined) continue;
      parts.push(payload.subarray(copied, field.start), out === null ? nullField(syntax) : Buffer.from(encode(out, field.quoted, syntax), 'utf8'));
      copied = field.end;
    }
  }
  if (parts.length === 0) return undefined;
  parts.push(payload.subarray(copied));
  return Buffer.concat(parts);
}

function splitRow(buf: Buffer, from: number, s: CsvSyntax): { fields: Field[]; next: number } {
  const fields: Field[] = [];
  let i = from;
  let start = i;
  let quoted = false;
  let inQuotes = false;
  for (;;) {
    if (i >= buf.length) throw badCopyData(inQuotes ? 'a quoted CSV field does not end' : 'a CSV row does not end with a newline');
    const b = buf[i]!;
    if (inQuotes) {
      if (b === s.escape && s.escape !== s.quote && (buf[i + 1] === s.quote || buf[i + 1] === s.escape)) i += 2;
      else if (b === s.quote) {
        if (s.escape === s.quote && buf[i + 1] === s.quote) i += 2;
        else {
          inQuotes = false;
          i++;
        }
      } else i++;
      continue;
    }
    if (b === s.quote && i === start) {
      quoted = true;
      inQuotes = true;
      i++;
    } else if (b === s.delimiter || b === NEWLINE) {
      fields.push({ start, end: i, quoted });
      i++;
      if (b === NEWLINE) return { fields, next: i };
      start = i;
      quoted = false;
    } else i++;
  }
}

function unquote(raw: Buffer, s: CsvSyntax): string {
  const out = Buffer.allocUnsafe(raw.length);
  let w = 0;
  let inQuotes = false;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (!inQuotes) {
      if (b === s.quote) inQuotes = true;
      else out[w++] = b;
      continue;
    }
    if (b === s.escape && s.escape !== s.quote && (raw[i + 1] === s.quote || raw[i + 1] === s.escape)) out[w++] = raw[++i]!;
    else if (b === s.quote) {
      if (s.escape === s.quote && raw[i + 1] === s.quote) out[w++] = raw[++i]!;
      else inQuotes = false;
    } else out[w++] = b;
  }
  return out.toString('utf8', 0, w);
}

function encode(value: string, wasQuoted: boolean, s: CsvSyntax): string {
  const q = String.fromCharCode(s.quote);
  const e = String.fromCharCode(s.escape);
  const needs =
    wasQuoted ||
    value === s.nullText.toString('utf8') ||
    value === '\\.' ||
    value.includes(String.fromCharCode(s.delimiter)) ||
    value.includes(q) ||
    value.includes('\n') ||
    value.includes('\r');
  if (!needs) return value;
  let body = '';
  for (const ch of value) {
    if (ch === q || (ch === e && e !== q)) body += e + ch;
    else body += ch;
  }
  return q + body + q;
}

function nullField(s: CsvSyntax): Buffer {
  return s.nullText;
}
