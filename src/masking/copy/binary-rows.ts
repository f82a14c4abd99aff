// COPY ... (FORMAT binary): an 11-byte signature, flags and a header extension, then tuples (int16 field
// count, int32 length or -1 for NULL, bytes) and a trailer of -1. PostgreSQL sends the header with the
// first row and one tuple per CopyData message; a tuple split across messages is refused, not guessed at.
import type { MaskingPolicy } from '../policy.js';
import { OP_PASS, transformText, type ValueOp } from '../value-ops.js';
import { badCopyData } from './copy-row-error.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const JSONB_VERSION = 1;

export interface BinaryRowState {
  headerDone: boolean;
  ended: boolean;
}

export function rewriteBinaryRows(
  payload: Buffer,
  ops: readonly ValueOp[],
  jsonb: readonly boolean[],
  policy: MaskingPolicy,
  state: BinaryRowState,
): Buffer | undefined {
  let pos = 0;
  if (!state.headerDone) {
    if (payload.length < 19 || !payload.subarray(0, 11).equals(SIGNATURE)) throw badCopyData('the binary COPY header is missing');
    const extension = payload.readUInt32BE(15);
    pos = 19 + extension;
    if (pos > payload.length) throw badCopyData('the binary COPY header is cut short');
    state.headerDone = true;
  }
  const parts: Buffer[] = [];
  let copied = 0;
  while (pos < payload.length) {
    if (state.ended) throw badCopyData('data after the binary COPY trailer');
    if (pos + 2 > payload.length) throw badCopyData('a tuple is split across messages');
    const count = payload.readInt16BE(pos);
    pos += 2;
    if (count === -1) {
      state.ended = true;
      continue;
    }
    if (count !== ops.length) throw badCopyData(`a tuple has ${count} fields where ${ops.length} were announced`);
    for (let f = 0; f < count; f++) {
      if (pos + 4 > payload.length) throw badCopyData('a tuple is split across messages');
      const len = payload.readInt32BE(pos);
      const valueStart = pos + 4;
      if (len < -1 || valueStart + Math.max(len, 0) > payload.length) throw badCopyData(`field ${f + 1} has length ${len}`);
      const op = ops[f]!;
      const fieldEnd = valueStart + Math.max(len, 0);
      if ((op.kind !== OP_PASS && len >= 0) || (len === -1 && op.nulls)) {
        const replacement = rewriteField(payload, valueStart, len, op, jsonb[f] === true, policy);
        if (replacement) {
          parts.push(payload.subarray(copied, pos), replacement);
          copied = fieldEnd;
        }
      }
      pos = fieldEnd;
    }
  }
  if (parts.length === 0) return undefined;
  parts.push(payload.subarray(copied));
  return Buffer.concat(parts);
}

/** The field's new length word and bytes, or undefined when unchanged. */
function rewriteField(buf: Buffer, start: number, len: number, op: ValueOp, jsonb: boolean, policy: MaskingPolicy): Buffer | undefined {
  let out: string | null | undefined;
  if (len < 0) out = transformText(op, '', policy);
  else if (jsonb && (len === 0 || buf[start] !== JSONB_VERSION)) out = null;
  else out = transformText(op, buf.toString('utf8', jsonb ? start + 1 : start, start + len), policy);
  if (out === undefined) return undefined;
  if (out === null) {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(-1, 0);
    return b;
  }
  const prefix = jsonb ? 1 : 0;
  const size = Buffer.byteLength(out, 'utf8') + prefix;
  const b = Buffer.allocUnsafe(4 + size);
  b.writeInt32BE(size, 0);
  if (jsonb) b[4] = JSONB_VERSION;
  b.write(out, 4 + prefix, 'utf8');
  return b;
}
