// The walk over one statement's parse tree that follows masked data: from the masked columns of the relations
// in scope, through expressions, subqueries, CTEs, views and set operations, to the output columns; and to
// the places where it steers the result (filters) or would leave by another way (casts that echo a value in
// their error, functions that store it, writes into other columns). Names only, no catalog: where a name
// could mean several things, it means all of them, so a doubt can only add masking.
import type { MaskingPolicy } from '../policy.js';
import { figureName } from './output-name.js';
import { classifyFunction, mayTakeProtectedArg, operandMayBeProtected, STATISTICS_RELATIONS } from '../../policy/index.js';
import { isTextualCast } from './functions.js';
import { bodyOf, isObject, list, nameParts, str, unwrap, type ParseObject } from './parse-tree.js';
import { qualifyRelation } from './relation-name.js';
import {
  CombinedShape, DerivedShape, EMPTY_SHAPE, OpaqueShape, TableShape, UniformShape, UnlistedShape, expand, sameShape, setOperation, uniform, wholeOf,
  type QueryShape, type RelationShape, type ShapeItem,
} from './shapes.js';
import { CLEAN, describeTaint, indirect, isTainted, union, unknownTaint, type Taint } from './taint.js';
import { deleteFlow, insertFlow, mergeFlow, updateFlow } from './writes.js';
import type { FilterUse, FlowOptions, Refusal, RefusalReason } from './flow.js';

interface CteEntry {
  shape: QueryShape;
  names: readonly string[];
}

/** One query level: what its FROM clause brought into scope, and the CTEs its WITH defined. */
export interface Scope {
  readonly parent: Scope | undefined;
  /** every relation a column reference may name at this level */
  readonly rels: RelationShape[];
  /** the relations a bare `*` expands to, in FROM order */
  readonly starRels: RelationShape[];
  readonly ctes: Map<string, CteEntry>;
  /** a JOIN ... USING or NATURAL JOIN merges columns: `*` can then not be mapped to positions */
  starBlocked: boolean;
}

const MAX_VIEW_DEPTH = 16;
const RECURSIVE_CTE_ROUNDS = 5;

/** State shared by the analyzer of a statement and the analyzers of the views it reads. */
interface Shared {
  readonly relations: Set<string>;
  readonly views: Map<string, RelationShape>;
  readonly depth: number;
}

export class FlowAnalyzer {
  filter: FilterUse | undefined;
  refusal: Refusal | undefined;
  /** parse-tree locations of A_Const nodes whose literal is a guess at a masked value */
  readonly constants = new Set<number>();
  readonly params = new Set<number>();
  private readonly shared: Shared;

  constructor(
    readonly policy: MaskingPolicy,
    readonly options: FlowOptions,
    shared?: Shared,
  ) {
    this.shared = shared ?? { relations: new Set(), views: new Map(), depth: 0 };
  }

  get relations(): ReadonlySet<string> {
    return this.shared.relations;
  }

  get viewShapes(): ReadonlyMap<string, RelationShape> {
    return this.shared.views;
  }

  // ---- findings

  noteFilter(t: Taint, clause: string, why = 'a condition on a masked column reads it back one guess at a time'): void {
    if (this.filter || !isTainted(t)) return;
    const column = describeTaint(t);
    this.filter = { column, clause, message: `${column} is masked for this session and cannot be used in ${clause}: ${why}` };
  }

  refuse(reason: RefusalReason, t: Taint | string, what: string): void {
    if (this.refusal) return;
    const column = typeof t === 'string' ? t : describeTaint(t);
    this.refusal = { reason, column, message: `${column} is masked for this session: ${what}` };
  }

  /** Every literal and parameter under `node` is a guess at masked data: keep them out of the audit log. */
  markConstants(node: unknown): void {
    if (Array.isArray(node)) {
      for (const n of node) this.markConstants(n);
      return;
    }
    if (!isObject(node)) return;
    for (const key in node) {
      const v = node[key];
      if (key === 'A_Const' && isObject(v)) {
        if (!v.isnull && typeof v.location === 'number') this.constants.add(v.location);
      } else if (key === 'ParamRef' && isObject(v)) {
        if (typeof v.number === 'number') this.params.add(v.number);
      } else if (typeof v === 'object' && v !== null) this.markConstants(v);
    }
  }

  // ---- queries

