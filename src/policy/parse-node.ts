// Reading libpg-query's JSON parse tree. A node is either wrapped ({"RangeVar": {...}}) where the field is a
// generic Node, or bare where the field has a fixed type (InsertStmt.relation). Protobuf leaves default
// values out, so {"ival": {}} is 0 and {"boolval": {}} is false.

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

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function constantText(v: unknown): string | null | undefined {
  if (!isObject(v)) return undefined;
  const w = unwrap(v);
  if (!w) return undefined;
  const [type, body] = w;
  if (type === 'TypeCast') return constantText(body.arg);
  if (type === 'String') return typeof body.sval === 'string' ? body.sval : '';
  if (type === 'Integer') return String((body.ival as number | undefined) ?? 0);
  if (type !== 'A_Const') return undefined;
  if (body.isnull) return null;
  const field = (name: string) => (isObject(body[name]) ? (body[name] as ParseObject)[name] : undefined);
  if ('sval' in body) return String(field('sval') ?? '');
  if ('ival' in body) return String(field('ival') ?? 0);
  if ('fval' in body) return String(field('fval') ?? '0');
  if ('boolval' in body) return field('boolval') ? 'true' : 'false';
  if ('bsval' in body) return String(field('bsval') ?? '');
  return undefined;
}

/** ["pg_catalog", "set_config"] from a list of String nodes; A_Star (in column references) becomes '*'. */
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
