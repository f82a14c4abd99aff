// The name PostgreSQL gives an output column that has no alias (its FigureColname). `exact` marks names we
// are sure of; a lookup that misses every exact name falls back to the columns whose name was a guess, so a
// wrong guess can only over-mask.
import { nameParts, unwrap, type ParseObject } from './parse-tree.js';

export interface FiguredName {
  name: string;
  exact: boolean;
}

const FIXED: Readonly<Record<string, string>> = {
  CaseExpr: 'case',
  CoalesceExpr: 'coalesce',
  A_ArrayExpr: 'array',
  RowExpr: 'row',
  GroupingFunc: 'grouping',
  JsonObjectConstructor: 'json_object',
  JsonArrayConstructor: 'json_array',
  JsonArrayQueryConstructor: 'json_array',
  JsonObjectAgg: 'json_objectagg',
  JsonArrayAgg: 'json_arrayagg',
  MergeSupportFunc: 'merge_action',
};

export function figureName(val: unknown): FiguredName {
  const w = unwrap(val);
  if (!w) return { name: '?column?', exact: false };
  const [type, body] = w;
  switch (type) {
    case 'ColumnRef': {
      const parts = nameParts(body.fields);
      const last = parts[parts.length - 1];
      return last && last !== '*' ? { name: last, exact: true } : { name: '?column?', exact: false };
    }
    case 'A_Indirection': {
      const parts = nameParts(body.indirection);
      const last = parts[parts.length - 1];
      if (last && last !== '*') return { name: last, exact: true };
      return figureName(body.arg);
    }
    case 'FuncCall': {
      const parts = nameParts(body.funcname);
      return { name: parts[parts.length - 1] ?? '?column?', exact: true };
    }
    case 'TypeCast': {
      const inner = figureName(body.arg);
      if (inner.exact) return inner;
      const typeParts = nameParts((body.typeName as ParseObject | undefined)?.names);
      return { name: typeParts[typeParts.length - 1] ?? inner.name, exact: false };
    }
    case 'CollateClause':
      return figureName(body.arg);
    case 'MinMaxExpr':
      return { name: body.op === 'IS_LEAST' ? 'least' : 'greatest', exact: false };
    case 'SubLink':
      if (body.subLinkType === 'EXISTS_SUBLINK') return { name: 'exists', exact: false };
      if (body.subLinkType === 'ARRAY_SUBLINK') return { name: 'array', exact: false };
      return { name: '?column?', exact: false };
    default:
      return { name: FIXED[type] ?? '?column?', exact: false };
  }
}