  newScope(parent: Scope | undefined): Scope {
    return { parent, rels: [], starRels: [], ctes: new Map(), starBlocked: false };
  }

  /** Any statement that yields rows inside another: SELECT, VALUES, or DML with RETURNING (in a CTE). */
  query(node: unknown, parent: Scope | undefined): QueryShape {
    const w = unwrap(node) ?? (isObject(node) ? (['SelectStmt', node] as [string, ParseObject]) : undefined);
    if (!w) return EMPTY_SHAPE;
    const [type, body] = w;
    switch (type) {
      case 'SelectStmt':
        return this.select(body, parent);
      case 'InsertStmt':
        return insertFlow(this, body, parent);
      case 'UpdateStmt':
        return updateFlow(this, body, parent);
      case 'DeleteStmt':
        return deleteFlow(this, body, parent);
      case 'MergeStmt':
        return mergeFlow(this, body, parent);
      default:
        return { items: [{ star: new OpaqueShape(undefined, `a ${type} the analysis does not know`) }] };
    }
  }

  select(b: ParseObject, parent: Scope | undefined): QueryShape {
    const scope = this.newScope(parent);
    if (isObject(b.withClause)) this.withClause(b.withClause, scope);
    const op = str(b.op) ?? 'SETOP_NONE';
    if (op !== 'SETOP_NONE') {
      const left = this.select(bodyOf(b.larg, 'SelectStmt') ?? {}, scope);
      const right = this.select(bodyOf(b.rarg, 'SelectStmt') ?? {}, scope);
      const shape = setOperation(left, right);
      // UNION (without ALL), INTERSECT and EXCEPT compare rows: how many come back tells whether a masked value
      // equals the other branch's guess.
      if (op !== 'SETOP_UNION' || !b.all) {
        const t = wholeOf(shape.items);
        this.noteFilter(t, op.replace('SETOP_', ''));
        // The other branch's literals are the guesses being compared.
        if (isTainted(t)) this.markConstants([b.larg, b.rarg]);
      }
      this.orderAndLimit(b, scope, shape.items);
      return shape;
    }
    if (Array.isArray(b.valuesLists)) {
      const shape = this.values(b.valuesLists, scope);
      this.orderAndLimit(b, scope, shape.items);
      return shape;
    }
    for (const item of list(b.fromClause)) this.fromItem(item, scope);
    if (b.whereClause !== undefined) this.filterClause(b.whereClause, scope, 'WHERE');
    const items = this.targets(b.targetList, scope);
    for (const g of list(b.groupClause)) this.sortKey(g, scope, items, 'GROUP BY');
    if (b.havingClause !== undefined) this.filterClause(b.havingClause, scope, 'HAVING');
    for (const wd of list(b.windowClause)) this.windowDef(bodyOf(wd, 'WindowDef'), scope);
    const distinct = list(b.distinctClause);
    // DISTINCT arrives as a list holding one empty node; DISTINCT ON as the list of its expressions.
    if (distinct.length > 0) {
      if (distinct.every((d) => !isObject(d) || Object.keys(d).length === 0)) this.noteFilter(wholeOf(items), 'DISTINCT');
      else for (const d of distinct) this.sortKey(d, scope, items, 'DISTINCT ON');
    }
    this.orderAndLimit(b, scope, items);
    if (isObject(b.intoClause)) {
      const t = wholeOf(items);
      if (isTainted(t)) this.refuse('write', t, 'SELECT INTO would copy it into a new table where it is no longer masked');
    }
    return { items };
  }

  private values(rows: unknown[], scope: Scope): QueryShape {
    const cols: Taint[] = [];
    for (const row of rows) {
      const items = list(bodyOf(row, 'List')?.items);
      items.forEach((item, i) => {
        cols[i] = union(cols[i] ?? CLEAN, this.expr(item, scope));
      });
    }
    // A column of several rows is no single column's value.
    const direct = rows.length === 1;
    return { items: cols.map((t, i) => ({ col: { name: `column${i + 1}`, exact: true, taint: direct ? t : indirect(t) } })) };
  }

  private orderAndLimit(b: ParseObject, scope: Scope, items: readonly ShapeItem[]): void {
    for (const s of list(b.sortClause)) this.sortKey(s, scope, items, 'ORDER BY');
    if (b.limitCount !== undefined) this.filterClause(b.limitCount, scope, 'LIMIT');
    if (b.limitOffset !== undefined) this.filterClause(b.limitOffset, scope, 'OFFSET');
  }

