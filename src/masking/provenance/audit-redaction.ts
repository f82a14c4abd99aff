// Audit events and recordings never hold a masked value: a literal compared with a masked column is a guess at
// it (right, as often as not), and a literal written into one is the value itself.
import type { AnalyzedStatement } from '../../policy/index.js';
import type { MaskFlow } from './flow.js';
import { allLiteralRanges } from './sql-literals.js';

/** What a redacted literal or parameter becomes in the audit log. */
export const AUDIT_PLACEHOLDER = "'***'";
const PARAM_PLACEHOLDER = '***';

/** stmt.sql with the flow's sensitive literals replaced by '***'. */
export function redactForAudit(sql: string, flow: MaskFlow): string {
  if (flow.sensitiveLiterals.length === 0) return sql;
  return replaceRanges(Buffer.from(sql, 'utf8'), flow.sensitiveLiterals);
}

/**
 * A whole query string (several statements, as a simple Query carries them) with the sensitive literals of each
 * statement replaced. Each statement's text is found in the query in order; should one not be found, every
 * literal of the query is replaced (fail closed).
 */
export function redactQueryForAudit(query: string, parts: readonly { stmt: AnalyzedStatement; flow: MaskFlow }[]): string {
  if (parts.every((p) => p.flow.sensitiveLiterals.length === 0)) return query;
  const bytes = Buffer.from(query, 'utf8');
  const ranges: (readonly [number, number])[] = [];
  let from = 0;
  for (const { stmt, flow } of parts) {
    const own = Buffer.from(stmt.sql, 'utf8');
    const at = bytes.indexOf(own, from);
    if (at < 0) return replaceRanges(bytes, allLiteralRanges(bytes));
    for (const [s, e] of flow.sensitiveLiterals) ranges.push([s + at, e + at]);
    from = at + own.length;
  }
  return replaceRanges(bytes, ranges);
}

/** Bound parameters with the sensitive ones ($n of flow.sensitiveParams) replaced. */
export function redactParams<T extends string | null>(params: readonly T[], flow: MaskFlow): (T | string)[] {
  if (flow.sensitiveParams.length === 0) return params.slice();
  return params.map((p, i) => (p !== null && flow.sensitiveParams.includes(i + 1) ? PARAM_PLACEHOLDER : p));
}

/** Every literal of a text replaced: for a statement that could not be analysed at all. */
export function redactAllLiterals(sql: string): string {
  const bytes = Buffer.from(sql, 'utf8');
  return replaceRanges(bytes, allLiteralRanges(bytes));
}

function replaceRanges(bytes: Buffer, ranges: readonly (readonly [number, number])[]): string {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const parts: Buffer[] = [];
  const placeholder = Buffer.from(AUDIT_PLACEHOLDER);
  let pos = 0;
  for (const [start, end] of sorted) {
    if (end <= pos) continue;
    // Overlapping ranges (a literal inside a marked expression twice) merge into one placeholder.
    if (start < pos) {
      pos = end;
      continue;
    }
    parts.push(bytes.subarray(pos, start), placeholder);
    pos = end;
  }
  parts.push(bytes.subarray(pos));
  return Buffer.concat(parts).toString('utf8');
}
