// What happens to each column of a result: decided once per RowDescription (or COPY), from where each column
// comes from (RowDescription's table OID and attribute number, resolved through the catalog by the gateway)
// and from the statement's flow (for everything RowDescription cannot say: expressions, set operations,
// views). A column is masked if either says so.
import { MaskingError, MaskingErrorCode } from './errors.js';
import type { MaskingPolicy } from './policy.js';
import type { ColumnFlow, CopyFlow, MaskFlow, OutputFlow } from './provenance/flow.js';
import { CLEAN, describeTaint, isTainted, union, unknownTaint, type Taint } from './provenance/taint.js';
import { NULL_STRATEGY, REDACT, type Strategy } from './strategies.js';
import { canCarryText, isScannable } from './value-types.js';

export type ColumnPlan =
  | { readonly action: 'pass' }
  /** detectors only */
  | { readonly action: 'scan' }
  /** `nulls`: NULL is replaced too. A derived value (nullif(ssn, 'guess'), regexp_match(ssn, ...)) is NULL or
   *  not depending on the masked value, so its NULL-ness is as protected as the value itself; a column's own
   *  value keeps its NULL (whether a customer has an SSN at all is not masked). */
  | { readonly action: 'mask'; readonly strategy: Strategy; readonly nulls?: boolean }
  | { readonly action: 'null' };

export const PASS: ColumnPlan = Object.freeze({ action: 'pass' });
export const SCAN: ColumnPlan = Object.freeze({ action: 'scan' });
export const NULLIFY: ColumnPlan = Object.freeze({ action: 'null' });

/** One column of a RowDescription, with its origin resolved through the catalog. */
export interface ResultColumn {
  readonly name: string;
  readonly typeOid: number;
  /** 0 text, 1 binary */
  readonly format: number;
  /**
   * Where RowDescription says the column comes from (table OID and attribute number), as the catalog names
   * them; undefined when the table OID is 0 (an expression); null when it is not 0 but the catalog could not
   * resolve it (counts as unknown). `view` marks a view or materialized view.
   */
  readonly source?: { readonly relation: string; readonly column: string; readonly view?: boolean } | null;
}

export type PlanResult = { readonly plan: readonly ColumnPlan[] } | { readonly refusal: MaskingError };

/** The plan of a result. A flow of undefined (nothing known about the statement) masks every computed column. */
export function buildColumnPlan(columns: readonly ResultColumn[], flow: MaskFlow | undefined, policy: MaskingPolicy): PlanResult {
  const plan: ColumnPlan[] = [];
  const positions = positionTaints(flow?.output, columns.length);
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    let t = positions.at[i];
    const src = c.source;
    if (src === null) t = union(t ?? CLEAN, unknownTaint(`column ${c.name}, whose table the catalog could not name`));
    else if (src) {
      let s = flow ? flow.sourceTaint(src.relation, src.column) : policyTaint(policy, src.relation, src.column);
      if (src.view && !flow?.views.includes(src.relation)) s = union(s, unknownTaint(`view ${src.relation}, whose definition was not given`));
      // A column straight from a relation is that column: the relation's answer is exact where positions are not.
      t = t === undefined ? s : union(t, s);
    } else t ??= positions.computed;
    const decided = decide(c, t, policy);
    if (decided instanceof MaskingError) return { refusal: decided };
    plan.push(decided);
  }
  return { plan };
}