  withClause(wc: ParseObject, scope: Scope): void {
    const recursive = wc.recursive === true;
    for (const c of list(wc.ctes)) {
      const cte = bodyOf(c, 'CommonTableExpr');
      const name = str(cte?.ctename);
      if (!cte || !name) continue;
      const names = nameParts(cte.aliascolnames);
      if (!recursive) {
        scope.ctes.set(name, { shape: this.query(cte.ctequery, scope), names });
        continue;
      }
      // A recursive CTE reads itself: start from nothing and repeat until what it carries stops growing.
      let shape: QueryShape = EMPTY_SHAPE;
      let settled = false;
      for (let round = 0; round < RECURSIVE_CTE_ROUNDS && !settled; round++) {
        scope.ctes.set(name, { shape, names });
        const next = this.query(cte.ctequery, scope);
        settled = sameShape(shape, next);
        shape = next;
      }
      if (!settled) shape = uniform(shape, wholeOf(shape.items));
      scope.ctes.set(name, { shape, names });
    }
  }

  /** A FROM item: puts the relations it brings into scope. */
  fromItem(node: unknown, scope: Scope): void {
    const w = unwrap(node);
    if (!w) return;
    const [type, b] = w;
    const alias = bodyOf(b.alias, 'Alias');
    const aliasName = str(alias?.aliasname);
    const colnames = nameParts(alias?.colnames);
    const add = (rel: RelationShape) => {
      scope.rels.push(rel);
      scope.starRels.push(rel);
    };
    switch (type) {
      case 'RangeVar':
        return add(this.rangeVar(b, scope));
      case 'RangeSubselect':
        return add(new DerivedShape(aliasName, this.query(b.subquery, scope), colnames));
      case 'RangeFunction':
        return add(this.rangeFunction(b, scope, aliasName));
      case 'JoinExpr':
        return this.join(b, scope);
      case 'RangeTableSample':
        for (const a of list(b.args)) this.expr(a, scope);
        return this.fromItem(b.relation, scope);
      case 'RangeTableFunc':
      case 'JsonTable': {
        // XMLTABLE and JSON_TABLE parse their input; their errors can quote it.
        const t = this.generic(b, scope);
        if (isTainted(t)) this.refuse('function', t, `${type === 'JsonTable' ? 'JSON_TABLE' : 'XMLTABLE'} would parse it, and its errors quote what they parse`);
        return add(new UniformShape(aliasName, t));
      }
      default:
        return add(new OpaqueShape(aliasName, `a ${type} in FROM`));
    }
  }

  private rangeVar(b: ParseObject, scope: Scope): RelationShape {
    const relname = str(b.relname) ?? '';
    const schema = str(b.schemaname) || undefined;
    const alias = bodyOf(b.alias, 'Alias');
    const name = str(alias?.aliasname) ?? relname;
    const colnames = nameParts(alias?.colnames);
    if (!schema) {
      const cte = findCte(relname, scope);
      if (cte) return new DerivedShape(name, cte.shape, colnames.length ? colnames : cte.names);
    }
    const qualified = qualifyRelation(schema, relname, b.relpersistence === 't');
    const rel = this.relation(qualified, name);
    return colnames.length ? new DerivedShape(name, { items: [{ star: rel }] }, colnames) : rel;
  }

  /** A relation by its schema-qualified name: a view we were shown, an opaque one, or a table known by name. */
  relation(qualified: string, alias: string | undefined): RelationShape {
    this.shared.relations.add(qualified);
    if (STATISTICS_RELATIONS.has(qualified)) {
      this.refuse('statistics', qualified, `${qualified} holds samples of column values (most common values, histograms) and would show masked data`);
      return new OpaqueShape(alias, qualified);
    }
    const masked = this.policy.relations.get(qualified);
    const table = new TableShape(alias, qualified, masked, this.options.tableColumns?.get(qualified));
    const view = this.view(qualified, alias);
    if (view) return new CombinedShape(alias, masked ? [view, table] : [view], view);
    if (this.options.opaqueRelations?.has(qualified)) return new OpaqueShape(alias, `view ${qualified}, whose definition is not available`);
    return table;
  }

