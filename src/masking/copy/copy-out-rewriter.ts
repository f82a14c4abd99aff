// COPY ... TO STDOUT: one rewriter per COPY, fed every CopyData message in order.
import type { ColumnPlan } from '../column-plan.js';
import { MaskingError, MaskingErrorCode } from '../errors.js';
import type { MaskingPolicy } from '../policy.js';
import type { CopyOptions } from '../provenance/copy-options.js';
import { compileValueOp, OP_PASS, type ValueOp } from '../value-ops.js';
import { JSONB_OID } from '../value-types.js';
import { rewriteBinaryRows, type BinaryRowState } from './binary-rows.js';
import { rewriteCsvRows, type CsvSyntax } from './csv-rows.js';
import { rewriteTextRows } from './text-rows.js';

const COPY_DATA = 0x64; // 'd'

export class CopyOutRewriter {
  /** nothing to change: CopyData messages can be forwarded without a look */
  readonly passThrough: boolean;
  private readonly ops: readonly ValueOp[];
  private readonly jsonb: readonly boolean[];
  private readonly csv: CsvSyntax | undefined;
  private readonly textDelimiter: number;
  private readonly textNull: Buffer;
  private readonly rows = { headerPending: false };
  private readonly binary: BinaryRowState = { headerDone: false, ended: false };

  constructor(
    private readonly options: CopyOptions,
    plan: readonly ColumnPlan[],
    private readonly policy: MaskingPolicy,
    typeOids?: readonly number[],
  ) {
    // Text and CSV rows are text whatever the column type (type 0 stands for that); binary fields are text only
    // for a text-like type, and without the types none is known to be.
    const binary = options.format === 'binary';
    this.ops = plan.map((p, i) => compileValueOp(p, binary ? (typeOids?.[i] ?? -1) : 0, binary ? 1 : 0));
    this.jsonb = plan.map((_, i) => options.format === 'binary' && typeOids?.[i] === JSONB_OID);
    this.passThrough = this.ops.every((o) => o.kind === OP_PASS);
    this.rows.headerPending = options.header && options.format !== 'binary';
    const oneByte = (what: string, v: string) => {
      const b = Buffer.from(v, 'utf8');
      if (b.length !== 1) throw new MaskingError(MaskingErrorCode.COPY, `COPY ${what} must be a single one-byte character, got "${v}"`);
      return b[0]!;
    };
    this.textDelimiter = oneByte('DELIMITER', options.delimiter);
    this.textNull = Buffer.from(options.null, 'utf8');
    this.csv =
      options.format === 'csv'
        ? { delimiter: this.textDelimiter, quote: oneByte('QUOTE', options.quote), escape: oneByte('ESCAPE', options.escape), nullText: this.textNull }
        : undefined;
  }

  /** A CopyData payload (the bytes after the message header): the new payload, or undefined when unchanged. */
  rewrite(payload: Buffer): Buffer | undefined {
    if (this.passThrough) return undefined;
    switch (this.options.format) {
      case 'csv':
        return rewriteCsvRows(payload, this.ops, this.policy, this.csv!, this.rows);
      case 'binary':
        return rewriteBinaryRows(payload, this.ops, this.jsonb, this.policy, this.binary);
      default:
        return rewriteTextRows(payload, this.ops, this.policy, this.textDelimiter, this.textNull, this.rows);
    }
  }

  /** A whole CopyData message as the framer gives it (type byte at off, len its whole length): the new message or undefined. */
  rewriteMessage(buf: Buffer, off: number, len: number): Buffer | undefined {
    if (len < 5 || buf[off] !== COPY_DATA || buf.readInt32BE(off + 1) !== len - 1) {
      throw new MaskingError(MaskingErrorCode.COPY_DATA, 'COPY data from the database cannot be masked: a malformed CopyData message');
    }
    const payload = this.rewrite(buf.subarray(off + 5, off + len));
    if (!payload) return undefined;
    const out = Buffer.allocUnsafe(5 + payload.length);
    out[0] = COPY_DATA;
    out.writeInt32BE(4 + payload.length, 1);
    payload.copy(out, 5);
    return out;
  }
}
