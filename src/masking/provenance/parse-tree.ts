// Reading libpg-query's JSON parse tree. A node is wrapped ({"RangeVar": {...}}) where the field holds a
// generic Node, bare where the field has a fixed type (InsertStmt.relation, SelectStmt.larg). Protobuf leaves
// default values out.

export type ParseObject = Record<string, unknown>;

export function isObject(v: unknown): v is ParseObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The type and body of a wrapped node, or undefined for a bare one. Node types start upper-case, fields lower-case. */
export function unwrap(v: unknown): [type: string, body: ParseObject] | undefined {
  if (!isObject(v)) return undefined;
  let type: string | undefined;
  for (const key in v) {
    if (type !== undefined) return undefined;
    type = key;
  }
  if (type === undefined) return undefined;
  const c = type.charCodeAt(0);
  if (c < 65 || c > 90) return undefined;
  const body = v[type];
  return isObject(body) ? [type, body] : undefined;
}

/** The body of a node that is either wrapped as `type` or bare. */
export function bodyOf(v: unknown, type: string): ParseObject | undefined {
  const w = unwrap(v);
  if (w) return w[0] === type ? w[1] : undefined;
  return isObject(v) ? v : undefined;
}

export function list(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

/** ["pg_catalog", "upper"] from a list of String nodes; A_Star becomes '*'. */
export function nameParts(v: unknown): string[] {
  const out: string[] = [];
  for (const item of list(v)) {
    const w = unwrap(item);
    if (!w) continue;
    if (w[0] === 'String' && typeof w[1].sval === 'string') out.push(w[1].sval);
    else if (w[0] === 'A_Star') out.push('*');
  }
  return out;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