  private view(qualified: string, alias: string | undefined): RelationShape | undefined {
    const def = this.options.views?.get(qualified);
    if (!def) return undefined;
    let shape = this.shared.views.get(qualified);
    if (!shape) {
      if (this.shared.depth >= MAX_VIEW_DEPTH) return new OpaqueShape(alias, `view ${qualified}, nested too deeply`);
      // The view's own conditions and literals are the view author's, fixed, not the agent's guesses: only
      // what its columns carry and what it would refuse count here.
      const inner = new FlowAnalyzer(this.policy, this.options, { ...this.shared, depth: this.shared.depth + 1 });
      shape = new DerivedShape(qualified, inner.query(def.node, undefined));
      this.shared.views.set(qualified, shape);
      if (inner.refusal) this.refuse(inner.refusal.reason, inner.refusal.column, `${inner.refusal.message} (in view ${qualified})`);
    }
    return new CombinedShape(alias, [shape], shape);
  }

  private rangeFunction(b: ParseObject, scope: Scope, alias: string | undefined): RelationShape {
    let taint = CLEAN;
    let firstName: string | undefined;
    for (const f of list(b.functions)) {
      const fc = list(bodyOf(f, 'List')?.items)[0];
      const call = bodyOf(fc, 'FuncCall');
      if (!call) {
        taint = union(taint, this.expr(fc, scope));
        continue;
      }
      const parts = nameParts(call.funcname);
      firstName ??= parts[parts.length - 1];
      const r = this.funcCall(call, scope, fc);
      // How many rows a set-returning function yields over masked data (unnest(string_to_array(ssn, ''))) tells
      // about the data even when every column it yields is masked.
      this.noteFilter(r.args, 'a set-returning function in FROM');
      taint = union(taint, r.result);
    }
    return new UniformShape(alias ?? firstName, indirect(taint));
  }

  private join(b: ParseObject, scope: Scope): void {
    const before = scope.starRels.length;
    this.fromItem(b.larg, scope);
    const middle = scope.starRels.length;
    this.fromItem(b.rarg, scope);
    const left = scope.starRels.slice(before, middle);
    const right = scope.starRels.slice(middle);
    if (b.quals !== undefined) this.filterClause(b.quals, scope, 'JOIN ... ON');
    const using = nameParts(b.usingClause);
    for (const name of using) {
      let t = CLEAN;
      for (const r of [...left, ...right]) t = union(t, r.lookup(name));
      this.noteFilter(t, 'JOIN ... USING');
    }
    if (b.isNatural) {
      // NATURAL JOIN joins on every column name the two sides share, which names only the catalog knows.
      let t = CLEAN;
      for (const r of [...left, ...right]) t = union(t, r.whole());
      this.noteFilter(t, 'NATURAL JOIN');
    }
    if (using.length > 0 || b.isNatural) scope.starBlocked = true;
    const alias = str(bodyOf(b.alias, 'Alias')?.aliasname);
    if (alias) scope.rels.push(new CombinedShape(alias, [...left, ...right]));
    const usingAlias = str(bodyOf(b.join_using_alias, 'Alias')?.aliasname);
    if (usingAlias) scope.rels.push(new CombinedShape(usingAlias, [...left, ...right]));
  }

  /** A target list (SELECT list, RETURNING) as output columns; `*` stays a star when its columns are unknown. */
  targets(targetList: unknown, scope: Scope): ShapeItem[] {
    const items: ShapeItem[] = [];
    for (const t of list(targetList)) {
      const rt = bodyOf(t, 'ResTarget');
      if (!rt) continue;
      const val = rt.val;
      const ref = bodyOf(val, 'ColumnRef');
      const parts = ref ? nameParts(ref.fields) : [];
      if (ref && parts[parts.length - 1] === '*') {
        if (parts.length === 1) {
          for (const rel of scope.starRels) items.push({ star: scope.starBlocked ? new UnlistedShape(rel) : rel });
        } else {
          const rel = this.findRel(parts, parts.length - 2, scope);
          items.push({ star: rel ?? new OpaqueShape(undefined, `${parts.slice(0, -1).join('.')}.*`) });
        }
        continue;
      }
      const ind = bodyOf(val, 'A_Indirection');
      if (ind && nameParts(ind.indirection).at(-1) === '*') {
        // (f(x)).* and (c).*: the fields of a composite value, as many as its type has.
        items.push({ star: new UniformShape(undefined, indirect(this.expr(ind.arg, scope))) });
        continue;
      }
      const taint = this.expr(val, scope);
      const named = typeof rt.name === 'string' ? { name: rt.name, exact: true } : figureName(val);
      items.push({ col: { name: named.name, exact: named.exact, taint } });
    }
    return items;
  }

