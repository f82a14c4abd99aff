// COPY ... (FORMAT text): rows end with '\n', fields are split by a one-byte delimiter, NULL is a fixed string
// (\N), and backslash escapes stand for the delimiter, newlines, tabs and backslashes in values.
import type { MaskingPolicy } from '../policy.js';
import { OP_PASS, transformText, type ValueOp } from '../value-ops.js';
import { badCopyData } from './copy-row-error.js';

const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

export interface TextRowState {
  /** the header line has not gone by yet */
  headerPending: boolean;
}

export function rewriteTextRows(
  payload: Buffer,
  ops: readonly ValueOp[],
  policy: MaskingPolicy,
  delimiter: number,
  nullText: Buffer,
  state: TextRowState,
): Buffer | undefined {
  const parts: Buffer[] = [];
  let copied = 0;
  let pos = 0;
  while (pos < payload.length) {
    const fields: number[] = [pos];
    let i = pos;
    for (;;) {
      if (i >= payload.length) throw badCopyData('a row does not end with a newline');
      const b = payload[i]!;
      if (b === BACKSLASH) i += 2;
      else if (b === delimiter) fields.push(++i);
      else if (b === NEWLINE) break;
      else i++;
    }
    const rowEnd = i + 1;
    fields.push(rowEnd);
    pos = rowEnd;
    if (state.headerPending) {
      state.headerPending = false;
      continue;
    }
    const count = fields.length - 1;
    if (count !== ops.length) throw badCopyData(`a row has ${count} fields where ${ops.length} were announced`);
    for (let f = 0; f < count; f++) {
      const op = ops[f]!;
      if (op.kind === OP_PASS) continue;
      const start = fields[f]!;
      const end = fields[f + 1]! - 1;
      const raw = payload.subarray(start, end);
      if (raw.equals(nullText) && !op.nulls) continue;
      const out = transformText(op, unescape(raw), policy);
      if (out === undefined) continue;
      parts.push(payload.subarray(copied, start), out === null ? nullText : Buffer.from(escape(out, delimiter), 'utf8'));
      copied = end;
    }
  }
  if (parts.length === 0) return undefined;
  parts.push(payload.subarray(copied));
  return Buffer.concat(parts);
}

const ESCAPES: Readonly<Record<number, number>> = { 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9, 0x76: 11 };

function unescape(raw: Buffer): string {
  if (!raw.includes(BACKSLASH)) return raw.toString('utf8');
  const out = Buffer.allocUnsafe(raw.length);
  let w = 0;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b !== BACKSLASH || i + 1 >= raw.length) {
      out[w++] = b;
      continue;
    }
    const c = raw[++i]!;
    if (c >= 0x30 && c <= 0x37) {
      // \ooo: one to three octal digits
      let v = c - 0x30;
      for (let k = 0; k < 2 && i + 1 < raw.length && raw[i + 1]! >= 0x30 && raw[i + 1]! <= 0x37; k++) v = v * 8 + (raw[++i]! - 0x30);
      out[w++] = v & 0xff;
    } else if (c === 0x78 && i + 1 < raw.length && isHex(raw[i + 1]!)) {
      // \xhh: one or two hex digits
      let v = hexValue(raw[++i]!);
      if (i + 1 < raw.length && isHex(raw[i + 1]!)) v = v * 16 + hexValue(raw[++i]!);
      out[w++] = v;
    } else out[w++] = ESCAPES[c] ?? c;
  }
  return out.toString('utf8', 0, w);
}

/** As PostgreSQL's CopyAttributeOutText writes a value: control characters, backslash and the delimiter escaped. */
function escape(value: string, delimiter: number): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let rep: string | undefined;
    if (c === BACKSLASH) rep = '\\\\';
    else if (c === 10) rep = '\\n';
    else if (c === 13) rep = '\\r';
    else if (c === 9) rep = '\\t';
    else if (c === 8) rep = '\\b';
    else if (c === 12) rep = '\\f';
    else if (c === 11) rep = '\\v';
    else if (c === delimiter) rep = '\\' + value[i];
    if (rep === undefined) continue;
    out += value.slice(from, i) + rep;
    from = i + 1;
  }
  return from === 0 ? value : out + value.slice(from);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function hexValue(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
}
