// One column's plan compiled to what the hot path does with a value: nothing, NULL, a fixed text, a strategy
// over the value, or the detectors. Shared by DataRow and COPY rewriting.
import type { ColumnPlan } from './column-plan.js';
import type { MaskingPolicy } from './policy.js';
import { maskText, REDACTED, type Strategy } from './strategies.js';
import { canCarryText, isJsonType, isScannable } from './value-types.js';

export const OP_PASS = 0;
export const OP_NULL = 1;
export const OP_FIXED = 2;
export const OP_MASK = 3;
export const OP_SCAN = 4;

export interface ValueOp {
  readonly kind: typeof OP_PASS | typeof OP_NULL | typeof OP_FIXED | typeof OP_MASK | typeof OP_SCAN;
  /** the value is JSON text: a masked string is written as a JSON string, so the value still parses */
  readonly json: boolean;
  readonly fixed?: string;
  readonly strategy?: Strategy;
  /** NULL is replaced too (OP_FIXED of a derived value: see ColumnPlan) */
  readonly nulls?: boolean;
}

const PASS_OP: ValueOp = Object.freeze({ kind: OP_PASS, json: false });
const NULL_OP: ValueOp = Object.freeze({ kind: OP_NULL, json: false });

/**
 * The op for a column of this type and format (0 text, 1 binary). The type rule is enforced here too, whatever
 * the plan says: a string is never written where the type cannot hold one (a binary integer), and values that
 * are not text are not scanned.
 */
export function compileValueOp(plan: ColumnPlan, typeOid: number, format: number): ValueOp {
  const json = isJsonType(typeOid);
  switch (plan.action) {
    case 'pass':
      return PASS_OP;
    case 'null':
      return NULL_OP;
    case 'scan':
      return isScannable(typeOid, format) ? { kind: OP_SCAN, json } : PASS_OP;
    case 'mask':
      if (plan.strategy.kind === 'null' || !canCarryText(typeOid, format)) return NULL_OP;
      if (plan.strategy.kind === 'redact') return { kind: OP_FIXED, json, fixed: json ? JSON.stringify(REDACTED) : REDACTED, nulls: plan.nulls === true };
      return { kind: OP_MASK, json, strategy: plan.strategy };
  }
}

/** The new text of a value: a string, null for SQL NULL, or undefined when it stays as it is. */
export function transformText(op: ValueOp, text: string, policy: MaskingPolicy): string | null | undefined {
  switch (op.kind) {
    case OP_NULL:
      return null;
    case OP_FIXED:
      return op.fixed!;
    case OP_MASK: {
      const masked = maskText(op.strategy!, op.json ? jsonStringValue(text) : text, policy.hashKey);
      return masked === null ? null : op.json ? JSON.stringify(masked) : masked;
    }
    case OP_SCAN: {
      const scanned = policy.scanner ? policy.scanner.scan(text) : text;
      if (scanned === text) return undefined;
      // The detectors read JSON as text: a match that starts inside an escape ("\tx@y.io") leaves JSON no client
      // can parse. Such a value is redacted whole, still as JSON.
      return op.json && !parsesAsJson(scanned) ? JSON.stringify(REDACTED) : scanned;
    }
    default:
      return undefined;
  }
}

/** "abc" -> abc for a JSON string, so partial and email see the value and not its quotes; anything else as is. */
function jsonStringValue(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    try {
      const v: unknown = JSON.parse(t);
      if (typeof v === 'string') return v;
    } catch {
      // not a JSON string after all: mask the text as it is
    }
  }
  return text;
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