  // ---- clauses that steer the result

  filterClause(node: unknown, scope: Scope, clause: string): void {
    this.noteFilter(this.expr(node, scope), clause);
  }

  /** ORDER BY / GROUP BY / DISTINCT ON key: also an output column's alias or position. */
  private sortKey(node: unknown, scope: Scope, items: readonly ShapeItem[], clause: string): void {
    const w = unwrap(node);
    if (!w) return;
    let [type, b] = w;
    if (type === 'SortBy') {
      const inner = unwrap(b.node);
      if (!inner) return;
      [type, b] = inner;
    }
    if (type === 'GroupingSet') {
      for (const c of list(b.content)) this.sortKey(c, scope, items, clause);
      return;
    }
    let t = this.expr({ [type]: b }, scope);
    const position = type === 'A_Const' && isObject(b.ival) ? Number((b.ival as ParseObject).ival ?? 0) : undefined;
    if (position !== undefined) {
      const cols = expand(items);
      t = union(t, cols?.[position - 1]?.taint ?? wholeOf(items));
    } else if (type === 'ColumnRef') {
      const parts = nameParts(b.fields);
      if (parts.length === 1) for (const item of items) if (item.col && item.col.name === parts[0]) t = union(t, item.col.taint);
    }
    this.noteFilter(t, clause);
  }

  private windowDef(w: ParseObject | undefined, scope: Scope): Taint {
    if (!w) return CLEAN;
    let t = CLEAN;
    for (const p of list(w.partitionClause)) t = union(t, this.expr(p, scope));
    this.noteFilter(t, 'PARTITION BY');
    let o = CLEAN;
    for (const s of list(w.orderClause)) o = union(o, this.expr(bodyOf(s, 'SortBy')?.node, scope));
    this.noteFilter(o, 'a window ORDER BY');
    return union(t, o);
  }

  // ---- expressions

  expr(node: unknown, scope: Scope): Taint {
    if (Array.isArray(node)) {
      let t = CLEAN;
      for (const n of node) t = union(t, this.expr(n, scope));
      return indirect(t);
    }
    const w = unwrap(node);
    if (!w) return isObject(node) ? this.generic(node, scope) : CLEAN;
    const [type, b] = w;
    switch (type) {
      case 'ColumnRef':
        return this.columnRef(nameParts(b.fields), scope);
      case 'A_Const':
      case 'ParamRef':
      case 'SQLValueFunction':
      case 'SetToDefault':
      case 'CurrentOfExpr':
      case 'String':
      case 'Integer':
      case 'Float':
      case 'Boolean':
      case 'BitString':
      case 'A_Star':
      case 'TypeName':
        return CLEAN;
      case 'TypeCast':
        return this.typeCast(b, scope);
      case 'CollateClause':
        return this.expr(b.arg, scope);
      case 'FuncCall':
        return this.funcCall(b, scope, node).result;
      case 'SubLink':
        return this.subLink(b, scope, node);
      case 'CaseExpr':
        return this.caseExpr(b, scope, node);
      case 'BoolExpr':
        return indirect(this.expr(b.args, scope));
      case 'MultiAssignRef':
        return this.expr(b.source, scope);
      case 'SelectStmt':
        return indirect(wholeOf(this.select(b, scope).items));
      case 'JsonFuncExpr':
      case 'JsonParseExpr':
      case 'XmlExpr': {
        const t = this.generic(b, scope);
        const parses = type !== 'XmlExpr' || b.op === 'IS_XMLPARSE';
        if (isTainted(t) && parses) this.refuse('function', t, `${type === 'XmlExpr' ? 'XMLPARSE' : 'a SQL/JSON function'} would parse it, and its errors quote what they parse`);
        if (isTainted(t)) this.markConstants(node);
        return indirect(t);
      }
      case 'JsonObjectAgg':
      case 'JsonArrayAgg': {
        const ctor = isObject(b.constructor) ? (b.constructor as ParseObject) : undefined;
        let t = this.generic({ ...b, constructor: undefined }, scope);
        if (ctor) t = union(t, this.aggregateParts(ctor, scope));
        if (isTainted(t)) this.markConstants(node);
        return indirect(t);
      }
      case 'A_Expr':
        return this.operator(b, scope, node);
      default: {
        // NullTest, CoalesceExpr, MinMaxExpr, A_ArrayExpr, RowExpr, A_Indirection, JSON constructors
        // and whatever else: the union of everything inside. Where masked data meets literals (ssn = '...',
        // ssn IN (...), upper(ssn) LIKE ...), the literals are guesses at it.
        const t = this.generic(b, scope);
        if (isTainted(t)) this.markConstants(node);
        return type === 'CoalesceExpr' || type === 'A_Indirection' ? t : indirect(t);
      }
    }
  }

