// What a value may carry: the masked columns it derives from, and whether it may carry data whose origin the
// analysis cannot see (a view it was not shown, a function it does not know). Values are immutable and
// small: most are CLEAN, and unions of a few origins.

export interface Taint {
  /** masked columns it derives from, 'schema.table.column', in the order they were met */
  readonly origins: readonly string[];
  /** may carry masked data of unknown origin (fail closed: treated as masked) */
  readonly unknown: boolean;
  /** why the origin is unknown, for messages */
  readonly why?: string;
  /** exactly one origin's value, unchanged (a plain reference, an alias, a cast to text) */
  readonly direct: boolean;
}

export const CLEAN: Taint = Object.freeze({ origins: Object.freeze([]), unknown: false, direct: false });

export function unknownTaint(why: string): Taint {
  return Object.freeze({ origins: Object.freeze([]), unknown: true, why, direct: false });
}

export function originTaint(column: string): Taint {
  return Object.freeze({ origins: Object.freeze([column]), unknown: false, direct: true });
}

export function isTainted(t: Taint): boolean {
  return t.unknown || t.origins.length > 0;
}

/** Both at once. A union of two tainted values is never direct (COALESCE(ssn, email) is neither column's value). */
export function union(a: Taint, b: Taint): Taint {
  if (!isTainted(b)) return a;
  if (!isTainted(a)) return b;
  // The same column's value met twice (old.ssn and the target's ssn in RETURNING) is still that value.
  if (a.direct && b.direct && a.origins[0] === b.origins[0]) return a;
  const origins = a.origins.slice();
  for (const o of b.origins) if (!origins.includes(o)) origins.push(o);
  const unknown = a.unknown || b.unknown;
  const why = a.why ?? b.why;
  return Object.freeze({ origins: Object.freeze(origins), unknown, ...(why !== undefined ? { why } : {}), direct: false });
}

export function unionAll(taints: Iterable<Taint>): Taint {
  let t = CLEAN;
  for (const x of taints) t = union(t, x);
  return t;
}

/** The same origins, no longer the column's own value (upper(ssn), ssn || 'x'). */
export function indirect(t: Taint): Taint {
  if (!t.direct) return t;
  return Object.freeze({ ...t, direct: false });
}

export function sameTaint(a: Taint, b: Taint): boolean {
  return a.unknown === b.unknown && a.direct === b.direct && a.origins.length === b.origins.length && a.origins.every((o) => b.origins.includes(o));
}

/** The first masked column (or the reason the origin is unknown), for messages. */
export function describeTaint(t: Taint): string {
  return t.origins[0] ?? `a value of unknown origin (${t.why ?? 'not visible to the gateway'})`;
}