/** The plan of a COPY ... TO STDOUT with `count` columns (from CopyOutResponse); typeOids when the gateway knows them. */
export function buildCopyPlan(copy: CopyFlow, count: number, policy: MaskingPolicy, typeOids?: readonly number[]): PlanResult {
  const cols: readonly ColumnFlow[] | undefined = copy.columns && copy.columns.length === count ? copy.columns : undefined;
  if (!cols && isTainted(copy.any)) {
    return {
      refusal: new MaskingError(
        MaskingErrorCode.COPY_COLUMNS,
        `COPY may carry masked data (${describeTaint(copy.any)}) but its columns cannot be matched to it; name the columns (COPY t (a, b) TO STDOUT) or select them (COPY (SELECT ...) TO STDOUT)`,
      ),
    };
  }
  const plan: ColumnPlan[] = [];
  const binary = copy.options.format === 'binary';
  for (let i = 0; i < count; i++) {
    const t = cols?.[i]?.taint ?? CLEAN;
    // Text and CSV rows are text whatever the type; in binary, only text-like types can carry a string, and
    // without the types nothing is known to be text-like.
    const typeOid = typeOids?.[i] ?? (binary ? -1 : 0);
    const decided = decide({ name: cols?.[i]?.name ?? `column ${i + 1}`, typeOid, format: binary ? 1 : 0 }, t, policy, !binary);
    if (decided instanceof MaskingError) return { refusal: decided };
    plan.push(decided);
  }
  return { plan };
}

function decide(c: Pick<ResultColumn, 'name' | 'typeOid' | 'format'>, t: Taint, policy: MaskingPolicy, anyText = false): ColumnPlan | MaskingError {
  const textual = anyText || canCarryText(c.typeOid, c.format);
  // In COPY text and CSV every value is text; a type given by the gateway still keeps numbers out of the detectors.
  const scannable = anyText ? c.typeOid === 0 || isScannable(c.typeOid, 0) : isScannable(c.typeOid, c.format);
  if (!isTainted(t)) return policy.scanner && scannable ? SCAN : PASS;
  const strategy = strategyOf(t, policy);
  if (strategy.kind === 'null') return NULLIFY;
  if (textual) return isOwnValue(t) ? { action: 'mask', strategy } : { action: 'mask', strategy, nulls: true };
  // length(ssn), ssn = '...', array_agg(ssn): derived from masked data, no string fits the type: NULL.
  if (t.origins.length > 0) return NULLIFY;
  return new MaskingError(
    MaskingErrorCode.UNKNOWN_ORIGIN,
    `result column "${c.name}" may carry masked data (${describeTaint(t)}) and its type cannot hold a masked value; the statement is refused`,
  );
}

/** The column's own strategy when it is one masked column's unchanged value; otherwise redact (or null if any source says null). */
function strategyOf(t: Taint, policy: MaskingPolicy): Strategy {
  if (isOwnValue(t)) return policy.columns.get(t.origins[0]!) ?? REDACT;
  for (const o of t.origins) if (policy.columns.get(o)?.kind === 'null') return NULL_STRATEGY;
  return REDACT;
}

/** One masked column's unchanged value (a plain reference, an alias, a cast to text). */
function isOwnValue(t: Taint): boolean {
  return t.direct && !t.unknown && t.origins.length === 1;
}

function policyTaint(policy: MaskingPolicy, relation: string, column: string): Taint {
  return policy.relations.get(relation)?.has(column) ? { origins: [`${relation}.${column}`], unknown: false, direct: true } : CLEAN;
}

/**
 * Taints by position, and what a column whose position is unknown and which has no source may carry.
 * When the flow's columns do not add up to the result's, positions are not trusted at all.
 */
function positionTaints(out: OutputFlow | undefined, n: number): { at: (Taint | undefined)[]; computed: Taint } {
  const at: (Taint | undefined)[] = new Array(n).fill(undefined);
  if (!out) return { at, computed: unknownTaint('a result the analysis did not expect') };
  const any = [...out.head, ...out.tail].reduce((t, c) => union(t, c.taint), out.middle ?? CLEAN);
  if (out.middle === undefined) {
    if (out.head.length !== n) return { at, computed: any };
    out.head.forEach((c, i) => (at[i] = c.taint));
    return { at, computed: CLEAN };
  }
  if (out.head.length + out.tail.length > n) return { at, computed: any };
  out.head.forEach((c, i) => (at[i] = c.taint));
  out.tail.forEach((c, i) => (at[n - out.tail.length + i] = c.taint));
  return { at, computed: out.middle };
}