  /**
   * An operator expression. Masked data may meet comparisons, concatenation and JSON navigation (they never
   * fail on a value); arithmetic can overflow or divide by zero, and a pattern built from it may not compile,
   * so masked data there is refused: the error, or its absence, would tell the value.
   */
  private operator(b: ParseObject, scope: Scope, node: unknown): Taint {
    const l = this.expr(b.lexpr, scope);
    const r = this.expr(b.rexpr, scope);
    for (const [side, t] of [['lexpr', l], ['rexpr', r]] as const) {
      if (!isTainted(t) || operandMayBeProtected(b, side)) continue;
      const op = nameParts(b.name).at(-1) ?? String(b.kind).replace('AEXPR_', '').toLowerCase();
      this.refuse('operator', t, `operator ${op} can fail on some values (overflow, division by zero, a pattern that does not compile), and its error would tell the value`);
    }
    const t = union(l, r);
    if (isTainted(t)) this.markConstants(node);
    return indirect(t);
  }

  /** The union over every field of a node, evaluating whatever expressions it holds. */
  private generic(b: ParseObject, scope: Scope): Taint {
    let t = CLEAN;
    for (const key in b) {
      const v = b[key];
      if (typeof v === 'object' && v !== null) t = union(t, this.expr(v, scope));
    }
    return t;
  }

  private columnRef(parts: string[], scope: Scope): Taint {
    const last = parts[parts.length - 1];
    if (last === undefined) return CLEAN;
    if (parts.length === 1) {
      if (last === '*') {
        let t = CLEAN;
        for (const r of scope.starRels) t = union(t, r.whole());
        return indirect(t);
      }
      // A bare name is a column of some relation in scope, or a whole row (SELECT c FROM customers c).
      return union(this.lookupName(last, scope), indirect(this.findRel(parts, 0, scope)?.whole() ?? CLEAN));
    }
    let t = CLEAN;
    const rel = this.findRel(parts, parts.length - 2, scope);
    if (rel) t = last === '*' ? indirect(rel.whole()) : rel.lookup(last);
    else {
      // q.col where q is no relation: a field of a composite column q.
      const q = parts[parts.length - 2]!;
      t = indirect(union(this.lookupName(q, scope), this.findRel([q], 0, scope)?.whole() ?? CLEAN));
    }
    if (parts.length >= 3) {
      // rel.compositecol.field reads as well as schema.rel.col.
      const outer = this.findRel(parts, parts.length - 3, scope);
      if (outer) t = union(t, indirect(outer.lookup(parts[parts.length - 2]!)));
    }
    return t;
  }

  /** A name at every level of scope: PostgreSQL takes the innermost relation that has it, which only the catalog knows. */
  private lookupName(name: string, scope: Scope): Taint {
    let t = CLEAN;
    for (let s: Scope | undefined = scope; s; s = s.parent) for (const r of s.rels) t = union(t, r.lookup(name));
    return t;
  }

