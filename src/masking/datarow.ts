// DataRow rewriting on the hot path. A row is decoded only as far as its plan needs: pass columns are skipped
// by their length, and a row where nothing changed is returned as undefined so the gateway forwards the bytes
// it received. A changed row costs one allocation: the new values are measured first and written in place,
// and a fixed replacement (redact, NULL) is written without decoding the value it replaces.
import type { ColumnPlan } from './column-plan.js';
import { MaskingError, MaskingErrorCode } from './errors.js';
import type { MaskingPolicy } from './policy.js';
import { compileValueOp, OP_FIXED, OP_NULL, OP_PASS, OP_SCAN, transformText, type ValueOp } from './value-ops.js';
import { JSONB_OID } from './value-types.js';

/** A result's plan compiled for rewriteDataRow: build once per RowDescription. */
export interface RowPlan {
  readonly columns: number;
  /** no column changes: the gateway need not call rewriteDataRow at all */
  readonly passThrough: boolean;
  readonly ops: readonly ValueOp[];
  /** binary jsonb: the value starts with a version byte */
  readonly jsonbBinary: readonly boolean[];
  /** the encoded bytes of a fixed replacement (redact), version byte included: no value is decoded for it */
  readonly fixedBytes: readonly (Buffer | undefined)[];
  readonly policy: MaskingPolicy;
  /** per-row scratch, reused: the gateway handles one row at a time */
  readonly scratch: (Buffer | string | null | undefined)[];
  readonly starts: Int32Array;
  readonly lengths: Int32Array;
}

const JSONB_VERSION = 1;

export function compileRowPlan(
  plan: readonly ColumnPlan[],
  formats: readonly number[],
  typeOids: readonly number[],
  policy: MaskingPolicy,
): RowPlan {
  if (formats.length !== plan.length || typeOids.length !== plan.length) {
    throw new MaskingError(MaskingErrorCode.PLAN, `a plan of ${plan.length} columns needs as many formats and types (got ${formats.length} and ${typeOids.length})`);
  }
  const ops = plan.map((p, i) => compileValueOp(p, typeOids[i]!, formats[i]!));
  const jsonbBinary = plan.map((_, i) => formats[i] === 1 && typeOids[i] === JSONB_OID);
  return {
    columns: plan.length,
    passThrough: ops.every((o) => o.kind === OP_PASS),
    ops,
    jsonbBinary,
    fixedBytes: ops.map((o, i) =>
      o.kind === OP_FIXED ? Buffer.concat([jsonbBinary[i] ? Buffer.from([JSONB_VERSION]) : Buffer.alloc(0), Buffer.from(o.fixed!, 'utf8')]) : undefined,
    ),
    policy,
    scratch: new Array(plan.length).fill(undefined),
    starts: new Int32Array(plan.length),
    lengths: new Int32Array(plan.length),
  };
}

/**
 * Rewrites one DataRow message: buf[off] is its type byte 'D' and len its whole length (as the framer hands
 * it out). Returns the new message, or undefined when nothing changed. A malformed row throws MaskingError
 * (the stream cannot be trusted after it: the gateway should end the session).
 */
export function rewriteDataRow(buf: Buffer, off: number, len: number, plan: RowPlan): Buffer | undefined {
  if (plan.passThrough) return undefined;
  const end = off + len;
  if (len < 7 || end > buf.length || buf[off] !== 0x44 || buf.readInt32BE(off + 1) !== len - 1) throw malformed('bad header');
  const n = buf.readUInt16BE(off + 5);
  if (n !== plan.columns) throw malformed(`${n} columns where the RowDescription announced ${plan.columns}`);
  const { ops, scratch, starts, lengths, policy, fixedBytes, jsonbBinary } = plan;
  let pos = off + 7;
  let size = len;
  let changed = false;
  for (let i = 0; i < n; i++) {
    if (pos + 4 > end) throw malformed(`column ${i + 1} runs past the end`);
    const vlen = buf.readInt32BE(pos);
    pos += 4;
    if (vlen < -1 || pos + (vlen > 0 ? vlen : 0) > end) throw malformed(`column ${i + 1} has length ${vlen}`);
    starts[i] = pos;
    lengths[i] = vlen;
    scratch[i] = undefined;
    const op = ops[i]!;
    if (vlen === -1 && op.nulls) {
      const fixed = fixedBytes[i]!;
      scratch[i] = fixed;
      size += fixed.length;
      changed = true;
    } else if (op.kind !== OP_PASS && vlen >= 0) {
      const old = vlen;
      if (op.kind === OP_FIXED) {
        const fixed = fixedBytes[i]!;
        scratch[i] = fixed;
        size += fixed.length - old;
      } else if (op.kind === OP_NULL) {
        scratch[i] = null;
        size -= old;
      } else {
        const out = transformValue(buf, pos, vlen, op, jsonbBinary[i]!, policy);
        if (out !== undefined) {
          scratch[i] = out;
          size += (out === null ? 0 : Buffer.byteLength(out, 'utf8') + (jsonbBinary[i] ? 1 : 0)) - old;
        }
      }
      if (scratch[i] !== undefined) changed = true;
    }
    pos += vlen > 0 ? vlen : 0;
  }
  if (pos !== end) throw malformed(`${end - pos} bytes after the last column`);
  if (!changed) return undefined;

  const out = Buffer.allocUnsafe(size);
  out[0] = 0x44;
  out.writeInt32BE(size - 1, 1);
  out.writeUInt16BE(n, 5);
  let w = 7;
  // Unchanged columns are copied in runs, length words and all: one copy per run, not per column.
  let run = off + 7;
  for (let i = 0; i < n; i++) {
    const r = scratch[i];
    if (r === undefined) continue;
    const lenWord = starts[i]! - 4;
    if (lenWord > run) w += buf.copy(out, w, run, lenWord);
    run = starts[i]! + Math.max(lengths[i]!, 0);
    scratch[i] = undefined;
    if (r === null) {
      out.writeInt32BE(-1, w);
      w += 4;
    } else if (typeof r !== 'string') {
      out.writeInt32BE(r.length, w);
      w += 4 + r.copy(out, w + 4);
    } else {
      const lenAt = w;
      w += 4;
      if (jsonbBinary[i]) out[w++] = JSONB_VERSION;
      w += out.write(r, w, 'utf8');
      out.writeInt32BE(w - lenAt - 4, lenAt);
    }
  }
  if (end > run) buf.copy(out, w, run, end);
  return out;
}

/** The new text of a value under a strategy or the detectors; undefined when it stays. */
function transformValue(buf: Buffer, pos: number, vlen: number, op: ValueOp, jsonb: boolean, policy: MaskingPolicy): string | null | undefined {
  if (jsonb) {
    // An unknown jsonb version cannot be read: NULL rather than pass what we cannot mask.
    if (vlen === 0 || buf[pos] !== JSONB_VERSION) return null;
    return transformText(op, buf.toString('utf8', pos + 1, pos + vlen), policy);
  }
  // Most text holds nothing a detector looks for: that is decided on the bytes, without making a string.
  if (op.kind === OP_SCAN && policy.scanner && !policy.scanner.mayMatch(buf, pos, pos + vlen)) return undefined;
  return transformText(op, buf.toString('utf8', pos, pos + vlen), policy);
}

function malformed(why: string): MaskingError {
  return new MaskingError(MaskingErrorCode.MALFORMED_ROW, `malformed DataRow from the database: ${why}`);
}