  /** The relation named by parts[at] (with parts[at - 1] as its schema, if given), innermost level first. */
  private findRel(parts: readonly string[], at: number, scope: Scope): RelationShape | undefined {
    const name = parts[at];
    if (name === undefined) return undefined;
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const found = s.rels.filter((r) => r.alias === name);
      if (found.length === 1) return found[0];
      if (found.length > 1) return new CombinedShape(name, found);
    }
    return undefined;
  }

  private typeCast(b: ParseObject, scope: Scope): Taint {
    const t = this.expr(b.arg, scope);
    if (!isTainted(t)) return t;
    const tn = bodyOf(b.typeName, 'TypeName');
    const names = nameParts(tn?.names);
    const isArray = list(tn?.arrayBounds).length > 0;
    if (!isTextualCast(names, isArray)) {
      this.refuse('cast', t, `it cannot be cast to ${names.filter((n) => n !== 'pg_catalog').join('.')}${isArray ? '[]' : ''}: a cast that fails shows the value in its error message`);
      return indirect(t);
    }
    // varchar(3) keeps a prefix: no longer the column's own value.
    return list(tn?.typmods).length > 0 ? indirect(t) : t;
  }

  funcCall(b: ParseObject, scope: Scope, node: unknown): { args: Taint; result: Taint } {
    const fn = classifyFunction(nameParts(b.funcname));
    const argNodes = list(b.args);
    let args = CLEAN;
    // the first argument carrying masked data in a position where the function could fail on its value
    let failing: Taint | undefined;
    argNodes.forEach((a, i) => {
      const t = this.expr(a, scope);
      args = union(args, t);
      if (!failing && isTainted(t) && !mayTakeProtectedArg(fn, i, argNodes)) failing = t;
    });
    args = union(args, this.aggregateParts(b, scope));
    const name = fn.name;
    // How many rows a set-returning function yields (generate_series(1, ascii(ssn)), unnest(string_to_array(...)))
    // spells its arguments out in the row count, wherever the call stands.
    if (fn.setReturning) this.noteFilter(args, `set-returning function ${name}()`, 'how many rows it yields tells about its arguments');
    // (A set-returning function is already refused as a filter; a role that allows filters accepts its oracles.)
    if (failing && !fn.setReturning) {
      if (fn.sink) this.refuse('function', failing, `${name}() would keep or send it outside the result, where it is not masked`);
      else if (!fn.facts) this.refuse('function', failing, `function ${name}() is not known to be safe with masked data: it could store or send it, or show it in an error`);
      else this.refuse('function', failing, `${name}() can fail on some values in that argument, and its error (or its failing at all) would tell the value`);
    }
    if (isTainted(args)) this.markConstants(node);
    if (fn.sink) return { args, result: CLEAN };
    const result = fn.result === 'data' ? union(indirect(args), unknownTaint(`function ${name}()`)) : indirect(args);
    return { args, result };
  }

  /** FILTER, aggregate ORDER BY and OVER of an aggregate or window call: they choose and order what it sees. */
  private aggregateParts(b: ParseObject, scope: Scope): Taint {
    let t = CLEAN;
    if (b.agg_filter !== undefined) {
      const f = this.expr(b.agg_filter, scope);
      this.noteFilter(f, 'an aggregate FILTER');
      t = union(t, f);
    }
    let order = CLEAN;
    for (const s of list(b.agg_order)) order = union(order, this.expr(bodyOf(s, 'SortBy')?.node, scope));
    this.noteFilter(order, 'an aggregate ORDER BY');
    t = union(t, order);
    if (isObject(b.over)) t = union(t, this.windowDef(bodyOf(b.over, 'WindowDef'), scope));
    return t;
  }

  private caseExpr(b: ParseObject, scope: Scope, node: unknown): Taint {
    // The conditions choose the branch: a branch that raises an error or sleeps makes the condition visible
    // even when the result is masked.
    const arg = this.expr(b.arg, scope);
    this.noteFilter(arg, 'CASE');
    let t = arg;
    for (const w of list(b.args)) {
      const when = bodyOf(w, 'CaseWhen');
      if (!when) continue;
      const cond = this.expr(when.expr, scope);
      this.noteFilter(cond, 'CASE WHEN');
      t = union(t, union(cond, this.expr(when.result, scope)));
    }
    t = union(t, this.expr(b.defresult, scope));
    if (isTainted(t)) this.markConstants(node);
    return indirect(t);
  }

  private subLink(b: ParseObject, scope: Scope, node: unknown): Taint {
    const shape = this.query(b.subselect, scope);
    switch (b.subLinkType) {
      case 'EXISTS_SUBLINK':
        return CLEAN;
      case 'EXPR_SUBLINK':
      case 'ARRAY_SUBLINK': {
        const first = expand(shape.items)?.[0]?.taint ?? wholeOf(shape.items);
        return b.subLinkType === 'ARRAY_SUBLINK' ? indirect(first) : first;
      }
      default: {
        const t = indirect(union(this.expr(b.testexpr, scope), wholeOf(shape.items)));
        if (isTainted(t)) this.markConstants(node);
        return t;
      }
    }
  }
}

function findCte(name: string, scope: Scope): CteEntry | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const c = s.ctes.get(name);
    if (c) return c;
  }
  return undefined;
}
